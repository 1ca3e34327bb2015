package memory

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tmc/langchaingo/embeddings"

	"github.com/agentry/agentry/kb"
	"github.com/agentry/agentry/kb/lexical"
)

// clientEmbedder returns langchaingo's embedder over a client function,
// with newline stripping off so texts reach the function unchanged.
func clientEmbedder(t *testing.T, f func(ctx context.Context, texts []string) ([][]float32, error)) embeddings.Embedder {
	t.Helper()
	e, err := embeddings.NewEmbedder(embeddings.EmbedderClientFunc(f), embeddings.WithStripNewLines(false))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// vectorsFor returns a client that gives each text the vector of the
// first key it contains, and the vector of "" to the others.
func vectorsFor(vectors map[string][]float32) func(context.Context, []string) ([][]float32, error) {
	return func(_ context.Context, texts []string) ([][]float32, error) {
		out := make([][]float32, len(texts))
		for i, text := range texts {
			out[i] = vectors[""]
			for key, v := range vectors {
				if key != "" && strings.Contains(text, key) {
					out[i] = v
				}
			}
		}
		return out, nil
	}
}

func newRetriever(t *testing.T, docs []Document, opts Options) *Retriever {
	t.Helper()
	r, err := New(t.Context(), docs, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r
}

func search(t *testing.T, r *Retriever, q kb.Query) []kb.Chunk {
	t.Helper()
	chunks, err := r.Search(t.Context(), q)
	if err != nil {
		t.Fatalf("Search(%q): %v", q.Text, err)
	}
	return chunks
}

func TestSearchScores(t *testing.T) {
	docs := []Document{
		{ID: "refunds", Text: "Refunds arrive within ten business days."},
		{ID: "invoices", Text: "Invoices are issued monthly; refunds appear on them."},
		{ID: "keys", Text: "API keys are created in the settings."},
	}
	query := "refunds business days"
	chunks := search(t, newRetriever(t, docs, Options{}), kb.Query{Text: query})

	e, err := lexical.New(lexical.Options{})
	if err != nil {
		t.Fatal(err)
	}
	q, _ := e.EmbedQuery(t.Context(), query)
	want := map[string]float64{}
	for _, d := range docs {
		v, _ := e.EmbedQuery(t.Context(), d.Text)
		var dot float64
		for i := range v {
			dot += float64(v[i]) * float64(q[i])
		}
		want[d.ID+"#0"] = dot // both vectors have unit length
	}

	if len(chunks) != 2 {
		t.Fatalf("got %d chunks %v, want the 2 that mention refunds", len(chunks), chunks)
	}
	if chunks[0].ID != "refunds#0" {
		t.Errorf("first chunk %q, want refunds#0", chunks[0].ID)
	}
	for _, c := range chunks {
		if math.Abs(c.Score-want[c.ID]) > 1e-6 {
			t.Errorf("chunk %q scores %v, want the cosine similarity %v", c.ID, c.Score, want[c.ID])
		}
		if c.Score <= 0 || c.Score > 1 {
			t.Errorf("chunk %q scores %v, want a value in (0, 1]", c.ID, c.Score)
		}
	}
}

func TestSearchZeroVectors(t *testing.T) {
	docs := []Document{
		{ID: "punctuation", Text: "?!... ---"},
		{ID: "stop-words", Text: "What is it, and how?"},
		{ID: "refunds", Text: "Refunds arrive within ten days."},
	}
	r := newRetriever(t, docs, Options{MinScore: -1})
	if got := r.Len(); got != 3 {
		t.Fatalf("Len() = %d, want 3 chunks", got)
	}

	t.Run("zero query", func(t *testing.T) {
		chunks := search(t, r, kb.Query{Text: "what is it?"})
		if len(chunks) != 0 {
			t.Errorf("got %d chunks for a stop-word query, want none", len(chunks))
		}
	})
	t.Run("zero documents", func(t *testing.T) {
		chunks := search(t, r, kb.Query{Text: "refunds", TopK: 10})
		if len(chunks) != 1 || chunks[0].ID != "refunds#0" {
			t.Errorf("got %v, want only refunds#0 even with a negative MinScore", chunks)
		}
		for _, c := range chunks {
			if math.IsNaN(c.Score) {
				t.Errorf("chunk %q scores NaN", c.ID)
			}
		}
	})
}

func TestSearchZeroVectorsSemantic(t *testing.T) {
	// An embedder whose vectors can point away from each other, as a
	// semantic model's do, and that gives some texts the zero vector.
	embedder := clientEmbedder(t, vectorsFor(map[string][]float32{
		"north": {0, 1},
		"south": {0, -1},
		"":      {0, 0},
	}))
	docs := []Document{
		{ID: "empty", Text: "nothing"},
		{ID: "south", Text: "south"},
		{ID: "north", Text: "north"},
	}
	r := newRetriever(t, docs, Options{Embedder: embedder, MinScore: -2})
	chunks := search(t, r, kb.Query{Text: "north", TopK: 10})
	var ids []string
	for _, c := range chunks {
		ids = append(ids, c.ID)
	}
	if strings.Join(ids, ",") != "north#0,south#0" {
		t.Errorf("ranking %v, want north#0 then south#0 and no zero-vector chunk", ids)
	}
	if len(chunks) == 2 && chunks[1].Score != -1 {
		t.Errorf("opposite vector scores %v, want -1", chunks[1].Score)
	}
	if got := search(t, r, kb.Query{Text: "elsewhere"}); len(got) != 0 {
		t.Errorf("zero query vector returned %d chunks, want none", len(got))
	}
}

func TestSearchMinScore(t *testing.T) {
	docs := []Document{
		{ID: "close", Text: "refund policy details"},
		{ID: "far", Text: "refund plus many other unrelated words about settings and keys"},
	}
	all := search(t, newRetriever(t, docs, Options{}), kb.Query{Text: "refund policy"})
	if len(all) != 2 {
		t.Fatalf("got %d chunks with the default MinScore, want 2", len(all))
	}
	threshold := (all[0].Score + all[1].Score) / 2
	some := search(t, newRetriever(t, docs, Options{MinScore: threshold}), kb.Query{Text: "refund policy"})
	if len(some) != 1 || some[0].ID != "close#0" {
		t.Errorf("MinScore %v kept %v, want only close#0", threshold, some)
	}
}

func TestSearchInvalidQuery(t *testing.T) {
	r := newRetriever(t, []Document{{ID: "a", Text: "text"}}, Options{})
	cases := []struct {
		name string
		q    kb.Query
	}{
		{"empty text", kb.Query{}},
		{"blank text", kb.Query{Text: "\n "}},
		{"negative top_k", kb.Query{Text: "text", TopK: -1}},
		{"filter not JSON", kb.Query{Text: "text", Filter: map[string]any{"f": make(chan int)}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := r.Search(t.Context(), c.q); !errors.Is(err, kb.ErrInvalidQuery) {
				t.Errorf("error %v, want kb.ErrInvalidQuery", err)
			}
		})
	}
}

func TestSearchMetadataCopy(t *testing.T) {
	docs := []Document{{ID: "a", Text: "refunds", Metadata: map[string]any{
		"owner": map[string]any{"team": "payments"}, "tags": []string{"x"},
	}}}
	r := newRetriever(t, docs, Options{})
	first := search(t, r, kb.Query{Text: "refunds"})
	first[0].Metadata["owner"].(map[string]any)["team"] = "changed"
	first[0].Metadata["tags"].([]any)[0] = "changed"
	docs[0].Metadata["owner"].(map[string]any)["team"] = "changed too"

	second := search(t, r, kb.Query{Text: "refunds"})
	if got := second[0].Metadata["owner"].(map[string]any)["team"]; got != "payments" {
		t.Errorf("owner.team = %v after callers changed their copies, want payments", got)
	}
	if got := second[0].Metadata["tags"].([]any)[0]; got != "x" {
		t.Errorf("tags[0] = %v after a caller changed its copy, want x", got)
	}
}

func TestSearchSectionTitle(t *testing.T) {
	paragraph := strings.Repeat("detail ", 30)
	text := "# Refund policy\n\n" + strings.Repeat(paragraph+"\n\n", 5) + "# Other\n\nunrelated text"
	r := newRetriever(t, []Document{{ID: "guide", Text: text, Markdown: true}}, Options{MaxChunkBytes: 400})
	chunks := search(t, r, kb.Query{Text: "refund policy", TopK: 20})
	if len(chunks) < 2 {
		t.Fatalf("got %d chunks, want every part of the long section", len(chunks))
	}
	for _, c := range chunks {
		if c.Title() != "Refund policy" {
			t.Errorf("chunk %q has title %q, want %q", c.ID, c.Title(), "Refund policy")
		}
	}
}

func TestSearchCancelled(t *testing.T) {
	r := newRetriever(t, []Document{{ID: "a", Text: "refunds"}}, Options{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := r.Search(ctx, kb.Query{Text: "refunds"}); !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
}

func TestSearchEmbedderErrors(t *testing.T) {
	docs := []Document{{ID: "a", Text: "doc"}}
	cases := []struct {
		name   string
		client func(context.Context, []string) ([][]float32, error)
	}{
		{"fails", func(_ context.Context, texts []string) ([][]float32, error) {
			if texts[0] == "query" {
				return nil, errors.New("model offline")
			}
			return [][]float32{{1, 0}}, nil
		}},
		{"dimension", func(_ context.Context, texts []string) ([][]float32, error) {
			if texts[0] == "query" {
				return [][]float32{{1, 0, 0}}, nil
			}
			return [][]float32{{1, 0}}, nil
		}},
		{"NaN", func(_ context.Context, texts []string) ([][]float32, error) {
			if texts[0] == "query" {
				return [][]float32{{float32(math.NaN()), 0}}, nil
			}
			return [][]float32{{1, 0}}, nil
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRetriever(t, docs, Options{Embedder: clientEmbedder(t, c.client)})
			if _, err := r.Search(t.Context(), kb.Query{Text: "query"}); !errors.Is(err, kb.ErrUnavailable) {
				t.Errorf("error %v, want kb.ErrUnavailable", err)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	vectors := func(v ...[]float32) func(context.Context, []string) ([][]float32, error) {
		return func(_ context.Context, texts []string) ([][]float32, error) {
			if len(texts) != len(v) {
				return nil, fmt.Errorf("got %d texts, have %d vectors", len(texts), len(v))
			}
			return v, nil
		}
	}
	two := []Document{{ID: "a", Text: "first"}, {ID: "b", Text: "second"}}
	cases := []struct {
		name string
		docs []Document
		opts func(t *testing.T) Options
		want error
	}{
		{"empty ID", []Document{{Text: "x"}}, nil, ErrInvalidDocument},
		{"duplicate ID", []Document{{ID: "a", Text: "x"}, {ID: "a", Text: "y"}}, nil, ErrInvalidDocument},
		{"metadata not JSON", []Document{{ID: "a", Text: "x", Metadata: map[string]any{"f": func() {}}}}, nil, ErrInvalidDocument},
		{"negative top_k", nil, func(*testing.T) Options { return Options{TopK: -1} }, ErrInvalidOptions},
		{"negative chunk size", nil, func(*testing.T) Options { return Options{MaxChunkBytes: -1} }, ErrInvalidOptions},
		{"NaN min score", nil, func(*testing.T) Options { return Options{MinScore: math.NaN()} }, ErrInvalidOptions},
		{"embedder fails", two, func(t *testing.T) Options {
			return Options{Embedder: clientEmbedder(t, func(context.Context, []string) ([][]float32, error) {
				return nil, errors.New("model offline")
			})}
		}, ErrEmbedding},
		{"vector count", two, func(t *testing.T) Options {
			return Options{Embedder: clientEmbedder(t, func(context.Context, []string) ([][]float32, error) {
				return [][]float32{{1}}, nil
			})}
		}, ErrEmbedding},
		{"dimensions differ", two, func(t *testing.T) Options {
			return Options{Embedder: clientEmbedder(t, vectors([]float32{1, 0}, []float32{1, 0, 0}))}
		}, ErrEmbedding},
		{"empty vector", two, func(t *testing.T) Options {
			return Options{Embedder: clientEmbedder(t, vectors([]float32{}, []float32{}))}
		}, ErrEmbedding},
		{"NaN vector", two, func(t *testing.T) Options {
			return Options{Embedder: clientEmbedder(t, vectors([]float32{1, 0}, []float32{float32(math.NaN()), 0}))}
		}, ErrEmbedding},
		{"infinite vector", two, func(t *testing.T) Options {
			return Options{Embedder: clientEmbedder(t, vectors([]float32{float32(math.Inf(1)), 0}, []float32{1, 0}))}
		}, ErrEmbedding},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var opts Options
			if c.opts != nil {
				opts = c.opts(t)
			}
			if _, err := New(t.Context(), c.docs, opts); !errors.Is(err, c.want) {
				t.Errorf("New error %v, want %v", err, c.want)
			}
		})
	}
}

func TestNewCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := New(ctx, []Document{{ID: "a", Text: "text"}}, Options{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("New error %v, want context.Canceled", err)
	}
}

func TestNewBatches(t *testing.T) {
	lex, err := lexical.New(lexical.Options{Dimensions: 1024})
	if err != nil {
		t.Fatal(err)
	}
	var calls, largest atomic.Int64
	embedder := clientEmbedder(t, func(ctx context.Context, texts []string) ([][]float32, error) {
		calls.Add(1)
		if n := int64(len(texts)); n > largest.Load() {
			largest.Store(n)
		}
		return lex.EmbedDocuments(ctx, texts)
	})
	docs := make([]Document, 150)
	for i := range docs {
		docs[i] = Document{ID: fmt.Sprintf("doc%d", i), Text: fmt.Sprintf("document number%d", i)}
	}
	r := newRetriever(t, docs, Options{Embedder: embedder})
	if got := largest.Load(); got > embedBatchSize {
		t.Errorf("largest EmbedDocuments call had %d texts, want at most %d", got, embedBatchSize)
	}
	if got := calls.Load(); got < 3 {
		t.Errorf("EmbedDocuments called %d times for 150 chunks, want at least 3", got)
	}
	for _, i := range []int{0, 64, 149} {
		chunks := search(t, r, kb.Query{Text: fmt.Sprintf("number%d", i), TopK: 1})
		if want := fmt.Sprintf("doc%d#0", i); len(chunks) != 1 || chunks[0].ID != want {
			t.Errorf("search for number%d found %v, want %s", i, chunks, want)
		}
	}
}
