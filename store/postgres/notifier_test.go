package postgres

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/agentry/agentry/store"
	"github.com/agentry/agentry/store/memory"
)

// wakeWithin is how long a waiter may wait for a wake-up before the test
// fails: a liveness bound, not a latency target.
const wakeWithin = 5 * time.Second

// expectWake fails the test unless wake receives a value within
// wakeWithin.
func expectWake(t *testing.T, wake <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-wake:
	case <-time.After(wakeWithin):
		t.Fatalf("%s: no wake-up within %v", what, wakeWithin)
	}
}

// drain empties a wake channel, so a later expectWake receives only new
// wake-ups.
func drain(wake <-chan struct{}) {
	for {
		select {
		case <-wake:
		default:
			return
		}
	}
}

// openPairWithSession opens two stores on one new schema, as two
// processes sharing a database would, and creates session id through the
// first.
func openPairWithSession(t *testing.T, id string) (a, b *Store) {
	t.Helper()
	a, rawURL, schema := openTest(t)
	b = openAt(t, rawURL, schema)
	if _, _, err := a.CreateSession(context.Background(), store.Session{ID: id}, nil); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	return a, b
}

func TestNotifyAcrossStores(t *testing.T) {
	ctx := context.Background()
	a, b := openPairWithSession(t, "s")

	sessionWake, cancelSession := b.Notifier().Subscribe("s")
	defer cancelSession()
	deliveryWake, cancelDelivery := b.Notifier().Subscribe(store.DeliveryTopic)
	defer cancelDelivery()
	if _, err := a.Append(ctx, "s", []store.NewEvent{{Kind: "message"}}, store.AppendOptions{}); err != nil {
		t.Fatalf("Append: %v", err)
	}
	expectWake(t, sessionWake, "session waiter of the other store")
	expectWake(t, deliveryWake, "deliverer of the other store")

	run := store.Run{ID: "r", RoutineID: "rt", Status: store.RunQueued}
	if _, _, err := a.CreateRun(ctx, run); err != nil {
		t.Fatalf("CreateRun: %v", err)
	}
	runWake, cancelRun := b.Notifier().Subscribe(store.RunTopic("r"))
	defer cancelRun()
	claim, ok, err := a.ClaimRun(ctx, "worker", time.Minute)
	if err != nil || !ok {
		t.Fatalf("ClaimRun = ok %v, err %v; want a claim", ok, err)
	}
	expectWake(t, runWake, "run waiter after the claim")
	drain(runWake)
	if _, err := a.CompleteRun(ctx, claim, store.RunResult{Status: store.RunSucceeded}); err != nil {
		t.Fatalf("CompleteRun: %v", err)
	}
	expectWake(t, runWake, "run waiter after completion")
}

func TestNotifySameStoreDirect(t *testing.T) {
	ctx := context.Background()
	s, _, _ := openTest(t)
	if _, _, err := s.CreateSession(ctx, store.Session{ID: "s"}, nil); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	wake, cancel := s.Notifier().Subscribe("s")
	defer cancel()
	if _, err := s.Append(ctx, "s", []store.NewEvent{{Kind: "message"}}, store.AppendOptions{}); err != nil {
		t.Fatalf("Append: %v", err)
	}
	// The store wakes its own process's waiters before Append returns.
	select {
	case <-wake:
	default:
		t.Fatal("waiter in the same process not woken when Append returned")
	}
}

func TestNotifyRolledBackAppendSendsNothing(t *testing.T) {
	ctx := context.Background()
	a, b := openPairWithSession(t, "s")
	wake, cancel := b.Notifier().Subscribe("s")
	defer cancel()

	// A NOTIFY queued in a transaction that rolls back is never sent;
	// a failed append therefore wakes no waiter.
	tx, err := a.pool.Begin(ctx)
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	if _, err := tx.Exec(ctx, "SELECT pg_notify($1, $2)", a.channel, a.payload([]string{"s"})); err != nil {
		t.Fatalf("pg_notify: %v", err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatalf("Rollback: %v", err)
	}
	// A committed append afterwards is the only wake-up.
	if _, err := a.Append(ctx, "s", []store.NewEvent{{Kind: "message"}}, store.AppendOptions{}); err != nil {
		t.Fatalf("Append: %v", err)
	}
	expectWake(t, wake, "waiter after the committed append")
	select {
	case <-wake:
		t.Fatal("second wake-up: the rolled-back NOTIFY was delivered")
	case <-time.After(300 * time.Millisecond):
	}
}

// terminateListener ends the backend of the store's listening connection.
func terminateListener(t *testing.T, s *Store) {
	t.Helper()
	pid := s.listener.backendPID.Load()
	if pid == 0 {
		t.Fatal("listener is not connected")
	}
	var ok bool
	err := s.pool.QueryRow(context.Background(), `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE pid = $1 AND application_name = $2`, pid, ListenerApplicationName).Scan(&ok)
	if err != nil || !ok {
		t.Fatalf("terminate listener backend %d: ok %v, err %v", pid, ok, err)
	}
}

// waitListening waits until the store's listener is connected to a
// backend other than old.
func waitListening(t *testing.T, s *Store, old uint32) {
	t.Helper()
	deadline := time.Now().Add(wakeWithin)
	for {
		if pid := s.listener.backendPID.Load(); pid != 0 && pid != old {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("listener not reconnected within %v", wakeWithin)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestListenerReconnectsAfterTerminate(t *testing.T) {
	ctx := context.Background()
	a, b := openPairWithSession(t, "s")

	// Waiters of b block before its listener is killed.
	waiters := make([]<-chan struct{}, 3)
	for i := range waiters {
		wake, cancel := b.Notifier().Subscribe("s")
		defer cancel()
		waiters[i] = wake
	}
	old := b.listener.backendPID.Load()
	terminateListener(t, b)
	// This append's NOTIFY may be sent while b is disconnected and lost;
	// the reconnect then wakes every waiter so it re-reads the store.
	if _, err := a.Append(ctx, "s", []store.NewEvent{{Kind: "message"}}, store.AppendOptions{}); err != nil {
		t.Fatalf("Append right after the kill: %v", err)
	}
	for i, wake := range waiters {
		expectWake(t, wake, "waiter after an append made right after the kill")
		drain(waiters[i])
	}
	events, err := b.ListEvents(ctx, "s", 0, 0)
	if err != nil || len(events) != 1 {
		t.Fatalf("ListEvents on b = %d events, err %v; want the appended event", len(events), err)
	}

	// b listens again before it wakes its waiters, so an append from a
	// made now must reach them through NOTIFY.
	waitListening(t, b, old)
	if _, err := a.Append(ctx, "s", []store.NewEvent{{Kind: "message"}}, store.AppendOptions{}); err != nil {
		t.Fatalf("Append: %v", err)
	}
	for _, wake := range waiters {
		expectWake(t, wake, "waiter after an append made after the kill")
	}
}

func TestNotifierStandalone(t *testing.T) {
	ctx := context.Background()
	s, _, _ := openTest(t)
	n1, err := NewNotifier(ctx, s.pool, "agentry_standalone_"+s.schema, nil)
	if err != nil {
		t.Fatalf("NewNotifier: %v", err)
	}
	defer n1.Close()
	n2, err := NewNotifier(ctx, s.pool, "agentry_standalone_"+s.schema, nil)
	if err != nil {
		t.Fatalf("NewNotifier: %v", err)
	}
	defer n2.Close()

	wake, cancel := n2.Subscribe("topic")
	defer cancel()
	local, cancelLocal := n1.Subscribe("topic")
	defer cancelLocal()
	n1.Notify("topic")
	expectWake(t, wake, "subscriber of the other notifier")
	expectWake(t, local, "subscriber of the same notifier")
}

func TestNotifyPayloadTooLarge(t *testing.T) {
	long := strings.Repeat("x", maxNotifyPayload)
	payload := encodePayload("origin", []string{long})
	if len(payload) > maxNotifyPayload {
		t.Fatalf("payload length %d over the limit %d", len(payload), maxNotifyPayload)
	}
	var msg notifyMessage
	if err := json.Unmarshal([]byte(payload), &msg); err != nil {
		t.Fatalf("decode payload: %v", err)
	}
	if len(msg.Topics) != 1 || msg.Topics[0] != "*" {
		t.Fatalf("topics = %q, want the wake-everyone topic", msg.Topics)
	}
}

func TestNotifyLongSessionIDAcrossStores(t *testing.T) {
	ctx := context.Background()
	id := strings.Repeat("l", 9000)
	a, b := openPairWithSession(t, id)
	wake, cancel := b.Notifier().Subscribe(id)
	defer cancel()
	if _, err := a.Append(ctx, id, []store.NewEvent{{Kind: "message"}}, store.AppendOptions{}); err != nil {
		t.Fatalf("Append with a 9000-byte session id: %v", err)
	}
	expectWake(t, wake, "waiter of a session whose id does not fit a NOTIFY payload")
}

// recordingNotifier records the topics it is notified of.
type recordingNotifier struct {
	store.Notifier
	topics chan string
}

func (r *recordingNotifier) Notify(topic string) {
	r.topics <- topic
	r.Notifier.Notify(topic)
}

func TestWithNotifierReplacesListen(t *testing.T) {
	ctx := context.Background()
	rec := &recordingNotifier{Notifier: newLocalNotifier(), topics: make(chan string, 16)}
	s, _, _ := openTest(t, WithNotifier(rec))
	if s.listener != nil {
		t.Fatal("store started a listener although WithNotifier was given")
	}
	if s.Notifier() != rec {
		t.Fatal("Notifier() is not the notifier given with WithNotifier")
	}
	if _, _, err := s.CreateSession(ctx, store.Session{ID: "s"}, nil); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	if _, err := s.Append(ctx, "s", []store.NewEvent{{Kind: "message"}}, store.AppendOptions{}); err != nil {
		t.Fatalf("Append: %v", err)
	}
	got := map[string]bool{}
	for range 2 {
		select {
		case topic := <-rec.topics:
			got[topic] = true
		case <-time.After(wakeWithin):
			t.Fatalf("notified topics = %v, want s and %s", got, store.DeliveryTopic)
		}
	}
	if !got["s"] || !got[store.DeliveryTopic] {
		t.Fatalf("notified topics = %v, want s and %s", got, store.DeliveryTopic)
	}
}

func newLocalNotifier() store.Notifier { return memory.NewNotifier() }

func TestListenerPingsIdleConnection(t *testing.T) {
	defer func(old time.Duration) { listenerPingInterval = old }(listenerPingInterval)
	listenerPingInterval = 20 * time.Millisecond

	ctx := context.Background()
	a, b := openPairWithSession(t, "s")
	wake, cancel := b.Notifier().Subscribe("s")
	defer cancel()
	pid := b.listener.backendPID.Load()

	// Idle for several intervals: each ends in a ping on the same
	// connection, and notifications still arrive afterwards.
	time.Sleep(10 * listenerPingInterval)
	if _, err := a.Append(ctx, "s", []store.NewEvent{{Kind: "message"}}, store.AppendOptions{}); err != nil {
		t.Fatalf("Append: %v", err)
	}
	expectWake(t, wake, "waiter after idle pings")
	if got := b.listener.backendPID.Load(); got != pid {
		t.Fatalf("listener backend changed from %d to %d: the idle ping reconnected", pid, got)
	}
}
