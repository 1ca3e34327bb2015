package storetest

import (
	"context"
	"testing"

	"github.com/agentry/agentry/store"
)

// Run runs the suite against the stores that newStore creates. Parts
// that need opts.Reopen or opts.MultiProcess are skipped without them.
func Run(t *testing.T, newStore Factory, opts Options) {
	t.Helper()
	h := &harness{newStore: newStore, opts: opts}
	t.Run("Sessions/Create", h.testSessionCreate)
}

// harness carries the factory and options to every subtest.
type harness struct {
	newStore Factory
	opts     Options
}

// open returns a fresh store and its clock, and closes the store when the
// subtest ends.
func (h *harness) open(t *testing.T) (store.Store, *Clock) {
	t.Helper()
	clock := NewClock()
	s := h.newStore(t, clock.Now)
	t.Cleanup(func() { _ = s.Close() })
	return s, clock
}

func (h *harness) testSessionCreate(t *testing.T) {
	ctx := context.Background()
	s, _ := h.open(t)
	sess, created, err := s.CreateSession(ctx, store.Session{ID: "s-1"}, nil)
	if err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	if !created || sess.ID != "s-1" || sess.NextOffset != 0 || sess.TriggerOffset != -1 {
		t.Fatalf("CreateSession = %+v, created %v; want a new session s-1 at offset 0 with TriggerOffset -1", sess, created)
	}
}
