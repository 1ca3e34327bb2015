package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/agentry/agentry/store"
)

// wakeTimeout bounds how long a waiter may wait for a wake-up that a
// store call promises.
const wakeTimeout = 5 * time.Second

// testURL is a webhook or callback URL on the loopback interface. The
// suite stores it but never sends to it.
const testURL = "http://127.0.0.1:9/hook"

// listAll is a ListEvents limit above the length of any log the suite
// writes.
const listAll = 10_000

// webhookSink is the sink most delivery checks claim for.
var webhookSink = store.DeliverySink{Name: "webhook"}

// textEvent returns a user_message event with the given text.
func textEvent(text string) store.NewEvent {
	payload, err := json.Marshal(map[string]string{"text": text})
	if err != nil {
		panic(fmt.Sprintf("marshal payload: %v", err))
	}
	return store.NewEvent{Kind: "user_message", Payload: payload}
}

// mustCreate creates a session with the given id and no initial events.
func mustCreate(t testing.TB, s store.Store, id string) store.Session {
	t.Helper()
	sess, created, err := s.CreateSession(context.Background(), store.Session{ID: id}, nil)
	if err != nil {
		t.Fatalf("CreateSession(%q): %v", id, err)
	}
	if !created {
		t.Fatalf("CreateSession(%q): created = false for a new id", id)
	}
	return sess
}

// mustTrigger appends one triggering event and returns it.
func mustTrigger(t testing.TB, s store.Store, id string) store.Event {
	t.Helper()
	evs, err := s.Append(context.Background(), id, []store.NewEvent{textEvent("hello")},
		store.AppendOptions{Trigger: true})
	if err != nil {
		t.Fatalf("Append(%q, trigger): %v", id, err)
	}
	if len(evs) != 1 {
		t.Fatalf("Append(%q, trigger) returned %d events, want 1", id, len(evs))
	}
	return evs[0]
}

// appendN appends n events to the session in one call.
func appendN(t testing.TB, s store.Store, id string, n int) []store.Event {
	t.Helper()
	events := make([]store.NewEvent, n)
	for i := range events {
		events[i] = textEvent(fmt.Sprint("event ", i))
	}
	evs, err := s.Append(context.Background(), id, events, store.AppendOptions{})
	if err != nil {
		t.Fatalf("Append(%q, %d events): %v", id, n, err)
	}
	return evs
}

func mustGetSession(t testing.TB, s store.Store, id string) store.Session {
	t.Helper()
	sess, err := s.GetSession(context.Background(), id)
	if err != nil {
		t.Fatalf("GetSession(%q): %v", id, err)
	}
	return sess
}

func mustClaimTurn(t testing.TB, s store.Store, id, owner string, ttl time.Duration) store.TurnClaim {
	t.Helper()
	c, ok, err := s.ClaimTurn(context.Background(), id, owner, ttl)
	if err != nil {
		t.Fatalf("ClaimTurn(%q, %q): %v", id, owner, err)
	}
	if !ok {
		t.Fatalf("ClaimTurn(%q, %q): ok = false, want the lease", id, owner)
	}
	return c
}

// mustHoldTurn creates the session, appends one triggering event and
// claims the session's turn for owner. It returns the claim and the
// trigger.
func mustHoldTurn(t testing.TB, s store.Store, id, owner string, ttl time.Duration) (store.TurnClaim, store.Event) {
	t.Helper()
	mustCreate(t, s, id)
	trigger := mustTrigger(t, s, id)
	return mustClaimTurn(t, s, id, owner, ttl), trigger
}

// mustHoldClaims creates session s-1 with one triggering event and the
// queued run run-1, then claims for w1, with a one-minute lease, the
// session's turn, the run and the session's delivery to webhookSink.
func mustHoldClaims(t testing.TB, s store.Store, now time.Time) (store.TurnClaim, store.RunClaim, store.DeliveryClaim) {
	t.Helper()
	turn, _ := mustHoldTurn(t, s, "s-1", "w1", time.Minute)
	mustCreateRun(t, s, newRun("run-1"))
	run := mustClaimRun(t, s, "w1", time.Minute)
	delivery := mustClaimDelivery(t, s, webhookSink, "w1", now)
	return turn, run, delivery
}

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

func mustCreateRun(t testing.TB, s store.Store, r store.Run) store.Run {
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

func mustClaimRun(t testing.TB, s store.Store, owner string, ttl time.Duration) store.RunClaim {
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

func mustGetRun(t testing.TB, s store.Store, id string) store.Run {
	t.Helper()
	r, err := s.GetRun(context.Background(), id)
	if err != nil {
		t.Fatalf("GetRun(%q): %v", id, err)
	}
	return r
}

// mustEndRun creates a run with a callback URL, claims it and completes
// it, so its callback is due at the clock's time. No other run may be
// queued.
func mustEndRun(t testing.TB, s store.Store, id string) store.Run {
	t.Helper()
	r := newRun(id)
	r.CallbackURL = testURL
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

func mustClaimCallback(t testing.TB, s store.Store, owner string, now time.Time) store.CallbackClaim {
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

func mustClaimDelivery(t testing.TB, s store.Store, sink store.DeliverySink, owner string, now time.Time) store.DeliveryClaim {
	t.Helper()
	c, ok, err := s.ClaimDelivery(context.Background(), sink, owner, now, time.Minute)
	if err != nil {
		t.Fatalf("ClaimDelivery(%q): %v", sink.Name, err)
	}
	if !ok {
		t.Fatalf("ClaimDelivery(%q) at %v: ok = false, want a claim", sink.Name, now)
	}
	return c
}

// assertNoDelivery fails the test when a delivery to sink is claimable at
// now. The message gives why as the reason none should be.
func assertNoDelivery(t testing.TB, s store.Store, sink store.DeliverySink, now time.Time, why string) {
	t.Helper()
	c, ok, err := s.ClaimDelivery(context.Background(), sink, "other", now, time.Minute)
	if err != nil {
		t.Fatalf("ClaimDelivery(%q): %v", sink.Name, err)
	}
	if ok {
		t.Fatalf("ClaimDelivery(%q) = session %q at cursor %d, want none: %s",
			sink.Name, c.Session.ID, c.Delivery.Cursor, why)
	}
}

func delivered(offset int64) store.DeliveryOutcome {
	return store.DeliveryOutcome{Offset: offset, Delivered: true, LastStatus: 200}
}

// expectWake fails the test unless wake receives within wakeTimeout.
func expectWake(t testing.TB, wake <-chan struct{}, action string) {
	t.Helper()
	select {
	case <-wake:
	case <-time.After(wakeTimeout):
		t.Errorf("%s woke no subscriber within %v", action, wakeTimeout)
	}
}

// drain empties wake, so the next expectWake receives only later
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

// sameLease reports whether two leases have the same owner, token and
// expiry instant.
func sameLease(a, b store.Lease) bool {
	return a.Owner == b.Owner && a.Token == b.Token && a.Expires.Equal(b.Expires)
}

// noLease reports whether l is the zero lease. A store may return the
// zero time in any location.
func noLease(l store.Lease) bool {
	return l.Owner == "" && l.Token == "" && l.Expires.IsZero()
}

// jsonValue decodes the JSON form of v into plain values (maps, slices,
// float64, strings, booleans), so values that marshal alike compare alike.
// A nil or empty map decodes as an empty map.
func jsonValue(v any) any {
	raw, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("marshal %T: %v", v, err))
	}
	var out any
	if err := json.Unmarshal(raw, &out); err != nil {
		panic(fmt.Sprintf("unmarshal %s: %v", raw, err))
	}
	if out == nil {
		if m, ok := v.(map[string]any); ok && len(m) == 0 {
			return map[string]any{}
		}
	}
	return out
}

// sameMap reports whether two maps hold the same JSON values. A store may
// return numbers as float64 or json.Number and an empty map as nil.
func sameMap(got, want map[string]any) bool {
	if len(got) == 0 && len(want) == 0 {
		return true
	}
	return reflect.DeepEqual(jsonValue(got), jsonValue(want))
}

// sameRawJSON reports whether two JSON documents hold the same values,
// ignoring spacing and key order but keeping each number's digits, so a
// large integer rounded to a float64 counts as a difference.
func sameRawJSON(got, want json.RawMessage) bool {
	if len(bytes.TrimSpace(got)) == 0 || len(bytes.TrimSpace(want)) == 0 {
		return len(bytes.TrimSpace(got)) == len(bytes.TrimSpace(want))
	}
	decode := func(raw json.RawMessage) (any, bool) {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var v any
		return v, dec.Decode(&v) == nil
	}
	g, okG := decode(got)
	w, okW := decode(want)
	return okG && okW && reflect.DeepEqual(g, w)
}

// fieldDiffs collects the fields in which a value differs from the one a
// check expects, each as "field = got, want want".
type fieldDiffs struct {
	// prefix goes before each field name, such as "Callback.".
	prefix string
	diffs  []string
}

func (d *fieldDiffs) add(field string, got, want any) {
	d.diffs = append(d.diffs, fmt.Sprintf("%s%s = %v, want %v", d.prefix, field, got, want))
}

func (d *fieldDiffs) String() string { return strings.Join(d.diffs, "; ") }

// diffField records field when got and want are not equal.
func diffField[T comparable](d *fieldDiffs, field string, got, want T) {
	if got != want {
		d.add(field, got, want)
	}
}

// diffTime records field when got and want are not the same instant.
func diffTime(d *fieldDiffs, field string, got, want time.Time) {
	if !got.Equal(want) {
		d.add(field, got, want)
	}
}

// diffLease records field when the leases differ, comparing the expiry as
// an instant.
func diffLease(d *fieldDiffs, field string, got, want store.Lease) {
	if !sameLease(got, want) {
		d.add(field, got, want)
	}
}

// diffRun describes the fields in which got differs from want, or returns
// "" when they match. Times compare as instants and JSON by value.
func diffRun(got, want store.Run) string {
	d := &fieldDiffs{}
	diffField(d, "ID", got.ID, want.ID)
	diffField(d, "RoutineID", got.RoutineID, want.RoutineID)
	diffField(d, "Status", got.Status, want.Status)
	if !sameRawJSON(got.Input, want.Input) {
		d.add("Input", string(got.Input), string(want.Input))
	}
	if !sameRawJSON(got.Output, want.Output) {
		d.add("Output", string(got.Output), string(want.Output))
	}
	if !reflect.DeepEqual(got.Error, want.Error) {
		d.add("Error", got.Error, want.Error)
	}
	diffField(d, "CallbackURL", got.CallbackURL, want.CallbackURL)
	diffField(d, "IdempotencyKey", got.IdempotencyKey, want.IdempotencyKey)
	diffField(d, "InputHash", got.InputHash, want.InputHash)
	diffField(d, "Trigger", got.Trigger, want.Trigger)
	if !sameMap(got.Metadata, want.Metadata) {
		d.add("Metadata", got.Metadata, want.Metadata)
	}
	diffField(d, "Attempts", got.Attempts, want.Attempts)
	diffField(d, "MaxAttempts", got.MaxAttempts, want.MaxAttempts)
	diffField(d, "Timeout", got.Timeout, want.Timeout)
	diffTime(d, "Deadline", got.Deadline, want.Deadline)
	diffLease(d, "Lease", got.Lease, want.Lease)
	diffTime(d, "CreatedAt", got.CreatedAt, want.CreatedAt)
	diffTime(d, "StartedAt", got.StartedAt, want.StartedAt)
	diffTime(d, "FinishedAt", got.FinishedAt, want.FinishedAt)
	if callback := diffCallback(got.Callback, want.Callback); callback != "" {
		d.diffs = append(d.diffs, callback)
	}
	return d.String()
}

// diffCallback describes how got differs from want, or returns "".
func diffCallback(got, want store.CallbackState) string {
	d := &fieldDiffs{prefix: "Callback."}
	diffField(d, "State", got.State, want.State)
	diffField(d, "Attempts", got.Attempts, want.Attempts)
	diffTime(d, "NextAttemptAt", got.NextAttemptAt, want.NextAttemptAt)
	diffField(d, "LastStatus", got.LastStatus, want.LastStatus)
	diffField(d, "LastError", got.LastError, want.LastError)
	diffTime(d, "DeliveredAt", got.DeliveredAt, want.DeliveredAt)
	diffLease(d, "Lease", got.Lease, want.Lease)
	return d.String()
}

// diffDelivery describes how got differs from want, or returns "".
func diffDelivery(got, want store.Delivery) string {
	d := &fieldDiffs{}
	diffField(d, "State", got.State, want.State)
	diffField(d, "Cursor", got.Cursor, want.Cursor)
	diffField(d, "Attempts", got.Attempts, want.Attempts)
	diffTime(d, "NextAttemptAt", got.NextAttemptAt, want.NextAttemptAt)
	diffField(d, "LastStatus", got.LastStatus, want.LastStatus)
	diffField(d, "LastError", got.LastError, want.LastError)
	diffTime(d, "LastAttemptAt", got.LastAttemptAt, want.LastAttemptAt)
	diffLease(d, "Lease", got.Lease, want.Lease)
	return d.String()
}
