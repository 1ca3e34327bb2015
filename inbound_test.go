package agentry_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agentry/agentry/client"
	"github.com/agentry/agentry/internal/testenv"
	"github.com/agentry/agentry/transport/webhook"
	"github.com/agentry/agentry/transport/wire"
)

// Secrets of the inbound webhooks below.
const (
	kycSecret    = "whsec_a3ljLXZlbmRvci1zaWduaW5nLWtleS0wMDAx"
	githubSecret = "gh-shared-secret"
	stripeSecret = "whsec_stripe_style_secret"
)

// inboundManifest adds three inbound webhooks, one per scheme, to the
// routine manifest. The bodies of the stripe one carry the input under
// /data/object.
var inboundManifest = strings.Replace(routineManifest, "  llms:", `    max_body_bytes: 4096
  llms:`, 1) + `
  webhooks:
    - name: kyc-result
      routine: decide
      secret: ` + kycSecret + `
    - name: github
      routine: decide
      secret: ` + githubSecret + `
      signature: hmac-sha256
      header: X-Hub-Signature-256
      prefix: "sha256="
    - name: payments
      routine: decide
      secret: ` + stripeSecret + `
      signature: stripe
      input: /data/object
`

// hookEnv is a server with inbound webhooks.
type hookEnv struct {
	t   *testing.T
	c   *client.Client
	url string
}

func serveHooks(t *testing.T) *hookEnv {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "script.yaml")
	if err := os.WriteFile(path, []byte(emitScript), 0o600); err != nil {
		t.Fatal(err)
	}
	yaml := strings.NewReplacer("SCRIPT", path, "ALLOW", "", "TIMEOUT", "60").Replace(inboundManifest)
	c := serve(t, yaml, nil)
	return &hookEnv{t: t, c: c, url: clientURL(t, c)}
}

// post sends body to the webhook with headers and returns the status and
// the response body.
func (h *hookEnv) post(name string, body []byte, headers http.Header) (int, []byte) {
	h.t.Helper()
	req, err := http.NewRequest("POST", h.url+"/webhooks/"+name, bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header = headers.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

func verifier(t *testing.T, cfg webhook.Inbound) *webhook.Verifier {
	t.Helper()
	v, err := webhook.NewVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

var (
	kycBody     = []byte(`{"applicant_id": "app-777", "status": "AMBER"}`)
	paymentBody = []byte(`{"id": "evt_1", "data": {"object": {"applicant_id": "app-888", "status": "GREEN"}}}`)
)

func runID(t *testing.T, body []byte) string {
	t.Helper()
	var out wire.WebhookAccepted
	if err := json.Unmarshal(body, &out); err != nil || !strings.HasPrefix(out.RunID, "run_") {
		t.Fatalf("response %s has no run id", body)
	}
	return out.RunID
}

func TestInboundStandardStartsRun(t *testing.T) {
	h := serveHooks(t)
	v := verifier(t, webhook.Inbound{Scheme: "standard", Secret: kycSecret})
	status, body := h.post("kyc-result", kycBody, v.Sign(kycBody, time.Now()))
	if status != http.StatusAccepted {
		t.Fatalf("status %d, body %s", status, body)
	}
	run := waitRun(t, h.c, runID(t, body))
	if run.Status != wire.RunSucceeded || run.Trigger.Source != "webhook" || run.Trigger.Webhook != "kyc-result" {
		t.Errorf("run = %+v", run)
	}
	if compact(t, run.Input) != compact(t, kycBody) {
		t.Errorf("input = %s, want the body", run.Input)
	}
}

func TestInboundStripePointerSelectsInput(t *testing.T) {
	h := serveHooks(t)
	v := verifier(t, webhook.Inbound{Scheme: "stripe", Secret: stripeSecret})
	status, body := h.post("payments", paymentBody, v.Sign(paymentBody, time.Now()))
	if status != http.StatusAccepted {
		t.Fatalf("status %d, body %s", status, body)
	}
	run := waitRun(t, h.c, runID(t, body))
	if compact(t, run.Input) != `{"applicant_id":"app-888","status":"GREEN"}` {
		t.Errorf("input = %s, want /data/object", run.Input)
	}
}

// opensslHMAC returns the hex HMAC-SHA256 of data under key, computed by
// the openssl program.
func opensslHMAC(t *testing.T, key string, data []byte) string {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("openssl not found on PATH")
		}
		t.Skip("openssl not found on PATH")
	}
	cmd := exec.Command("openssl", "dgst", "-sha256", "-hmac", key, "-hex")
	cmd.Stdin = bytes.NewReader(data)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("openssl: %v", err)
	}
	fields := strings.Fields(string(out))
	return fields[len(fields)-1]
}

func TestInboundIndependentSigners(t *testing.T) {
	h := serveHooks(t)

	t.Run("hmac-sha256 by openssl", func(t *testing.T) {
		sig := opensslHMAC(t, githubSecret, kycBody)
		status, body := h.post("github", kycBody, http.Header{"X-Hub-Signature-256": {"sha256=" + sig}})
		if status != http.StatusAccepted {
			t.Fatalf("status %d, body %s", status, body)
		}
	})
	t.Run("stripe by openssl", func(t *testing.T) {
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		sig := opensslHMAC(t, stripeSecret, append([]byte(ts+"."), paymentBody...))
		header := fmt.Sprintf("t=%s,v1=%s,v1=%s", ts, strings.Repeat("0", 64), sig)
		status, body := h.post("payments", paymentBody, http.Header{"Stripe-Signature": {header}})
		if status != http.StatusAccepted {
			t.Fatalf("status %d, body %s", status, body)
		}
	})
	t.Run("standard by standardwebhooks", func(t *testing.T) {
		nodeModules := testenv.RequireNPMPackage(t, "standardwebhooks")
		script := `const { Webhook } = require("standardwebhooks");
const [secret, id, body] = process.argv.slice(1);
const ts = new Date();
console.log(JSON.stringify({id, ts: Math.floor(ts / 1000), sig: new Webhook(secret).sign(id, ts, body)}));`
		cmd := exec.Command("node", "-e", script, kycSecret, "msg_node_1", string(kycBody))
		cmd.Env = append(cmd.Environ(), "NODE_PATH="+nodeModules)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("node: %v", err)
		}
		var signed struct {
			ID  string
			TS  int64
			Sig string
		}
		if err := json.Unmarshal(out, &signed); err != nil {
			t.Fatalf("node output %s: %v", out, err)
		}
		hdr := http.Header{}
		hdr.Set("webhook-id", signed.ID)
		hdr.Set("webhook-timestamp", strconv.FormatInt(signed.TS, 10))
		hdr.Set("webhook-signature", signed.Sig)
		status, body := h.post("kyc-result", kycBody, hdr)
		if status != http.StatusAccepted {
			t.Fatalf("status %d, body %s", status, body)
		}
	})
}

func TestInboundRejects(t *testing.T) {
	h := serveHooks(t)
	std := verifier(t, webhook.Inbound{Scheme: "standard", Secret: kycSecret})
	wrong := verifier(t, webhook.Inbound{Scheme: "standard", Secret: "whsec_" + "b3RoZXIta2V5LW90aGVyLWtleS1vdGhlcg=="})
	now := time.Now()
	signed := std.Sign(kycBody, now)

	with := func(mutate func(http.Header)) http.Header {
		hdr := signed.Clone()
		mutate(hdr)
		return hdr
	}
	tests := []struct {
		name   string
		hook   string
		body   []byte
		header http.Header
	}{
		{"no headers", "kyc-result", kycBody, http.Header{}},
		{"empty signature", "kyc-result", kycBody, with(func(h http.Header) { h.Set("webhook-signature", "") })},
		{"signature of another body", "kyc-result", []byte(`{"applicant_id": "app-778", "status": "AMBER"}`), signed},
		{"wrong secret", "kyc-result", kycBody, wrong.Sign(kycBody, now)},
		{"truncated signature", "kyc-result", kycBody, with(func(h http.Header) { h.Set("webhook-signature", h.Get("webhook-signature")[:20]) })},
		{"non-base64 signature", "kyc-result", kycBody, with(func(h http.Header) { h.Set("webhook-signature", "v1,%%%not-base64%%%") })},
		{"timestamp far in the past", "kyc-result", kycBody, std.Sign(kycBody, now.Add(-10*time.Minute))},
		{"timestamp far in the future", "kyc-result", kycBody, std.Sign(kycBody, now.Add(10*time.Minute))},
		{"bearer instead of signature", "kyc-result", kycBody, http.Header{"Authorization": {"Bearer agent-key"}}},
		{"hmac without prefix", "github", kycBody, http.Header{"X-Hub-Signature-256": {"deadbeef"}}},
		{"stripe v0 only", "payments", paymentBody, http.Header{"Stripe-Signature": {fmt.Sprintf("t=%d,v0=abcd", now.Unix())}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := h.post(tt.hook, tt.body, tt.header)
			if status != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", status)
			}
			if len(body) != 0 {
				t.Errorf("401 body = %q, want empty", body)
			}
		})
	}
}

func TestInboundUnknownNameSameBody(t *testing.T) {
	h := serveHooks(t)
	s1, b1 := h.post("nope", kycBody, nil)
	s2, b2 := h.post("other-unknown", kycBody, nil)
	if s1 != http.StatusNotFound || s2 != http.StatusNotFound || !bytes.Equal(b1, b2) {
		t.Errorf("unknown names: %d %s and %d %s; want 404 with equal bodies", s1, b1, s2, b2)
	}
}

func TestInboundBodyChecks(t *testing.T) {
	h := serveHooks(t)
	std := verifier(t, webhook.Inbound{Scheme: "standard", Secret: kycSecret})

	big := []byte(`{"applicant_id": "` + strings.Repeat("a", 5000) + `", "status": "GREEN"}`)
	if status, _ := h.post("kyc-result", big, std.Sign(big, time.Now())); status != http.StatusRequestEntityTooLarge {
		t.Errorf("body over the limit: %d, want 413", status)
	}
	notJSON := []byte(`applicant=app-1&status=GREEN`)
	if status, body := h.post("kyc-result", notJSON, std.Sign(notJSON, time.Now())); status != http.StatusBadRequest {
		t.Errorf("non-JSON body: %d %s, want 400", status, body)
	}
	badInput := []byte(`{"applicant_id": "x", "status": "PURPLE"}`)
	status, body := h.post("kyc-result", badInput, std.Sign(badInput, time.Now()))
	if status != http.StatusUnprocessableEntity || !strings.Contains(string(body), "/input/status") {
		t.Errorf("input failing the schema: %d %s, want 422 naming /input/status", status, body)
	}
}

func TestInboundReplays(t *testing.T) {
	h := serveHooks(t)
	std := verifier(t, webhook.Inbound{Scheme: "standard", Secret: kycSecret})
	hdr := std.Sign(kycBody, time.Now())

	s1, b1 := h.post("kyc-result", kycBody, hdr)
	s2, b2 := h.post("kyc-result", kycBody, hdr)
	if s1 != http.StatusAccepted || s2 != http.StatusOK || runID(t, b1) != runID(t, b2) {
		t.Fatalf("same delivery twice: %d %s then %d %s; want 202 then 200 with one run", s1, b1, s2, b2)
	}

	// Another body signed under the same webhook-id is a conflict.
	other := []byte(`{"applicant_id": "app-999", "status": "RED"}`)
	reused := std.Sign(other, time.Now())
	reused.Set("webhook-id", hdr.Get("webhook-id"))
	reused.Set("webhook-signature", webhook.SignHeader([][]byte{mustKey(t, kycSecret)}, hdr.Get("webhook-id"), time.Now(), other))
	reused.Set("webhook-timestamp", strconv.FormatInt(time.Now().Unix(), 10))
	if s, b := h.post("kyc-result", other, reused); s != http.StatusConflict {
		t.Errorf("same delivery id, other body: %d %s, want 409", s, b)
	}

	// Replays of a stripe delivery (no id header) are recognised by their
	// signature and body.
	sv := verifier(t, webhook.Inbound{Scheme: "stripe", Secret: stripeSecret})
	sh := sv.Sign(paymentBody, time.Now())
	s1, b1 = h.post("payments", paymentBody, sh)
	s2, b2 = h.post("payments", paymentBody, sh)
	if s1 != http.StatusAccepted || s2 != http.StatusOK || runID(t, b1) != runID(t, b2) {
		t.Errorf("stripe replay: %d then %d; want 202 then 200 with one run", s1, s2)
	}
}

func mustKey(t *testing.T, secret string) []byte {
	t.Helper()
	k, err := webhook.ParseSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
