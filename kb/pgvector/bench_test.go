package pgvector_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/agentry/agentry/internal/testenv"
	"github.com/agentry/agentry/kb"
	"github.com/agentry/agentry/kb/lexical"
	"github.com/agentry/agentry/kb/pgvector"
)

// Sizes of the benchmark corpus.
const (
	benchRows      = 100_000
	benchDims      = 256
	benchBatch     = 1000 // rows per Upsert while loading
	benchDocWords  = 40
	benchQueryWord = 4
)

// syllables build the benchmark vocabulary: every word is three of them,
// 20^3 = 8000 words, none of them an English stop word that the lexical
// embedder would drop.
var syllables = strings.Fields("ka lo mi nu pe ra si to vu ze ba de fi go hu ja ke li mo ny")

func benchWord(rng *rand.Rand) string {
	var b strings.Builder
	for range 3 {
		b.WriteString(syllables[rng.IntN(len(syllables))])
	}
	return b.String()
}

func benchText(rng *rand.Rand, words int) string {
	w := make([]string, words)
	for i := range w {
		w[i] = benchWord(rng)
	}
	return strings.Join(w, " ")
}

// benchDocs returns n documents with IDs that start at first, the same
// for the same seed.
func benchDocs(seed uint64, first, n int) []pgvector.Document {
	rng := rand.New(rand.NewPCG(seed, uint64(first)))
	docs := make([]pgvector.Document, n)
	for i := range docs {
		docs[i] = pgvector.Document{
			ID:       fmt.Sprintf("doc-%07d", first+i),
			Content:  benchText(rng, benchDocWords),
			Metadata: map[string]any{"title": fmt.Sprintf("Document %d", first+i), "shard": (first + i) % 16},
		}
	}
	return docs
}

// benchQueries returns n query texts.
func benchQueries(n int) []string {
	rng := rand.New(rand.NewPCG(7, 7))
	qs := make([]string, n)
	for i := range qs {
		qs[i] = benchText(rng, benchQueryWord)
	}
	return qs
}

// percentile returns the nearest-rank p-th percentile of sorted.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(float64(len(sorted))*p/100+0.999999) - 1
	return sorted[min(max(rank, 0), len(sorted)-1)]
}

// reportLatencies reports the p50 and p99 of lat in microseconds.
func reportLatencies(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	b.ReportMetric(float64(percentile(lat, 50).Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(percentile(lat, 99).Nanoseconds())/1e3, "p99-µs")
}

// benchExec runs sql on a new connection to url.
func benchExec(b *testing.B, url, sql string) {
	b.Helper()
	conn, err := pgx.Connect(b.Context(), url)
	if err != nil {
		b.Fatalf("connect: %v", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(b.Context(), sql); err != nil {
		b.Fatalf("exec %q: %v", sql, err)
	}
}

// newBenchRetriever returns a retriever over a new, empty table with its
// HNSW index, in a schema of its own, and the table's qualified name.
func newBenchRetriever(b *testing.B) (*pgvector.Retriever, string, string) {
	b.Helper()
	emb, err := lexical.New(lexical.Options{Dimensions: benchDims})
	if err != nil {
		b.Fatal(err)
	}
	url := testenv.PostgresURL(b)
	schema := testenv.PostgresSchema(b, url)
	r, err := pgvector.New(pgvector.Config{URL: url, Table: schema + ".docs"}, emb)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(r.Close)
	if err := r.EnsureTable(b.Context(), benchDims); err != nil {
		b.Fatal(err)
	}
	return r, url, schema
}

// BenchmarkSearch100k times Search with top_k 5 on a table of 100,000
// rows with an HNSW index. It loads the table once per run: rows go in
// through Upsert in batches of benchBatch without the index, and the
// index is built afterwards, which is faster than inserting into it.
func BenchmarkSearch100k(b *testing.B) {
	r, url, schema := newBenchRetriever(b)
	benchExec(b, url, "DROP INDEX "+schema+".docs_vec_idx")

	start := time.Now()
	for first := 0; first < benchRows; first += benchBatch {
		if err := r.Upsert(b.Context(), benchDocs(1, first, benchBatch)); err != nil {
			b.Fatalf("Upsert rows %d..: %v", first, err)
		}
	}
	load := time.Since(start)

	start = time.Now()
	// The 100,000 vectors take about 100 MB, more than the default
	// maintenance_work_mem of 64 MB, so the build gets 512 MB.
	benchExec(b, url, "SET maintenance_work_mem = '512MB'; "+
		"CREATE INDEX docs_vec_idx ON "+schema+".docs USING hnsw (vec vector_cosine_ops); "+
		"ANALYZE "+schema+".docs")
	index := time.Since(start)

	queries := benchQueries(1000)
	lat := make([]time.Duration, 0, 1<<16)
	i := 0
	for b.Loop() {
		q := kb.Query{Text: queries[i%len(queries)], TopK: 5}
		i++
		t0 := time.Now()
		chunks, err := r.Search(b.Context(), q)
		lat = append(lat, time.Since(t0))
		if err != nil {
			b.Fatalf("Search(%q): %v", q.Text, err)
		}
		if len(chunks) == 0 {
			b.Fatalf("Search(%q) returned no chunks", q.Text)
		}
	}
	reportLatencies(b, lat)
	b.ReportMetric(benchRows/load.Seconds(), "load-rows/s")
	b.ReportMetric(index.Seconds(), "index-build-s")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkUpsert times Upsert of batches of 500 new rows into a table
// with its HNSW index, starting empty, so the table grows by 500 rows per
// iteration. The embedding is the lexical embedder's, which is cheap.
func BenchmarkUpsert(b *testing.B) {
	const batch = 500
	r, _, _ := newBenchRetriever(b)
	first := 0
	start := time.Now()
	for b.Loop() {
		if err := r.Upsert(b.Context(), benchDocs(2, first, batch)); err != nil {
			b.Fatalf("Upsert rows %d..: %v", first, err)
		}
		first += batch
	}
	b.ReportMetric(float64(first)/time.Since(start).Seconds(), "rows/s")
	b.ReportMetric(float64(first), "rows-total")
}
