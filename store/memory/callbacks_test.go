package memory

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentry/agentry/store"
)

const callbackURL = "http://127.0.0.1:9/callback"

// mustEndRun creates a run with a callback URL, claims it and completes it,
// so its callback is due at the clock's time.
func mustEndRun(t testing.TB, s *Store, id string) store.Run {
	t.Helper()
	r := newRun(id)
	r.CallbackURL = callbackURL
	mustCreateRun(t, s, r)
	c := mustClaimRun(t, s, "runner", time.Minute)
	if c.Run.ID != id {
		t.Fatalf("ClaimRun = %q, want %q", c.Run.ID, id)
	}
	done, err := s.CompleteRun(context.Background(), c, store.RunResult{Status: store.RunSucceeded})
	if err != nil {
		t.Fatalf("CompleteRun(%q): %v", id, err)
	}
	return done
}

func mustClaimCallback(t testing.TB, s *Store, owner string, now time.Time) store.CallbackClaim {
	t.Helper()
	c, ok, err := s.ClaimCallback(context.Background(), owner, now, time.Minute)
	if err != nil {
		t.Fatalf("ClaimCallback(%q): %v", owner, err)
	}
	if !ok {
		t.Fatalf("ClaimCallback(%q) at %v: ok = false, want a due callback", owner, now)
	}
	return c
}

func TestClaimCallbackOrder(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	s := New(WithClock(clock.Now))
	start := clock.Now()
	for _, id := range []string{"run-a", "run-b", "run-c"} {
		mustEndRun(t, s, id)
		clock.Advance(time.Second)
	}
	// run-a's first attempt fails and is retried after run-b and run-c
	// are due.
	first := mustClaimCallback(t, s, "d1", clock.Now())
	if first.Run.ID != "run-a" {
		t.Fatalf("first ClaimCallback = %q, want run-a, the earliest due", first.Run.ID)
	}
	if _, err := s.RecordCallback(ctx, first, store.CallbackOutcome{
		State: store.CallbackPending, NextAttemptAt: start.Add(10 * time.Second), LastStatus: 503,
	}); err != nil {
		t.Fatalf("RecordCallback: %v", err)
	}

	now := start.Add(time.Minute)
	want := []string{"run-b", "run-c", "run-a"}
	var got []string
	for range want {
		got = append(got, mustClaimCallback(t, s, "d1", now).Run.ID)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("callback claim order = %v, want %v (by NextAttemptAt)", got, want)
	}
	if _, ok, err := s.ClaimCallback(ctx, "d1", now, time.Minute); err != nil || ok {
		t.Errorf("ClaimCallback with every callback leased = %v, %v; want false, nil", ok, err)
	}
}

func TestClaimCallbackNotDue(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	s := New(WithClock(clock.Now))
	mustEndRun(t, s, "run-1")
	c := mustClaimCallback(t, s, "d1", clock.Now())
	retry := clock.Now().Add(5 * time.Minute)
	if _, err := s.RecordCallback(ctx, c, store.CallbackOutcome{State: store.CallbackPending, NextAttemptAt: retry}); err != nil {
		t.Fatalf("RecordCallback: %v", err)
	}
	// Neither a run without a callback URL nor a run that has not ended
	// has a due callback.
	mustCreateRun(t, s, newRun("run-none"))
	waiting := newRun("run-waiting")
	waiting.CallbackURL = callbackURL
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
		{"before due", retry.Add(-time.Nanosecond), false},
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

func TestClaimCallbackExclusive(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	s := New(WithClock(clock.Now))
	mustEndRun(t, s, "run-1")

	const racers = 100
	var wins atomic.Int32
	var winner atomic.Value
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range racers {
		wg.Go(func() {
			<-start
			c, ok, err := s.ClaimCallback(ctx, fmt.Sprintf("d%d", i), clock.Now(), time.Minute)
			if err != nil {
				t.Errorf("ClaimCallback: %v", err)
				return
			}
			if ok {
				wins.Add(1)
				winner.Store(c)
			}
		})
	}
	close(start)
	wg.Wait()
	if got := wins.Load(); got != 1 {
		t.Fatalf("%d callback claims succeeded, want exactly 1", got)
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

func TestRecordCallback(t *testing.T) {
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
			NextAttemptAt: newFakeClock().Now().Add(5 * time.Second),
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			clock := newFakeClock()
			s := New(WithClock(clock.Now))
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
			if got.Callback != want {
				t.Errorf("Callback = %+v\nwant %+v", got.Callback, want)
			}
			if stored := mustGetRun(t, s, "run-1"); stored.Callback != want {
				t.Errorf("stored Callback = %+v\nwant %+v", stored.Callback, want)
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

func TestRecordCallbackInvalid(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	s := New(WithClock(clock.Now))
	mustEndRun(t, s, "run-1")
	c := mustClaimCallback(t, s, "d1", clock.Now())
	forged := c
	forged.Lease.Token = "forged"

	tests := []struct {
		name    string
		claim   store.CallbackClaim
		outcome store.CallbackOutcome
		want    error
	}{
		{"unknown state", c, store.CallbackOutcome{State: "retry"}, errInvalidOutcomeState},
		{"waiting state", c, store.CallbackOutcome{State: store.CallbackWaiting}, errInvalidOutcomeState},
		{"pending without time", c, store.CallbackOutcome{State: store.CallbackPending}, errMissingNextAttempt},
		{"wrong token", forged, store.CallbackOutcome{State: store.CallbackDelivered}, store.ErrLeaseLost},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.RecordCallback(ctx, tt.claim, tt.outcome); !errors.Is(err, tt.want) {
				t.Errorf("RecordCallback error = %v, want %v", err, tt.want)
			}
			if got := mustGetRun(t, s, "run-1"); got.Callback.Attempts != 0 {
				t.Errorf("Attempts = %d after a rejected outcome, want 0", got.Callback.Attempts)
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

func TestRedeliverCallback(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, s *Store, clock *fakeClock) store.CallbackClaim
	}{
		{"failed", func(t *testing.T, s *Store, clock *fakeClock) store.CallbackClaim {
			c := mustClaimCallback(t, s, "d1", clock.Now())
			if _, err := s.RecordCallback(context.Background(), c,
				store.CallbackOutcome{State: store.CallbackFailed, LastStatus: 500}); err != nil {
				t.Fatalf("RecordCallback: %v", err)
			}
			return store.CallbackClaim{}
		}},
		{"delivered", func(t *testing.T, s *Store, clock *fakeClock) store.CallbackClaim {
			c := mustClaimCallback(t, s, "d1", clock.Now())
			if _, err := s.RecordCallback(context.Background(), c,
				store.CallbackOutcome{State: store.CallbackDelivered, LastStatus: 200}); err != nil {
				t.Fatalf("RecordCallback: %v", err)
			}
			return store.CallbackClaim{}
		}},
		{"in flight", func(t *testing.T, s *Store, clock *fakeClock) store.CallbackClaim {
			return mustClaimCallback(t, s, "d1", clock.Now())
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			clock := newFakeClock()
			s := New(WithClock(clock.Now))
			mustEndRun(t, s, "run-1")
			inFlight := tt.prepare(t, s, clock)
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
			if got.Callback != want {
				t.Errorf("Callback = %+v\nwant %+v", got.Callback, want)
			}

			if inFlight.Lease.Owner != "" {
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

func TestRedeliverCallbackRejected(t *testing.T) {
	ctx := context.Background()
	s := New()
	queued := newRun("run-queued")
	queued.CallbackURL = callbackURL
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
		{"not ended", "run-queued", store.ErrConflict},
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

func TestCallbackClaimCopies(t *testing.T) {
	clock := newFakeClock()
	s := New(WithClock(clock.Now))
	r := newRun("run-1")
	r.CallbackURL = callbackURL
	r.Metadata = map[string]any{"team": "ops"}
	mustCreateRun(t, s, r)
	if _, err := s.CompleteRun(context.Background(), mustClaimRun(t, s, "runner", time.Minute),
		store.RunResult{Status: store.RunSucceeded}); err != nil {
		t.Fatalf("CompleteRun: %v", err)
	}

	c := mustClaimCallback(t, s, "d1", clock.Now())
	c.Run.Metadata["team"] = "changed by reader"
	c.Run.Input[2] = 'X'
	got := mustGetRun(t, s, "run-1")
	if got.Metadata["team"] != "ops" {
		t.Errorf("Metadata = %v, want the original: a claim shares the map", got.Metadata)
	}
	if string(got.Input) != string(r.Input) {
		t.Errorf("Input = %s, want %s: a claim shares the slice", got.Input, r.Input)
	}
}

// TestClaimCallbackEarlierNow checks a claim whose now is earlier than a
// previous claim's: a lease that expired at the later now still holds.
func TestClaimCallbackEarlierNow(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	s := New(WithClock(clock.Now))
	start := clock.Now()
	mustEndRun(t, s, "run-a")
	clock.Advance(time.Second)
	mustEndRun(t, s, "run-b")

	mustClaimCallback(t, s, "d1", clock.Now())
	mustClaimCallback(t, s, "d1", clock.Now())
	if c := mustClaimCallback(t, s, "d2", start.Add(2*time.Minute)); c.Run.ID != "run-a" {
		t.Fatalf("takeover claim = %q, want run-a", c.Run.ID)
	}
	if c, ok, err := s.ClaimCallback(ctx, "d3", start.Add(30*time.Second), time.Minute); err != nil || ok {
		t.Errorf("ClaimCallback at an earlier now = %q, %v, %v; want false, nil: run-b's lease holds then",
			c.Run.ID, ok, err)
	}
	if c := mustClaimCallback(t, s, "d3", start.Add(2*time.Minute)); c.Run.ID != "run-b" {
		t.Errorf("ClaimCallback after run-b's lease expired = %q, want run-b", c.Run.ID)
	}
}
