package pgvector_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/agentry/agentry/kb"
	"github.com/agentry/agentry/kb/pgvector"
)

func TestUpsertReplaces(t *testing.T) {
	t.Parallel()
	f := setupCorpus(t, nil)
	doc := pgvector.Document{
		ID:       "billing-invoices",
		Content:  "Invoices now arrive on the fifteenth of each month.",
		Metadata: map[string]any{"topic": "billing", "content": "replaced by Content"},
	}
	if err := f.r.Upsert(t.Context(), []pgvector.Document{doc}); err != nil {
		t.Fatalf("Upsert: %v", err)
	}
	if n := countRows(t, f.url, f.table); n != len(corpus()) {
		t.Errorf("table has %d rows, want %d", n, len(corpus()))
	}
	chunks, err := f.r.Search(t.Context(), kb.Query{Text: doc.Content, TopK: 1})
	if err != nil {
		t.Fatalf("Search: %v", err)
	}
	if len(chunks) != 1 || chunks[0].ID != doc.ID {
		t.Fatalf("got %v, want the replaced row first", chunks)
	}
	if chunks[0].Content != doc.Content {
		t.Errorf("content %q, want %q", chunks[0].Content, doc.Content)
	}
	if _, ok := chunks[0].Metadata["version"]; ok {
		t.Errorf("metadata %v still has the old row's version", chunks[0].Metadata)
	}
	if got := chunks[0].Metadata["topic"]; got != "billing" {
		t.Errorf("metadata topic %v, want billing", got)
	}
}

func TestUpsertContentKey(t *testing.T) {
	t.Parallel()
	f := setup(t, hashEmbedder{dims: testDims}, func(c *pgvector.Config) { c.ContentKey = "text" })
	doc := pgvector.Document{ID: "a", Content: "account settings", Metadata: map[string]any{"content": "kept"}}
	if err := f.r.Upsert(t.Context(), []pgvector.Document{doc}); err != nil {
		t.Fatalf("Upsert: %v", err)
	}
	chunks, err := f.r.Search(t.Context(), kb.Query{Text: "account"})
	if err != nil {
		t.Fatalf("Search: %v", err)
	}
	if len(chunks) != 1 {
		t.Fatalf("got %d chunks, want 1", len(chunks))
	}
	if chunks[0].Content != doc.Content {
		t.Errorf("content %q, want %q", chunks[0].Content, doc.Content)
	}
	if got := chunks[0].Metadata["content"]; got != "kept" {
		t.Errorf("metadata content %v, want kept (only the content key is moved out)", got)
	}
}

func TestUpsertInvalidDocument(t *testing.T) {
	t.Parallel()
	f := setup(t, hashEmbedder{dims: testDims}, nil)
	valid := pgvector.Document{ID: "ok", Content: "account"}
	tests := []struct {
		name string
		doc  pgvector.Document
	}{
		{"empty ID", pgvector.Document{Content: "account"}},
		{"repeated ID", pgvector.Document{ID: "ok", Content: "account again"}},
		{"empty content", pgvector.Document{ID: "empty"}},
		{"blank content", pgvector.Document{ID: "blank", Content: "  \n"}},
		{"metadata not JSON", pgvector.Document{ID: "nan", Content: "account", Metadata: map[string]any{"x": math.Inf(1)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := f.r.Upsert(t.Context(), []pgvector.Document{valid, tt.doc})
			if !errors.Is(err, pgvector.ErrInvalidDocument) {
				t.Errorf("error %v, want ErrInvalidDocument", err)
			}
			if n := countRows(t, f.url, f.table); n != 0 {
				t.Errorf("table has %d rows after a rejected Upsert, want 0", n)
			}
		})
	}
}

func TestUpsertInvalidVector(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		vector func() []float32
	}{
		{"NaN", func() []float32 { v := unit(); v[3] = float32(math.NaN()); return v }},
		{"+Inf", func() []float32 { v := unit(); v[3] = float32(math.Inf(1)); return v }},
		{"-Inf", func() []float32 { v := unit(); v[3] = float32(math.Inf(-1)); return v }},
		{"all zeros", func() []float32 { return make([]float32, testDims) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			emb := hashEmbedder{dims: testDims, override: func(text string) []float32 {
				if text == "bad" {
					return tt.vector()
				}
				return nil
			}}
			f := setup(t, emb, nil)
			docs := append(corpus(), pgvector.Document{ID: "bad-doc", Content: "bad"})
			err := f.r.Upsert(t.Context(), docs)
			if !errors.Is(err, pgvector.ErrInvalidVector) {
				t.Fatalf("error %v, want ErrInvalidVector", err)
			}
			if !strings.Contains(err.Error(), "bad-doc") {
				t.Errorf("error %q does not name the document", err)
			}
			if n := countRows(t, f.url, f.table); n != 0 {
				t.Errorf("table has %d rows after a rejected Upsert, want 0", n)
			}
		})
	}
}

// unit returns a vector of testDims components with a 1 in the first.
func unit() []float32 {
	v := make([]float32, testDims)
	v[0] = 1
	return v
}

func TestUpsertEmpty(t *testing.T) {
	t.Parallel()
	f := setup(t, hashEmbedder{dims: testDims}, nil)
	if err := f.r.Upsert(t.Context(), nil); err != nil {
		t.Errorf("Upsert(nil): %v", err)
	}
}
