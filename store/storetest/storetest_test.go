package storetest_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/agentry/agentry/store"
	"github.com/agentry/agentry/store/memory"
	"github.com/agentry/agentry/store/storetest"
)

// faultEnv names the fault that TestFaultyStore puts into the memory
// store. TestSuiteCatchesFaults sets it in a child process.
const faultEnv = "AGENTRY_STORETEST_FAULT"

// faults are stores that break one promise each, by name.
var faults = map[string]func(*memory.Store) store.Store{
	"normalised payloads": func(s *memory.Store) store.Store { return normalisingStore{s} },
	"ignored idempotency": func(s *memory.Store) store.Store { return keylessStore{s} },
	"shared turn lease":   func(s *memory.Store) store.Store { return sharedLeaseStore{s} },
}

// TestSuiteCatchesFaults runs the suite in a child process against stores
// that each break one promise, and checks that the subtest of that
// promise fails.
func TestSuiteCatchesFaults(t *testing.T) {
	tests := []struct {
		fault    string
		wantFail string
	}{
		{"normalised payloads", "TestFaultyStore/Events/PayloadBytes"},
		{"ignored idempotency", "TestFaultyStore/Runs/IdempotencyConcurrent"},
		{"shared turn lease", "TestFaultyStore/Turns/ClaimExclusive"},
	}
	for _, tt := range tests {
		t.Run(tt.fault, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestFaultyStore$", "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), faultEnv+"="+tt.fault)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed a store with %s, want a failure\n%s", tt.fault, out)
			}
			if want := "--- FAIL: " + tt.wantFail + " "; !strings.Contains(string(out), want) {
				t.Errorf("output has no %q line for a store with %s\n%s", want, tt.fault, out)
			}
		})
	}
}

// TestFaultyStore runs the suite against the memory store with the fault
// named in AGENTRY_STORETEST_FAULT. It runs only as a child of
// TestSuiteCatchesFaults.
func TestFaultyStore(t *testing.T) {
	name := os.Getenv(faultEnv)
	if name == "" {
		t.Skip(faultEnv + " is unset: this test runs as a child of TestSuiteCatchesFaults")
	}
	wrap, ok := faults[name]
	if !ok {
		t.Fatalf("unknown fault %q in %s", name, faultEnv)
	}
	storetest.Run(t, func(t *testing.T, clock func() time.Time) store.Store {
		return wrap(memory.New(memory.WithClock(clock)))
	}, storetest.Options{})
}

// normalisingStore rewrites each appended payload through a JSON decode
// and encode, as a store that keeps payloads in a normalised JSON column
// would.
type normalisingStore struct{ *memory.Store }

func (s normalisingStore) Append(ctx context.Context, id string, events []store.NewEvent, opts store.AppendOptions) ([]store.Event, error) {
	rewritten := make([]store.NewEvent, len(events))
	for i, ev := range events {
		rewritten[i] = ev
		var v any
		if json.Unmarshal(ev.Payload, &v) == nil {
			rewritten[i].Payload, _ = json.Marshal(v)
		}
	}
	return s.Store.Append(ctx, id, rewritten, opts)
}

// keylessStore drops idempotency keys, so every CreateRun creates a run.
type keylessStore struct{ *memory.Store }

func (s keylessStore) CreateRun(ctx context.Context, r store.Run) (store.Run, bool, error) {
	r.IdempotencyKey = ""
	return s.Store.CreateRun(ctx, r)
}

// sharedLeaseStore hands the held turn lease to a second claimer too.
type sharedLeaseStore struct{ *memory.Store }

func (s sharedLeaseStore) ClaimTurn(ctx context.Context, id, owner string, ttl time.Duration) (store.TurnClaim, bool, error) {
	c, ok, err := s.Store.ClaimTurn(ctx, id, owner, ttl)
	if err != nil || ok {
		return c, ok, err
	}
	sess, err := s.GetSession(ctx, id)
	if err != nil || !sess.NeedsTurn() {
		return c, false, err
	}
	return store.TurnClaim{SessionID: id, Lease: sess.Lease, Session: sess}, true, nil
}
