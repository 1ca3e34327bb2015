package routine

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/agentry/agentry/manifest"
	"github.com/agentry/agentry/store"
	"github.com/agentry/agentry/store/memory"
	"github.com/agentry/agentry/transport/outbound"
)

const runnerScript = `
- when: {after_tool: "built-in:emit_output"}
  reply: {text: "done"}
- when: {tool_offered: "built-in:emit_output"}
  reply:
    tool_call:
      name: built-in:emit_output
      arguments: {output_json: '{"ok": true}'}
`

// newTestRunner returns a started runner over st for a one-node routine
// that emits {"ok": true}, with maxAttempts attempts per run.
func newTestRunner(t *testing.T, st store.Store, maxAttempts int) *Runner {
	t.Helper()
	def := manifest.Routine{
		ID:    "emit",
		Entry: "out",
		Nodes: []manifest.Node{{ID: "out", Tools: []string{manifest.EmitOutputTool}}},
		Autonomous: &manifest.Autonomous{
			InputSchema:    json.RawMessage(`{"type": "object"}`),
			OutputSchema:   json.RawMessage(`{"type": "object", "properties": {"ok": {"type": "boolean"}}}`),
			TimeoutSeconds: 60,
			MaxAttempts:    maxAttempts,
		},
	}
	rt, err := Compile(def, nil)
	if err != nil {
		t.Fatal(err)
	}
	chat, eval := scriptedLanes(t, runnerScript)
	r, err := NewRunner(RunnerConfig{
		Store:        st,
		Executor:     &Executor{Chat: chat, Evaluation: eval, Logger: quietLogger()},
		Routines:     []*Routine{rt},
		Owner:        "survivor",
		Logger:       quietLogger(),
		Workers:      2,
		LeaseTTL:     time.Second,
		PollInterval: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func waitEnded(t *testing.T, st store.Store, id string) store.Run {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		run, err := st.GetRun(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if run.Ended() {
			return run
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s still %s after 10s", id, run.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// crashClaim claims the run for an owner that dies at once: its lease
// expires after ttl without a heartbeat.
func crashClaim(t *testing.T, st store.Store, ttl time.Duration) {
	t.Helper()
	if _, ok, err := st.ClaimRun(context.Background(), "dead-process", ttl); err != nil || !ok {
		t.Fatalf("claim by the dead process: ok=%v err=%v", ok, err)
	}
}

func TestRunTakenOverAfterWorkerDies(t *testing.T) {
	st := memory.New()
	r := newTestRunner(t, st, 3)
	run, created, err := r.Trigger(context.Background(), TriggerRequest{RoutineID: "emit", Input: json.RawMessage(`{}`)})
	if err != nil || !created {
		t.Fatalf("Trigger: created=%v err=%v", created, err)
	}
	crashClaim(t, st, 200*time.Millisecond)

	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer r.Stop(context.Background())
	ended := waitEnded(t, st, run.ID)
	if ended.Status != store.RunSucceeded {
		t.Fatalf("run = %+v, want succeeded after the takeover", ended)
	}
	if ended.Attempts != 2 {
		t.Errorf("attempts = %d, want 2 (the dead one and the takeover)", ended.Attempts)
	}
}

func TestRunInterruptedWhenAttemptsUsedUp(t *testing.T) {
	st := memory.New()
	r := newTestRunner(t, st, 1)
	run, _, err := r.Trigger(context.Background(), TriggerRequest{RoutineID: "emit", Input: json.RawMessage(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	crashClaim(t, st, 100*time.Millisecond)

	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer r.Stop(context.Background())
	ended := waitEnded(t, st, run.ID)
	if ended.Status != store.RunFailed || ended.Error == nil || ended.Error.Code != CodeInterrupted {
		t.Fatalf("run = %+v, want failed with code interrupted", ended)
	}
}

func TestTriggerStoresBeforeReturning(t *testing.T) {
	st := memory.New()
	r := newTestRunner(t, st, 3)
	// The runner is not started: the run must be stored and queued anyway.
	run, _, err := r.Trigger(context.Background(), TriggerRequest{RoutineID: "emit", Input: json.RawMessage(`{"a": 1}`)})
	if err != nil {
		t.Fatal(err)
	}
	got, err := st.GetRun(context.Background(), run.ID)
	if err != nil || got.Status != store.RunQueued {
		t.Fatalf("stored run = %+v, %v; want queued", got, err)
	}
}

func TestDelivererStopCancelsHangingPost(t *testing.T) {
	st := memory.New()
	r := newTestRunner(t, st, 3)
	hang := make(chan struct{})
	arrived := make(chan struct{}, 10)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		arrived <- struct{}{}
		<-hang
	}))
	// Release the hanging handler before Close waits for it.
	defer receiver.Close()
	defer close(hang)
	client, err := outbound.NewClient(outbound.Config{AllowPrivateNetworks: true, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewDeliverer(DelivererConfig{Store: st, Client: client, Logger: quietLogger(), LeaseTTL: 2 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer r.Stop(context.Background())
	run, _, err := r.Trigger(context.Background(), TriggerRequest{RoutineID: "emit", Input: json.RawMessage(`{}`), CallbackURL: receiver.URL})
	if err != nil {
		t.Fatal(err)
	}
	waitEnded(t, st, run.ID)
	d.Wake()
	select {
	case <-arrived: // the POST is now hanging
	case <-time.After(10 * time.Second):
		t.Fatal("the callback POST did not arrive within 10s")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := d.Stop(ctx); err != nil {
		t.Errorf("Stop: %v", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Stop took %v with a hanging receiver", took)
	}
	got, err := st.GetRun(context.Background(), run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Callback.State != store.CallbackPending || got.Callback.Attempts != 1 {
		t.Errorf("callback after the cancelled attempt = %+v, want pending for a retry", got.Callback)
	}
}
