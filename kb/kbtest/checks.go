package kbtest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/agentry/agentry/kb"
	"github.com/agentry/agentry/kb/internal/metafilter"
)

// check is one subtest of the suite.
type check struct {
	name   string
	noDocs bool // build the retriever over no documents
	run    func(*env)
}

var checks = []check{
	{name: "Ranking", run: checkRanking},
	{name: "Messages", run: checkMessages},
	{name: "TopK", run: checkTopK},
	{name: "DefaultTopK", run: checkDefaultTopK},
	{name: "Filter", run: checkFilter},
	{name: "FilterBeforeTopK", run: checkFilterBeforeTopK},
	{name: "FilterNoMatch", run: checkFilterNoMatch},
	{name: "NoDocs", noDocs: true, run: checkNoDocs},
	{name: "InvalidQuery", run: checkInvalidQuery},
	{name: "Cancelled", run: checkCancelled},
	{name: "Concurrent", run: checkConcurrent},
}

// describe formats a query for messages.
func describe(q kb.Query) string {
	s := fmt.Sprintf("%q, top_k %d", q.Text, q.TopK)
	if q.Filter != nil {
		s += fmt.Sprintf(", filter %v", q.Filter)
	}
	return s
}

// validate reports results that break the kb.Retriever contract: more
// than the requested number, unordered or non-finite scores, missing or
// repeated IDs.
func (e *env) validate(q kb.Query, chunks []kb.Chunk) bool {
	ok := true
	fail := func(format string, args ...any) {
		e.report.Errorf("Search(%s): "+format, append([]any{describe(q)}, args...)...)
		ok = false
	}
	if q.TopK > 0 && len(chunks) > q.TopK {
		fail("returned %d chunks, more than top_k", len(chunks))
	}
	seen := map[string]bool{}
	for i, c := range chunks {
		if c.ID == "" {
			fail("chunk %d has an empty ID", i)
		}
		if seen[c.ID] {
			fail("chunk ID %q appears twice", c.ID)
		}
		seen[c.ID] = true
		if math.IsNaN(c.Score) || math.IsInf(c.Score, 0) {
			fail("chunk %q has the score %v, want a finite number", c.ID, c.Score)
		}
		if i > 0 && c.Score > chunks[i-1].Score {
			fail("chunk %d (%q) scores %v, more than chunk %d (%v): want descending scores",
				i, c.ID, c.Score, i-1, chunks[i-1].Score)
		}
	}
	return ok
}

// docIDs maps chunks to the IDs of their documents.
func (e *env) docIDs(chunks []kb.Chunk) []string {
	ids := make([]string, len(chunks))
	for i, c := range chunks {
		ids[i] = e.opts.DocID(c)
	}
	return ids
}

func docByID(id string) (Doc, bool) {
	for _, d := range Corpus() {
		if d.ID == id {
			return d, true
		}
	}
	return Doc{}, false
}

func checkRanking(e *env) {
	for _, c := range rankingCases {
		q := kb.Query{Text: c.query, TopK: 3}
		chunks, ok := e.searchOK(q)
		if !ok {
			continue
		}
		if len(chunks) == 0 {
			e.report.Errorf("Search(%s): no results, want %q first", describe(q), c.want)
			continue
		}
		if got := e.opts.DocID(chunks[0]); got != c.want {
			e.report.Errorf("Search(%s): first result from %q (ranking %v), want %q",
				describe(q), got, e.docIDs(chunks), c.want)
			continue
		}
		checkChunkMatchesDoc(e, q, chunks[0])
	}
}

// checkChunkMatchesDoc reports a chunk whose content or metadata lost
// part of its document.
func checkChunkMatchesDoc(e *env, q kb.Query, c kb.Chunk) {
	doc, found := docByID(e.opts.DocID(c))
	if !found {
		e.report.Errorf("Search(%s): chunk %q maps to no document of the corpus", describe(q), c.ID)
		return
	}
	if !strings.Contains(c.Content, doc.Content) {
		e.report.Errorf("Search(%s): chunk %q has the content %q, want it to contain %q",
			describe(q), c.ID, c.Content, doc.Content)
	}
	got, err := metafilter.Normalize(c.Metadata)
	if err != nil {
		e.report.Errorf("Search(%s): chunk %q has metadata that is not JSON: %v", describe(q), c.ID, err)
		return
	}
	want, err := metafilter.Normalize(doc.Metadata)
	if err != nil {
		panic(fmt.Sprintf("kbtest corpus: metadata of %q: %v", doc.ID, err))
	}
	if !metafilter.Contains(got, want) {
		e.report.Errorf("Search(%s): chunk %q has the metadata %v, want it to contain %v",
			describe(q), c.ID, c.Metadata, doc.Metadata)
	}
}

func checkMessages(e *env) {
	q := kb.Query{
		Text: "reset my password",
		Messages: []kb.Message{
			{Role: "user", Text: "I forgot my password and cannot sign in."},
			{Role: "assistant", Text: "I can help you reset your password."},
		},
		TopK: 3,
	}
	chunks, ok := e.searchOK(q)
	if !ok {
		return
	}
	if len(chunks) == 0 || e.opts.DocID(chunks[0]) != "security-password" {
		e.report.Errorf("Search(%s) with messages: ranking %v, want %q first",
			describe(q), e.docIDs(chunks), "security-password")
	}
}

func checkTopK(e *env) {
	n := len(Corpus())
	for _, k := range []int{1, 2, 3, n, n + 5} {
		q := kb.Query{Text: sharedQuery, TopK: k}
		chunks, ok := e.searchOK(q)
		if !ok {
			continue
		}
		if want := min(k, n); len(chunks) != want {
			e.report.Errorf("Search(%s): %d chunks, want %d (the corpus has %d documents, all matching)",
				describe(q), len(chunks), want, n)
		}
	}
}

func checkDefaultTopK(e *env) {
	q := kb.Query{Text: sharedQuery}
	chunks, ok := e.searchOK(q)
	if !ok {
		return
	}
	n := len(Corpus())
	if want := min(e.opts.DefaultTopK, n); len(chunks) != want {
		e.report.Errorf("Search(%s): %d chunks, want the default top_k %d (the corpus has %d documents)",
			describe(q), len(chunks), want, n)
	}
}

func checkFilter(e *env) {
	n := len(Corpus())
	for _, c := range filterCases {
		q := kb.Query{Text: sharedQuery, TopK: n, Filter: c.filter}
		chunks, ok := e.searchOK(q)
		if !ok {
			continue
		}
		got := e.docIDs(chunks)
		slices.Sort(got)
		want := slices.Sorted(slices.Values(c.want))
		if !slices.Equal(got, want) {
			e.report.Errorf("filter %s: Search(%s) returned documents %v, want %v",
				c.name, describe(q), got, want)
		}
	}
}

func checkFilterBeforeTopK(e *env) {
	// The query ranks a billing document first, so a retriever that cuts
	// to top_k before filtering returns nothing.
	q := kb.Query{
		Text:   "pay an invoice by bank transfer for an account",
		TopK:   1,
		Filter: map[string]any{"topic": "security"},
	}
	chunks, ok := e.searchOK(q)
	if !ok {
		return
	}
	if len(chunks) != 1 {
		e.report.Errorf("Search(%s): %d chunks, want 1: apply the filter before top_k",
			describe(q), len(chunks))
		return
	}
	if got := e.opts.DocID(chunks[0]); !strings.HasPrefix(got, "security-") {
		e.report.Errorf("Search(%s): result from %q, which the filter excludes", describe(q), got)
	}
}

func checkFilterNoMatch(e *env) {
	for _, c := range emptyFilterCases {
		q := kb.Query{Text: sharedQuery, TopK: 3, Filter: c.filter}
		chunks, ok := e.searchOK(q)
		if ok && len(chunks) != 0 {
			e.report.Errorf("filter %s: Search(%s) returned documents %v, want none",
				c.name, describe(q), e.docIDs(chunks))
		}
	}
}

func checkNoDocs(e *env) {
	for _, q := range []kb.Query{
		{Text: sharedQuery},
		{Text: "reset my password", TopK: 3},
		{Text: sharedQuery, Filter: map[string]any{"topic": "billing"}},
	} {
		chunks, ok := e.searchOK(q)
		if ok && len(chunks) != 0 {
			e.report.Errorf("Search(%s) over no documents: %d chunks, want none", describe(q), len(chunks))
		}
	}
}

func checkInvalidQuery(e *env) {
	for _, q := range []kb.Query{
		{Text: ""},
		{Text: " \n\t "},
		{Text: sharedQuery, TopK: -1},
	} {
		_, err := e.search(q)
		if !errors.Is(err, kb.ErrInvalidQuery) {
			e.report.Errorf("Search(%s): error %v, want one wrapping kb.ErrInvalidQuery", describe(q), err)
		}
	}
}

func checkCancelled(e *env) {
	cancelled, cancel := context.WithCancel(e.ctx)
	cancel()
	expired, cancelExpired := context.WithDeadline(e.ctx, time.Now().Add(-time.Second))
	defer cancelExpired()

	for _, ctx := range []context.Context{cancelled, expired} {
		q := kb.Query{Text: sharedQuery, TopK: 3}
		errc := make(chan error, 1)
		go func() {
			_, err := e.retriever.Search(ctx, q)
			errc <- err
		}()
		var err error
		select {
		case err = <-errc:
		case <-time.After(e.opts.CallTimeout):
			e.report.Errorf("Search with a done context (%v) still running after %v", ctx.Err(), e.opts.CallTimeout)
			continue
		}
		switch {
		case err != nil && !errors.Is(err, ctx.Err()):
			e.report.Errorf("Search with a done context: error %v, want one wrapping %v", err, ctx.Err())
		case err == nil && e.opts.Cancel == CancelReturnsError:
			e.report.Errorf("Search with a done context (%v): no error, want one wrapping it", ctx.Err())
		}
	}
}

func checkConcurrent(e *env) {
	queries := make([]kb.Query, len(rankingCases))
	want := make([][]string, len(rankingCases))
	for i, c := range rankingCases {
		queries[i] = kb.Query{Text: c.query, TopK: 3}
		chunks, ok := e.searchOK(queries[i])
		if !ok {
			return
		}
		want[i] = chunkIDs(chunks)
	}

	const workers = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	for range workers {
		wg.Go(func() {
			for i, q := range queries {
				chunks, err := e.search(q)
				mu.Lock()
				if err != nil {
					e.report.Errorf("concurrent Search(%s): %v", describe(q), err)
				} else if got := chunkIDs(chunks); !slices.Equal(got, want[i]) {
					e.report.Errorf("concurrent Search(%s) returned %v, alone it returned %v",
						describe(q), got, want[i])
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

func chunkIDs(chunks []kb.Chunk) []string {
	ids := make([]string, len(chunks))
	for i, c := range chunks {
		ids[i] = c.ID
	}
	return ids
}
