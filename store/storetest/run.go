package storetest

import (
	"os"
	"testing"
	"time"

	"github.com/agentry/agentry/store"
)

// Run runs the suite against the stores that newStore creates, as
// subtests named by area: Customers, Sessions, Events, Turns, Runs,
// Callbacks, Deliveries, Notifier, Store, Reopen and MultiProcess. The
// Reopen and MultiProcess areas are skipped when opts.Reopen or
// opts.MultiProcess is nil.
//
// In a child process started by the MultiProcess area, Run performs the
// child's task instead and ends the test; see [MultiProcess].
func Run(t *testing.T, newStore Factory, opts Options) {
	t.Helper()
	if task := os.Getenv(childEnv); task != "" {
		runChild(opts, task)
		return
	}
	h := &harness{newStore: newStore, opts: opts, testName: t.Name()}
	areas := []struct {
		name   string
		checks []check
	}{
		{"Customers", h.customerChecks()},
		{"Sessions", h.sessionChecks()},
		{"Events", h.eventChecks()},
		{"Turns", h.turnChecks()},
		{"Runs", h.runChecks()},
		{"Callbacks", h.callbackChecks()},
		{"Deliveries", h.deliveryChecks()},
		{"Notifier", h.notifierChecks()},
		{"Store", h.storeChecks()},
		{"Reopen", h.reopenChecks()},
		{"MultiProcess", h.multiProcessChecks()},
	}
	for _, area := range areas {
		t.Run(area.name, func(t *testing.T) {
			for _, c := range area.checks {
				t.Run(c.name, c.run)
			}
		})
	}
}

// check is one subtest of an area.
type check struct {
	name string
	run  func(t *testing.T)
}

// skipArea returns the single check of an area that the options leave
// out, so the skip and its reason show in the test output.
func skipArea(reason string) []check {
	return []check{{name: "Skipped", run: func(t *testing.T) { t.Skip(reason) }}}
}

// harness carries the factory and options to every subtest.
type harness struct {
	newStore Factory
	opts     Options
	// testName is the name of the test that called Run, which a child
	// process runs again.
	testName string
}

// open returns a fresh store and its clock, and closes the store when the
// subtest ends.
func (h *harness) open(t *testing.T) (store.Store, *Clock) {
	t.Helper()
	clock := NewClock()
	s := h.newStore(t, clock.Now)
	if s == nil {
		t.Fatal("the store factory returned a nil store")
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, clock
}

// reopen closes s and returns a store over the same data that reads the
// same clock, closed when the subtest ends.
func (h *harness) reopen(t *testing.T, s store.Store, clock *Clock) store.Store {
	t.Helper()
	again := h.opts.Reopen(t, s, clock.Now)
	if again == nil {
		t.Fatal("Options.Reopen returned a nil store")
	}
	t.Cleanup(func() { _ = again.Close() })
	return again
}

// longTTL outlasts any clock difference between the suite's clock and the
// real clock of a child process, so a lease taken in one process is never
// seen expired in the other.
const longTTL = 10 * 365 * 24 * time.Hour
