package pgvector_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentry/agentry/kb"
	"github.com/agentry/agentry/kb/pgvector"
)

func TestSearchRanking(t *testing.T) {
	t.Parallel()
	f := setupCorpus(t, nil)
	emb := hashEmbedder{dims: testDims}
	docs := corpus()

	queries := []string{
		"reset the account password",
		"refunds paid back",
		"export CSV archive",
		"API keys developer settings",
		docs[0].Content,
	}
	for _, query := range queries {
		t.Run(query, func(t *testing.T) {
			chunks, err := f.r.Search(t.Context(), kb.Query{Text: query, TopK: 3})
			if err != nil {
				t.Fatalf("Search: %v", err)
			}
			if len(chunks) != 3 {
				t.Fatalf("got %d chunks, want 3", len(chunks))
			}

			qv := emb.embed(query)
			want := map[string]float64{}
			for _, d := range docs {
				want[d.ID] = cosine(qv, emb.embed(d.Content))
			}
			returned := map[string]bool{}
			for i, c := range chunks {
				returned[c.ID] = true
				if math.Abs(c.Score-want[c.ID]) > 1e-5 {
					t.Errorf("chunk %d (%s): score %v, want %v", i, c.ID, c.Score, want[c.ID])
				}
				if i > 0 && c.Score > chunks[i-1].Score {
					t.Errorf("chunk %d (%s): score %v is above the previous %v", i, c.ID, c.Score, chunks[i-1].Score)
				}
			}
			last := chunks[len(chunks)-1].Score
			for id, score := range want {
				if !returned[id] && score > last+1e-5 {
					t.Errorf("%s with score %v was left out, but %s with %v was returned", id, score, chunks[len(chunks)-1].ID, last)
				}
			}
		})
	}
}

// TestSearchScoresDescending stores vectors of one direction and
// different lengths. Their scores are equal in exact arithmetic, and
// differ in the last digits as computed, where an index scan's own order
// need not follow them.
func TestSearchScoresDescending(t *testing.T) {
	t.Parallel()
	direction := make([]float32, testDims)
	for i := range direction {
		direction[i] = float32(math.Sin(float64(i) + 1))
	}
	scales := []float64{0.013, 0.7, 1, 2.9, 17.3, 101, 977, 3.3e4, 5.1e5, 0.31, 7.77, 64.1}
	emb := hashEmbedder{dims: testDims, override: func(text string) []float32 {
		var k int
		if _, err := fmt.Sscanf(text, "scaled %d", &k); err != nil {
			return nil
		}
		v := make([]float32, testDims)
		for i, x := range direction {
			v[i] = float32(float64(x) * scales[k])
		}
		return v
	}}
	var docs []pgvector.Document
	for k := range scales {
		docs = append(docs, pgvector.Document{ID: fmt.Sprint("doc-", k), Content: fmt.Sprint("scaled ", k)})
	}

	for _, scan := range scanSettings {
		t.Run(scan.name, func(t *testing.T) {
			f := setup(t, emb, func(c *pgvector.Config) { c.URL = withParam(t, c.URL, scan.param, scan.value) })
			if err := f.r.Upsert(t.Context(), docs); err != nil {
				t.Fatalf("Upsert: %v", err)
			}
			for k := range scales {
				query := fmt.Sprint("scaled ", k)
				chunks, err := f.r.Search(t.Context(), kb.Query{Text: query, TopK: 100})
				if err != nil {
					t.Fatalf("Search(%q): %v", query, err)
				}
				if len(chunks) != len(docs) {
					t.Errorf("Search(%q): got %d chunks, want %d", query, len(chunks), len(docs))
				}
				for i := 1; i < len(chunks); i++ {
					if chunks[i].Score > chunks[i-1].Score {
						t.Errorf("Search(%q): chunk %d (%s) scores %v, more than chunk %d (%v)",
							query, i, chunks[i].ID, chunks[i].Score, i-1, chunks[i-1].Score)
					}
				}
			}
		})
	}
}

func TestSearchIdenticalText(t *testing.T) {
	t.Parallel()
	f := setupCorpus(t, nil)
	for _, d := range corpus() {
		chunks, err := f.r.Search(t.Context(), kb.Query{Text: d.Content, TopK: 1})
		if err != nil {
			t.Fatalf("Search(%s): %v", d.ID, err)
		}
		if len(chunks) != 1 {
			t.Fatalf("Search(%s): got %d chunks, want 1", d.ID, len(chunks))
		}
		c := chunks[0]
		if c.ID != d.ID {
			t.Errorf("Search(%s): first chunk is %s", d.ID, c.ID)
		}
		if math.Abs(c.Score-1) > 1e-5 {
			t.Errorf("Search(%s): score %v, want 1", d.ID, c.Score)
		}
		if c.Content != d.Content {
			t.Errorf("Search(%s): content %q, want %q", d.ID, c.Content, d.Content)
		}
		if want := normalize(t, d.Metadata); !reflect.DeepEqual(c.Metadata, want) {
			t.Errorf("Search(%s): metadata %v, want %v (without the content key)", d.ID, c.Metadata, want)
		}
	}
}

func TestSearchTopK(t *testing.T) {
	t.Parallel()
	f := setupCorpus(t, nil)
	fTwo := setupCorpus(t, func(c *pgvector.Config) { c.TopK = 2 })
	n := len(corpus())
	tests := []struct {
		name string
		r    *pgvector.Retriever
		topK int
		want int
	}{
		{"default", f.r, 0, pgvector.DefaultTopK},
		{"one", f.r, 1, 1},
		{"three", f.r, 3, 3},
		{"more than rows", f.r, n + 10, n},
		{"config default", fTwo.r, 0, 2},
		{"query over config", fTwo.r, 4, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chunks, err := tt.r.Search(t.Context(), kb.Query{Text: "account", TopK: tt.topK})
			if err != nil {
				t.Fatalf("Search: %v", err)
			}
			if len(chunks) != tt.want {
				t.Errorf("got %d chunks, want %d", len(chunks), tt.want)
			}
		})
	}
}

func TestSearchFilter(t *testing.T) {
	t.Parallel()
	f := setupCorpus(t, nil)
	fEU := setupCorpus(t, func(c *pgvector.Config) {
		c.MetadataFilter = map[string]any{"owner": map[string]any{"region": "eu"}}
	})
	tests := []struct {
		name   string
		r      *pgvector.Retriever
		filter map[string]any
		want   []string
	}{
		{"none", f.r, nil, []string{"billing-invoices", "billing-refunds", "security-password",
			"security-two-factor", "data-export", "data-deletion", "developer-keys"}},
		{"string", f.r, map[string]any{"topic": "security"}, []string{"security-password", "security-two-factor"}},
		{"number", f.r, map[string]any{"version": 2}, []string{"billing-invoices", "security-password"}},
		{"boolean", f.r, map[string]any{"beta": false}, []string{"data-deletion"}},
		{"array element", f.r, map[string]any{"tags": []any{"login"}}, []string{"security-password", "security-two-factor"}},
		{"array two elements", f.r, map[string]any{"tags": []any{"mfa", "login"}}, []string{"security-two-factor"}},
		{"nested object", f.r, map[string]any{"owner": map[string]any{"team": "identity"}}, []string{"security-password", "security-two-factor"}},
		{"two keys", f.r, map[string]any{"topic": "billing", "version": 1}, []string{"billing-refunds"}},
		{"no match", f.r, map[string]any{"topic": "nothing"}, nil},
		{"number is not string", f.r, map[string]any{"version": "2"}, nil},
		{"config only", fEU.r, nil, []string{"billing-invoices", "billing-refunds"}},
		{"config and query", fEU.r, map[string]any{"version": 2}, []string{"billing-invoices"}},
		{"config and query disjoint", fEU.r, map[string]any{"topic": "security"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chunks, err := tt.r.Search(t.Context(), kb.Query{Text: "account", TopK: 100, Filter: tt.filter})
			if err != nil {
				t.Fatalf("Search: %v", err)
			}
			var got []string
			for _, c := range chunks {
				got = append(got, c.ID)
			}
			slices.Sort(got)
			want := slices.Clone(tt.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}

func TestSearchEmptyTable(t *testing.T) {
	t.Parallel()
	f := setup(t, hashEmbedder{dims: testDims}, nil)
	chunks, err := f.r.Search(t.Context(), kb.Query{Text: "account"})
	if err != nil {
		t.Fatalf("Search: %v", err)
	}
	if len(chunks) != 0 {
		t.Errorf("got %d chunks from an empty table, want 0", len(chunks))
	}
}

func TestSearchInvalidQuery(t *testing.T) {
	t.Parallel()
	f := setupCorpus(t, nil)
	tests := []struct {
		name string
		q    kb.Query
	}{
		{"empty text", kb.Query{Text: ""}},
		{"blank text", kb.Query{Text: " \n\t"}},
		{"negative top_k", kb.Query{Text: "account", TopK: -1}},
		{"top_k too large", kb.Query{Text: "account", TopK: pgvector.MaxTopK + 1}},
		{"filter not JSON", kb.Query{Text: "account", Filter: map[string]any{"x": math.NaN()}}},
		{"filter with a channel", kb.Query{Text: "account", Filter: map[string]any{"x": make(chan int)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chunks, err := f.r.Search(t.Context(), tt.q)
			if !errors.Is(err, kb.ErrInvalidQuery) {
				t.Errorf("error %v, want kb.ErrInvalidQuery", err)
			}
			if chunks != nil {
				t.Errorf("got %d chunks with the error", len(chunks))
			}
		})
	}
}

// cancelingEmbedder cancels the search's context after embedding the
// query, so the cancellation reaches the database statement.
type cancelingEmbedder struct {
	hashEmbedder
	cancel context.CancelFunc
}

func (e cancelingEmbedder) EmbedQuery(ctx context.Context, text string) ([]float32, error) {
	e.cancel()
	return e.hashEmbedder.EmbedQuery(ctx, text)
}

func TestSearchCanceled(t *testing.T) {
	t.Parallel()
	f := setupCorpus(t, nil)

	t.Run("before", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := f.r.Search(ctx, kb.Query{Text: "account"})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error %v, want context.Canceled", err)
		}
		if !errors.Is(err, kb.ErrUnavailable) {
			t.Errorf("error %v, want kb.ErrUnavailable", err)
		}
	})
	t.Run("past deadline", func(t *testing.T) {
		ctx, cancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
		defer cancel()
		_, err := f.r.Search(ctx, kb.Query{Text: "account"})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error %v, want context.DeadlineExceeded", err)
		}
	})
	t.Run("during statement", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		cfg := pgvector.Config{URL: f.url, Table: f.table}
		r, err := pgvector.New(cfg, cancelingEmbedder{hashEmbedder{dims: testDims}, cancel})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		defer r.Close()
		if err := r.EnsureTable(t.Context(), testDims); err != nil {
			t.Fatalf("EnsureTable: %v", err)
		}
		_, err = r.Search(ctx, kb.Query{Text: "account"})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error %v, want context.Canceled", err)
		}
	})
}

func TestSearchTimeout(t *testing.T) {
	t.Parallel()
	f := setupCorpus(t, nil)
	cfg := pgvector.Config{URL: f.url, Table: f.table, Timeout: time.Nanosecond}
	r, err := pgvector.New(cfg, hashEmbedder{dims: testDims})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer r.Close()
	_, err = r.Search(t.Context(), kb.Query{Text: "account"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v, want context.DeadlineExceeded", err)
	}
	if !errors.Is(err, kb.ErrUnavailable) {
		t.Errorf("error %v, want kb.ErrUnavailable", err)
	}
	if err != nil && !strings.Contains(err.Error(), "timed out after 1ns") {
		t.Errorf("error %q does not name the timeout", err)
	}
}

// scanSettings are the run-time settings that make the planner read the
// table with the HNSW index or without it: pgvector's HNSW index leaves
// out all-zero vectors, and a sequential scan does not.
var scanSettings = []struct{ name, param, value string }{
	{"index scan", "enable_seqscan", "off"},
	{"sequential scan", "enable_indexscan", "off"},
}

func TestSearchZeroQueryVector(t *testing.T) {
	t.Parallel()
	for _, scan := range scanSettings {
		t.Run(scan.name, func(t *testing.T) {
			f := setupCorpus(t, func(c *pgvector.Config) { c.URL = withParam(t, c.URL, scan.param, scan.value) })
			chunks, err := f.r.Search(t.Context(), kb.Query{Text: "?!"})
			if err != nil {
				t.Fatalf("Search: %v", err)
			}
			if len(chunks) != 0 {
				t.Errorf("got %d chunks for an all-zero query vector, want 0: %v", len(chunks), chunks)
			}
		})
	}
}

func TestSearchSkipsZeroRows(t *testing.T) {
	t.Parallel()
	for _, scan := range scanSettings {
		t.Run(scan.name, func(t *testing.T) {
			f := setupCorpus(t, func(c *pgvector.Config) { c.URL = withParam(t, c.URL, scan.param, scan.value) })
			// Upsert rejects zero vectors, so the row is written directly,
			// as a table filled by other means can contain it.
			zero := "[" + strings.TrimSuffix(strings.Repeat("0,", testDims), ",") + "]"
			execSQL(t, f.url, "INSERT INTO "+f.table+" (id, vec, metadata) VALUES ('zero', $1::vector, '{\"content\": \"account\"}')", zero)

			chunks, err := f.r.Search(t.Context(), kb.Query{Text: "account", TopK: 100})
			if err != nil {
				t.Fatalf("Search: %v", err)
			}
			if len(chunks) != len(corpus()) {
				t.Errorf("got %d chunks, want the %d corpus rows", len(chunks), len(corpus()))
			}
			for _, c := range chunks {
				if c.ID == "zero" {
					t.Errorf("the row with an all-zero vector was returned with score %v", c.Score)
				}
				if math.IsNaN(c.Score) {
					t.Errorf("chunk %s has a NaN score", c.ID)
				}
			}
		})
	}
}

func TestSearchNonFiniteQueryVector(t *testing.T) {
	t.Parallel()
	for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
		emb := hashEmbedder{dims: testDims, override: func(text string) []float32 {
			if text != "bad" {
				return nil
			}
			v := make([]float32, testDims)
			v[0], v[1] = 1, bad
			return v
		}}
		f := setup(t, emb, nil)
		_, err := f.r.Search(t.Context(), kb.Query{Text: "bad"})
		if !errors.Is(err, pgvector.ErrInvalidVector) {
			t.Errorf("query vector with %v: error %v, want ErrInvalidVector", bad, err)
		}
		if !errors.Is(err, kb.ErrUnavailable) {
			t.Errorf("query vector with %v: error %v, want kb.ErrUnavailable", bad, err)
		}
	}
}

func TestSearchConcurrent(t *testing.T) {
	t.Parallel()
	f := setupCorpus(t, nil)
	want, err := f.r.Search(t.Context(), kb.Query{Text: "account password", TopK: 3})
	if err != nil {
		t.Fatalf("Search: %v", err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			got, err := f.r.Search(t.Context(), kb.Query{Text: "account password", TopK: 3})
			if err != nil {
				errs <- err
				return
			}
			if !reflect.DeepEqual(got, want) {
				errs <- errors.New("concurrent search returned other chunks")
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
