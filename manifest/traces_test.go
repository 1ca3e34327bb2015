package manifest

import "testing"

// tracesYAML is validYAML with a traces block whose fields start on
// line 9.
func tracesYAML(fields string) string {
	return validYAML + "  traces:\n" + fields
}

func TestTracesValid(t *testing.T) {
	cases := []struct {
		name   string
		fields string
		want   Traces
	}{
		{"bearer default", "    backend:\n      url: http://127.0.0.1:4318/v1/traces\n    api_key: trace-key\n",
			Traces{Backend: TraceBackend{URL: "http://127.0.0.1:4318/v1/traces"}, APIKey: "trace-key", APIKeyScheme: TraceAuthBearer}},
		{"basic with environment", "    backend:\n      url: https://10.0.0.7/v1/traces\n    api_key: dXNlcjpwYXNz\n    api_key_scheme: basic\n    deployment_environment: staging\n",
			Traces{Backend: TraceBackend{URL: "https://10.0.0.7/v1/traces"}, APIKey: "dXNlcjpwYXNz", APIKeyScheme: TraceAuthBasic, DeploymentEnvironment: "staging"}},
		{"no backend", "    deployment_environment: dev\n",
			Traces{APIKeyScheme: TraceAuthBearer, DeploymentEnvironment: "dev"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := parseOK(t, tracesYAML(c.fields))
			if m.AgentConfig.Traces == nil {
				t.Fatal("Traces is nil")
			}
			if got := *m.AgentConfig.Traces; got != c.want {
				t.Errorf("Traces = %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestTracesOmitted(t *testing.T) {
	m := parseOK(t, validYAML)
	if m.AgentConfig.Traces != nil {
		t.Errorf("Traces = %+v, want nil (no export)", m.AgentConfig.Traces)
	}
}

func TestTracesViolations(t *testing.T) {
	cases := []struct {
		name   string
		fields string
		path   string
		line   int
		msg    string
	}{
		{"not a URL", "    backend:\n      url: 127.0.0.1:4318\n",
			"agent_config.traces.backend.url", 10, "must be an http or https URL"},
		{"ftp scheme", "    backend:\n      url: ftp://h/v1/traces\n",
			"agent_config.traces.backend.url", 10, "must be an http or https URL"},
		{"credentials in URL", "    backend:\n      url: http://u:p@h/v1/traces\n",
			"agent_config.traces.backend.url", 10, "must not contain credentials"},
		{"key without URL", "    api_key: k\n",
			"agent_config.traces", 8, "backend.url is missing"},
		{"blank key", "    backend:\n      url: http://h/v1/traces\n    api_key: \" \"\n",
			"agent_config.traces.api_key", 11, "must not be empty"},
		{"key with newline", "    backend:\n      url: http://h/v1/traces\n    api_key: \"k\\n\"\n",
			"agent_config.traces.api_key", 11, "must not start or end with whitespace"},
		{"unknown scheme", "    backend:\n      url: http://h/v1/traces\n    api_key_scheme: digest\n",
			"agent_config.traces.api_key_scheme", 11, ""},
		{"blank environment", "    deployment_environment: \"\"\n",
			"agent_config.traces.deployment_environment", 9, "must not be empty"},
		{"unknown key", "    endpoint: http://h\n",
			"agent_config.traces.endpoint", 9, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantViolation(t, violations(t, tracesYAML(c.fields)), c.path, c.line, c.msg)
		})
	}
}
