package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// chatServer imitates an OpenAI chat-completions server under /v1 whose
// model follows the routine's prompts. It rates the risk from the status
// in the input, routes on the risk, and emits the decision of the tool
// node it is in. It records the path, model and Authorization header of
// each request.
type chatServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests []chatRequest
}

type chatRequest struct {
	path, model, authorization string
}

var (
	nodePattern   = regexp.MustCompile(`^Node "([a-z]+)" \((think|tools)\)`)
	statusPattern = regexp.MustCompile(`"status":"(GREEN|AMBER|RED)"`)
	riskPattern   = regexp.MustCompile(`"risk":"(low|medium|high)"`)
)

func newChatServer(t *testing.T) *chatServer {
	cs := &chatServer{}
	cs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, _ := io.ReadAll(r.Body)
		var req struct {
			Model    string `json:"model"`
			Messages []struct {
				Role    string          `json:"role"`
				Content json.RawMessage `json:"content"`
			} `json:"messages"`
			Tools []struct {
				Function struct {
					Name string `json:"name"`
				} `json:"function"`
			} `json:"tools"`
		}
		_ = json.Unmarshal(data, &req)
		cs.mu.Lock()
		cs.requests = append(cs.requests, chatRequest{r.URL.Path, req.Model, r.Header.Get("Authorization")})
		cs.mu.Unlock()
		if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
			http.Error(w, `{"error":{"message":"no such route"}}`, http.StatusNotFound)
			return
		}
		prompt := ""
		for _, m := range req.Messages {
			if m.Role == "user" {
				prompt = contentText(m.Content)
			}
		}
		message := map[string]any{"role": "assistant", "content": replyText(prompt)}
		finish := "stop"
		if node := nodePattern.FindStringSubmatch(prompt); node != nil && node[2] == "tools" && len(req.Tools) > 0 {
			output, _ := json.Marshal(map[string]string{
				"decision":    map[string]string{"approve": "approved", "escalate": "escalate", "reject": "rejected"}[node[1]],
				"explanation": "Decided by node " + node[1] + ".",
			})
			args, _ := json.Marshal(map[string]string{"output_json": string(output)})
			message = map[string]any{"role": "assistant", "content": nil, "tool_calls": []any{map[string]any{
				"id": "call_1", "type": "function",
				"function": map[string]any{"name": req.Tools[0].Function.Name, "arguments": string(args)},
			}}}
			finish = "tool_calls"
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": req.Model,
			"choices": []any{map[string]any{"index": 0, "finish_reason": finish, "message": message}},
			"usage":   map[string]any{"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
		})
	}))
	t.Cleanup(cs.Close)
	return cs
}

// contentText returns the text of a message's content, which is a string
// or a list of parts.
func contentText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []struct {
		Text string `json:"text"`
	}
	_ = json.Unmarshal(raw, &parts)
	var b strings.Builder
	for _, p := range parts {
		b.WriteString(p.Text)
	}
	return b.String()
}

// replyText answers the prompt of a think node or of a choice of the
// next node.
func replyText(prompt string) string {
	if strings.HasPrefix(prompt, `Node "assess" (think)`) {
		status := statusPattern.FindStringSubmatch(prompt)
		if status == nil {
			return "no status"
		}
		risk := map[string]string{"GREEN": "low", "AMBER": "medium", "RED": "high"}[status[1]]
		return `{"risk":"` + risk + `","summary":"The status is ` + status[1] + `."}`
	}
	if strings.HasPrefix(prompt, "Choose the node") {
		_, outputs, _ := strings.Cut(prompt, "Outputs of earlier nodes")
		risk := riskPattern.FindStringSubmatch(outputs)
		if risk == nil {
			return "no risk"
		}
		next := map[string]string{"low": "approve", "medium": "escalate", "high": "reject"}[risk[1]]
		return `{"next":"` + next + `"}`
	}
	return "I cannot tell."
}

func (cs *chatServer) received() []chatRequest {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return append([]chatRequest(nil), cs.requests...)
}

func TestRunOpenAICompatible(t *testing.T) {
	cs := newChatServer(t)
	clearOpenAIEnv(t)
	t.Setenv("OPENAI_API_KEY", "sk-kyc")
	t.Setenv("OPENAI_BASE_URL", cs.URL+"/v1")
	t.Setenv("OPENAI_MODEL", "gpt-kyc")

	outcomes, out := runKYC(t, applicants)
	if !strings.Contains(out, "with model openai/gpt-kyc") {
		t.Errorf("output does not name the OpenAI model:\n%s", out)
	}
	checkOutcomes(t, applicants, outcomes, out)
	for _, o := range outcomes {
		if want := "Decided by node"; !strings.HasPrefix(o.Explanation, want) {
			t.Errorf("applicant %s: explanation %q, want the test server's, starting %q", o.Applicant.ID, o.Explanation, want)
		}
	}

	// Per run: one think call, one choice of the next node, one tool call.
	reqs := cs.received()
	if want := 3 * len(applicants); len(reqs) != want {
		t.Errorf("test server received %d requests, want %d", len(reqs), want)
	}
	for i, req := range reqs {
		if req.path != "/v1/chat/completions" {
			t.Errorf("request %d path = %q, want /v1/chat/completions", i, req.path)
		}
		if req.model != "gpt-kyc" {
			t.Errorf("request %d model = %q, want gpt-kyc", i, req.model)
		}
		if req.authorization != "Bearer sk-kyc" {
			t.Errorf("request %d Authorization = %q, want Bearer sk-kyc", i, req.authorization)
		}
	}
}
