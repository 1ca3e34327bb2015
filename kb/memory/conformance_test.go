package memory

import (
	"strings"
	"testing"

	"github.com/agentry/agentry/kb"
	"github.com/agentry/agentry/kb/kbtest"
)

// docID strips the "#index" suffix of a chunk ID.
func docID(c kb.Chunk) string {
	id, _, _ := strings.Cut(c.ID, "#")
	return id
}

func newFromCorpus(t *testing.T, docs []kbtest.Doc) kb.Retriever {
	documents := make([]Document, len(docs))
	for i, d := range docs {
		documents[i] = Document{ID: d.ID, Text: d.Content, Metadata: d.Metadata}
	}
	r, err := New(t.Context(), documents, Options{})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r
}

func TestConformance(t *testing.T) {
	kbtest.Run(t, newFromCorpus, kbtest.Options{DocID: docID})
}
