package scripted

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tmc/langchaingo/llms"
)

// whenScript has one rule per condition, each replying with its own
// name, and a last rule that matches the rest of the chat lane.
const whenScript = `
- when: {lane: evaluation}
  reply: {text: lane}
- when: {user_matches: "(?i)^refund"}
  reply: {text: user_matches}
- when: {after_tool: "shop:order_status"}
  reply: {text: after_tool}
- when: {tool_offered: "shop:cancel"}
  reply: {text: tool_offered}
- when: {lane: chat, user_matches: "both"}
  reply: {text: lane and user_matches}
`

func TestScriptWhen(t *testing.T) {
	script := mustParse(t, whenScript)
	cases := []struct {
		name string
		lane string
		msgs []llms.MessageContent
		opts []llms.CallOption
		want string
	}{
		{"lane", "evaluation", []llms.MessageContent{human("refund")}, nil, "lane"},
		{"user_matches", "chat", []llms.MessageContent{human("Refund my order")}, nil, "user_matches"},
		{"user_matches reads the last customer message", "chat",
			append([]llms.MessageContent{human("refund")}, toolPair("c1", "other", "x")...), nil, "user_matches"},
		{"after_tool by provider name", "chat",
			append([]llms.MessageContent{human("status?")}, toolPair("c1", "shop__order_status", "shipped")...), nil, "after_tool"},
		{"after_tool by namespaced name", "chat",
			append([]llms.MessageContent{human("status?")}, toolPair("c1", "shop:order_status", "shipped")...), nil, "after_tool"},
		{"tool_offered", "chat", []llms.MessageContent{human("hello")},
			[]llms.CallOption{llms.WithTools([]llms.Tool{tool("shop__cancel", "", nil)})}, "tool_offered"},
		{"all conditions of a rule", "chat", []llms.MessageContent{human("both please")}, nil, "lane and user_matches"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := mustNew(t, "rules", WithScript(script), WithLane(tc.lane))
			c := generate(t, m, tc.msgs, tc.opts...)
			if c.Content != tc.want {
				t.Errorf("reply = %q, want %q", c.Content, tc.want)
			}
		})
	}
}

func TestScriptNoRule(t *testing.T) {
	m := mustNew(t, "rules", WithScript(mustParse(t, whenScript)))
	cases := []struct {
		name string
		msgs []llms.MessageContent
		want string
	}{
		{"customer message", []llms.MessageContent{human("tell me a joke")}, `"tell me a joke"`},
		{"tool result", append([]llms.MessageContent{human("x")}, toolPair("c1", "shop__other", "boom")...), `tool "shop:other": "boom"`},
		{"empty transcript", nil, "empty transcript"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := m.GenerateContent(context.Background(), tc.msgs)
			if !errors.Is(err, ErrNoRule) {
				t.Fatalf("err = %v, want ErrNoRule", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %q, want it to name %s", err, tc.want)
			}
		})
	}
}

func TestScriptFirstMatchWins(t *testing.T) {
	m := mustNew(t, "rules", WithScript(mustParse(t, `
- when: {user_matches: "a"}
  reply: {text: first}
- when: {user_matches: "ab"}
  reply: {text: second}
- reply: {text: catch-all}
`)))
	for msg, want := range map[string]string{"ab": "first", "b": "catch-all"} {
		if got := generate(t, m, []llms.MessageContent{human(msg)}).Content; got != want {
			t.Errorf("reply to %q = %q, want %q", msg, got, want)
		}
	}
}

func TestScriptReplies(t *testing.T) {
	script := mustParse(t, `
- when: {after_tool: "crm:lookup"}
  reply: {text: "{{.ToolName}} said {{.ToolResult}} to {{.Vars.name}} on {{.Lane}}"}
- when: {user_matches: json}
  reply:
    json: {matches: [{id: p1, applies: true}], note: null, count: 2}
- when: {user_matches: scalar}
  reply: {json: "just text"}
- when: {user_matches: call}
  reply:
    tool_call: {name: "crm:lookup", arguments: {email: a@b.test, limit: 3}}
- when: {user_matches: bare}
  reply:
    tool_call: {name: "crm:ping"}
- reply: {text: "echo: {{.LastUser}}{{.Vars.missing}}"}
`)
	m := mustNew(t, "rules", WithScript(script))
	tools := llms.WithTools([]llms.Tool{tool("crm__lookup", "", nil)})

	t.Run("json object", func(t *testing.T) {
		c := generate(t, m, []llms.MessageContent{human("json")})
		var got, want any
		if err := json.Unmarshal([]byte(c.Content), &got); err != nil {
			t.Fatalf("reply %q is not JSON: %v", c.Content, err)
		}
		_ = json.Unmarshal([]byte(`{"matches":[{"id":"p1","applies":true}],"note":null,"count":2}`), &want)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("reply = %s", c.Content)
		}
	})
	t.Run("json scalar", func(t *testing.T) {
		if c := generate(t, m, []llms.MessageContent{human("scalar")}); c.Content != `"just text"` {
			t.Errorf("reply = %s", c.Content)
		}
	})
	t.Run("tool call uses the offered name", func(t *testing.T) {
		c := generate(t, m, []llms.MessageContent{human("call")}, tools)
		if len(c.ToolCalls) != 1 {
			t.Fatalf("tool calls = %d, want 1", len(c.ToolCalls))
		}
		fc := c.ToolCalls[0].FunctionCall
		if fc.Name != "crm__lookup" || fc.Arguments != `{"email":"a@b.test","limit":3}` {
			t.Errorf("call = %s(%s)", fc.Name, fc.Arguments)
		}
		if c.StopReason != "tool_calls" || c.Content != "" {
			t.Errorf("choice = %q stop %q, want no text and stop tool_calls", c.Content, c.StopReason)
		}
	})
	t.Run("tool call not offered", func(t *testing.T) {
		fc := generate(t, m, []llms.MessageContent{human("bare")}).ToolCalls[0].FunctionCall
		if fc.Name != "crm__ping" || fc.Arguments != "{}" {
			t.Errorf("call = %s(%s), want crm__ping({})", fc.Name, fc.Arguments)
		}
	})
	t.Run("template fields", func(t *testing.T) {
		msgs := append([]llms.MessageContent{system("Variables:\n- name: Ada"), human("call")},
			toolPair("c1", "crm__lookup", "found")...)
		if c := generate(t, m, msgs, tools); c.Content != "crm:lookup said found to Ada on chat" {
			t.Errorf("reply = %q", c.Content)
		}
	})
	t.Run("template last user", func(t *testing.T) {
		if c := generate(t, m, []llms.MessageContent{human("hello <b>")}); c.Content != "echo: hello <b>" {
			t.Errorf("reply = %q", c.Content)
		}
	})
}

func TestScriptDelay(t *testing.T) {
	m := mustNew(t, "slow", WithScript(mustParse(t, "- reply: {text: late}\n  delay: 1h\n")))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := m.GenerateContent(ctx, []llms.MessageContent{human("hi")})
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("GenerateContent still waiting 5s after cancellation")
	}
}

func TestScriptDelayElapses(t *testing.T) {
	m := mustNew(t, "slow", WithScript(mustParse(t, "- reply: {text: late}\n  delay: 20ms\n")))
	start := time.Now()
	c := generate(t, m, []llms.MessageContent{human("hi")})
	if c.Content != "late" {
		t.Errorf("reply = %q", c.Content)
	}
	if waited := time.Since(start); waited < 20*time.Millisecond {
		t.Errorf("replied after %v, before the 20ms delay", waited)
	}
}

func TestParseScriptErrors(t *testing.T) {
	cases := []struct {
		name string
		yaml string
		want []string
	}{
		{"empty", "", []string{"no rules"}},
		{"empty list", "[]", []string{"no rules"}},
		{"not a list", "when: {}", []string{"invalid YAML"}},
		{"unknown key", "- reply: {text: x}\n  wen: {}\n", []string{"wen"}},
		{"unknown when key", "- when: {users: x}\n  reply: {text: x}\n", []string{"users"}},
		{"bad regexp", "- when: {user_matches: '('}\n  reply: {text: x}\n", []string{"rule 1 (line 1)", "user_matches"}},
		{"bad lane", "- when: {lane: chta}\n  reply: {text: x}\n", []string{`"chta"`, "chat or evaluation"}},
		{"two replies", "- reply: {text: x, json: 1}\n", []string{"exactly one", "found 2"}},
		{"no reply", "- when: {lane: chat}\n", []string{"exactly one", "found 0"}},
		{"tool without name", "- reply: {tool_call: {arguments: {a: 1}}}\n", []string{"tool_call.name is missing"}},
		{"arguments not an object", "- reply: {tool_call: {name: t, arguments: [1]}}\n", []string{"invalid YAML"}},
		{"bad delay", "- reply: {text: x}\n  delay: soon\n", []string{`delay "soon"`}},
		{"bad template", "- reply: {text: '{{.LastUser'}\n", []string{"template"}},
		{"every bad rule listed", "- reply: {text: ok}\n- reply: {}\n- when: {lane: x}\n  reply: {text: y}\n",
			[]string{"rule 2 (line 2)", "rule 3 (line 3)"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseScript([]byte(tc.yaml))
			if err == nil {
				t.Fatal("ParseScript succeeded, want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %q, want it to mention %q", err, w)
				}
			}
		})
	}
}

func TestLoadScript(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(path, []byte("- reply: {text: from file}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := LoadScript(path)
	if err != nil {
		t.Fatalf("LoadScript: %v", err)
	}
	if c := generate(t, mustNew(t, "file", WithScript(s)), nil); c.Content != "from file" {
		t.Errorf("reply = %q", c.Content)
	}
	if _, err := LoadScript(filepath.Join(dir, "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: err = %v, want os.ErrNotExist", err)
	}
	if err := os.WriteFile(path, []byte("- reply: {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadScript(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("invalid file: err = %v, want it to name %s", err, path)
	}
}

func TestNewRequiresScript(t *testing.T) {
	if _, err := New("custom"); err == nil {
		t.Error("New(custom) without a script succeeded")
	}
	m := mustNew(t, DemoName)
	if m.Name() != DemoName || m.Lane() != "chat" {
		t.Errorf("demo = %q on %q, want demo on chat", m.Name(), m.Lane())
	}
}

func TestStreamingFunc(t *testing.T) {
	m := mustNew(t, "rules", WithScript(mustParse(t, "- reply: {text: streamed}\n")))
	var chunks []string
	stream := llms.WithStreamingFunc(func(_ context.Context, b []byte) error {
		chunks = append(chunks, string(b))
		return nil
	})
	generate(t, m, []llms.MessageContent{human("hi")}, stream)
	if len(chunks) != 1 || chunks[0] != "streamed" {
		t.Errorf("chunks = %q, want [streamed]", chunks)
	}
}

func TestCanceledBeforeCall(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := mustNew(t, DemoName).GenerateContent(ctx, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func BenchmarkScript(b *testing.B) {
	m := mustNew(b, "bench", WithScript(mustParse(b, whenScript+"- reply: {text: fallback}\n")))
	msgs := []llms.MessageContent{system("Be quick."), human("refund my order")}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.GenerateContent(ctx, msgs); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDemo(b *testing.B) {
	m := mustNew(b, DemoName)
	msgs := []llms.MessageContent{system(promptWithVariables), human("hello"), ai("Hello, Ada!"), human("where is my order 5?")}
	opts := llms.WithTools(orderTools())
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.GenerateContent(ctx, msgs, opts); err != nil {
			b.Fatal(err)
		}
	}
}
