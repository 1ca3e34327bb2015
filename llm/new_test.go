package llm

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tmc/langchaingo/llms"

	"github.com/agentry/agentry/llm/scripted"
	"github.com/agentry/agentry/manifest"
)

func TestNewErrors(t *testing.T) {
	cases := []struct {
		name string
		cfg  manifest.LLMs
		want error  // sentinel, or nil to check text only
		text string // part of the message
	}{
		{"no default", manifest.LLMs{}, nil, "llms.default is missing"},
		{"no slash", manifest.LLMs{Default: "gpt-4o"}, ErrInvalidModelID, `"gpt-4o"`},
		{"no model", manifest.LLMs{Default: "openai/"}, ErrInvalidModelID, "provider/model"},
		{"unknown provider", manifest.LLMs{Default: "mystery/m1"}, ErrUnknownProvider, `"mystery"`},
		{"googleai", manifest.LLMs{Default: "googleai/gemini-2.0-flash"}, ErrProviderNotCompiled, "googleai"},
		{"bad fallback", manifest.LLMs{Default: "scripted/demo", Fallback: []string{"nope"}}, ErrInvalidModelID, "chat lane"},
		{"bad evaluation", manifest.LLMs{Default: "scripted/demo", Evaluation: "x/"}, ErrInvalidModelID, "evaluation lane"},
		{"openai without key", manifest.LLMs{Default: "openai/gpt-4o-mini"}, ErrMissingAPIKey, "llms.providers.openai.api_key"},
		{"anthropic without key", manifest.LLMs{Default: "anthropic/claude-test"}, ErrMissingAPIKey, "llms.providers.anthropic.api_key"},
		{"scripted without script", manifest.LLMs{Default: "scripted/custom"}, nil, "llms.providers.scripted.script is not set"},
		{"missing script file", manifest.LLMs{
			Default:   "scripted/custom",
			Providers: map[string]manifest.Provider{"scripted": {Script: "no-such-file.yaml"}},
		}, os.ErrNotExist, "no-such-file.yaml"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// A key leaking in from the environment would hide a missing one.
			isolateEnv(t)
			_, err := New(tc.cfg, testOptions())
			if err == nil {
				t.Fatal("New succeeded, want an error")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.text) {
				t.Errorf("err = %q, want it to mention %q", err, tc.text)
			}
		})
	}
}

func TestNewLanesDefaults(t *testing.T) {
	cases := []struct {
		name                 string
		cfg                  manifest.LLMs
		chat, evaluation     []string
		chatWindow, evWindow int
	}{
		{
			name:       "evaluation follows chat",
			cfg:        manifest.LLMs{Default: "scripted/demo", Fallback: []string{"ollama/llama3.2"}},
			chat:       []string{"scripted/demo", "ollama/llama3.2"},
			evaluation: []string{"scripted/demo", "ollama/llama3.2"},
			chatWindow: manifest.DefaultContextWindow, evWindow: manifest.DefaultContextWindow,
		},
		{
			name: "evaluation of its own",
			cfg: manifest.LLMs{
				Default: "scripted/demo", Fallback: []string{"ollama/llama3.2"},
				Evaluation: "ollama/qwen3", ContextWindow: 8000,
			},
			chat:       []string{"scripted/demo", "ollama/llama3.2"},
			evaluation: []string{"ollama/qwen3"},
			chatWindow: 8000, evWindow: 8000,
		},
		{
			name: "separate windows",
			cfg: manifest.LLMs{
				Default: "scripted/demo", Evaluation: "scripted/demo",
				EvaluationFallback: []string{"ollama/qwen3"},
				ContextWindow:      8000, EvaluationContextWindow: 4000,
			},
			chat:       []string{"scripted/demo"},
			evaluation: []string{"scripted/demo", "ollama/qwen3"},
			chatWindow: 8000, evWindow: 4000,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lanes := newLanes(t, tc.cfg)
			if got := strings.Join(lanes.Chat.Models(), ","); got != strings.Join(tc.chat, ",") {
				t.Errorf("chat models = %s, want %v", got, tc.chat)
			}
			if got := strings.Join(lanes.Evaluation.Models(), ","); got != strings.Join(tc.evaluation, ",") {
				t.Errorf("evaluation models = %s, want %v", got, tc.evaluation)
			}
			if lanes.Chat.ContextWindow() != tc.chatWindow {
				t.Errorf("chat window = %d, want %d", lanes.Chat.ContextWindow(), tc.chatWindow)
			}
			if lanes.Evaluation.ContextWindow() != tc.evWindow {
				t.Errorf("evaluation window = %d, want %d", lanes.Evaluation.ContextWindow(), tc.evWindow)
			}
			if lanes.Chat.Name() != LaneChat || lanes.Evaluation.Name() != LaneEvaluation {
				t.Errorf("lane names = %q, %q", lanes.Chat.Name(), lanes.Evaluation.Name())
			}
		})
	}
}

// urlRecorder is an http.RoundTripper that records request URLs and
// headers and fails every request, so no request leaves the process.
type urlRecorder struct {
	mu      sync.Mutex
	urls    []string
	headers []http.Header
}

var errRecorded = errors.New("request recorded and not sent")

func (r *urlRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.urls = append(r.urls, req.URL.String())
	r.headers = append(r.headers, req.Header.Clone())
	return nil, errRecorded
}

func TestNewDefaultBaseURLs(t *testing.T) {
	cases := []struct {
		model  string
		cfg    manifest.Provider
		url    string
		header string // header that carries the token
		token  string
	}{
		{"openai/gpt-4o-mini", manifest.Provider{APIKey: "k1"}, DefaultOpenAIBaseURL + "/chat/completions", "Authorization", "Bearer k1"},
		{"anthropic/claude-test", manifest.Provider{APIKey: "k2"}, DefaultAnthropicBaseURL + "/messages", "X-Api-Key", "k2"},
		{"ollama/llama3.2", manifest.Provider{}, DefaultOllamaBaseURL + "/chat/completions", "Authorization", "Bearer ollama"},
	}
	for _, tc := range cases {
		t.Run(tc.model, func(t *testing.T) {
			isolateEnv(t)
			rec := &urlRecorder{}
			provider, _, _ := strings.Cut(tc.model, "/")
			opts := testOptions()
			opts.HTTPClient = &http.Client{Transport: rec}
			lanes, err := New(manifest.LLMs{
				Default:   tc.model,
				Providers: map[string]manifest.Provider{provider: tc.cfg},
			}, opts)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			_, err = lanes.Chat.Generate(context.Background(), []llms.MessageContent{human("hi")})
			if !errors.Is(err, ErrAllModelsFailed) {
				t.Fatalf("err = %v, want ErrAllModelsFailed", err)
			}
			if len(rec.urls) != 1 {
				t.Fatalf("requests = %d, want 1", len(rec.urls))
			}
			if rec.urls[0] != tc.url {
				t.Errorf("URL = %s, want %s", rec.urls[0], tc.url)
			}
			if got := rec.headers[0].Get(tc.header); got != tc.token {
				t.Errorf("%s = %q, want %q", tc.header, got, tc.token)
			}
		})
	}
}

func TestNewCustomFactory(t *testing.T) {
	var specs []Spec
	opts := testOptions()
	opts.Providers = map[string]Factory{
		"googleai": func(s Spec) (llms.Model, error) {
			specs = append(specs, s)
			return scripted.New(scripted.DemoName, scripted.WithLane(s.Lane))
		},
	}
	lanes, err := New(manifest.LLMs{
		Default:   "googleai/gemini-2.0-flash",
		Providers: map[string]manifest.Provider{"googleai": {APIKey: "g-key"}},
	}, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}

	if len(specs) != 2 {
		t.Fatalf("factory calls = %d, want 2 (one per lane)", len(specs))
	}
	s := specs[0]
	if s.ID != "googleai/gemini-2.0-flash" || s.Provider != "googleai" || s.Model != "gemini-2.0-flash" {
		t.Errorf("spec ids = %q %q %q", s.ID, s.Provider, s.Model)
	}
	if s.Lane != LaneChat || specs[1].Lane != LaneEvaluation {
		t.Errorf("spec lanes = %q, %q", s.Lane, specs[1].Lane)
	}
	if s.Config.APIKey != "g-key" {
		t.Errorf("spec config api key not passed on")
	}
	if _, ok := s.HTTPClient.Transport.(*retryTransport); !ok {
		t.Errorf("spec HTTP client transport = %T, want the retrying transport", s.HTTPClient.Transport)
	}

	if _, err := lanes.Chat.Generate(context.Background(), []llms.MessageContent{human("hi")}); err != nil {
		t.Errorf("Generate: %v", err)
	}
}

func TestNewScriptRelativeToDir(t *testing.T) {
	dir := t.TempDir()
	script := "- when: {lane: chat}\n  reply: {text: chat rule}\n- reply: {text: other lane}\n"
	if err := os.WriteFile(filepath.Join(dir, "rules.yaml"), []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := testOptions()
	opts.Dir = dir
	lanes, err := New(manifest.LLMs{
		Default:   "scripted/rules",
		Providers: map[string]manifest.Provider{"scripted": {Script: "rules.yaml"}},
	}, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	for lane, want := range map[*Lane]string{lanes.Chat: "chat rule", lanes.Evaluation: "other lane"} {
		reply, err := lane.Generate(context.Background(), []llms.MessageContent{human("hi")})
		if err != nil {
			t.Fatalf("%s lane: %v", lane.Name(), err)
		}
		if reply.Text != want {
			t.Errorf("%s lane Text = %q, want %q", lane.Name(), reply.Text, want)
		}
	}
}
