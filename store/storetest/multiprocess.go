package storetest

import "testing"

// childEnv is the environment variable that makes Run act as a child.
const childEnv = "AGENTRY_STORETEST_CHILD"

func (h *harness) multiProcessChecks() []check {
	if h.opts.MultiProcess == nil {
		return skipArea("Options.MultiProcess is nil: the store serves one process")
	}
	return nil
}

func runChild(t *testing.T, opts Options, task string) {}
