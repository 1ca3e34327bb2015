package agentry_test

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentry/agentry/internal/testenv"
	"github.com/agentry/agentry/transport/wire"
)

// verifyWithNode runs the reference standardwebhooks verifier on a
// captured callback and returns its one-line verdict.
func verifyWithNode(t *testing.T, nodeModules, secret string, call receivedCall, body []byte) string {
	t.Helper()
	in, err := json.Marshal(map[string]any{
		"secret": secret,
		"headers": map[string]string{
			"webhook-id":        call.header.Get("webhook-id"),
			"webhook-timestamp": call.header.Get("webhook-timestamp"),
			"webhook-signature": call.header.Get("webhook-signature"),
		},
		"body": string(body),
	})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", filepath.Join("testdata", "verify-callback.js"))
	cmd.Env = append(cmd.Environ(), "NODE_PATH="+nodeModules)
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestCallbackVerifiesWithStandardWebhooks(t *testing.T) {
	nodeModules := testenv.RequireNPMPackage(t, "standardwebhooks")
	rc := newReceiver(t, status(500))
	c := serveRoutines(t, routineOptions{allowPrivate: true})
	resp := trigger(t, c, wire.TriggerRequest{Input: []byte(goodInput), CallbackURL: rc.URL})
	calls := rc.waitCalls(t, 2)

	// Both attempts, with their own timestamps, verify.
	for i, call := range calls {
		if got := verifyWithNode(t, nodeModules, signingSecret, call, call.body); got != "verified" {
			t.Errorf("attempt %d of run %s: %s", i+1, resp.RunID, got)
		}
	}
	// A changed body or the wrong secret does not.
	tampered := bytes.Replace(calls[0].body, []byte("approved"), []byte("rejected"), 1)
	if got := verifyWithNode(t, nodeModules, signingSecret, calls[0], tampered); got == "verified" {
		t.Error("a tampered body verified")
	}
	other := "whsec_" + "dGhpcyBpcyBhbm90aGVyIHNlY3JldCBrZXkgIQ=="
	if got := verifyWithNode(t, nodeModules, other, calls[0], calls[0].body); got == "verified" {
		t.Error("the callback verified with another secret")
	}
}
