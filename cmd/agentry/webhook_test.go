package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"

	"github.com/agentry/agentry"
	"github.com/agentry/agentry/manifest"
)

const hookManifest = `id: hooks
name: Hooks
agent_config:
  runtime:
    api_key: k
  llms:
    default: scripted/demo
  context:
    routines:
      - id: decide
        entry: out
        autonomous:
          input_schema: {type: object, required: [status]}
          output_schema: {type: object}
        nodes:
          - id: out
            tools: ["built-in:emit_output"]
  webhooks:
    - name: kyc
      routine: decide
      secret: whsec_a3ljLXZlbmRvci1zaWduaW5nLWtleS0wMDAx
    - name: gh
      routine: decide
      secret: plain
      signature: hmac-sha256
      header: X-Hub-Signature-256
      prefix: "sha256="
`

func TestWebhookSignPrintsWorkingCurl(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not found on PATH")
	}
	path := writeFile(t, "agent.yaml", hookManifest)
	m, err := manifest.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := agentry.New(m, agentry.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	hs := httptest.NewServer(srv)
	defer hs.Close()
	body := writeFile(t, "body.json", `{"status": "GREEN"}`)

	for _, name := range []string{"kyc", "gh"} {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run([]string{"webhook", "sign", "--manifest", path, "--name", name, "--body", body, "--url", hs.URL}, &stdout, &stderr); code != 0 {
				t.Fatalf("exit code %d: %s", code, stderr.String())
			}
			out, err := exec.Command("bash", "-c", stdout.String()).CombinedOutput()
			if err != nil {
				t.Fatalf("running the printed command: %v\n%s\n%s", err, stdout.String(), out)
			}
			if !strings.Contains(string(out), `"run_id":"run_`) {
				t.Errorf("the signed request was not accepted: %s", out)
			}
		})
	}
}

func TestWebhookSignUnknownName(t *testing.T) {
	path := writeFile(t, "agent.yaml", hookManifest)
	body := writeFile(t, "body.json", `{}`)
	var stdout, stderr bytes.Buffer
	if code := run([]string{"webhook", "sign", "--manifest", path, "--name", "nope", "--body", body}, &stdout, &stderr); code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	if !strings.Contains(stderr.String(), `no webhook "nope"`) || !strings.Contains(stderr.String(), "kyc, gh") {
		t.Errorf("stderr = %q", stderr.String())
	}
}
