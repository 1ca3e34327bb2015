package pgvector_test

import (
	"testing"

	"github.com/agentry/agentry/internal/testenv"
	"github.com/agentry/agentry/kb"
	"github.com/agentry/agentry/kb/kbtest"
	"github.com/agentry/agentry/kb/lexical"
	"github.com/agentry/agentry/kb/pgvector"
)

// newFromCorpus returns a retriever over a new table in a schema of its
// own, with one row per document keyed by the document's ID and embedded
// by the lexical embedder.
func newFromCorpus(t *testing.T, docs []kbtest.Doc) kb.Retriever {
	t.Helper()
	emb, err := lexical.New(lexical.Options{})
	if err != nil {
		t.Fatalf("lexical.New: %v", err)
	}
	url := testenv.PostgresURL(t)
	r, err := pgvector.New(pgvector.Config{URL: url, Table: testenv.PostgresSchema(t, url) + ".docs"}, emb)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(r.Close)
	if err := r.EnsureTable(t.Context(), emb.Dimensions()); err != nil {
		t.Fatalf("EnsureTable: %v", err)
	}
	rows := make([]pgvector.Document, len(docs))
	for i, d := range docs {
		rows[i] = pgvector.Document{ID: d.ID, Content: d.Content, Metadata: d.Metadata}
	}
	if err := r.Upsert(t.Context(), rows); err != nil {
		t.Fatalf("Upsert: %v", err)
	}
	return r
}

func TestConformance(t *testing.T) {
	kbtest.Run(t, newFromCorpus, kbtest.Options{DefaultTopK: pgvector.DefaultTopK})
}
