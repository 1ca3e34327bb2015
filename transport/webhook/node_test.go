package webhook_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/agentry/agentry/internal/testenv"
	"github.com/agentry/agentry/transport/webhook"
)

// nodeCase is one operation of testdata/standardwebhooks.js.
type nodeCase struct {
	Op        string `json:"op"`
	ID        string `json:"id"`
	Timestamp any    `json:"timestamp"` // number for sign, string for verify
	Signature string `json:"signature,omitempty"`
	Body      []byte `json:"body"` // base64 in JSON
}

// nodeResult is the output of one nodeCase.
type nodeResult struct {
	Signature string `json:"signature"`
	OK        bool   `json:"ok"`
	Error     string `json:"error"`
}

// runReference runs the cases through the standardwebhooks npm package.
func runReference(t *testing.T, secret string, cases []nodeCase) []nodeResult {
	t.Helper()
	nodeModules := testenv.RequireNPMPackage(t, "standardwebhooks")
	input, err := json.Marshal(map[string]any{"secret": secret, "cases": cases})
	if err != nil {
		t.Fatalf("marshal cases: %v", err)
	}
	cmd := exec.CommandContext(t.Context(), "node", "testdata/standardwebhooks.js")
	cmd.Env = append(cmd.Environ(), "NODE_PATH="+nodeModules)
	cmd.Stdin = bytes.NewReader(input)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	var results []nodeResult
	if err := json.Unmarshal(out, &results); err != nil {
		t.Fatalf("parse node output %q: %v", out, err)
	}
	if len(results) != len(cases) {
		t.Fatalf("node returned %d results for %d cases", len(results), len(cases))
	}
	return results
}

var referenceBodies = map[string][]byte{
	"json":      []byte(`{"run_id":"run_01","status":"succeeded","output":{"n":9007199254740993}}`),
	"non-ascii": []byte(`{"text":"café ✓ 日本"}`),
	"empty":     {},
	"binary":    {0x00, 0xff, 0x2e, 0x0a},
}

func TestReferenceVerifiesSign(t *testing.T) {
	key := mustKey(t, testSecret)
	other := []byte("a rotated-out signing key")
	now := time.Now() // the npm package checks against its own clock
	ts := strconv.FormatInt(now.Unix(), 10)

	type check struct {
		name string
		ok   bool
	}
	var checks []check
	var cases []nodeCase
	for name, body := range referenceBodies {
		id := "run_" + name
		checks = append(checks, check{name + " single", true})
		cases = append(cases, nodeCase{Op: "verify", ID: id, Timestamp: ts,
			Signature: webhook.Sign(key, id, now, body), Body: body})

		checks = append(checks, check{name + " rotated", true})
		cases = append(cases, nodeCase{Op: "verify", ID: id, Timestamp: ts,
			Signature: webhook.SignHeader([][]byte{other, key}, id, now, body), Body: body})

		checks = append(checks, check{name + " wrong key", false})
		cases = append(cases, nodeCase{Op: "verify", ID: id, Timestamp: ts,
			Signature: webhook.Sign(other, id, now, body), Body: body})

		tampered := append(bytes.Clone(body), ' ')
		checks = append(checks, check{name + " tampered", false})
		cases = append(cases, nodeCase{Op: "verify", ID: id, Timestamp: ts,
			Signature: webhook.Sign(key, id, now, body), Body: tampered})
	}

	results := runReference(t, testSecret, cases)
	for i, c := range checks {
		if results[i].OK != c.ok {
			t.Errorf("%s: standardwebhooks ok = %t (%s), want %t", c.name, results[i].OK, results[i].Error, c.ok)
		}
	}
}

func TestVerifyAcceptsReferenceSign(t *testing.T) {
	key := mustKey(t, testSecret)
	now := time.Now()

	var names []string
	var cases []nodeCase
	for name, body := range referenceBodies {
		names = append(names, name)
		cases = append(cases, nodeCase{Op: "sign", ID: "msg_" + name, Timestamp: now.Unix(), Body: body})
	}

	results := runReference(t, testSecret, cases)
	for i, name := range names {
		body := referenceBodies[name]
		id := "msg_" + name
		ts := strconv.FormatInt(now.Unix(), 10)
		signature := results[i].Signature
		if err := webhook.Verify([][]byte{key}, id, ts, signature, body, now, 0); err != nil {
			t.Errorf("%s: Verify rejected the standardwebhooks signature %q: %v", name, signature, err)
		}
		if want := webhook.Sign(key, id, now, body); signature != want {
			t.Errorf("%s: standardwebhooks signed %q, Sign gives %q", name, signature, want)
		}
	}
}

func TestVerifierAcceptsReferenceSign(t *testing.T) {
	v := mustVerifier(t, standardConfig)
	now := time.Now()

	var names []string
	var cases []nodeCase
	for name, body := range referenceBodies {
		names = append(names, name)
		cases = append(cases, nodeCase{Op: "sign", ID: "msg_ref_" + name, Timestamp: now.Unix(), Body: body})
	}

	results := runReference(t, testSecret, cases)
	for i, name := range names {
		h := http.Header{}
		h.Set(webhook.HeaderID, cases[i].ID)
		h.Set(webhook.HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
		h.Set(webhook.HeaderSignature, results[i].Signature)
		id, err := v.Verify(h, referenceBodies[name], now)
		if err != nil {
			t.Errorf("%s: Verifier rejected the standardwebhooks signature %q: %v", name, results[i].Signature, err)
			continue
		}
		if id != cases[i].ID {
			t.Errorf("%s: delivery id = %q, want %q", name, id, cases[i].ID)
		}
	}
}

func TestReferenceVerifiesVerifierSign(t *testing.T) {
	v := mustVerifier(t, standardConfig)
	now := time.Now() // the npm package checks against its own clock

	var names []string
	var cases []nodeCase
	for name, body := range referenceBodies {
		h := v.Sign(body, now)
		names = append(names, name)
		cases = append(cases, nodeCase{Op: "verify", ID: h.Get(webhook.HeaderID),
			Timestamp: h.Get(webhook.HeaderTimestamp), Signature: h.Get(webhook.HeaderSignature), Body: body})
	}

	results := runReference(t, testSecret, cases)
	for i, name := range names {
		if !results[i].OK {
			t.Errorf("%s: standardwebhooks rejected Verifier.Sign: %s", name, results[i].Error)
		}
	}
}
