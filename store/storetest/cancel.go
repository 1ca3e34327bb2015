package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/agentry/agentry/store"
)

// mustRequestCancel calls RequestCancel and fails the test on an error.
func mustRequestCancel(t testing.TB, s store.Store, id string) bool {
	t.Helper()
	requested, err := s.RequestCancel(context.Background(), id)
	if err != nil {
		t.Fatalf("RequestCancel(%q): %v", id, err)
	}
	return requested
}

// testRequestCancelNoLease checks that a request without a held lease
// changes nothing, and that unknown and deleted sessions are not found.
func (h *harness) testRequestCancelNoLease(t *testing.T) {
	ctx := context.Background()
	s, _ := h.open(t)
	mustCreate(t, s, "s-1")

	if mustRequestCancel(t, s, "s-1") {
		t.Errorf("RequestCancel(idle session) = true, want false")
	}
	mustTrigger(t, s, "s-1")
	if mustRequestCancel(t, s, "s-1") {
		t.Errorf("RequestCancel(pending turn, no lease) = true, want false")
	}
	if mustGetSession(t, s, "s-1").CancelRequested {
		t.Errorf("CancelRequested = true after requests without a lease, want false")
	}
	if c := mustClaimTurn(t, s, "s-1", "w1", time.Minute); c.Session.CancelRequested {
		t.Errorf("claim's Session.CancelRequested = true, want false: no request found a lease")
	}

	if _, err := s.RequestCancel(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RequestCancel(unknown session) error = %v, want ErrNotFound", err)
	}
	mustHoldTurn(t, s, "s-2", "w1", time.Minute)
	if err := s.DeleteSession(ctx, "s-2"); err != nil {
		t.Fatalf("DeleteSession: %v", err)
	}
	if _, err := s.RequestCancel(ctx, "s-2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RequestCancel(deleted session) error = %v, want ErrNotFound", err)
	}
}

// testRequestCancelHeld checks that a request against a held lease sets
// the flag, wakes the session's waiters and leaves the lease alone, and
// that CompleteTurn clears the flag.
func (h *harness) testRequestCancelHeld(t *testing.T) {
	ctx := context.Background()
	s, _ := h.open(t)
	c, trigger := mustHoldTurn(t, s, "s-1", "w1", time.Minute)

	wake, cancel := s.Notifier().Subscribe("s-1")
	defer cancel()
	drain(wake)
	if !mustRequestCancel(t, s, "s-1") {
		t.Fatalf("RequestCancel(held lease) = false, want true")
	}
	expectWake(t, wake, "RequestCancel")
	stored := mustGetSession(t, s, "s-1")
	if !stored.CancelRequested {
		t.Errorf("CancelRequested = false after RequestCancel, want true")
	}
	if !sameLease(stored.Lease, c.Lease) {
		t.Errorf("Lease = %+v after RequestCancel, want the claim's %+v unchanged", stored.Lease, c.Lease)
	}
	if !mustRequestCancel(t, s, "s-1") {
		t.Errorf("second RequestCancel(held lease) = false, want true")
	}
	if err := s.ExtendLease(ctx, c, time.Minute); err != nil {
		t.Errorf("ExtendLease after RequestCancel: %v", err)
	}

	if _, err := s.CompleteTurn(ctx, c, nil, trigger.Offset+1); err != nil {
		t.Fatalf("CompleteTurn: %v", err)
	}
	if mustGetSession(t, s, "s-1").CancelRequested {
		t.Errorf("CancelRequested = true after CompleteTurn, want false")
	}
	if mustRequestCancel(t, s, "s-1") {
		t.Errorf("RequestCancel after CompleteTurn = true, want false: no lease is held")
	}
	mustTrigger(t, s, "s-1")
	if next := mustClaimTurn(t, s, "s-1", "w1", time.Minute); next.Session.CancelRequested {
		t.Errorf("next claim's Session.CancelRequested = true, want false after CompleteTurn")
	}
}

// testRequestCancelRelease checks that ReleaseTurn clears the flag.
func (h *harness) testRequestCancelRelease(t *testing.T) {
	ctx := context.Background()
	s, _ := h.open(t)
	c, _ := mustHoldTurn(t, s, "s-1", "w1", time.Minute)
	if !mustRequestCancel(t, s, "s-1") {
		t.Fatalf("RequestCancel(held lease) = false, want true")
	}
	if err := s.ReleaseTurn(ctx, c); err != nil {
		t.Fatalf("ReleaseTurn: %v", err)
	}
	if mustGetSession(t, s, "s-1").CancelRequested {
		t.Errorf("CancelRequested = true after ReleaseTurn, want false")
	}
	if next := mustClaimTurn(t, s, "s-1", "w2", time.Minute); next.Session.CancelRequested {
		t.Errorf("claim after ReleaseTurn: Session.CancelRequested = true, want false")
	}
}

// testRequestCancelExpired checks that an expired lease takes no request,
// and that a request made before the holder's lease expired reaches the
// next holder through its claim.
func (h *harness) testRequestCancelExpired(t *testing.T) {
	ctx := context.Background()
	s, clock := h.open(t)
	_, trigger := mustHoldTurn(t, s, "s-1", "w1", 10*time.Second)
	clock.Advance(10 * time.Second)
	if mustRequestCancel(t, s, "s-1") {
		t.Errorf("RequestCancel(lease expired at the store's clock) = true, want false")
	}
	if mustGetSession(t, s, "s-1").CancelRequested {
		t.Errorf("CancelRequested = true after a request on an expired lease, want false")
	}

	mustClaimTurn(t, s, "s-1", "w2", 10*time.Second)
	if !mustRequestCancel(t, s, "s-1") {
		t.Fatalf("RequestCancel(held lease) = false, want true")
	}
	clock.Advance(10 * time.Second)
	if !mustGetSession(t, s, "s-1").CancelRequested {
		t.Errorf("CancelRequested = false after the lease expired, want it kept for the next holder")
	}
	taken := mustClaimTurn(t, s, "s-1", "w3", time.Minute)
	if !taken.Session.CancelRequested {
		t.Errorf("claim after the requested holder's lease expired: Session.CancelRequested = false, want true")
	}
	if mustGetSession(t, s, "s-1").CancelRequested {
		t.Errorf("CancelRequested = true after a new claim, want it cleared")
	}
	if _, err := s.CompleteTurn(ctx, taken, nil, trigger.Offset+1); err != nil {
		t.Errorf("CompleteTurn by the new claim: %v", err)
	}
}

// testReopenCancelRequested checks that a requested cancel survives a
// reopen and still reaches the lease holder.
func (h *harness) testReopenCancelRequested(t *testing.T) {
	ctx := context.Background()
	s, clock := h.open(t)
	c, trigger := mustHoldTurn(t, s, "s-1", "w1", time.Minute)
	if !mustRequestCancel(t, s, "s-1") {
		t.Fatalf("RequestCancel(held lease) = false, want true")
	}

	s = h.reopen(t, s, clock)

	if !mustGetSession(t, s, "s-1").CancelRequested {
		t.Errorf("CancelRequested = false after reopen, want true")
	}
	if _, err := s.CompleteTurn(ctx, c, nil, trigger.Offset+1); err != nil {
		t.Fatalf("CompleteTurn by the claim from before the reopen: %v", err)
	}
	if mustGetSession(t, s, "s-1").CancelRequested {
		t.Errorf("CancelRequested = true after CompleteTurn, want false")
	}
}

// testMultiProcessRequestCancel holds a turn lease here and requests the
// cancel in a child process: the waiter here is woken and reads the flag.
func (h *harness) testMultiProcessRequestCancel(t *testing.T) {
	s, _ := h.open(t)
	mustHoldTurn(t, s, "s-1", "parent", longTTL)
	wake, cancel := s.Notifier().Subscribe("s-1")
	defer cancel()
	drain(wake)

	child := h.startChild(t, childTask{
		Op: taskRequestCancel, Address: h.opts.MultiProcess.Address(t, s), Session: "s-1",
	})
	child.begin(t)
	res := child.wait(t)
	if !res.CancelRequested {
		t.Fatalf("RequestCancel in the child = false, want true: the parent holds the lease")
	}
	expectWake(t, wake, "a RequestCancel in another process")
	if !mustGetSession(t, s, "s-1").CancelRequested {
		t.Errorf("woken waiter read CancelRequested = false, want true")
	}
}

// childRequestCancel requests the cancel of task.Session's turn.
func childRequestCancel(s store.Store, task childTask) (bool, error) {
	return s.RequestCancel(context.Background(), task.Session)
}
