package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/agentry/agentry/store"
)

// Concurrent run claims: runs to claim and goroutines claiming them.
const (
	claimRuns     = 30
	claimWorkers  = 8
	idemCreators  = 16
	runTTL        = time.Minute
	runExactInput = `{"b":1, "a":[1.0, 9007199254740993]}`
)

func (h *harness) runChecks() []check {
	return []check{
		{"Create", h.testCreateRun},
		{"CreateInvalid", h.testCreateRunInvalid},
		{"Idempotency", h.testCreateRunIdempotency},
		{"IdempotencyConcurrent", h.testCreateRunIdempotencyConcurrent},
		{"ClaimOrder", h.testClaimRunOrder},
		{"ClaimFields", h.testClaimRunFields},
		{"ClaimExclusive", h.testClaimRunExclusive},
		{"LeaseExpiry", h.testRunLeaseExpiry},
		{"Interrupted", h.testClaimRunInterrupted},
		{"LeaseLost", h.testRunLeaseLost},
		{"Cancel", h.testCancelRun},
		{"CancelEnded", h.testCancelRunEnded},
		{"Complete", h.testCompleteRun},
		{"Copies", h.testRunCopies},
	}
}

func (h *harness) testCreateRun(t *testing.T) {
	s, clock := h.open(t)
	given := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

	tests := []struct {
		name            string
		modify          func(r *store.Run)
		wantCallback    string
		wantMaxAttempts int
		wantCreatedAt   time.Time
	}{
		{"no callback", func(r *store.Run) {}, store.CallbackNone, 1, clock.Now()},
		{"callback", func(r *store.Run) { r.CallbackURL = testURL }, store.CallbackWaiting, 1, clock.Now()},
		{"max attempts", func(r *store.Run) { r.MaxAttempts = 3 }, store.CallbackNone, 3, clock.Now()},
		{"created at", func(r *store.Run) { r.CreatedAt = given }, store.CallbackNone, 1, given},
		{"every field", func(r *store.Run) {
			r.Input = json.RawMessage(runExactInput)
			r.IdempotencyKey = "key-1"
			r.InputHash = "hash-1"
			r.Trigger = store.RunTrigger{Source: "webhook", Webhook: "zendesk"}
			r.Metadata = map[string]any{"team": "ops", "n": 2, "tags": []any{"a", "b"}}
			r.Timeout = 90 * time.Second
			r.CallbackURL = testURL
			r.MaxAttempts = 2
		}, store.CallbackWaiting, 2, clock.Now()},
		{"store fields", func(r *store.Run) {
			r.Attempts = 4
			r.Output = json.RawMessage(`{}`)
			r.Error = &store.RunError{Code: "internal_error"}
			r.Lease = store.Lease{Owner: "w1", Token: "t", Expires: given}
			r.StartedAt = given
			r.FinishedAt = given
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
			want.FinishedAt = time.Time{}
			want.Deadline = time.Time{}
			want.CreatedAt = tt.wantCreatedAt
			want.Callback = store.CallbackState{State: tt.wantCallback}
			if d := diffRun(got, want); d != "" {
				t.Errorf("CreateRun returned %s", d)
			}
			stored := mustGetRun(t, s, r.ID)
			if d := diffRun(stored, want); d != "" {
				t.Errorf("GetRun returned %s", d)
			}
			if string(stored.Input) != string(r.Input) {
				t.Logf("GetRun Input = %s, given %s: same JSON, other bytes", stored.Input, r.Input)
			}
		})
	}
	if _, err := s.GetRun(context.Background(), "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetRun(unknown) error = %v, want ErrNotFound", err)
	}
}

func (h *harness) testCreateRunInvalid(t *testing.T) {
	s, _ := h.open(t)
	mustCreateRun(t, s, newRun("run-1"))

	tests := []struct {
		name     string
		modify   func(r *store.Run)
		conflict bool
	}{
		{"empty id", func(r *store.Run) { r.ID = "" }, false},
		{"empty status", func(r *store.Run) { r.Status = "" }, false},
		{"running", func(r *store.Run) { r.Status = store.RunRunning }, false},
		{"succeeded", func(r *store.Run) { r.Status = store.RunSucceeded }, false},
		{"duplicate id", func(r *store.Run) { r.ID = "run-1" }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRun("run-new")
			tt.modify(&r)
			_, _, err := s.CreateRun(context.Background(), r)
			switch {
			case tt.conflict && !errors.Is(err, store.ErrConflict):
				t.Errorf("CreateRun error = %v, want ErrConflict", err)
			case !tt.conflict && !errors.Is(err, store.ErrInvalidArgument):
				t.Errorf("CreateRun error = %v, want ErrInvalidArgument", err)
			}
		})
	}
	if _, err := s.GetRun(context.Background(), "run-new"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetRun(run-new) error = %v, want ErrNotFound: a rejected run was stored", err)
	}
	if r := mustGetRun(t, s, "run-1"); r.Status != store.RunQueued || r.RoutineID != "triage" {
		t.Errorf("run-1 = status %q routine %q after a duplicate id, want it unchanged", r.Status, r.RoutineID)
	}
}

func (h *harness) testCreateRunIdempotency(t *testing.T) {
	ctx := context.Background()
	s, _ := h.open(t)
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
		{"no key again", "run-6", "triage", "", true, "run-6"},
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

// testCreateRunIdempotencyConcurrent creates runs with one key from many
// goroutines at once: exactly one is created and every call returns it.
func (h *harness) testCreateRunIdempotencyConcurrent(t *testing.T) {
	ctx := context.Background()
	s, _ := h.open(t)

	type result struct {
		id      string
		created bool
		err     error
	}
	results := make(chan result, idemCreators)
	runAtOnce(idemCreators, func(i int) {
		r := newRun(fmt.Sprintf("run-%02d", i))
		r.IdempotencyKey = "same-key"
		r.InputHash = fmt.Sprintf("hash-%02d", i)
		got, created, err := s.CreateRun(ctx, r)
		results <- result{id: got.ID, created: created, err: err}
	})
	close(results)

	created := 0
	ids := make(map[string]int)
	for res := range results {
		if res.err != nil {
			t.Errorf("CreateRun: %v", res.err)
			continue
		}
		if res.created {
			created++
		}
		ids[res.id]++
	}
	if created != 1 {
		t.Errorf("%d of %d CreateRun calls with one key created a run, want exactly 1", created, idemCreators)
	}
	if len(ids) != 1 {
		t.Errorf("CreateRun calls with one key returned runs %v, want one id for all", ids)
	}
	claimed := 0
	for claimed < claimLimit(1) {
		_, ok, err := s.ClaimRun(ctx, "w1", runTTL)
		if err != nil {
			t.Fatalf("ClaimRun: %v", err)
		}
		if !ok {
			break
		}
		claimed++
	}
	if claimed != 1 {
		t.Errorf("%d runs claimable after concurrent creates with one key, want 1", claimed)
	}
}

func (h *harness) testClaimRunOrder(t *testing.T) {
	ctx := context.Background()
	s, clock := h.open(t)
	base := clock.Now()
	created := []struct {
		id     string
		offset time.Duration
	}{
		{"run-c", 3 * time.Second},
		{"run-b", 2 * time.Second},
		{"run-a", time.Second},
		{"run-old", -time.Hour},
	}
	for _, c := range created {
		r := newRun(c.id)
		r.CreatedAt = base.Add(c.offset)
		mustCreateRun(t, s, r)
	}

	want := []string{"run-old", "run-a", "run-b", "run-c"}
	var got []string
	for range want {
		got = append(got, mustClaimRun(t, s, "w1", runTTL).Run.ID)
	}
	if !slices.Equal(got, want) {
		t.Errorf("claim order = %v, want %v (oldest CreatedAt first)", got, want)
	}
	if _, ok, err := s.ClaimRun(ctx, "w1", runTTL); err != nil || ok {
		t.Errorf("ClaimRun with every run leased = %v, %v; want false, nil", ok, err)
	}
	if _, _, err := s.ClaimRun(ctx, "", runTTL); !errors.Is(err, store.ErrInvalidArgument) {
		t.Errorf("ClaimRun(empty owner) error = %v, want ErrInvalidArgument", err)
	}
	if _, _, err := s.ClaimRun(ctx, "w1", 0); !errors.Is(err, store.ErrInvalidArgument) {
		t.Errorf("ClaimRun(zero ttl) error = %v, want ErrInvalidArgument", err)
	}
}

func (h *harness) testClaimRunFields(t *testing.T) {
	tests := []struct {
		name    string
		timeout time.Duration
	}{
		{"timeout", 30 * time.Second},
		{"no timeout", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, clock := h.open(t)
			r := newRun("run-1")
			r.Timeout = tt.timeout
			r.Metadata = map[string]any{"team": "ops"}
			created := mustCreateRun(t, s, r)
			clock.Advance(time.Second)

			c := mustClaimRun(t, s, "w1", runTTL)
			want := created
			want.Status = store.RunRunning
			want.Attempts = 1
			want.StartedAt = clock.Now()
			if tt.timeout > 0 {
				want.Deadline = clock.Now().Add(tt.timeout)
			}
			want.Lease = store.Lease{Owner: "w1", Token: c.Lease.Token, Expires: clock.Now().Add(runTTL)}
			if c.Lease.Token == "" {
				t.Errorf("claim lease has no token")
			}
			if !sameLease(c.Lease, want.Lease) {
				t.Errorf("claim Lease = %+v, want %+v", c.Lease, want.Lease)
			}
			if d := diffRun(c.Run, want); d != "" {
				t.Errorf("claimed run: %s", d)
			}
			if d := diffRun(mustGetRun(t, s, "run-1"), want); d != "" {
				t.Errorf("GetRun after the claim: %s", d)
			}
		})
	}
}

// testClaimRunExclusive claims runs from several goroutines at once
// until none is left: each run is claimed exactly once.
func (h *harness) testClaimRunExclusive(t *testing.T) {
	ctx := context.Background()
	s, clock := h.open(t)
	for i := range claimRuns {
		r := newRun(fmt.Sprintf("run-%02d", i))
		r.CreatedAt = clock.Now().Add(time.Duration(i) * time.Second)
		mustCreateRun(t, s, r)
	}

	claims := claimAll(t, "ClaimRun", claimRuns, func(worker int) (string, bool, error) {
		c, ok, err := s.ClaimRun(ctx, fmt.Sprintf("worker-%d", worker), runTTL)
		return c.Run.ID, ok, err
	})
	assertClaimedOnce(t, claims, claimRuns, "run", "")
}

func (h *harness) testRunLeaseExpiry(t *testing.T) {
	ctx := context.Background()
	s, clock := h.open(t)
	r := newRun("run-1")
	r.MaxAttempts = 2
	r.Timeout = time.Hour
	mustCreateRun(t, s, r)

	old := mustClaimRun(t, s, "w1", 10*time.Second)
	clock.Advance(5 * time.Second)
	if err := s.ExtendRunLease(ctx, old, 10*time.Second); err != nil {
		t.Fatalf("ExtendRunLease before expiry: %v", err)
	}
	if got := mustGetRun(t, s, "run-1"); !got.Lease.Expires.Equal(clock.Now().Add(10 * time.Second)) {
		t.Errorf("lease expires %v after ExtendRunLease, want %v", got.Lease.Expires, clock.Now().Add(10*time.Second))
	}
	clock.Advance(9 * time.Second)
	if _, ok, _ := s.ClaimRun(ctx, "w2", 10*time.Second); ok {
		t.Fatalf("w2 claimed a run whose extended lease has not expired")
	}

	clock.Advance(time.Second)
	if err := s.ExtendRunLease(ctx, old, 10*time.Second); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("ExtendRunLease at expiry error = %v, want ErrLeaseLost", err)
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

func (h *harness) testClaimRunInterrupted(t *testing.T) {
	for _, maxAttempts := range []int{0, 1, 3} {
		t.Run(fmt.Sprintf("max %d", maxAttempts), func(t *testing.T) {
			ctx := context.Background()
			s, clock := h.open(t)
			r := newRun("run-old")
			r.MaxAttempts = maxAttempts
			r.CallbackURL = testURL
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
			if !noLease(got.Lease) {
				t.Errorf("Lease = %+v, want none", got.Lease)
			}
			want := store.CallbackState{State: store.CallbackPending, NextAttemptAt: clock.Now()}
			if d := diffCallback(got.Callback, want); d != "" {
				t.Errorf("interrupted run: %s", d)
			}
			if c, ok, err := s.ClaimCallback(ctx, "d1", clock.Now(), time.Minute); err != nil || !ok || c.Run.ID != "run-old" {
				t.Errorf("ClaimCallback after the interruption = %q, %v, %v; want run-old", c.Run.ID, ok, err)
			}
		})
	}
}

func (h *harness) testRunLeaseLost(t *testing.T) {
	tests := []struct {
		name string
		lose func(t *testing.T, s store.Store, clock *Clock, c store.RunClaim) store.RunClaim
	}{
		{"cancelled", func(t *testing.T, s store.Store, clock *Clock, c store.RunClaim) store.RunClaim {
			if _, err := s.CancelRun(context.Background(), c.Run.ID); err != nil {
				t.Fatalf("CancelRun: %v", err)
			}
			return c
		}},
		{"expired", func(t *testing.T, s store.Store, clock *Clock, c store.RunClaim) store.RunClaim {
			clock.Advance(2 * time.Minute)
			return c
		}},
		{"wrong token", func(t *testing.T, s store.Store, clock *Clock, c store.RunClaim) store.RunClaim {
			c.Lease.Token = "forged"
			return c
		}},
		{"wrong owner", func(t *testing.T, s store.Store, clock *Clock, c store.RunClaim) store.RunClaim {
			c.Lease.Owner = "w2"
			return c
		}},
		{"completed", func(t *testing.T, s store.Store, clock *Clock, c store.RunClaim) store.RunClaim {
			if _, err := s.CompleteRun(context.Background(), c, store.RunResult{Status: store.RunSucceeded}); err != nil {
				t.Fatalf("CompleteRun: %v", err)
			}
			return c
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s, clock := h.open(t)
			mustCreateRun(t, s, newRun("run-1"))
			c := tt.lose(t, s, clock, mustClaimRun(t, s, "w1", runTTL))
			before := mustGetRun(t, s, "run-1")

			if err := s.ExtendRunLease(ctx, c, runTTL); !errors.Is(err, store.ErrLeaseLost) {
				t.Errorf("ExtendRunLease error = %v, want ErrLeaseLost", err)
			}
			res := store.RunResult{Status: store.RunFailed, Error: &store.RunError{Code: "model_error"}}
			if _, err := s.CompleteRun(ctx, c, res); !errors.Is(err, store.ErrLeaseLost) {
				t.Errorf("CompleteRun error = %v, want ErrLeaseLost", err)
			}
			if d := diffRun(mustGetRun(t, s, "run-1"), before); d != "" {
				t.Errorf("run changed by a lost lease: %s", d)
			}
		})
	}
}

func (h *harness) testCancelRun(t *testing.T) {
	tests := []struct {
		name     string
		callback string
		claim    bool
	}{
		{"queued", "", false},
		{"queued with callback", testURL, false},
		{"running", testURL, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s, clock := h.open(t)
			r := newRun("run-1")
			r.CallbackURL = tt.callback
			mustCreateRun(t, s, r)
			var claim store.RunClaim
			if tt.claim {
				claim = mustClaimRun(t, s, "w1", runTTL)
			}
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
			if !noLease(got.Lease) {
				t.Errorf("Lease = %+v, want none", got.Lease)
			}
			wantCallback := store.CallbackState{State: store.CallbackNone}
			if tt.callback != "" {
				wantCallback = store.CallbackState{State: store.CallbackPending, NextAttemptAt: clock.Now()}
			}
			if d := diffCallback(got.Callback, wantCallback); d != "" {
				t.Errorf("cancelled run: %s", d)
			}
			if d := diffRun(mustGetRun(t, s, "run-1"), got); d != "" {
				t.Errorf("GetRun after CancelRun: %s", d)
			}
			if c, ok, _ := s.ClaimRun(ctx, "w2", runTTL); ok {
				t.Errorf("ClaimRun took cancelled run %q", c.Run.ID)
			}
			if tt.claim {
				if err := s.ExtendRunLease(ctx, claim, runTTL); !errors.Is(err, store.ErrLeaseLost) {
					t.Errorf("ExtendRunLease of the cancelled run error = %v, want ErrLeaseLost", err)
				}
			}

			clock.Advance(time.Second)
			again, err := s.CancelRun(ctx, "run-1")
			if err != nil {
				t.Fatalf("second CancelRun: %v", err)
			}
			if d := diffRun(again, got); d != "" {
				t.Errorf("second CancelRun changed the run: %s", d)
			}
		})
	}
}

func (h *harness) testCancelRunEnded(t *testing.T) {
	ctx := context.Background()
	s, clock := h.open(t)
	mustCreateRun(t, s, newRun("run-1"))
	done, err := s.CompleteRun(ctx, mustClaimRun(t, s, "w1", runTTL),
		store.RunResult{Status: store.RunSucceeded, Output: json.RawMessage(`{"n":1}`)})
	if err != nil {
		t.Fatalf("CompleteRun: %v", err)
	}
	clock.Advance(time.Second)
	got, err := s.CancelRun(ctx, "run-1")
	if err != nil {
		t.Fatalf("CancelRun(ended): %v", err)
	}
	if d := diffRun(got, done); d != "" {
		t.Errorf("CancelRun(ended) changed the run: %s", d)
	}
	if _, err := s.CancelRun(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("CancelRun(unknown) error = %v, want ErrNotFound", err)
	}
}

func (h *harness) testCompleteRun(t *testing.T) {
	tests := []struct {
		name     string
		callback string
		res      store.RunResult
	}{
		{"succeeded with callback", testURL,
			store.RunResult{Status: store.RunSucceeded, Output: json.RawMessage(runExactInput)}},
		{"failed without callback", "",
			store.RunResult{Status: store.RunFailed, Error: &store.RunError{Code: "timeout", Message: "took 30s"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s, clock := h.open(t)
			r := newRun("run-1")
			r.CallbackURL = tt.callback
			mustCreateRun(t, s, r)
			clock.Advance(time.Second)
			mustCreateRun(t, s, newRun("run-2"))
			c := mustClaimRun(t, s, "w1", runTTL)
			clock.Advance(time.Second)

			wake, cancel := s.Notifier().Subscribe(store.RunTopic("run-1"))
			defer cancel()
			got, err := s.CompleteRun(ctx, c, tt.res)
			if err != nil {
				t.Fatalf("CompleteRun: %v", err)
			}
			expectWake(t, wake, "CompleteRun")

			want := c.Run
			want.Status = tt.res.Status
			want.Output = tt.res.Output
			want.Error = tt.res.Error
			want.FinishedAt = clock.Now()
			want.Lease = store.Lease{}
			want.Callback = store.CallbackState{State: store.CallbackNone}
			if tt.callback != "" {
				want.Callback = store.CallbackState{State: store.CallbackPending, NextAttemptAt: clock.Now()}
			}
			if d := diffRun(got, want); d != "" {
				t.Errorf("CompleteRun returned %s", d)
			}
			if d := diffRun(mustGetRun(t, s, "run-1"), want); d != "" {
				t.Errorf("GetRun after CompleteRun: %s", d)
			}
			if _, err := s.CompleteRun(ctx, c, tt.res); !errors.Is(err, store.ErrLeaseLost) {
				t.Errorf("second CompleteRun with one claim error = %v, want ErrLeaseLost", err)
			}
			if next := mustClaimRun(t, s, "w1", runTTL); next.Run.ID != "run-2" {
				t.Errorf("ClaimRun after CompleteRun = %q, want run-2", next.Run.ID)
			}
		})
	}

	s, _ := h.open(t)
	mustCreateRun(t, s, newRun("run-1"))
	c := mustClaimRun(t, s, "w1", runTTL)
	for _, status := range []string{"", store.RunRunning, store.RunQueued} {
		if _, err := s.CompleteRun(context.Background(), c, store.RunResult{Status: status}); !errors.Is(err, store.ErrInvalidArgument) {
			t.Errorf("CompleteRun(status %q) error = %v, want ErrInvalidArgument", status, err)
		}
	}
	if got := mustGetRun(t, s, "run-1"); got.Status != store.RunRunning {
		t.Errorf("Status = %q after rejected results, want running", got.Status)
	}
}

func (h *harness) testRunCopies(t *testing.T) {
	ctx := context.Background()
	s, _ := h.open(t)
	in := newRun("run-1")
	in.Metadata = map[string]any{"team": "ops", "tags": []any{"a"}}
	created := mustCreateRun(t, s, in)

	wantInput := string(in.Input)
	wantMeta := map[string]any{"team": "ops", "tags": []any{"a"}}
	in.Input[2] = 'X'
	in.Metadata["team"] = "changed by caller"
	created.Input[2] = 'Y'
	if tags, ok := created.Metadata["tags"].([]any); ok {
		tags[0] = "changed by reader"
	}

	got := mustGetRun(t, s, "run-1")
	if !sameRawJSON(got.Input, json.RawMessage(wantInput)) {
		t.Errorf("Input = %s, want %s: a caller's slice is shared", got.Input, wantInput)
	}
	if !sameMap(got.Metadata, wantMeta) {
		t.Errorf("Metadata = %v, want %v: a caller's map is shared", got.Metadata, wantMeta)
	}

	c := mustClaimRun(t, s, "w1", runTTL)
	c.Run.Input[2] = 'Z'
	runErr := &store.RunError{Code: "tool_error", Message: "lookup failed"}
	done, err := s.CompleteRun(ctx, c, store.RunResult{Status: store.RunFailed, Error: runErr})
	if err != nil {
		t.Fatalf("CompleteRun: %v", err)
	}
	runErr.Code = "changed by caller"
	done.Error.Message = "changed by reader"

	got = mustGetRun(t, s, "run-1")
	if !sameRawJSON(got.Input, json.RawMessage(wantInput)) {
		t.Errorf("Input = %s after a claim was changed, want %s", got.Input, wantInput)
	}
	want := store.RunError{Code: "tool_error", Message: "lookup failed"}
	if got.Error == nil || *got.Error != want {
		t.Errorf("Error = %+v, want %+v: the error is shared", got.Error, want)
	}
}
