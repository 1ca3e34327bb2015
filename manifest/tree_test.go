package manifest

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestParseDuplicateKey(t *testing.T) {
	src := `id: support
name: Support agent
agent_config:
  runtime:
    api_key: first
    api_key: second
  llms:
    default: scripted/demo
`
	list := violations(t, src)
	wantViolation(t, list, "agent_config.runtime.api_key", 6, `duplicate key "api_key" (first set on line 5)`)
	if strings.Contains(formatViolations(list), "second") || strings.Contains(formatViolations(list), "first\"") {
		t.Errorf("violations show a value:\n%s", formatViolations(list))
	}
}

func TestParseAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 20; i++ {
		fmt.Fprintf(&b, "a%d: &a%d [", i, i)
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*a%d", i-1)
		}
		b.WriteString("]\n")
	}
	start := time.Now()
	list := violations(t, b.String())
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("Parse took %v; want a fast rejection", elapsed)
	}
	if len(list) != 1 || !strings.Contains(list[0].Message, "remove nested aliases") {
		t.Errorf("violations:\n%s\nwant one about nested aliases", formatViolations(list))
	}
}

func TestParseAliasOfLongString(t *testing.T) {
	var b strings.Builder
	b.WriteString("long: &s \"" + strings.Repeat("x", MaxSize/2) + "\"\nlist: [")
	for i := range 20 {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("*s")
	}
	b.WriteString("]\n")
	list := violations(t, b.String())
	if len(list) != 1 || !strings.Contains(list[0].Message, "aliases of long values") {
		t.Errorf("violations:\n%s\nwant one about long values", formatViolations(list))
	}
}

func TestParseMergeKey(t *testing.T) {
	src := `id: support
name: Support agent
agent_config:
  runtime: &runtime
    api_key: test-key
    max_engine_iterations: 3
  llms:
    default: openai/gpt-4o-mini
    providers:
      openai: &openai
        api_key: sk-test
        max_retries: 4
      ollama:
        <<: *openai
        max_retries: 1
`
	m := parseOK(t, src)
	o := m.AgentConfig.LLMs.Providers["ollama"]
	if o.APIKey != "sk-test" {
		t.Errorf("merged api_key = %q, want sk-test", o.APIKey)
	}
	if o.MaxRetries == nil || *o.MaxRetries != 1 {
		t.Errorf("max_retries = %v, want the mapping's own value 1", o.MaxRetries)
	}
}

func TestParseSyntaxError(t *testing.T) {
	list := violations(t, "id: support\nname: [unclosed\nagent_config: {}\n")
	if len(list) != 1 || list[0].Line == 0 || !strings.HasPrefix(list[0].Message, "invalid YAML") {
		t.Errorf("violations:\n%s\nwant one invalid YAML error with a line", formatViolations(list))
	}
}

func TestParseDocumentShape(t *testing.T) {
	cases := []struct{ name, src, msg string }{
		{"empty", "", "the manifest is empty"},
		{"comment only", "# nothing\n", "the manifest is empty"},
		{"list", "- id: x\n", "must be a mapping"},
		{"two documents", validYAML + "---\nid: other\n", "a second YAML document"},
		{"complex key", "? [a, b]\n: c\n", "a key must be a plain string"},
		{"self alias", "a: &x\n  b: *x\n", "refers to a value that contains it"},
		{"nan", strings.Replace(validYAML, "api_key: test-key", "api_key: k\n    max_body_bytes: .nan", 1), "must be a finite number"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			list := violations(t, c.src)
			if !strings.Contains(formatViolations(list), c.msg) {
				t.Errorf("violations:\n%s\nwant one containing %q", formatViolations(list), c.msg)
			}
		})
	}
}
