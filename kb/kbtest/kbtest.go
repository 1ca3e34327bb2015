package kbtest

import (
	"context"
	"testing"
	"time"

	"github.com/agentry/agentry/kb"
)

// CancelBehavior is what a retriever's Search does when its context is
// already done.
type CancelBehavior int

const (
	// CancelReturnsError: Search returns an error that wraps ctx.Err()
	// (context.Canceled, or context.DeadlineExceeded for a past
	// deadline).
	CancelReturnsError CancelBehavior = iota
	// CancelIgnored: Search does not observe ctx, for retrievers that
	// never block. The suite then checks only that Search returns within
	// Options.CallTimeout and that an error, if any, wraps ctx.Err().
	CancelIgnored
)

// Options describes the retriever under test. The zero value fits a
// retriever whose chunk IDs are the document IDs, whose default top_k is
// 5 and which returns an error on a done context.
type Options struct {
	// DefaultTopK is the number of chunks Search returns, at most, when
	// Query.TopK is 0. Default 5.
	DefaultTopK int
	// DocID returns the ID of the Doc a returned chunk was made from.
	// Default: the chunk's ID.
	DocID func(kb.Chunk) string
	// Cancel is what Search does with a done context. Default
	// CancelReturnsError.
	Cancel CancelBehavior
	// CallTimeout bounds each Search call of the suite. Default 30s.
	CallTimeout time.Duration
}

func (o Options) withDefaults() Options {
	if o.DefaultTopK == 0 {
		o.DefaultTopK = 5
	}
	if o.DocID == nil {
		o.DocID = func(c kb.Chunk) string { return c.ID }
	}
	if o.CallTimeout == 0 {
		o.CallTimeout = 30 * time.Second
	}
	return o
}

// Factory builds a retriever over docs. docs may be empty. The factory
// fails t when it cannot build one, and registers any cleanup with
// t.Cleanup.
type Factory func(t *testing.T, docs []Doc) kb.Retriever

// Run runs the conformance suite against the retrievers that factory
// builds, one subtest per check, each with a new retriever.
func Run(t *testing.T, factory Factory, opts Options) {
	t.Helper()
	opts = opts.withDefaults()
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			docs := Corpus()
			if c.noDocs {
				docs = nil
			}
			r := factory(t, docs)
			if r == nil {
				t.Fatal("factory returned a nil retriever")
			}
			c.run(&env{ctx: t.Context(), retriever: r, opts: opts, report: t})
		})
	}
}

// reporter is the part of *testing.T that checks use, so that the
// suite's own tests can record what a check reports.
type reporter interface {
	Errorf(format string, args ...any)
}

// env is what a check runs against.
type env struct {
	ctx       context.Context
	retriever kb.Retriever
	opts      Options
	report    reporter
}

// search calls Search with the suite's call timeout.
func (e *env) search(q kb.Query) ([]kb.Chunk, error) {
	ctx, cancel := context.WithTimeout(e.ctx, e.opts.CallTimeout)
	defer cancel()
	return e.retriever.Search(ctx, q)
}

// searchOK calls Search and validates the results. It reports an error
// and returns false when Search fails or the results are invalid.
func (e *env) searchOK(q kb.Query) ([]kb.Chunk, bool) {
	chunks, err := e.search(q)
	if err != nil {
		e.report.Errorf("Search(%s): unexpected error: %v", describe(q), err)
		return nil, false
	}
	return chunks, e.validate(q, chunks)
}
