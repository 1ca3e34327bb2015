package memory

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agentry/agentry/kb"
	"github.com/agentry/agentry/kb/lexical"
)

// Sizes of the benchmark corpus, the same as the pgvector benchmark's.
const (
	benchDocs      = 100_000
	benchDims      = 256
	benchDocWords  = 40
	benchQueryWord = 4
)

// syllables build the benchmark vocabulary: every word is three of them,
// 20^3 = 8000 words, none of them an English stop word that the lexical
// embedder would drop.
var syllables = strings.Fields("ka lo mi nu pe ra si to vu ze ba de fi go hu ja ke li mo ny")

func benchText(rng *rand.Rand, words int) string {
	w := make([]string, words)
	for i := range w {
		var b strings.Builder
		for range 3 {
			b.WriteString(syllables[rng.IntN(len(syllables))])
		}
		w[i] = b.String()
	}
	return strings.Join(w, " ")
}

// percentile returns the nearest-rank p-th percentile of sorted.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(float64(len(sorted))*p/100+0.999999) - 1
	return sorted[min(max(rank, 0), len(sorted)-1)]
}

// BenchmarkSearch100k times Search with top_k 5 over 100,000 documents
// of one chunk each, embedded once per run by the lexical embedder. The
// retriever scores every chunk on each query.
func BenchmarkSearch100k(b *testing.B) {
	emb, err := lexical.New(lexical.Options{Dimensions: benchDims})
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 0))
	docs := make([]Document, benchDocs)
	for i := range docs {
		docs[i] = Document{ID: fmt.Sprintf("doc-%07d", i), Text: benchText(rng, benchDocWords)}
	}
	start := time.Now()
	r, err := New(b.Context(), docs, Options{Embedder: emb})
	if err != nil {
		b.Fatal(err)
	}
	build := time.Since(start)
	if r.Len() != benchDocs {
		b.Fatalf("the retriever has %d chunks, want %d", r.Len(), benchDocs)
	}

	qrng := rand.New(rand.NewPCG(7, 7))
	queries := make([]string, 1000)
	for i := range queries {
		queries[i] = benchText(qrng, benchQueryWord)
	}
	lat := make([]time.Duration, 0, 1<<14)
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
	slices.Sort(lat)
	b.ReportMetric(float64(percentile(lat, 50).Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(percentile(lat, 99).Nanoseconds())/1e3, "p99-µs")
	b.ReportMetric(build.Seconds(), "build-s")
	b.ReportMetric(0, "ns/op")
}
