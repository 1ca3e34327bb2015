package manifest

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

func TestParseValid(t *testing.T) {
	m := parseOK(t, validYAML)
	if m.ID != "support" || m.Name != "Support agent" {
		t.Errorf("id, name = %q, %q", m.ID, m.Name)
	}
	if got := m.AgentConfig.Runtime.MaxEngineIterations; got != DefaultMaxEngineIterations {
		t.Errorf("max_engine_iterations = %d, want the default %d", got, DefaultMaxEngineIterations)
	}
	if got := m.AgentConfig.LLMs.Evaluation; got != "scripted/demo" {
		t.Errorf("evaluation = %q, want the default model", got)
	}
	if len(m.Warnings) != 0 {
		t.Errorf("warnings = %q, want none", m.Warnings)
	}
	wd, _ := os.Getwd()
	if m.Dir != wd {
		t.Errorf("Dir = %q, want the working directory %q", m.Dir, wd)
	}
}

func TestParseReportsEveryMistake(t *testing.T) {
	src := `id: support agent
name: "   "
agent_config:
  runtime:
    api_key: ${MISSING_KEY}
    log_level: LOUD
    max_engine_iteration: 3
    double_texting: later
    metrics_public: yes
  llms:
    default: interactive/agent
    fallback: [nomodel, mistral/large]
  context:
    colour: blue
`
	list := violations(t, src)
	want := []struct {
		path string
		line int
		msg  string
	}{
		{"id", 1, "must contain only letters, digits, '-' and '_'"},
		{"name", 2, "must not be empty or only whitespace"},
		{"agent_config.runtime.api_key", 5, "MISSING_KEY is not set"},
		{"agent_config.runtime.log_level", 6, "must be one of debug, info, warn, error"},
		{"agent_config.runtime.max_engine_iteration", 7, `unknown key; did you mean "max_engine_iterations"?`},
		{"agent_config.runtime.double_texting", 8, "must be one of interrupt, enqueue, reject"},
		{"agent_config.runtime.metrics_public", 9, "must be true or false, not a string"},
		{"agent_config.llms.default", 11, `name a provider/model such as "openai/gpt-4o-mini"`},
		{"agent_config.llms.fallback[0]", 12, "must be provider/model"},
		{"agent_config.llms.fallback[1]", 12, `unknown provider "mistral"`},
		{"agent_config.context.colour", 14, "unknown key"},
	}
	if len(list) != len(want) {
		t.Errorf("got %d violations, want %d:\n%s", len(list), len(want), formatViolations(list))
	}
	for _, w := range want {
		wantViolation(t, list, w.path, w.line, w.msg)
	}
	if !sort.SliceIsSorted(list, func(i, j int) bool { return list[i].Line < list[j].Line }) {
		t.Errorf("violations are not sorted by line:\n%s", formatViolations(list))
	}
}

func TestValidationErrorFormat(t *testing.T) {
	src := `id: support
name: Support agent
agent_config:
  runtime:
    api_key: k
    max_engine_iteration: 3
  llms:
    default: scripted/demo
`
	_, err := Parse([]byte(src), noEnv)
	if err == nil {
		t.Fatal("Parse succeeded; want an error")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 2 {
		t.Fatalf("Error() has %d lines, want a header and one violation:\n%s", len(lines), err)
	}
	if want := "invalid manifest (1 problem):"; lines[0] != want {
		t.Errorf("header = %q, want %q", lines[0], want)
	}
	if want := "agent_config.runtime.max_engine_iteration (line 6): unknown key"; !strings.HasPrefix(lines[1], want) {
		t.Errorf("line = %q, want it to start with %q", lines[1], want)
	}
}

func TestParseMissingRequired(t *testing.T) {
	src := `id: support
agent_config:
  runtime:
    log_level: info
  llms: {}
`
	list := violations(t, src)
	wantViolation(t, list, "", 1, `missing required key "name"`)
	wantViolation(t, list, "agent_config.runtime", 3, `missing required key "api_key"`)
	wantViolation(t, list, "agent_config.llms", 5, `missing required key "default"`)
}

func TestParseScalars(t *testing.T) {
	src := `id: support
name: NO
version: 1.10
agent_config:
  runtime:
    api_key: 0123
  llms:
    default: scripted/demo
  context:
    language: on
    greeting: true
`
	m := parseOK(t, src)
	checks := []struct{ field, got, want string }{
		{"name", m.Name, "NO"},
		{"version", m.Version, "1.10"},
		{"api_key", m.AgentConfig.Runtime.APIKey, "0123"},
		{"language", m.AgentConfig.Context.Language, "on"},
		{"greeting", m.AgentConfig.Context.Greeting, "true"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.field, c.got, c.want)
		}
	}
}

func TestParseScalarTypeErrors(t *testing.T) {
	src := `id: support
name: Support agent
agent_config:
  runtime:
    api_key: k
    metrics_public: on
    max_engine_iterations: "3"
    turn_timeout: 30
  llms:
    default: scripted/demo
`
	list := violations(t, src)
	wantViolation(t, list, "agent_config.runtime.metrics_public", 6, "must be true or false, not a string")
	wantViolation(t, list, "agent_config.runtime.max_engine_iterations", 7, "must be a whole number, not a string")
	wantViolation(t, list, "agent_config.runtime.turn_timeout", 8, "must be a Go duration")
}

func TestParseInteractiveAgent(t *testing.T) {
	for _, key := range []string{"default", "evaluation"} {
		t.Run(key, func(t *testing.T) {
			src := strings.Replace(validYAML, "default: scripted/demo",
				"default: scripted/demo\n    "+key+": interactive/agent", 1)
			if key == "default" {
				src = strings.Replace(validYAML, "scripted/demo", "interactive/agent", 1)
			}
			list := violations(t, src)
			v := findViolation(t, list, "agent_config.llms."+key)
			if !strings.Contains(v.Message, "provider/model") || !strings.Contains(v.Message, "openai/gpt-4o-mini") {
				t.Errorf("message %q does not say to name a provider/model", v.Message)
			}
		})
	}
}

func TestParseWarnings(t *testing.T) {
	src := `id: support
name: Support agent
endpoint:
  url: ${PLATFORM_URL}
secrets:
  - name: token
agent_config:
  interactive_platform:
    region: eu
  runtime:
    api_key: k
    log_level: DEBUG
  llms:
    default: scripted/demo
`
	m := parseOK(t, src)
	want := []string{
		"endpoint (line 3): ignored: read only by the hosted platform",
		"secrets (line 5): ignored: read only by the hosted platform",
		"agent_config.interactive_platform (line 8): ignored: read only by the hosted platform",
	}
	if strings.Join(m.Warnings, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(m.Warnings, "\n"), strings.Join(want, "\n"))
	}
	if m.AgentConfig.Runtime.LogLevel != "debug" {
		t.Errorf("log_level = %q, want it lower-cased to debug", m.AgentConfig.Runtime.LogLevel)
	}
}

func TestParseBlankStrings(t *testing.T) {
	cases := []struct{ name, from, to, path string }{
		{"api_key", "api_key: test-key", `api_key: "  \t"`, "agent_config.runtime.api_key"},
		{"api_key empty", "api_key: test-key", `api_key: ""`, "agent_config.runtime.api_key"},
		{"id", "id: support", `id: " "`, "id"},
		{"default", "default: scripted/demo", `default: " "`, "agent_config.llms.default"},
		{"prompt", "default: scripted/demo", "default: scripted/demo\n  context:\n    system_prompt:\n      text: \"  \"", "agent_config.context.system_prompt.text"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := strings.Replace(validYAML, c.from, c.to, 1)
			v := findViolation(t, violations(t, src), c.path)
			if !strings.Contains(v.Message, "must not be empty") {
				t.Errorf("message %q, want it to reject the blank value", v.Message)
			}
		})
	}
}

func TestParseSigningSecret(t *testing.T) {
	cases := []struct {
		name, secret string
		ok           bool
	}{
		{"valid", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", true},
		{"no prefix", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", false},
		{"not base64", "whsec_not*base64!", false},
		{"empty key", "whsec_", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := strings.Replace(validYAML, "api_key: test-key",
				"api_key: test-key\n    signing_secret: "+c.secret, 1)
			_, err := Parse([]byte(src), noEnv)
			if c.ok {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Parse succeeded; want an error")
			}
			v := findViolation(t, violations(t, src), "agent_config.runtime.signing_secret")
			if !strings.Contains(v.Message, "whsec_") {
				t.Errorf("message %q does not explain the format", v.Message)
			}
			if len(c.secret) > len("whsec_") && strings.Contains(err.Error(), c.secret) {
				t.Errorf("error shows the secret: %v", err)
			}
		})
	}
}

func TestLoadSystemPromptFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "prompts"), 0o755); err != nil {
		t.Fatal(err)
	}
	prompt := "You help customers of Example Bank.\n"
	if err := os.WriteFile(filepath.Join(dir, "prompts", "base.md"), []byte(prompt), 0o644); err != nil {
		t.Fatal(err)
	}
	src := validYAML + "  context:\n    system_prompt:\n      file: prompts/base.md\n"
	path := filepath.Join(dir, "agent.yaml")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}

	m, err := Load(path, noEnv)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	sp := m.AgentConfig.Context.SystemPrompt
	if sp.Text != prompt {
		t.Errorf("Text = %q, want the file's contents %q", sp.Text, prompt)
	}
	if sp.File != "prompts/base.md" {
		t.Errorf("File = %q, want it kept as written", sp.File)
	}
	if m.Dir != dir {
		t.Errorf("Dir = %q, want %q", m.Dir, dir)
	}
	if got, want := m.Path(sp.File), filepath.Join(dir, "prompts", "base.md"); got != want {
		t.Errorf("Path = %q, want %q", got, want)
	}
}

func TestParseSystemPromptErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []struct{ name, block, path, msg string }{
		{"missing file", "file: nope.md", "agent_config.context.system_prompt.file", "not found"},
		{"both", "text: hi\n      file: nope.md", "agent_config.context.system_prompt", "exactly one of text and file"},
		{"neither", "{}", "agent_config.context.system_prompt", "set text or file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := validYAML + "  context:\n    system_prompt:\n      " + c.block + "\n"
			if c.block == "{}" {
				src = validYAML + "  context:\n    system_prompt: {}\n"
			}
			v := findViolation(t, violations(t, src, WithDir(dir)), c.path)
			if !strings.Contains(v.Message, c.msg) {
				t.Errorf("message %q, want %q", v.Message, c.msg)
			}
		})
	}
}

func TestLoadErrorNamesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agent.yaml")
	if err := os.WriteFile(path, []byte("id: x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path, noEnv)
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Load error %v; want *ValidationError", err)
	}
	if ve.File != path || !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name the file %s", err, path)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "absent.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load error %v; want one matching os.ErrNotExist", err)
	}
}

func TestParseTooLarge(t *testing.T) {
	data := []byte(validYAML + "#" + strings.Repeat("x", MaxSize) + "\n")
	if _, err := Parse(data, noEnv); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Parse error %v; want ErrTooLarge", err)
	}
}

func TestParseDefault(t *testing.T) {
	m, err := ParseDefault(env(map[string]string{"AGENTRY_API_KEY": "demo-key"}))
	if err != nil {
		t.Fatalf("ParseDefault: %v", err)
	}
	checks := []struct{ field, got, want string }{
		{"id", m.ID, "demo"},
		{"name", m.Name, "Demo agent"},
		{"default", m.AgentConfig.LLMs.Default, "scripted/demo"},
		{"api_key", m.AgentConfig.Runtime.APIKey, "demo-key"},
		{"greeting", m.AgentConfig.Context.Greeting, "Hi! I'm the agentry demo agent. Ask me anything."},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.field, c.got, c.want)
		}
	}
	if sp := m.AgentConfig.Context.SystemPrompt; sp == nil || strings.TrimSpace(sp.Text) == "" {
		t.Errorf("system prompt is empty")
	}
}

func TestParseDefaultNeedsKey(t *testing.T) {
	_, err := ParseDefault(noEnv)
	if err == nil || !strings.Contains(err.Error(), "AGENTRY_API_KEY") {
		t.Errorf("ParseDefault error %v; want one naming AGENTRY_API_KEY", err)
	}
}
