package manifest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// llmsYAML is validYAML with its llms block replaced.
func llmsYAML(llms string) string {
	return strings.Replace(validYAML, "  llms:\n    default: scripted/demo\n", "  llms:\n"+llms, 1)
}

func TestParseProviders(t *testing.T) {
	cases := []struct {
		name, llms, path, msg string
	}{
		{"unknown provider in id", "    default: mistral/large\n",
			"agent_config.llms.default", `unknown provider "mistral": use one of anthropic, googleai, ollama, openai, scripted`},
		{"unknown provider block", "    default: scripted/demo\n    providers:\n      mistral: {}\n",
			"agent_config.llms.providers.mistral", `unknown provider "mistral"`},
		{"no model", "    default: openai/\n",
			"agent_config.llms.default", "must be provider/model"},
		{"openai without key", "    default: openai/gpt-4o-mini\n",
			"agent_config.llms.default", "set llms.providers.openai.api_key, or base_url for a server that needs no key"},
		{"anthropic without key", "    default: scripted/demo\n    fallback: [anthropic/claude-sonnet-4-5]\n",
			"agent_config.llms.fallback[0]", "set llms.providers.anthropic.api_key"},
		{"anthropic base_url only", "    default: anthropic/claude-sonnet-4-5\n    providers:\n      anthropic: {base_url: \"http://127.0.0.1:9/\"}\n",
			"agent_config.llms.default", "set llms.providers.anthropic.api_key"},
		{"bad base_url", "    default: openai/gpt-4o-mini\n    providers:\n      openai: {base_url: \"127.0.0.1:8000\"}\n",
			"agent_config.llms.providers.openai.base_url", "must be an http or https URL"},
		{"blank provider key", "    default: openai/gpt-4o-mini\n    providers:\n      openai: {api_key: \" \"}\n",
			"agent_config.llms.providers.openai.api_key", "must not be empty"},
		{"scripted without script", "    default: scripted/support\n",
			"agent_config.llms.default", "set llms.providers.scripted.script"},
		{"scripted missing script", "    default: scripted/support\n    providers:\n      scripted: {script: rules.yaml}\n",
			"agent_config.llms.providers.scripted.script", "not found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := findViolation(t, violations(t, llmsYAML(c.llms), WithDir(t.TempDir())), c.path)
			if !strings.Contains(v.Message, c.msg) {
				t.Errorf("message %q, want %q", v.Message, c.msg)
			}
		})
	}
}

func TestParseProvidersValid(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rules.yaml"), []byte("rules: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, llms string }{
		{"openai key", "    default: openai/gpt-4o-mini\n    providers:\n      openai: {api_key: sk-test}\n"},
		{"openai local server", "    default: openai/qwen3\n    providers:\n      openai: {base_url: \"http://127.0.0.1:8000/v1\"}\n"},
		{"ollama", "    default: ollama/llama3.2\n"},
		{"scripted script", "    default: scripted/support\n    providers:\n      scripted: {script: rules.yaml}\n"},
		{"anthropic", "    default: anthropic/claude-sonnet-4-5\n    embedding: openai/text-embedding-3-small\n    providers:\n      anthropic: {api_key: k}\n      openai: {api_key: k}\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			parseOK(t, llmsYAML(c.llms), WithDir(dir))
		})
	}
}

func TestParseVariables(t *testing.T) {
	src := validYAML + `  context:
    variables:
      - name: plan
        default_value: free
      - name: seats
        type: integer
        default_value: 2.5
      - name: vip
        type: boolean
        default_value: "yes"
      - name: plan
        scope: customer
      - name: 9lives
`
	list := violations(t, src)
	wantViolation(t, list, "agent_config.context.variables[1].default_value", 14, `must be a whole number to match type "integer"`)
	wantViolation(t, list, "agent_config.context.variables[2].default_value", 17, `must be true or false to match type "boolean"`)
	wantViolation(t, list, "agent_config.context.variables[3].name", 18, `duplicate variable name "plan" (first declared on line 10)`)
	wantViolation(t, list, "agent_config.context.variables[4].name", 20, "must start with a letter or '_'")
	if len(list) != 4 {
		t.Errorf("got %d violations, want 4:\n%s", len(list), formatViolations(list))
	}
}

func TestParseVariableDefaults(t *testing.T) {
	src := validYAML + `  context:
    variables:
      - name: plan
        default_value: free
      - name: seats
        type: integer
        default_value: 3
      - name: ratio
        type: number
        default_value: 0.5
      - name: profile
        type: object
        default_value: {tier: gold}
        scope: customer
`
	m := parseOK(t, src)
	vars := m.AgentConfig.Context.Variables
	if len(vars) != 4 {
		t.Fatalf("got %d variables, want 4", len(vars))
	}
	if vars[0].Type != "string" || vars[0].Scope != ScopeSession {
		t.Errorf("plan type, scope = %q, %q; want the defaults string, session", vars[0].Type, vars[0].Scope)
	}
	if got, ok := vars[1].DefaultValue.(float64); !ok || got != 3 {
		t.Errorf("seats default = %#v, want 3", vars[1].DefaultValue)
	}
	if got, ok := vars[3].DefaultValue.(map[string]any); !ok || got["tier"] != "gold" {
		t.Errorf("profile default = %#v, want {tier: gold}", vars[3].DefaultValue)
	}
}

func TestAPIKeyWhitespaceRejected(t *testing.T) {
	for _, key := range []string{`"abc123\n"`, `" lead"`, `"trail "`, `"in\tside"`} {
		src := "id: a\nname: A\nagent_config:\n  runtime:\n    api_key: " + key + "\n  llms:\n    default: scripted/demo\n"
		_, err := Parse([]byte(src))
		if err == nil || !strings.Contains(err.Error(), "agent_config.runtime.api_key") || !strings.Contains(err.Error(), "whitespace") {
			t.Errorf("api_key %s: err = %v, want a whitespace error at agent_config.runtime.api_key", key, err)
		}
	}
}
