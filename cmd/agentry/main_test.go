package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const badManifest = `id: bad id
name: Bad
agent_config:
  runtime:
    api_key: "  "
    max_engine_iteration: 3
    double_texting: sometimes
  llms:
    default: interactive/agent
`

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestValidateListsEveryViolation(t *testing.T) {
	path := writeFile(t, "agent.yaml", badManifest)
	var stdout, stderr bytes.Buffer
	code := run([]string{"validate", path}, &stdout, &stderr)
	if code != 1 {
		t.Fatalf("exit code = %d, want 1; stderr: %s", code, stderr.String())
	}
	out := stderr.String()
	for _, want := range []string{
		"agent_config.runtime.max_engine_iteration (line 6)",
		"unknown key",
		"agent_config.runtime.double_texting",
		"agent_config.runtime.api_key",
		"agent_config.llms.default",
		"id",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestValidateAcceptsGoodManifest(t *testing.T) {
	path := writeFile(t, "agent.yaml", "id: ok\nname: OK\nagent_config:\n  runtime:\n    api_key: k\n  llms:\n    default: scripted/demo\n")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"validate", path}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit code = %d; stderr: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "valid") {
		t.Errorf("stdout = %q", stdout.String())
	}
}

func TestSchemaPrintsJSON(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"schema"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit code = %d", code)
	}
	var doc map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil {
		t.Fatalf("schema is not JSON: %v", err)
	}
	if _, ok := doc["properties"]; !ok {
		t.Errorf("schema has no properties: %.200s", stdout.String())
	}
}

func TestUnknownCommand(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"serv"}, &stdout, &stderr); code != 2 {
		t.Errorf("exit code = %d, want 2", code)
	}
	if !strings.Contains(stderr.String(), `unknown command "serv"`) {
		t.Errorf("stderr = %q", stderr.String())
	}
}

// TestServeShutsDownOnSIGTERM builds the binary, serves the manifest on a
// free port, checks readiness over HTTP and stops the process with
// SIGTERM.
func TestServeShutsDownOnSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "agentry")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	path := writeFile(t, "agent.yaml", "id: ok\nname: OK\nagent_config:\n  runtime:\n    api_key: ${KEY}\n  llms:\n    default: scripted/demo\n")
	cmd := exec.Command(bin, "serve", "--manifest", path, "--addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "KEY=serve-test-key")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	// The JSON log line "listening" carries the address.
	addr := make(chan string, 1)
	var logs bytes.Buffer
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logs.WriteString(sc.Text() + "\n")
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "listening" {
				addr <- line.Addr
			}
		}
	}()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not log its address within 20s")
	}
	resp, err := http.Get(base + "/health/ready")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/health/ready = %d", resp.StatusCode)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve exited with %v after SIGTERM", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not exit within 20s of SIGTERM")
	}
	<-scanned
	if strings.Contains(logs.String(), "serve-test-key") {
		t.Error("the logs contain the api key")
	}
}
