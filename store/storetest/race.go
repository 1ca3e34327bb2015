package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/agentry/agentry/store"
)

// runAtOnce calls f(i) for each i in [0, n) from n goroutines that start
// together, so the calls race, and returns when every call has returned.
func runAtOnce(n int, f func(i int)) {
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			f(i)
		})
	}
	close(start)
	wg.Wait()
}

// raceClaims makes claimRacers calls of claim at once, one per racer
// number, and returns how many took the lease (ok=true). It reports each
// error as a failure of op.
func raceClaims(t *testing.T, op string, claim func(racer int) (ok bool, err error)) int {
	var mu sync.Mutex
	wins := 0
	runAtOnce(claimRacers, func(racer int) {
		ok, err := claim(racer)
		if err != nil {
			t.Errorf("%s: %v", op, err)
			return
		}
		if ok {
			mu.Lock()
			wins++
			mu.Unlock()
		}
	})
	return wins
}

// claimAll runs claimWorkers workers at once. Each calls claim with its
// worker number until claim returns ok=false or an error, which it
// reports as a failure of op. claimAll returns the number of claims by
// the id claim returned. The workers stop after claimLimit(items)
// claims in all, so a store that keeps handing out work fails the
// caller's count check instead of hanging.
func claimAll(t *testing.T, op string, items int, claim func(worker int) (id string, ok bool, err error)) map[string]int {
	var mu sync.Mutex
	claims := make(map[string]int)
	total := 0
	runAtOnce(claimWorkers, func(worker int) {
		for {
			id, ok, err := claim(worker)
			if err != nil {
				t.Errorf("%s: %v", op, err)
				return
			}
			if !ok {
				return
			}
			mu.Lock()
			claims[id]++
			total++
			stop := total >= claimLimit(items)
			mu.Unlock()
			if stop {
				return
			}
		}
	})
	return claims
}

// claimLimit is how many claims a loop that claims until no work is left
// makes at most when items pieces of work exist: enough to see a piece
// handed out twice, few enough that a store that never returns ok=false
// still lets the check fail.
func claimLimit(items int) int { return 2*items + 2 }

// assertClaimedOnce checks that claims, the number of claims by id,
// contains want distinct ids, each claimed once. The messages name kind
// ("run" or "callback") and end with where, such as " across both
// processes".
func assertClaimedOnce(t *testing.T, claims map[string]int, want int, kind, where string) {
	t.Helper()
	if len(claims) != want {
		t.Errorf("%d distinct %ss claimed%s, want %d", len(claims), kind, where, want)
	}
	for id, n := range claims {
		if n != 1 {
			t.Errorf("%s %q claimed %d times%s, want once", kind, id, n, where)
		}
	}
}

// appendFromWriters appends count events to the session, one per call,
// from writers goroutines that start together, and returns the offsets
// the calls returned. Each writer stops at its first error, and the
// returned error joins them. The event texts start with label.
func appendFromWriters(s store.Store, sessionID string, writers, count int, label string) ([]int64, error) {
	ctx := context.Background()
	writers = max(writers, 1)
	var (
		mu      sync.Mutex
		offsets []int64
		errs    []error
	)
	runAtOnce(writers, func(w int) {
		n := count / writers
		if w < count%writers {
			n++
		}
		for i := range n {
			event := textEvent(fmt.Sprintf("%s w%d-%d", label, w, i))
			evs, err := s.Append(ctx, sessionID, []store.NewEvent{event}, store.AppendOptions{})
			mu.Lock()
			if err != nil {
				errs = append(errs, fmt.Errorf("append to session %q: %w", sessionID, err))
				mu.Unlock()
				return
			}
			offsets = append(offsets, evs[0].Offset)
			mu.Unlock()
		}
	})
	return offsets, errors.Join(errs...)
}
