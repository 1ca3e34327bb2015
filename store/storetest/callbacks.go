package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentry/agentry/store"
)

func (h *harness) callbackChecks() []check {
	return []check{
		{"ClaimDue", h.testClaimCallbackDue},
		{"NotDue", h.testClaimCallbackNotDue},
		{"ClaimExclusive", h.testClaimCallbackExclusive},
		{"ClaimOnce", h.testClaimCallbackOnce},
		{"Record", h.testRecordCallback},
		{"RecordInvalid", h.testRecordCallbackInvalid},
		{"Redeliver", h.testRedeliverCallback},
		{"RedeliverRejected", h.testRedeliverCallbackRejected},
		{"EarlierNow", h.testClaimCallbackEarlierNow},
	}
}

// testClaimCallbackDue ends three runs, fails the first attempt of one
// and checks that every due callback is claimed once, the retry included.
func (h *harness) testClaimCallbackDue(t *testing.T) {
	ctx := context.Background()
	s, clock := h.open(t)
	start := clock.Now()
	for _, id := range []string{"run-a", "run-b", "run-c"} {
		mustEndRun(t, s, id)
		clock.Advance(time.Second)
	}
	first := mustClaimCallback(t, s, "d1", clock.Now())
	if first.Run.Callback.State != store.CallbackPending || first.Run.Status != store.RunSucceeded {
		t.Errorf("claimed run = status %q callback %q, want succeeded and pending",
			first.Run.Status, first.Run.Callback.State)
	}
	if first.Lease.Owner != "d1" || first.Lease.Token == "" || !first.Lease.Expires.Equal(clock.Now().Add(time.Minute)) {
		t.Errorf("claim lease = %+v, want owner d1, a token and expiry %v", first.Lease, clock.Now().Add(time.Minute))
	}
	if _, err := s.RecordCallback(ctx, first, store.CallbackOutcome{
		State: store.CallbackPending, NextAttemptAt: start.Add(10 * time.Second), LastStatus: 503,
	}); err != nil {
		t.Fatalf("RecordCallback: %v", err)
	}

	now := start.Add(time.Minute)
	var got []string
	for range 3 {
		got = append(got, mustClaimCallback(t, s, "d1", now).Run.ID)
	}
	slices.Sort(got)
	if want := []string{"run-a", "run-b", "run-c"}; !slices.Equal(got, want) {
		t.Errorf("claimed callbacks = %v, want %v once each", got, want)
	}
	if _, ok, err := s.ClaimCallback(ctx, "d1", now, time.Minute); err != nil || ok {
		t.Errorf("ClaimCallback with every callback leased = %v, %v; want false, nil", ok, err)
	}
	if _, _, err := s.ClaimCallback(ctx, "", now, time.Minute); !errors.Is(err, store.ErrInvalidArgument) {
		t.Errorf("ClaimCallback(empty owner) error = %v, want ErrInvalidArgument", err)
	}
	if _, _, err := s.ClaimCallback(ctx, "d1", now, 0); !errors.Is(err, store.ErrInvalidArgument) {
		t.Errorf("ClaimCallback(zero ttl) error = %v, want ErrInvalidArgument", err)
	}
}

func (h *harness) testClaimCallbackNotDue(t *testing.T) {
	ctx := context.Background()
	s, clock := h.open(t)
	mustEndRun(t, s, "run-1")
	c := mustClaimCallback(t, s, "d1", clock.Now())
	retry := clock.Now().Add(5 * time.Minute)
	if _, err := s.RecordCallback(ctx, c, store.CallbackOutcome{State: store.CallbackPending, NextAttemptAt: retry}); err != nil {
		t.Fatalf("RecordCallback: %v", err)
	}
	// Neither a run without a callback URL nor a run that has not ended
	// has a due callback.
	clock.Advance(time.Second)
	mustCreateRun(t, s, newRun("run-none"))
	clock.Advance(time.Second)
	waiting := newRun("run-waiting")
	waiting.CallbackURL = testURL
	mustCreateRun(t, s, waiting)
	if _, err := s.CompleteRun(ctx, mustClaimRun(t, s, "runner", time.Minute),
		store.RunResult{Status: store.RunSucceeded}); err != nil {
		t.Fatalf("CompleteRun(run-none): %v", err)
	}

	tests := []struct {
		name   string
		now    time.Time
		wantOK bool
	}{
		{"before due", retry.Add(-time.Second), false},
		{"at due", retry, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, err := s.ClaimCallback(ctx, "d1", tt.now, time.Minute)
			if err != nil {
				t.Fatalf("ClaimCallback: %v", err)
			}
			if ok != tt.wantOK {
				t.Fatalf("ClaimCallback ok = %v (run %q), want %v", ok, got.Run.ID, tt.wantOK)
			}
			if ok && got.Run.ID != "run-1" {
				t.Errorf("ClaimCallback = %q, want run-1", got.Run.ID)
			}
		})
	}
}

func (h *harness) testClaimCallbackExclusive(t *testing.T) {
	ctx := context.Background()
	s, clock := h.open(t)
	mustEndRun(t, s, "run-1")

	var winner atomic.Value
	wins := raceClaims(t, "ClaimCallback", func(racer int) (bool, error) {
		c, ok, err := s.ClaimCallback(ctx, fmt.Sprintf("d%d", racer), clock.Now(), time.Minute)
		if ok {
			winner.Store(c)
		}
		return ok, err
	})
	if wins != 1 {
		t.Fatalf("%d of %d concurrent callback claims succeeded, want exactly 1", wins, claimRacers)
	}
	old := winner.Load().(store.CallbackClaim)

	clock.Advance(59 * time.Second)
	if _, ok, _ := s.ClaimCallback(ctx, "late", clock.Now(), time.Minute); ok {
		t.Fatalf("ClaimCallback took a callback whose lease has not expired")
	}
	clock.Advance(time.Second)
	taken := mustClaimCallback(t, s, "late", clock.Now())
	if taken.Lease.Token == old.Lease.Token {
		t.Errorf("takeover reused the expired claim's token")
	}
	outcome := store.CallbackOutcome{State: store.CallbackDelivered, LastStatus: 200}
	if _, err := s.RecordCallback(ctx, old, outcome); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("RecordCallback by the expired owner error = %v, want ErrLeaseLost", err)
	}
	if _, err := s.RecordCallback(ctx, taken, outcome); err != nil {
		t.Errorf("RecordCallback by the new owner: %v", err)
	}
}

// testClaimCallbackOnce claims many due callbacks from several goroutines
// at once: each is claimed exactly once.
func (h *harness) testClaimCallbackOnce(t *testing.T) {
	ctx := context.Background()
	s, clock := h.open(t)
	const callbacks = 12
	for i := range callbacks {
		mustEndRun(t, s, fmt.Sprintf("run-%02d", i))
	}

	claims := claimAll(t, "ClaimCallback", callbacks, func(worker int) (string, bool, error) {
		c, ok, err := s.ClaimCallback(ctx, fmt.Sprintf("d%d", worker), clock.Now(), time.Minute)
		return c.Run.ID, ok, err
	})
	assertClaimedOnce(t, claims, callbacks, "callback", "")
}

func (h *harness) testRecordCallback(t *testing.T) {
	tests := []struct {
		name      string
		outcome   store.CallbackOutcome
		wantRetry bool
	}{
		{"delivered", store.CallbackOutcome{State: store.CallbackDelivered, LastStatus: 204}, false},
		{"disabled", store.CallbackOutcome{State: store.CallbackDisabled, LastStatus: 410}, false},
		{"failed", store.CallbackOutcome{State: store.CallbackFailed, LastError: "connection refused"}, false},
		{"pending", store.CallbackOutcome{
			State: store.CallbackPending, LastStatus: 503, LastError: "service unavailable",
			NextAttemptAt: NewClock().Now().Add(5 * time.Second),
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s, clock := h.open(t)
			mustEndRun(t, s, "run-1")
			c := mustClaimCallback(t, s, "d1", clock.Now())
			clock.Advance(time.Second)

			wake, cancel := s.Notifier().Subscribe(store.RunTopic("run-1"))
			defer cancel()
			got, err := s.RecordCallback(ctx, c, tt.outcome)
			if err != nil {
				t.Fatalf("RecordCallback: %v", err)
			}
			expectWake(t, wake, "RecordCallback")

			want := store.CallbackState{
				State:      tt.outcome.State,
				Attempts:   1,
				LastStatus: tt.outcome.LastStatus,
				LastError:  tt.outcome.LastError,
			}
			if tt.wantRetry {
				want.NextAttemptAt = tt.outcome.NextAttemptAt
			}
			if tt.outcome.State == store.CallbackDelivered {
				want.DeliveredAt = clock.Now()
			}
			if d := diffCallback(got.Callback, want); d != "" {
				t.Errorf("RecordCallback returned %s", d)
			}
			if d := diffCallback(mustGetRun(t, s, "run-1").Callback, want); d != "" {
				t.Errorf("stored run: %s", d)
			}

			later := clock.Now().Add(time.Hour)
			again, ok, err := s.ClaimCallback(ctx, "d2", later, time.Minute)
			if err != nil {
				t.Fatalf("ClaimCallback: %v", err)
			}
			if ok != tt.wantRetry {
				t.Errorf("ClaimCallback after the outcome ok = %v, want %v", ok, tt.wantRetry)
			}
			if ok && again.Run.Callback.Attempts != 1 {
				t.Errorf("retry claim Attempts = %d, want 1", again.Run.Callback.Attempts)
			}
		})
	}
}

func (h *harness) testRecordCallbackInvalid(t *testing.T) {
	ctx := context.Background()
	s, clock := h.open(t)
	mustEndRun(t, s, "run-1")
	c := mustClaimCallback(t, s, "d1", clock.Now())
	forged := c
	forged.Lease.Token = "forged"

	tests := []struct {
		name     string
		claim    store.CallbackClaim
		outcome  store.CallbackOutcome
		wantLost bool
	}{
		{"unknown state", c, store.CallbackOutcome{State: "retry"}, false},
		{"waiting state", c, store.CallbackOutcome{State: store.CallbackWaiting}, false},
		{"pending without time", c, store.CallbackOutcome{State: store.CallbackPending}, false},
		{"wrong token", forged, store.CallbackOutcome{State: store.CallbackDelivered}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.RecordCallback(ctx, tt.claim, tt.outcome)
			switch {
			case tt.wantLost && !errors.Is(err, store.ErrLeaseLost):
				t.Errorf("RecordCallback error = %v, want ErrLeaseLost", err)
			case !tt.wantLost && !errors.Is(err, store.ErrInvalidArgument):
				t.Errorf("RecordCallback error = %v, want ErrInvalidArgument", err)
			}
			if got := mustGetRun(t, s, "run-1"); got.Callback.Attempts != 0 || got.Callback.State != store.CallbackPending {
				t.Errorf("callback = %q with %d attempts after a rejected outcome, want pending with 0",
					got.Callback.State, got.Callback.Attempts)
			}
		})
	}

	if _, err := s.RecordCallback(ctx, c, store.CallbackOutcome{State: store.CallbackFailed}); err != nil {
		t.Fatalf("RecordCallback: %v", err)
	}
	if _, err := s.RecordCallback(ctx, c, store.CallbackOutcome{State: store.CallbackFailed}); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("second RecordCallback with one claim error = %v, want ErrLeaseLost", err)
	}
}

func (h *harness) testRedeliverCallback(t *testing.T) {
	tests := []struct {
		name    string
		outcome string
	}{
		{"failed", store.CallbackFailed},
		{"delivered", store.CallbackDelivered},
		{"in flight", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s, clock := h.open(t)
			mustEndRun(t, s, "run-1")
			inFlight := mustClaimCallback(t, s, "d1", clock.Now())
			if tt.outcome != "" {
				if _, err := s.RecordCallback(ctx, inFlight, store.CallbackOutcome{State: tt.outcome, LastStatus: 500}); err != nil {
					t.Fatalf("RecordCallback: %v", err)
				}
			}
			before := mustGetRun(t, s, "run-1")
			// Less than the claim's one-minute ttl, so an in-flight lease
			// would still hold without the redelivery.
			clock.Advance(time.Second)

			wake, cancel := s.Notifier().Subscribe(store.RunTopic("run-1"))
			defer cancel()
			got, err := s.RedeliverCallback(ctx, "run-1")
			if err != nil {
				t.Fatalf("RedeliverCallback: %v", err)
			}
			expectWake(t, wake, "RedeliverCallback")
			want := before.Callback
			want.State = store.CallbackPending
			want.Attempts = 0
			want.NextAttemptAt = clock.Now()
			want.Lease = store.Lease{}
			if d := diffCallback(got.Callback, want); d != "" {
				t.Errorf("RedeliverCallback returned %s", d)
			}

			if tt.outcome == "" {
				_, err := s.RecordCallback(ctx, inFlight, store.CallbackOutcome{State: store.CallbackDelivered})
				if !errors.Is(err, store.ErrLeaseLost) {
					t.Errorf("RecordCallback of the in-flight attempt error = %v, want ErrLeaseLost", err)
				}
			}
			c := mustClaimCallback(t, s, "d2", clock.Now())
			if c.Run.ID != "run-1" || c.Run.Callback.Attempts != 0 {
				t.Errorf("claim after redelivery = %q with %d attempts, want run-1 with 0",
					c.Run.ID, c.Run.Callback.Attempts)
			}
		})
	}
}

func (h *harness) testRedeliverCallbackRejected(t *testing.T) {
	ctx := context.Background()
	s, clock := h.open(t)
	running := newRun("run-running")
	running.CallbackURL = testURL
	mustCreateRun(t, s, running)
	if c := mustClaimRun(t, s, "w1", runTTL); c.Run.ID != "run-running" {
		t.Fatalf("ClaimRun = %q, want run-running", c.Run.ID)
	}
	clock.Advance(time.Second)
	queued := newRun("run-queued")
	queued.CallbackURL = testURL
	mustCreateRun(t, s, queued)
	mustCreateRun(t, s, newRun("run-no-url"))
	if _, err := s.CancelRun(ctx, "run-no-url"); err != nil {
		t.Fatalf("CancelRun: %v", err)
	}

	tests := []struct {
		name string
		id   string
		want error
	}{
		{"queued", "run-queued", store.ErrConflict},
		{"running", "run-running", store.ErrConflict},
		{"no callback url", "run-no-url", store.ErrConflict},
		{"unknown", "nobody", store.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.RedeliverCallback(ctx, tt.id); !errors.Is(err, tt.want) {
				t.Errorf("RedeliverCallback error = %v, want %v", err, tt.want)
			}
		})
	}
	if got := mustGetRun(t, s, "run-queued"); got.Callback.State != store.CallbackWaiting {
		t.Errorf("Callback.State = %q after a rejected redelivery, want waiting", got.Callback.State)
	}
}

// testClaimCallbackEarlierNow checks a claim whose now is earlier than a
// previous claim's: a lease that expired at the later now still holds.
func (h *harness) testClaimCallbackEarlierNow(t *testing.T) {
	ctx := context.Background()
	s, clock := h.open(t)
	start := clock.Now()
	mustEndRun(t, s, "run-a")
	clock.Advance(time.Second)
	mustEndRun(t, s, "run-b")

	first := mustClaimCallback(t, s, "d1", clock.Now())
	second := mustClaimCallback(t, s, "d1", clock.Now())
	if first.Run.ID == second.Run.ID {
		t.Fatalf("two claims took the callback of %q", first.Run.ID)
	}
	taken := mustClaimCallback(t, s, "d2", start.Add(2*time.Minute))
	remaining := first.Run.ID
	if taken.Run.ID == first.Run.ID {
		remaining = second.Run.ID
	}
	if c, ok, err := s.ClaimCallback(ctx, "d3", start.Add(30*time.Second), time.Minute); err != nil || ok {
		t.Errorf("ClaimCallback at an earlier now = %q, %v, %v; want false, nil: %s's lease is held at that time",
			c.Run.ID, ok, err, remaining)
	}
	if c := mustClaimCallback(t, s, "d3", start.Add(2*time.Minute)); c.Run.ID != remaining {
		t.Errorf("ClaimCallback after %s's lease expired = %q, want %s", remaining, c.Run.ID, remaining)
	}
}
