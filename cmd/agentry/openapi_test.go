package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/agentry/agentry"
	"github.com/agentry/agentry/manifest"
)

const openAPIManifest = `id: openapi
name: OpenAPI
agent_config:
  runtime:
    api_key: openapi-test-key-0123
  llms:
    default: scripted/demo
`

func TestOpenAPIPrintsServedDocument(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"openapi"}, &stdout, &stderr); code != 0 {
		t.Fatalf("agentry openapi exited %d: %s", code, stderr.String())
	}
	var doc map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil {
		t.Fatalf("the output is not JSON: %v", err)
	}
	if doc["openapi"] != "3.1.0" {
		t.Errorf("openapi = %v, want 3.1.0", doc["openapi"])
	}
	if !bytes.Contains(stdout.Bytes(), []byte("\n  \"")) {
		t.Error("the output is not indented")
	}

	m, err := manifest.Parse([]byte(openAPIManifest), manifest.WithLookupEnv(func(string) (string, bool) { return "", false }))
	if err != nil {
		t.Fatalf("manifest: %v", err)
	}
	srv, err := agentry.New(m, agentry.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("agentry.New: %v", err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	resp, err := http.Get(hs.URL + "/openapi.json")
	if err != nil {
		t.Fatalf("GET /openapi.json: %v", err)
	}
	defer resp.Body.Close()
	served, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /openapi.json without credentials: status %d, want 200; body %s", resp.StatusCode, served)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	if !bytes.Equal(stdout.Bytes(), served) {
		t.Errorf("agentry openapi prints %d bytes that differ from the %d bytes served at /openapi.json", stdout.Len(), len(served))
	}
}

func TestOpenAPIRejectsArguments(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"openapi", "extra"}, &stdout, &stderr); code != 2 {
		t.Errorf("exit code %d, want 2", code)
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout %q, want nothing", stdout.String())
	}
	if !bytes.Contains(stderr.Bytes(), []byte(`"extra"`)) {
		t.Errorf("stderr %q does not name the argument", stderr.String())
	}
}
