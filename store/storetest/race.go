package storetest

import (
	"sync"
	"testing"
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
// the id claim returned.
func claimAll(t *testing.T, op string, claim func(worker int) (id string, ok bool, err error)) map[string]int {
	var mu sync.Mutex
	claims := make(map[string]int)
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
			mu.Unlock()
		}
	})
	return claims
}

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
