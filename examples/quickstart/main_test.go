package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// clearOpenAIEnv hides the developer's OpenAI settings from run.
func clearOpenAIEnv(t *testing.T) {
	for _, k := range []string{"OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL"} {
		t.Setenv(k, "")
	}
}

// runQuickstart runs the quickstart and returns its output.
func runQuickstart(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var buf bytes.Buffer
	if err := run(ctx, &buf); err != nil {
		t.Fatalf("run: %v\noutput:\n%s", err, buf.String())
	}
	return buf.String()
}

// line is one printed message of the conversation.
type line struct {
	speaker, text string
}

// conversation parses the "customer: ..." and "agent: ..." lines of out.
func conversation(out string) []line {
	var lines []line
	for l := range strings.Lines(out) {
		speaker, text, ok := strings.Cut(l, ":")
		if !ok || (speaker != "customer" && speaker != "agent") {
			continue
		}
		lines = append(lines, line{speaker, strings.TrimSpace(text)})
	}
	return lines
}

// replyTo returns the agent line right after the customer line text.
func replyTo(t *testing.T, lines []line, text string) string {
	t.Helper()
	for i, l := range lines {
		if l.speaker == "customer" && l.text == text {
			if i+1 == len(lines) || lines[i+1].speaker != "agent" {
				t.Fatalf("no agent line follows customer line %q", text)
			}
			return lines[i+1].text
		}
	}
	t.Fatalf("customer line %q not printed", text)
	return ""
}

// checkTurns checks that the conversation is the greeting and then each
// script message followed by an agent line.
func checkTurns(t *testing.T, lines []line) {
	t.Helper()
	m, err := loadManifest("unused")
	if err != nil {
		t.Fatal(err)
	}
	greeting := m.AgentConfig.Context.Greeting
	if len(lines) == 0 {
		t.Fatal("no conversation printed")
	}
	if lines[0] != (line{"agent", greeting}) {
		t.Errorf("first line = %+v, want the greeting %q", lines[0], greeting)
	}
	var customer []string
	for i, l := range lines {
		if l.speaker != "customer" {
			continue
		}
		customer = append(customer, l.text)
		if i+1 == len(lines) || lines[i+1].speaker != "agent" {
			t.Errorf("customer line %q is not followed by an agent line", l.text)
		}
	}
	if strings.Join(customer, "\n") != strings.Join(script, "\n") {
		t.Errorf("customer lines = %q, want %q", customer, script)
	}
}

func TestRunOffline(t *testing.T) {
	clearOpenAIEnv(t)
	out := runQuickstart(t)
	if !strings.Contains(out, "with model scripted/demo") {
		t.Errorf("output does not name the offline model:\n%s", out)
	}
	lines := conversation(out)
	checkTurns(t, lines)

	introduction := replyTo(t, lines, script[1])
	if !strings.Contains(introduction, "Ada") {
		t.Errorf("reply to %q = %q, want the name Ada", script[1], introduction)
	}
	if strings.Contains(introduction, "Ada and") {
		t.Errorf("reply to %q = %q, want the name without the words after it", script[1], introduction)
	}
	if reply := replyTo(t, lines, script[2]); !strings.Contains(reply, "4711") {
		t.Errorf("reply to %q = %q, want the order number 4711", script[2], reply)
	}
	if reply := replyTo(t, lines, script[3]); !strings.Contains(reply, "Ada") {
		t.Errorf("reply to %q = %q, want the name Ada", script[3], reply)
	}
}

// chatServer serves the OpenAI chat-completions format under /v1, with
// the same reply to every request, and records the requests.
type chatServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests []chatRequest
}

// chatRequest is what the chat server received in one request.
type chatRequest struct {
	path, authorization string
	body                map[string]any
}

func newChatServer(t *testing.T, reply string) *chatServer {
	cs := &chatServer{}
	cs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, _ := io.ReadAll(r.Body)
		req := chatRequest{path: r.URL.Path, authorization: r.Header.Get("Authorization")}
		_ = json.Unmarshal(data, &req.body)
		cs.mu.Lock()
		cs.requests = append(cs.requests, req)
		cs.mu.Unlock()
		if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
			http.Error(w, `{"error":{"message":"no such route"}}`, http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": req.body["model"],
			"choices": []any{map[string]any{
				"index": 0, "finish_reason": "stop",
				"message": map[string]any{"role": "assistant", "content": reply},
			}},
			"usage": map[string]any{"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
		})
	}))
	t.Cleanup(cs.Close)
	return cs
}

func (cs *chatServer) received() []chatRequest {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return append([]chatRequest(nil), cs.requests...)
}

func TestRunOpenAICompatible(t *testing.T) {
	cases := []struct {
		name     string
		apiKey   string
		wantAuth string // "" accepts any non-empty Authorization header
	}{
		{"with key", "sk-quickstart", "Bearer sk-quickstart"},
		{"base URL only", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			const reply = "Reply from the local test server."
			cs := newChatServer(t, reply)
			clearOpenAIEnv(t)
			t.Setenv("OPENAI_API_KEY", tc.apiKey)
			t.Setenv("OPENAI_BASE_URL", cs.URL+"/v1")
			t.Setenv("OPENAI_MODEL", "gpt-quickstart")

			out := runQuickstart(t)
			if !strings.Contains(out, "with model openai/gpt-quickstart") {
				t.Errorf("output does not name the OpenAI model:\n%s", out)
			}
			lines := conversation(out)
			checkTurns(t, lines)
			for _, text := range script {
				if got := replyTo(t, lines, text); got != reply {
					t.Errorf("reply to %q = %q, want the test server's %q", text, got, reply)
				}
			}

			reqs := cs.received()
			if len(reqs) < len(script) {
				t.Fatalf("test server received %d requests, want at least %d", len(reqs), len(script))
			}
			for i, req := range reqs {
				if req.path != "/v1/chat/completions" {
					t.Errorf("request %d path = %q, want /v1/chat/completions", i, req.path)
				}
				if req.body["model"] != "gpt-quickstart" {
					t.Errorf("request %d model = %v, want gpt-quickstart", i, req.body["model"])
				}
				if tc.wantAuth != "" && req.authorization != tc.wantAuth {
					t.Errorf("request %d Authorization = %q, want %q", i, req.authorization, tc.wantAuth)
				}
				if req.authorization == "" {
					t.Errorf("request %d has no Authorization header", i)
				}
			}
			last, _ := json.Marshal(reqs[len(reqs)-1].body["messages"])
			if !strings.Contains(string(last), script[len(script)-1]) {
				t.Errorf("last request's messages %s lack the last customer message %q", last, script[len(script)-1])
			}
		})
	}
}
