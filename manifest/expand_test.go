package manifest

import (
	"strings"
	"testing"
)

func TestExpandString(t *testing.T) {
	vars := map[string]string{"HOST": "db.internal", "EMPTY": "", "YAML": "a: [b"}
	lookup := func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
	cases := []struct {
		name, in, want string
		problems       int
	}{
		{"plain", "no variables", "no variables", 0},
		{"set", "http://${HOST}:5432", "http://db.internal:5432", 0},
		{"default unused", "${HOST:-localhost}", "db.internal", 0},
		{"default unset", "${PORT:-5432}", "5432", 0},
		{"default empty", "${EMPTY:-fallback}", "fallback", 0},
		{"empty without default", "[${EMPTY}]", "[]", 0},
		{"default with colon", "${URL:-http://127.0.0.1:8080}", "http://127.0.0.1:8080", 0},
		{"escaped", "$${HOST}", "${HOST}", 0},
		{"escaped then set", "$${A} ${HOST}", "${A} db.internal", 0},
		{"lone dollar", "costs $5 or $$", "costs $5 or $$", 0},
		{"yaml value", "${YAML}", "a: [b", 0},
		{"missing", "${NOPE}", "${NOPE}", 1},
		{"two missing", "${A1}-${A2}", "${A1}-${A2}", 2},
		{"unterminated", "x ${HOST", "x ${HOST", 1},
		{"bad name", "${1X}", "${1X}", 1},
		{"bad operator", "${HOST:=x}", "${HOST:=x}", 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			out := expandString(c.in, lookup, func(format string, args ...any) {
				got = append(got, format)
			})
			if out != c.want {
				t.Errorf("expandString(%q) = %q, want %q", c.in, out, c.want)
			}
			if len(got) != c.problems {
				t.Errorf("expandString(%q) reported %d problems, want %d: %q", c.in, len(got), c.problems, got)
			}
		})
	}
}

func TestParseExpandsVariables(t *testing.T) {
	src := `id: support
name: ${AGENT_NAME:-Support agent}
agent_config:
  runtime:
    api_key: ${API_KEY}
  llms:
    default: scripted/demo
  context:
    greeting: "Use $${NAME} in templates; ${GREETING}"
`
	m := parseOK(t, src, env(map[string]string{"API_KEY": "k-123", "GREETING": "a: [b"}))
	checks := []struct{ field, got, want string }{
		{"name", m.Name, "Support agent"},
		{"api_key", m.AgentConfig.Runtime.APIKey, "k-123"},
		{"greeting", m.AgentConfig.Context.Greeting, "Use ${NAME} in templates; a: [b"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.field, c.got, c.want)
		}
	}
}

func TestParseMissingVariables(t *testing.T) {
	src := `id: support
name: ${AGENT_NAME}
agent_config:
  runtime:
    api_key: ${API_KEY}
  llms:
    default: scripted/demo
`
	list := violations(t, src)
	if len(list) != 2 {
		t.Errorf("got %d violations, want 2:\n%s", len(list), formatViolations(list))
	}
	wantViolation(t, list, "name", 2, "AGENT_NAME is not set")
	wantViolation(t, list, "agent_config.runtime.api_key", 5, "API_KEY is not set")
}

func TestParseKeysNotExpanded(t *testing.T) {
	src := strings.Replace(validYAML, "api_key: test-key", "api_key: test-key\n    ${KEY}: x", 1)
	list := violations(t, src, env(map[string]string{"KEY": "log_level"}))
	wantViolation(t, list, "agent_config.runtime.${KEY}", 6, "unknown key")
}

func TestParseNumberNotExpanded(t *testing.T) {
	src := strings.Replace(validYAML, "api_key: test-key", "api_key: test-key\n    max_engine_iterations: ${ITER}", 1)
	list := violations(t, src, env(map[string]string{"ITER": "3"}))
	wantViolation(t, list, "agent_config.runtime.max_engine_iterations", 6, "variables expand only inside string values")
}
