package kbtest

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/agentry/agentry/kb"
	"github.com/agentry/agentry/kb/memory"
)

// recorder collects what a check reports.
type recorder struct {
	mu       sync.Mutex
	problems []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.problems = append(r.problems, fmt.Sprintf(format, args...))
}

func newMemory(t *testing.T, docs []Doc) *memory.Retriever {
	t.Helper()
	documents := make([]memory.Document, len(docs))
	for i, d := range docs {
		documents[i] = memory.Document{ID: d.ID, Text: d.Content, Metadata: d.Metadata}
	}
	r, err := memory.New(t.Context(), documents, memory.Options{})
	if err != nil {
		t.Fatalf("memory.New: %v", err)
	}
	return r
}

var testOptions = Options{DocID: func(c kb.Chunk) string {
	id, _, _ := strings.Cut(c.ID, "#")
	return id
}}.withDefaults()

// runCheck runs the named check against r and returns its problems.
func runCheck(t *testing.T, name string, r kb.Retriever, opts Options) []string {
	t.Helper()
	i := slices.IndexFunc(checks, func(c check) bool { return c.name == name })
	if i < 0 {
		t.Fatalf("no check named %q", name)
	}
	rec := &recorder{}
	checks[i].run(&env{ctx: t.Context(), retriever: r, opts: opts, report: rec})
	return rec.problems
}

// searchFunc adapts a function to kb.Retriever.
type searchFunc func(ctx context.Context, q kb.Query) ([]kb.Chunk, error)

func (f searchFunc) Search(ctx context.Context, q kb.Query) ([]kb.Chunk, error) {
	return f(ctx, q)
}

func TestRunMemory(t *testing.T) {
	Run(t, func(t *testing.T, docs []Doc) kb.Retriever { return newMemory(t, docs) }, testOptions)
}

// TestChecksCatchFaults runs each check against a retriever with one
// fault and expects the check to report it.
func TestChecksCatchFaults(t *testing.T) {
	ignoreCancel := func(o Options) Options {
		o.Cancel = CancelIgnored
		return o
	}
	cases := []struct {
		name   string
		check  string
		noDocs bool
		fault  func(r kb.Retriever) kb.Retriever
		opts   func(Options) Options
	}{
		{name: "ranking reversed", check: "Ranking", fault: reversed},
		{name: "ranking ascending scores", check: "Ranking", fault: withScore(func(i int) float64 { return float64(i) })},
		{name: "ranking NaN score", check: "Ranking", fault: withScore(func(int) float64 { return math.NaN() })},
		{name: "ranking duplicate", check: "Ranking", fault: withDuplicate},
		{name: "ranking lost metadata", check: "Ranking", fault: withoutMetadata},
		{name: "ranking lost content", check: "Ranking", fault: withContent("(truncated)")},
		{name: "messages rejected", check: "Messages", fault: rejectingMessages},
		{name: "top_k ignored", check: "TopK", fault: ignoringTopK},
		{name: "top_k fixed", check: "TopK", fault: withTopK(1)},
		{name: "default top_k wrong", check: "DefaultTopK", fault: withTopK(2)},
		{name: "default top_k expected", check: "DefaultTopK", opts: func(o Options) Options {
			o.DefaultTopK = 3
			return o
		}},
		{name: "filter ignored", check: "Filter", fault: ignoringFilter},
		{name: "filter after top_k", check: "FilterBeforeTopK", fault: filteringAfterTopK},
		{name: "no match filter ignored", check: "FilterNoMatch", fault: ignoringFilter},
		{name: "no match error", check: "FilterNoMatch", fault: failingWithoutResults},
		{name: "no docs error", check: "NoDocs", noDocs: true, fault: failingWithoutResults},
		{name: "empty text accepted", check: "InvalidQuery", fault: acceptingEmptyText},
		{name: "context ignored", check: "Cancelled", fault: ignoringContext},
		{name: "cancel error unwrapped", check: "Cancelled", fault: wrongCancelError},
		{name: "ignored cancel error unwrapped", check: "Cancelled", fault: wrongCancelError, opts: ignoreCancel},
		{name: "concurrent results differ", check: "Concurrent", fault: changingAfter(len(rankingCases))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opts := testOptions
			if c.opts != nil {
				opts = c.opts(opts)
			}
			var docs []Doc
			if !c.noDocs {
				docs = Corpus()
			}
			var r kb.Retriever = newMemory(t, docs)
			if c.fault != nil {
				r = c.fault(r)
			}
			problems := runCheck(t, c.check, r, opts)
			if len(problems) == 0 {
				t.Fatal("check reported nothing for a faulty retriever")
			}
			t.Logf("reported: %s", problems[0])
		})
	}
}

// TestCancelIgnored checks that CancelIgnored accepts a retriever that
// returns results for a done context.
func TestCancelIgnored(t *testing.T) {
	opts := testOptions
	opts.Cancel = CancelIgnored
	r := ignoringContext(newMemory(t, Corpus()))
	if problems := runCheck(t, "Cancelled", r, opts); len(problems) != 0 {
		t.Errorf("check reported %q", problems)
	}
}

func reversed(r kb.Retriever) kb.Retriever {
	return searchFunc(func(ctx context.Context, q kb.Query) ([]kb.Chunk, error) {
		chunks, err := r.Search(ctx, q)
		slices.Reverse(chunks)
		return chunks, err
	})
}

func withoutMetadata(r kb.Retriever) kb.Retriever {
	return searchFunc(func(ctx context.Context, q kb.Query) ([]kb.Chunk, error) {
		chunks, err := r.Search(ctx, q)
		for i := range chunks {
			chunks[i].Metadata = nil
		}
		return chunks, err
	})
}

func withContent(content string) func(kb.Retriever) kb.Retriever {
	return func(r kb.Retriever) kb.Retriever {
		return searchFunc(func(ctx context.Context, q kb.Query) ([]kb.Chunk, error) {
			chunks, err := r.Search(ctx, q)
			for i := range chunks {
				chunks[i].Content = content
			}
			return chunks, err
		})
	}
}

func withScore(score func(i int) float64) func(kb.Retriever) kb.Retriever {
	return func(r kb.Retriever) kb.Retriever {
		return searchFunc(func(ctx context.Context, q kb.Query) ([]kb.Chunk, error) {
			chunks, err := r.Search(ctx, q)
			for i := range chunks {
				chunks[i].Score = score(i)
			}
			return chunks, err
		})
	}
}

func withDuplicate(r kb.Retriever) kb.Retriever {
	return searchFunc(func(ctx context.Context, q kb.Query) ([]kb.Chunk, error) {
		chunks, err := r.Search(ctx, q)
		if len(chunks) > 0 {
			chunks = append(chunks[:1], chunks...)
		}
		return chunks, err
	})
}

// ignoringTopK returns every match.
func ignoringTopK(r kb.Retriever) kb.Retriever {
	return searchFunc(func(ctx context.Context, q kb.Query) ([]kb.Chunk, error) {
		if q.TopK > 0 {
			q.TopK = 100
		}
		return r.Search(ctx, q)
	})
}

// withTopK replaces every top_k with k.
func withTopK(k int) func(kb.Retriever) kb.Retriever {
	return func(r kb.Retriever) kb.Retriever {
		return searchFunc(func(ctx context.Context, q kb.Query) ([]kb.Chunk, error) {
			q.TopK = k
			return r.Search(ctx, q)
		})
	}
}

func rejectingMessages(r kb.Retriever) kb.Retriever {
	return searchFunc(func(ctx context.Context, q kb.Query) ([]kb.Chunk, error) {
		if len(q.Messages) > 0 {
			return nil, fmt.Errorf("%w: messages are not supported", kb.ErrInvalidQuery)
		}
		return r.Search(ctx, q)
	})
}

func ignoringFilter(r kb.Retriever) kb.Retriever {
	return searchFunc(func(ctx context.Context, q kb.Query) ([]kb.Chunk, error) {
		q.Filter = nil
		return r.Search(ctx, q)
	})
}

// filteringAfterTopK cuts to top_k first and filters the rest by topic.
func filteringAfterTopK(r kb.Retriever) kb.Retriever {
	return searchFunc(func(ctx context.Context, q kb.Query) ([]kb.Chunk, error) {
		filter := q.Filter
		q.Filter = nil
		chunks, err := r.Search(ctx, q)
		return slices.DeleteFunc(chunks, func(c kb.Chunk) bool {
			return filter != nil && c.Metadata["topic"] != filter["topic"]
		}), err
	})
}

func failingWithoutResults(r kb.Retriever) kb.Retriever {
	return searchFunc(func(ctx context.Context, q kb.Query) ([]kb.Chunk, error) {
		chunks, err := r.Search(ctx, q)
		if err == nil && len(chunks) == 0 {
			return nil, fmt.Errorf("no results")
		}
		return chunks, err
	})
}

func acceptingEmptyText(r kb.Retriever) kb.Retriever {
	return searchFunc(func(ctx context.Context, q kb.Query) ([]kb.Chunk, error) {
		if strings.TrimSpace(q.Text) == "" {
			return []kb.Chunk{}, nil
		}
		return r.Search(ctx, q)
	})
}

func ignoringContext(r kb.Retriever) kb.Retriever {
	return searchFunc(func(_ context.Context, q kb.Query) ([]kb.Chunk, error) {
		return r.Search(context.Background(), q)
	})
}

func wrongCancelError(r kb.Retriever) kb.Retriever {
	return searchFunc(func(ctx context.Context, q kb.Query) ([]kb.Chunk, error) {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("cancelled: %v", ctx.Err()) // not wrapped
		}
		return r.Search(ctx, q)
	})
}

// changingAfter drops the last chunk from the (n+1)th call on, like a
// retriever whose shared state a search corrupts.
func changingAfter(n int) func(kb.Retriever) kb.Retriever {
	return func(r kb.Retriever) kb.Retriever {
		var calls atomic.Int64
		return searchFunc(func(ctx context.Context, q kb.Query) ([]kb.Chunk, error) {
			chunks, err := r.Search(ctx, q)
			if calls.Add(1) > int64(n) && len(chunks) > 0 {
				chunks = chunks[:len(chunks)-1]
			}
			return chunks, err
		})
	}
}
