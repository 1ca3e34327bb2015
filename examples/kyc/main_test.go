package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/agentry/agentry/transport/webhook"
)

// decisionFor is the decision each verification status calls for.
var decisionFor = map[string]string{"GREEN": "approved", "AMBER": "escalate", "RED": "rejected"}

// clearOpenAIEnv hides the developer's OpenAI settings from run.
func clearOpenAIEnv(t *testing.T) {
	for _, k := range []string{"OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL"} {
		t.Setenv(k, "")
	}
}

// runKYC runs the program on list and returns its outcomes and output.
func runKYC(t *testing.T, list []applicant) ([]outcome, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var buf bytes.Buffer
	outcomes, err := run(ctx, &buf, list)
	if err != nil {
		t.Fatalf("run: %v\noutput:\n%s", err, buf.String())
	}
	return outcomes, buf.String()
}

// checkOutcomes checks one outcome per applicant of list, in order, each
// with the decision its status calls for and a verified signature.
func checkOutcomes(t *testing.T, list []applicant, outcomes []outcome, out string) {
	t.Helper()
	if len(outcomes) != len(list) {
		t.Fatalf("%d outcomes, want %d", len(outcomes), len(list))
	}
	seen := map[string]bool{}
	for i, o := range outcomes {
		a := list[i]
		if o.Applicant.ID != a.ID {
			t.Errorf("outcome %d is for applicant %s, want %s", i, o.Applicant.ID, a.ID)
		}
		if want := decisionFor[a.Status]; o.Decision != want {
			t.Errorf("applicant %s (%s): decision %q, want %q", a.ID, a.Status, o.Decision, want)
		}
		if !o.Verified {
			t.Errorf("applicant %s: callback signature not verified", a.ID)
		}
		if strings.TrimSpace(o.Explanation) == "" {
			t.Errorf("applicant %s: empty explanation", a.ID)
		}
		if !strings.HasPrefix(o.RunID, "run_") || seen[o.RunID] {
			t.Errorf("applicant %s: run id %q, want a new run_ id", a.ID, o.RunID)
		}
		seen[o.RunID] = true
		if o.Attempts != 1 {
			t.Errorf("applicant %s: callback delivered on attempt %d, want 1", a.ID, o.Attempts)
		}
		if want := "-> " + o.Decision + ": " + o.Explanation; !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "callback signature verified"); n != len(list) {
		t.Errorf("output reports %d verified signatures, want %d:\n%s", n, len(list), out)
	}
}

func TestRunOffline(t *testing.T) {
	tests := []struct {
		name string
		list []applicant
	}{
		{"program applicants", applicants},
		{"other order and reasons", []applicant{
			{ID: "x-1", Status: "RED", Want: "rejected"},
			// A reason that quotes another status must not change the
			// decision.
			{ID: "x-2", Status: "GREEN", Reasons: []string{`log line "status":"RED" from a retried check`}, Want: "approved"},
			{ID: "x-3", Status: "AMBER", Want: "escalate"},
			{ID: "x-4", Status: "GREEN", Want: "approved"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearOpenAIEnv(t)
			outcomes, out := runKYC(t, tt.list)
			if !strings.Contains(out, "with model scripted/kyc") {
				t.Errorf("output does not name the offline model:\n%s", out)
			}
			checkOutcomes(t, tt.list, outcomes, out)
		})
	}
}

func TestRunUnexpectedDecision(t *testing.T) {
	clearOpenAIEnv(t)
	list := []applicant{{ID: "y-1", Status: "AMBER", Want: "approved"}}
	var buf bytes.Buffer
	_, err := run(context.Background(), &buf, list)
	if err == nil {
		t.Fatalf("run succeeded with a decision that differs from Want; output:\n%s", buf.String())
	}
	if !strings.Contains(err.Error(), `decided "escalate", want "approved"`) {
		t.Errorf("error = %v, want one that names both decisions", err)
	}
}

// postCallback POSTs body to the receiver with headers and returns the
// response status.
func postCallback(t *testing.T, url string, h http.Header, body []byte) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestReceiverVerifiesSignature(t *testing.T) {
	key, err := webhook.ParseSecret(newSigningSecret())
	if err != nil {
		t.Fatal(err)
	}
	otherKey, err := webhook.ParseSecret(newSigningSecret())
	if err != nil {
		t.Fatal(err)
	}
	rcv, err := startReceiver([][]byte{key})
	if err != nil {
		t.Fatal(err)
	}
	defer rcv.Close()

	body := []byte(`{"run_id":"run_a","status":"succeeded"}`)
	now := time.Now()
	tests := []struct {
		name   string
		id     string
		header http.Header
		body   []byte
		status int
	}{
		{"valid", "run_ok", webhook.Headers([][]byte{key}, "run_ok", now, body), body, http.StatusNoContent},
		{"changed body", "run_body", webhook.Headers([][]byte{key}, "run_body", now, body), []byte(`{"run_id":"run_a","status":"failed"}`), http.StatusUnauthorized},
		{"other key", "run_key", webhook.Headers([][]byte{otherKey}, "run_key", now, body), body, http.StatusUnauthorized},
		{"stale timestamp", "run_old", webhook.Headers([][]byte{key}, "run_old", now.Add(-time.Hour), body), body, http.StatusUnauthorized},
		{"id changed after signing", "run_swap", func() http.Header {
			h := webhook.Headers([][]byte{key}, "run_other", now, body)
			h.Set(webhook.HeaderID, "run_swap")
			return h
		}(), body, http.StatusUnauthorized},
		{"no signature", "run_bare", http.Header{webhook.HeaderID: {"run_bare"}, webhook.HeaderTimestamp: {"1"}}, body, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := postCallback(t, rcv.url, tt.header, tt.body); got != tt.status {
				t.Errorf("status = %d, want %d", got, tt.status)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			cb, err := rcv.wait(ctx, tt.id)
			if err != nil {
				t.Fatalf("wait: %v", err)
			}
			if !bytes.Equal(cb.Body, tt.body) {
				t.Errorf("body = %s, want %s", cb.Body, tt.body)
			}
			verified := tt.status == http.StatusNoContent
			if verified && cb.VerifyErr != nil {
				t.Errorf("VerifyErr = %v, want nil", cb.VerifyErr)
			}
			if !verified && cb.VerifyErr == nil {
				t.Error("VerifyErr = nil, want the verification error")
			}
		})
	}
}

func TestReceiverKeepsFirstVerified(t *testing.T) {
	key, err := webhook.ParseSecret(newSigningSecret())
	if err != nil {
		t.Fatal(err)
	}
	rcv, err := startReceiver([][]byte{key})
	if err != nil {
		t.Fatal(err)
	}
	defer rcv.Close()

	first := []byte(`{"attempt":1}`)
	retry := []byte(`{"attempt":2}`)
	for _, b := range [][]byte{first, retry} {
		h := webhook.Headers([][]byte{key}, "run_dup", time.Now(), b)
		if got := postCallback(t, rcv.url, h, b); got != http.StatusNoContent {
			t.Errorf("status = %d, want %d", got, http.StatusNoContent)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cb, err := rcv.wait(ctx, "run_dup")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(cb.Body, first) {
		t.Errorf("body = %s, want the first callback %s", cb.Body, first)
	}
}

func TestReceiverWaitTimesOut(t *testing.T) {
	key, err := webhook.ParseSecret(newSigningSecret())
	if err != nil {
		t.Fatal(err)
	}
	rcv, err := startReceiver([][]byte{key})
	if err != nil {
		t.Fatal(err)
	}
	defer rcv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := rcv.wait(ctx, "run_none"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("wait error = %v, want context.DeadlineExceeded", err)
	}
}
