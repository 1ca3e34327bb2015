package memory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/agentry/agentry/store"
)

// newRun returns a queued run of routine "triage" with the given id.
func newRun(id string) store.Run {
	return store.Run{
		ID:        id,
		RoutineID: "triage",
		Status:    store.RunQueued,
		Input:     json.RawMessage(`{"ticket":"T-1"}`),
		Trigger:   store.RunTrigger{Source: "api"},
	}
}

func mustCreateRun(t testing.TB, s *Store, r store.Run) store.Run {
	t.Helper()
	got, created, err := s.CreateRun(context.Background(), r)
	if err != nil {
		t.Fatalf("CreateRun(%q): %v", r.ID, err)
	}
	if !created {
		t.Fatalf("CreateRun(%q): created = false for a new run", r.ID)
	}
	return got
}

func mustClaimRun(t testing.TB, s *Store, owner string, ttl time.Duration) store.RunClaim {
	t.Helper()
	c, ok, err := s.ClaimRun(context.Background(), owner, ttl)
	if err != nil {
		t.Fatalf("ClaimRun(%q): %v", owner, err)
	}
	if !ok {
		t.Fatalf("ClaimRun(%q): ok = false, want a claimable run", owner)
	}
	return c
}

func mustGetRun(t testing.TB, s *Store, id string) store.Run {
	t.Helper()
	r, err := s.GetRun(context.Background(), id)
	if err != nil {
		t.Fatalf("GetRun(%q): %v", id, err)
	}
	return r
}

// expectWake fails the test unless wake receives within 5 s.
func expectWake(t *testing.T, wake <-chan struct{}, action string) {
	t.Helper()
	select {
	case <-wake:
	case <-time.After(5 * time.Second):
		t.Errorf("%s woke no subscriber within 5 s", action)
	}
}

func TestCreateRunIdempotency(t *testing.T) {
	ctx := context.Background()
	s := New()
	first := newRun("run-1")
	first.IdempotencyKey = "key-1"
	first.InputHash = "hash-1"
	mustCreateRun(t, s, first)

	tests := []struct {
		name        string
		id          string
		routineID   string
		key         string
		wantCreated bool
		wantID      string
	}{
		{"same key same routine", "run-2", "triage", "key-1", false, "run-1"},
		{"same key other routine", "run-3", "billing", "key-1", true, "run-3"},
		{"other key same routine", "run-4", "triage", "key-2", true, "run-4"},
		{"no key", "run-5", "triage", "", true, "run-5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRun(tt.id)
			r.RoutineID = tt.routineID
			r.IdempotencyKey = tt.key
			r.InputHash = "hash-other"
			got, created, err := s.CreateRun(ctx, r)
			if err != nil {
				t.Fatalf("CreateRun: %v", err)
			}
			if created != tt.wantCreated {
				t.Errorf("created = %v, want %v", created, tt.wantCreated)
			}
			if got.ID != tt.wantID {
				t.Errorf("ID = %q, want %q", got.ID, tt.wantID)
			}
			if !tt.wantCreated && got.InputHash != first.InputHash {
				t.Errorf("InputHash = %q, want the existing run's %q", got.InputHash, first.InputHash)
			}
			if _, err := s.GetRun(ctx, tt.id); (err == nil) != tt.wantCreated {
				t.Errorf("GetRun(%q) error = %v, want a stored run: %v", tt.id, err, tt.wantCreated)
			}
		})
	}
}

func TestCreateRunInvalid(t *testing.T) {
	s := New()
	mustCreateRun(t, s, newRun("run-1"))

	tests := []struct {
		name   string
		modify func(r *store.Run)
		want   error
	}{
		{"empty id", func(r *store.Run) { r.ID = "" }, errMissingID},
		{"empty status", func(r *store.Run) { r.Status = "" }, errRunNotQueued},
		{"running", func(r *store.Run) { r.Status = store.RunRunning }, errRunNotQueued},
		{"negative max attempts", func(r *store.Run) { r.MaxAttempts = -1 }, errInvalidMaxAttempts},
		{"negative timeout", func(r *store.Run) { r.Timeout = -time.Second }, errInvalidTimeout},
		{"duplicate id", func(r *store.Run) { r.ID = "run-1" }, store.ErrConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRun("run-new")
			tt.modify(&r)
			if _, _, err := s.CreateRun(context.Background(), r); !errors.Is(err, tt.want) {
				t.Errorf("CreateRun error = %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := s.GetRun(context.Background(), "run-new"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetRun(run-new) error = %v, want ErrNotFound: a rejected run was stored", err)
	}
}

func TestCreateRunDefaults(t *testing.T) {
	clock := newFakeClock()
	s := New(WithClock(clock.Now))
	given := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

	tests := []struct {
		name            string
		modify          func(r *store.Run)
		wantCallback    string
		wantMaxAttempts int
		wantCreatedAt   time.Time
	}{
		{"no callback", func(r *store.Run) {}, store.CallbackNone, 1, clock.Now()},
		{"callback", func(r *store.Run) { r.CallbackURL = "http://127.0.0.1/cb" }, store.CallbackWaiting, 1, clock.Now()},
		{"max attempts", func(r *store.Run) { r.MaxAttempts = 3 }, store.CallbackNone, 3, clock.Now()},
		{"created at", func(r *store.Run) { r.CreatedAt = given }, store.CallbackNone, 1, given},
		{"store fields", func(r *store.Run) {
			r.Attempts = 4
			r.Output = json.RawMessage(`{}`)
			r.Error = &store.RunError{Code: "internal_error"}
			r.Lease = store.Lease{Owner: "w1", Token: "t", Expires: given}
			r.StartedAt = given
			r.Deadline = given
			r.Callback = store.CallbackState{State: store.CallbackDelivered, Attempts: 2}
		}, store.CallbackNone, 1, clock.Now()},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRun(fmt.Sprintf("run-%d", i))
			tt.modify(&r)
			got := mustCreateRun(t, s, r)
			want := r
			want.Attempts = 0
			want.MaxAttempts = tt.wantMaxAttempts
			want.Output = nil
			want.Error = nil
			want.Lease = store.Lease{}
			want.StartedAt = time.Time{}
			want.Deadline = time.Time{}
			want.CreatedAt = tt.wantCreatedAt
			want.Callback = store.CallbackState{State: tt.wantCallback}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("CreateRun = %+v\nwant %+v", got, want)
			}
			if stored := mustGetRun(t, s, r.ID); !reflect.DeepEqual(stored, got) {
				t.Errorf("GetRun = %+v\nwant %+v", stored, got)
			}
		})
	}
}

func TestGetRunNotFound(t *testing.T) {
	if _, err := New().GetRun(context.Background(), "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetRun(unknown) error = %v, want ErrNotFound", err)
	}
}

func TestClaimRunExclusive(t *testing.T) {
	ctx := context.Background()
	s := New()
	const runs, claimers = 50, 100
	for i := range runs {
		mustCreateRun(t, s, newRun(fmt.Sprintf("run-%02d", i)))
	}

	var mu sync.Mutex
	claims := make(map[string]int)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range claimers {
		wg.Go(func() {
			<-start
			for {
				c, ok, err := s.ClaimRun(ctx, fmt.Sprintf("worker-%d", i), time.Minute)
				if err != nil {
					t.Errorf("ClaimRun: %v", err)
					return
				}
				if !ok {
					return
				}
				mu.Lock()
				claims[c.Run.ID]++
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()

	if len(claims) != runs {
		t.Errorf("%d distinct runs claimed, want %d", len(claims), runs)
	}
	for id, n := range claims {
		if n != 1 {
			t.Errorf("run %q claimed %d times, want once", id, n)
		}
	}
}

func TestClaimRunOrder(t *testing.T) {
	clock := newFakeClock()
	s := New(WithClock(clock.Now))
	base := clock.Now()
	created := []struct {
		id     string
		offset time.Duration
	}{
		{"run-c", 2 * time.Second},
		{"run-b", time.Second},
		{"run-a2", 0},
		{"run-a1", 0},
	}
	for _, c := range created {
		r := newRun(c.id)
		r.CreatedAt = base.Add(c.offset)
		mustCreateRun(t, s, r)
	}

	want := []string{"run-a1", "run-a2", "run-b", "run-c"}
	var got []string
	for range want {
		got = append(got, mustClaimRun(t, s, "w1", time.Minute).Run.ID)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("claim order = %v, want %v (by CreatedAt, then id)", got, want)
	}
	if _, ok, err := s.ClaimRun(context.Background(), "w1", time.Minute); err != nil || ok {
		t.Errorf("ClaimRun with every run leased = %v, %v; want false, nil", ok, err)
	}
}

func TestClaimRunFields(t *testing.T) {
	tests := []struct {
		name         string
		timeout      time.Duration
		wantDeadline bool
	}{
		{"timeout", 30 * time.Second, true},
		{"no timeout", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			s := New(WithClock(clock.Now))
			r := newRun("run-1")
			r.Timeout = tt.timeout
			mustCreateRun(t, s, r)
			clock.Advance(time.Second)

			c := mustClaimRun(t, s, "w1", time.Minute)
			if c.Run.Status != store.RunRunning {
				t.Errorf("Status = %q, want running", c.Run.Status)
			}
			if c.Run.Attempts != 1 {
				t.Errorf("Attempts = %d, want 1", c.Run.Attempts)
			}
			if !c.Run.StartedAt.Equal(clock.Now()) {
				t.Errorf("StartedAt = %v, want %v", c.Run.StartedAt, clock.Now())
			}
			wantDeadline := time.Time{}
			if tt.wantDeadline {
				wantDeadline = clock.Now().Add(tt.timeout)
			}
			if !c.Run.Deadline.Equal(wantDeadline) {
				t.Errorf("Deadline = %v, want %v", c.Run.Deadline, wantDeadline)
			}
			want := store.Lease{Owner: "w1", Token: c.Lease.Token, Expires: clock.Now().Add(time.Minute)}
			if c.Lease != want || c.Lease.Token == "" {
				t.Errorf("Lease = %+v, want %+v with a token", c.Lease, want)
			}
			if c.Run.Lease != c.Lease {
				t.Errorf("Run.Lease = %+v, want the claim's lease %+v", c.Run.Lease, c.Lease)
			}
			if stored := mustGetRun(t, s, "run-1"); !reflect.DeepEqual(stored, c.Run) {
				t.Errorf("GetRun = %+v\nwant the claimed run %+v", stored, c.Run)
			}
		})
	}
}

func TestClaimRunInvalid(t *testing.T) {
	s := New()
	mustCreateRun(t, s, newRun("run-1"))
	tests := []struct {
		name  string
		owner string
		ttl   time.Duration
		want  error
	}{
		{"empty owner", "", time.Minute, errMissingOwner},
		{"zero ttl", "w1", 0, errInvalidTTL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := s.ClaimRun(context.Background(), tt.owner, tt.ttl); !errors.Is(err, tt.want) {
				t.Errorf("ClaimRun error = %v, want %v", err, tt.want)
			}
		})
	}
	if r := mustGetRun(t, s, "run-1"); r.Status != store.RunQueued {
		t.Errorf("Status = %q after rejected claims, want queued", r.Status)
	}
}

func TestRunLeaseExpiry(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	s := New(WithClock(clock.Now))
	r := newRun("run-1")
	r.MaxAttempts = 2
	r.Timeout = time.Hour
	mustCreateRun(t, s, r)

	old := mustClaimRun(t, s, "w1", 10*time.Second)
	clock.Advance(5 * time.Second)
	if err := s.ExtendRunLease(ctx, old, 10*time.Second); err != nil {
		t.Fatalf("ExtendRunLease before expiry: %v", err)
	}
	clock.Advance(9 * time.Second)
	if _, ok, _ := s.ClaimRun(ctx, "w2", 10*time.Second); ok {
		t.Fatalf("w2 claimed a run whose extended lease has not expired")
	}

	clock.Advance(time.Second)
	if err := s.ExtendRunLease(ctx, old, 10*time.Second); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("ExtendRunLease after expiry error = %v, want ErrLeaseLost", err)
	}
	taken := mustClaimRun(t, s, "w2", 10*time.Second)
	if taken.Run.ID != "run-1" {
		t.Fatalf("w2 claimed %q, want run-1", taken.Run.ID)
	}
	if taken.Run.Attempts != 2 {
		t.Errorf("Attempts = %d after takeover, want 2", taken.Run.Attempts)
	}
	if !taken.Run.StartedAt.Equal(old.Run.StartedAt) {
		t.Errorf("StartedAt = %v after takeover, want the first claim's %v", taken.Run.StartedAt, old.Run.StartedAt)
	}
	if !taken.Run.Deadline.Equal(old.Run.Deadline) {
		t.Errorf("Deadline = %v after takeover, want the first claim's %v", taken.Run.Deadline, old.Run.Deadline)
	}
	if taken.Lease.Token == old.Lease.Token {
		t.Errorf("takeover reused the expired claim's token")
	}
	if _, err := s.CompleteRun(ctx, old, store.RunResult{Status: store.RunSucceeded}); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("CompleteRun by the old owner error = %v, want ErrLeaseLost", err)
	}
	done, err := s.CompleteRun(ctx, taken, store.RunResult{Status: store.RunSucceeded, Output: json.RawMessage(`{"ok":true}`)})
	if err != nil {
		t.Fatalf("CompleteRun by the new owner: %v", err)
	}
	if done.Status != store.RunSucceeded {
		t.Errorf("Status = %q, want succeeded", done.Status)
	}
}

func TestClaimRunInterrupted(t *testing.T) {
	for _, maxAttempts := range []int{0, 1, 3} {
		t.Run(fmt.Sprintf("max %d", maxAttempts), func(t *testing.T) {
			ctx := context.Background()
			clock := newFakeClock()
			s := New(WithClock(clock.Now))
			r := newRun("run-old")
			r.MaxAttempts = maxAttempts
			r.CallbackURL = "http://127.0.0.1/cb"
			mustCreateRun(t, s, r)
			clock.Advance(time.Second)
			mustCreateRun(t, s, newRun("run-new"))

			allowed := max(maxAttempts, 1)
			for attempt := 1; attempt <= allowed; attempt++ {
				c := mustClaimRun(t, s, "w1", 10*time.Second)
				if c.Run.ID != "run-old" || c.Run.Attempts != attempt {
					t.Fatalf("claim %d = %q attempt %d, want run-old attempt %d",
						attempt, c.Run.ID, c.Run.Attempts, attempt)
				}
				clock.Advance(11 * time.Second)
			}

			wake, cancel := s.Notifier().Subscribe(store.RunTopic("run-old"))
			defer cancel()
			next, ok, err := s.ClaimRun(ctx, "w2", 10*time.Second)
			if err != nil || !ok {
				t.Fatalf("ClaimRun after attempts ran out = %v, %v; want the next run", ok, err)
			}
			if next.Run.ID != "run-new" {
				t.Errorf("ClaimRun = %q, want run-new after run-old is failed", next.Run.ID)
			}
			expectWake(t, wake, "failing a run as interrupted")

			got := mustGetRun(t, s, "run-old")
			if got.Status != store.RunFailed {
				t.Errorf("Status = %q, want failed", got.Status)
			}
			if got.Error == nil || got.Error.Code != "interrupted" || got.Error.Message == "" {
				t.Errorf("Error = %+v, want code interrupted with a message", got.Error)
			}
			if got.Attempts != allowed {
				t.Errorf("Attempts = %d, want %d", got.Attempts, allowed)
			}
			if !got.FinishedAt.Equal(clock.Now()) {
				t.Errorf("FinishedAt = %v, want %v", got.FinishedAt, clock.Now())
			}
			if got.Lease != (store.Lease{}) {
				t.Errorf("Lease = %+v, want none", got.Lease)
			}
			wantCallback := store.CallbackState{State: store.CallbackPending, NextAttemptAt: clock.Now()}
			if got.Callback != wantCallback {
				t.Errorf("Callback = %+v, want %+v", got.Callback, wantCallback)
			}
		})
	}
}

func TestRunLeaseLost(t *testing.T) {
	tests := []struct {
		name string
		lose func(t *testing.T, s *Store, clock *fakeClock, c store.RunClaim) store.RunClaim
	}{
		{"cancelled", func(t *testing.T, s *Store, clock *fakeClock, c store.RunClaim) store.RunClaim {
			if _, err := s.CancelRun(context.Background(), c.Run.ID); err != nil {
				t.Fatalf("CancelRun: %v", err)
			}
			return c
		}},
		{"expired", func(t *testing.T, s *Store, clock *fakeClock, c store.RunClaim) store.RunClaim {
			clock.Advance(2 * time.Minute)
			return c
		}},
		{"wrong token", func(t *testing.T, s *Store, clock *fakeClock, c store.RunClaim) store.RunClaim {
			c.Lease.Token = "forged"
			return c
		}},
		{"wrong owner", func(t *testing.T, s *Store, clock *fakeClock, c store.RunClaim) store.RunClaim {
			c.Lease.Owner = "w2"
			return c
		}},
		{"completed", func(t *testing.T, s *Store, clock *fakeClock, c store.RunClaim) store.RunClaim {
			if _, err := s.CompleteRun(context.Background(), c, store.RunResult{Status: store.RunSucceeded}); err != nil {
				t.Fatalf("CompleteRun: %v", err)
			}
			return c
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			clock := newFakeClock()
			s := New(WithClock(clock.Now))
			mustCreateRun(t, s, newRun("run-1"))
			c := tt.lose(t, s, clock, mustClaimRun(t, s, "w1", time.Minute))
			before := mustGetRun(t, s, "run-1")

			if err := s.ExtendRunLease(ctx, c, time.Minute); !errors.Is(err, store.ErrLeaseLost) {
				t.Errorf("ExtendRunLease error = %v, want ErrLeaseLost", err)
			}
			res := store.RunResult{Status: store.RunFailed, Error: &store.RunError{Code: "model_error"}}
			if _, err := s.CompleteRun(ctx, c, res); !errors.Is(err, store.ErrLeaseLost) {
				t.Errorf("CompleteRun error = %v, want ErrLeaseLost", err)
			}
			if after := mustGetRun(t, s, "run-1"); !reflect.DeepEqual(after, before) {
				t.Errorf("run changed by a lost lease:\n got %+v\nwant %+v", after, before)
			}
		})
	}
}

func TestCancelRun(t *testing.T) {
	tests := []struct {
		name     string
		callback string
		prepare  func(t *testing.T, s *Store)
	}{
		{"queued", "", func(t *testing.T, s *Store) {}},
		{"queued with callback", "http://127.0.0.1/cb", func(t *testing.T, s *Store) {}},
		{"running", "http://127.0.0.1/cb", func(t *testing.T, s *Store) {
			mustClaimRun(t, s, "w1", time.Minute)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			clock := newFakeClock()
			s := New(WithClock(clock.Now))
			r := newRun("run-1")
			r.CallbackURL = tt.callback
			mustCreateRun(t, s, r)
			tt.prepare(t, s)
			clock.Advance(time.Second)

			wake, cancel := s.Notifier().Subscribe(store.RunTopic("run-1"))
			defer cancel()
			got, err := s.CancelRun(ctx, "run-1")
			if err != nil {
				t.Fatalf("CancelRun: %v", err)
			}
			expectWake(t, wake, "CancelRun")
			if got.Status != store.RunFailed {
				t.Errorf("Status = %q, want failed", got.Status)
			}
			if got.Error == nil || got.Error.Code != "cancelled" {
				t.Errorf("Error = %+v, want code cancelled", got.Error)
			}
			if !got.FinishedAt.Equal(clock.Now()) {
				t.Errorf("FinishedAt = %v, want %v", got.FinishedAt, clock.Now())
			}
			if got.Lease != (store.Lease{}) {
				t.Errorf("Lease = %+v, want none", got.Lease)
			}
			wantCallback := store.CallbackState{State: store.CallbackNone}
			if tt.callback != "" {
				wantCallback = store.CallbackState{State: store.CallbackPending, NextAttemptAt: clock.Now()}
			}
			if got.Callback != wantCallback {
				t.Errorf("Callback = %+v, want %+v", got.Callback, wantCallback)
			}
			if c, ok, _ := s.ClaimRun(ctx, "w2", time.Minute); ok {
				t.Errorf("ClaimRun took cancelled run %q", c.Run.ID)
			}

			clock.Advance(time.Second)
			again, err := s.CancelRun(ctx, "run-1")
			if err != nil {
				t.Fatalf("second CancelRun: %v", err)
			}
			if !reflect.DeepEqual(again, got) {
				t.Errorf("second CancelRun changed the run:\n got %+v\nwant %+v", again, got)
			}
		})
	}
}

func TestCancelRunEnded(t *testing.T) {
	ctx := context.Background()
	s := New()
	mustCreateRun(t, s, newRun("run-1"))
	done, err := s.CompleteRun(ctx, mustClaimRun(t, s, "w1", time.Minute),
		store.RunResult{Status: store.RunSucceeded, Output: json.RawMessage(`{"n":1}`)})
	if err != nil {
		t.Fatalf("CompleteRun: %v", err)
	}
	got, err := s.CancelRun(ctx, "run-1")
	if err != nil {
		t.Fatalf("CancelRun(ended): %v", err)
	}
	if !reflect.DeepEqual(got, done) {
		t.Errorf("CancelRun(ended) = %+v\nwant it unchanged %+v", got, done)
	}
	if _, err := s.CancelRun(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("CancelRun(unknown) error = %v, want ErrNotFound", err)
	}
}

func TestCompleteRun(t *testing.T) {
	tests := []struct {
		name     string
		callback string
		res      store.RunResult
	}{
		{"succeeded with callback", "http://127.0.0.1/cb",
			store.RunResult{Status: store.RunSucceeded, Output: json.RawMessage(`{"label":"spam"}`)}},
		{"failed without callback", "",
			store.RunResult{Status: store.RunFailed, Error: &store.RunError{Code: "timeout", Message: "took 30s"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			clock := newFakeClock()
			s := New(WithClock(clock.Now))
			r := newRun("run-1")
			r.CallbackURL = tt.callback
			mustCreateRun(t, s, r)
			mustCreateRun(t, s, newRun("run-2"))
			c := mustClaimRun(t, s, "w1", time.Minute)
			clock.Advance(time.Second)

			wake, cancel := s.Notifier().Subscribe(store.RunTopic("run-1"))
			defer cancel()
			other, cancelOther := s.Notifier().Subscribe(store.RunTopic("run-2"))
			defer cancelOther()
			go func() {
				if _, err := s.CompleteRun(ctx, c, tt.res); err != nil {
					t.Errorf("CompleteRun: %v", err)
				}
			}()
			expectWake(t, wake, "CompleteRun")
			select {
			case <-other:
				t.Errorf("CompleteRun of run-1 woke a subscriber of run-2")
			default:
			}

			got := mustGetRun(t, s, "run-1")
			if got.Status != tt.res.Status {
				t.Errorf("Status = %q, want %q", got.Status, tt.res.Status)
			}
			if string(got.Output) != string(tt.res.Output) {
				t.Errorf("Output = %s, want %s", got.Output, tt.res.Output)
			}
			if !reflect.DeepEqual(got.Error, tt.res.Error) {
				t.Errorf("Error = %+v, want %+v", got.Error, tt.res.Error)
			}
			if !got.FinishedAt.Equal(clock.Now()) {
				t.Errorf("FinishedAt = %v, want %v", got.FinishedAt, clock.Now())
			}
			if got.Lease != (store.Lease{}) {
				t.Errorf("Lease = %+v, want none", got.Lease)
			}
			wantCallback := store.CallbackState{State: store.CallbackNone}
			if tt.callback != "" {
				wantCallback = store.CallbackState{State: store.CallbackPending, NextAttemptAt: clock.Now()}
			}
			if got.Callback != wantCallback {
				t.Errorf("Callback = %+v, want %+v", got.Callback, wantCallback)
			}
		})
	}
}

func TestCompleteRunInvalid(t *testing.T) {
	ctx := context.Background()
	s := New()
	mustCreateRun(t, s, newRun("run-1"))
	c := mustClaimRun(t, s, "w1", time.Minute)

	tests := []struct {
		name string
		res  store.RunResult
		want error
	}{
		{"running status", store.RunResult{Status: store.RunRunning}, errInvalidRunStatus},
		{"empty status", store.RunResult{}, errInvalidRunStatus},
		{"failed without error", store.RunResult{Status: store.RunFailed}, errMissingRunError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.CompleteRun(ctx, c, tt.res); !errors.Is(err, tt.want) {
				t.Errorf("CompleteRun error = %v, want %v", err, tt.want)
			}
			if got := mustGetRun(t, s, "run-1"); got.Status != store.RunRunning {
				t.Errorf("Status = %q after a rejected result, want running", got.Status)
			}
		})
	}
}

func TestRunCopies(t *testing.T) {
	ctx := context.Background()
	s := New()
	in := newRun("run-1")
	in.Metadata = map[string]any{"team": "ops", "tags": []any{"a"}}
	created := mustCreateRun(t, s, in)

	in.Input[2] = 'X'
	in.Metadata["team"] = "changed by caller"
	created.Input[2] = 'Y'
	created.Metadata["tags"].([]any)[0] = "changed by reader"

	got := mustGetRun(t, s, "run-1")
	if string(got.Input) != `{"ticket":"T-1"}` {
		t.Errorf("Input = %s, want the original: a caller's slice is shared", got.Input)
	}
	if got.Metadata["team"] != "ops" || got.Metadata["tags"].([]any)[0] != "a" {
		t.Errorf("Metadata = %v, want the original: a caller's map is shared", got.Metadata)
	}

	c := mustClaimRun(t, s, "w1", time.Minute)
	c.Run.Input[2] = 'Z'
	output := json.RawMessage(`{"n":1}`)
	done, err := s.CompleteRun(ctx, c, store.RunResult{Status: store.RunSucceeded, Output: output})
	if err != nil {
		t.Fatalf("CompleteRun: %v", err)
	}
	output[2] = 'm'
	done.Output[2] = 'q'

	got = mustGetRun(t, s, "run-1")
	if string(got.Input) != `{"ticket":"T-1"}` {
		t.Errorf("Input = %s after a claim was changed, want the original", got.Input)
	}
	if string(got.Output) != `{"n":1}` {
		t.Errorf("Output = %s, want the original: a result's slice is shared", got.Output)
	}
}

func TestRunErrorCopied(t *testing.T) {
	ctx := context.Background()
	s := New()
	mustCreateRun(t, s, newRun("run-1"))
	runErr := &store.RunError{Code: "tool_error", Message: "lookup failed"}
	done, err := s.CompleteRun(ctx, mustClaimRun(t, s, "w1", time.Minute),
		store.RunResult{Status: store.RunFailed, Error: runErr})
	if err != nil {
		t.Fatalf("CompleteRun: %v", err)
	}
	runErr.Code = "changed by caller"
	done.Error.Message = "changed by reader"

	got := mustGetRun(t, s, "run-1")
	want := store.RunError{Code: "tool_error", Message: "lookup failed"}
	if got.Error == nil || *got.Error != want {
		t.Errorf("Error = %+v, want %+v: the error is shared", got.Error, want)
	}
}

func TestRunsClosed(t *testing.T) {
	ctx := context.Background()
	s := New()
	mustCreateRun(t, s, newRun("run-1"))
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, _, err := s.CreateRun(ctx, newRun("run-2")); !errors.Is(err, store.ErrClosed) {
		t.Errorf("CreateRun error = %v, want ErrClosed", err)
	}
	if _, _, err := s.ClaimRun(ctx, "w1", time.Minute); !errors.Is(err, store.ErrClosed) {
		t.Errorf("ClaimRun error = %v, want ErrClosed", err)
	}
	if _, err := s.GetRun(ctx, "run-1"); !errors.Is(err, store.ErrClosed) {
		t.Errorf("GetRun error = %v, want ErrClosed", err)
	}
}

// TestClaimRunClockBackwards checks that a lease seen expired by one claim
// is not taken by a later claim that reads an earlier time.
func TestClaimRunClockBackwards(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	s := New(WithClock(clock.Now))
	for _, id := range []string{"run-a", "run-b"} {
		r := newRun(id)
		r.MaxAttempts = 2
		mustCreateRun(t, s, r)
	}
	mustClaimRun(t, s, "w1", 10*time.Second)
	second := mustClaimRun(t, s, "w1", 10*time.Second)

	clock.Advance(20 * time.Second)
	if c := mustClaimRun(t, s, "w2", 10*time.Second); c.Run.ID != "run-a" {
		t.Fatalf("takeover claim = %q, want run-a", c.Run.ID)
	}
	clock.Advance(-15 * time.Second)
	if c, ok, err := s.ClaimRun(ctx, "w3", 10*time.Second); err != nil || ok {
		t.Errorf("ClaimRun after the clock moved back = %q, %v, %v; want false, nil", c.Run.ID, ok, err)
	}
	if err := s.ExtendRunLease(ctx, second, 10*time.Second); err != nil {
		t.Errorf("ExtendRunLease of run-b's held lease: %v", err)
	}
}
