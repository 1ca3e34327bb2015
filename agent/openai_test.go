package agent

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/tmc/langchaingo/llms"

	"github.com/agentry/agentry/llm"
	"github.com/agentry/agentry/manifest"
	"github.com/agentry/agentry/tool"
)

const openAIToken = "sk-test-agent"

// openAIServer imitates OpenAI's chat-completions endpoint on loopback.
// It answers policy match requests (recognised by their system message)
// with the ids in applies, and every other request with a text reply. It
// records the bodies of the other requests.
type openAIServer struct {
	srv     *httptest.Server
	applies []string

	mu   sync.Mutex
	chat []map[string]any
}

// providerToolName is the tool name pattern that OpenAI enforces.
var providerToolName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

func newOpenAIServer(t *testing.T, applies ...string) *openAIServer {
	t.Helper()
	s := &openAIServer{applies: applies}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/chat/completions" || r.Header.Get("Authorization") != "Bearer "+openAIToken {
			http.Error(w, `{"error": {"message": "wrong path or key"}}`, http.StatusUnauthorized)
			return
		}
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, `{"error": {"message": "invalid JSON"}}`, http.StatusBadRequest)
			return
		}
		tools, _ := body["tools"].([]any)
		for _, tl := range tools {
			fn, _ := tl.(map[string]any)["function"].(map[string]any)
			if name, _ := fn["name"].(string); !providerToolName.MatchString(name) {
				t.Errorf("invalid tool name %q sent to the provider", name)
			}
		}
		msgs, _ := body["messages"].([]any)
		system, _ := msgs[0].(map[string]any)["content"].(string)
		content := "Done."
		if strings.HasPrefix(system, "You decide which conditions hold") {
			content = s.matchAnswer(msgs)
		} else {
			s.mu.Lock()
			s.chat = append(s.chat, body)
			s.mu.Unlock()
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-test",
			"choices": []any{map[string]any{
				"index": 0, "finish_reason": "stop",
				"message": map[string]any{"role": "assistant", "content": content},
			}},
		})
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// matchAnswer returns the JSON answer for the ids listed in the request.
func (s *openAIServer) matchAnswer(msgs []any) string {
	request, _ := msgs[len(msgs)-1].(map[string]any)["content"].(string)
	var matches []map[string]any
	for _, m := range regexp.MustCompile(`(?m)^- id: (\S+)$`).FindAllStringSubmatch(request, -1) {
		matches = append(matches, map[string]any{"id": m[1], "applies": slices.Contains(s.applies, m[1]), "reason": "test"})
	}
	b, _ := json.Marshal(map[string]any{"matches": matches})
	return string(b)
}

// chatRequest returns the body of chat request i.
func (s *openAIServer) chatRequest(t *testing.T, i int) map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if i >= len(s.chat) {
		t.Fatalf("chat request %d was not made; %d in all", i, len(s.chat))
	}
	return s.chat[i]
}

// openAILanes returns the chat and evaluation lanes of langchaingo's
// OpenAI client talking to s.
func openAILanes(t *testing.T, s *openAIServer) (llms.Model, llms.Model) {
	t.Helper()
	noRetries := 0
	lanes, err := llm.New(manifest.LLMs{
		Default: "openai/gpt-test",
		Providers: map[string]manifest.Provider{"openai": {
			APIKey: openAIToken, BaseURL: s.srv.URL + "/v1", MaxRetries: &noRetries,
		}},
	}, llm.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), HTTPClient: s.srv.Client()})
	if err != nil {
		t.Fatalf("llm.New: %v", err)
	}
	return lanes.Chat, lanes.Evaluation
}

// offeredToolNames returns the provider names of the tools in a request.
func offeredToolNames(body map[string]any) []string {
	var names []string
	tools, _ := body["tools"].([]any)
	for _, tl := range tools {
		fn, _ := tl.(map[string]any)["function"].(map[string]any)
		name, _ := fn["name"].(string)
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

func shopRegistry(t *testing.T) *tool.Registry {
	t.Helper()
	var tools []tool.Tool
	for _, name := range []string{"shop:refund", "shop:track", "shop:delete"} {
		tl, err := tool.Func(name, "Shop operation "+name+".", func(context.Context, struct{}) (string, error) { return "ok", nil })
		if err != nil {
			t.Fatal(err)
		}
		tools = append(tools, tl)
	}
	reg, err := tool.NewRegistry(tools...)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func TestToolAccessOffersMatchedPolicyTools(t *testing.T) {
	policies := `    policies:
      - {id: refund, condition: The customer asks for a refund, action: Refund the order., tools: [shop:refund, built-in:handoff]}
      - {id: track, condition: The customer asks where the parcel is, action: Track it., tools: [shop:track]}
`
	cases := []struct {
		access string
		want   []string
	}{
		{"guided", []string{"built-in__handoff", "shop__refund"}},
		{"open", []string{"built-in__handoff", "shop__delete", "shop__refund", "shop__track"}},
	}
	for _, tc := range cases {
		t.Run(tc.access, func(t *testing.T) {
			srv := newOpenAIServer(t, "refund")
			chat, eval := openAILanes(t, srv)
			e, st, _ := policyEngine(t, "    tool_access: "+tc.access+"\n", policies, chat, eval, shopRegistry(t))

			converse(t, e, st, "I want my money back")

			body := srv.chatRequest(t, 0)
			if got := offeredToolNames(body); !slices.Equal(got, tc.want) {
				t.Errorf("offered tools %v, want %v", got, tc.want)
			}
			msgs, _ := body["messages"].([]any)
			system, _ := msgs[0].(map[string]any)["content"].(string)
			if !strings.Contains(system, "[MEDIUM] Refund the order.") {
				t.Errorf("system message lacks the matched rule:\n%s", system)
			}
			if strings.Contains(system, "Track it.") {
				t.Errorf("system message has the rule of a policy that did not match:\n%s", system)
			}
		})
	}
}

func TestToolAccessGuidedNoMatchOffersNone(t *testing.T) {
	srv := newOpenAIServer(t)
	chat, eval := openAILanes(t, srv)
	policies := "    policies:\n      - {id: refund, condition: The customer asks for a refund, action: Refund., tools: [shop:refund]}\n"
	e, st, _ := policyEngine(t, "    tool_access: guided\n", policies, chat, eval, shopRegistry(t))

	converse(t, e, st, "hello")

	if got := offeredToolNames(srv.chatRequest(t, 0)); len(got) != 0 {
		t.Errorf("offered tools %v, want none", got)
	}
}

func TestGlossaryTermsInPrompt(t *testing.T) {
	glossary := `    glossary:
      - name: RMA
        description: Return merchandise authorisation number.
        synonyms: [return number]
      - name: SLA
        description: The promised response time.
`
	cases := []struct {
		name, message string
		present       []string
		absent        []string
	}{
		{"synonym", "What is my Return Number?", []string{"- RMA (also: return number): Return merchandise authorisation number."}, []string{"SLA"}},
		{"name", "my rma and the sla, please", []string{"Return merchandise", "The promised response time."}, nil},
		{"inside a word", "RMAX and SLAB are products", nil, []string{"Glossary", "Return merchandise", "promised response"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newOpenAIServer(t)
			chat, eval := openAILanes(t, srv)
			e, st, _ := policyEngine(t, "", glossary, chat, eval, nil)

			converse(t, e, st, tc.message)

			msgs, _ := srv.chatRequest(t, 0)["messages"].([]any)
			system, _ := msgs[0].(map[string]any)["content"].(string)
			for _, s := range tc.present {
				if !strings.Contains(system, s) {
					t.Errorf("system message lacks %q:\n%s", s, system)
				}
			}
			for _, s := range tc.absent {
				if strings.Contains(system, s) {
					t.Errorf("system message has %q:\n%s", s, system)
				}
			}
		})
	}
}
