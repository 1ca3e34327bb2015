package mcp

import (
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/agentry/agentry/manifest"
)

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		servers []manifest.MCP
		want    []string // substrings of the error, one per problem; none when valid
	}{
		{"streamable url", []manifest.MCP{{ID: "crm", URL: "https://crm.example/mcp"}}, nil},
		{"host and port", []manifest.MCP{{ID: "crm", Hostname: "localhost", Port: 8080, Transport: "sse"}}, nil},
		{"stdio", []manifest.MCP{{ID: "fs", Transport: "stdio", Command: "mcp-fs", Env: map[string]string{"ROOT": "/srv"}}}, nil},
		{"missing id", []manifest.MCP{{URL: "http://h/mcp"}}, []string{"mcps[0]: id must be"}},
		{"bad id", []manifest.MCP{{ID: "a:b", URL: "http://h/mcp"}}, []string{`mcps[0] (id "a:b"): id must be`}},
		{"reserved id", []manifest.MCP{{ID: "built-in", URL: "http://h/mcp"}}, []string{"reserved"}},
		{"duplicate id", []manifest.MCP{{ID: "crm", URL: "http://h/mcp"}, {ID: "crm", URL: "http://i/mcp"}},
			[]string{"mcps[1] (id \"crm\"): id is also used by mcps[0]"}},
		{"unknown transport", []manifest.MCP{{ID: "crm", URL: "http://h/mcp", Transport: "websocket"}}, []string{`transport "websocket" is unknown`}},
		{"no url", []manifest.MCP{{ID: "crm"}}, []string{"url, or hostname and port, is required"}},
		{"url and host", []manifest.MCP{{ID: "crm", URL: "http://h/mcp", Hostname: "h", Port: 1}}, []string{"not both"}},
		{"relative url", []manifest.MCP{{ID: "crm", URL: "/mcp?token=t0ken"}}, []string{"absolute http or https URL"}},
		{"ftp url", []manifest.MCP{{ID: "crm", URL: "ftp://h/mcp"}}, []string{"absolute http or https URL"}},
		{"port range", []manifest.MCP{{ID: "crm", Hostname: "h", Port: 70000}}, []string{"port must be between"}},
		{"hostname with path", []manifest.MCP{{ID: "crm", Hostname: "h/x", Port: 80}}, []string{"must be a host name"}},
		{"header name", []manifest.MCP{{ID: "crm", URL: "http://h/mcp", Headers: map[string]string{"X Bad": "v"}}}, []string{`header name "X Bad"`}},
		{"header value", []manifest.MCP{{ID: "crm", URL: "http://h/mcp", Headers: map[string]string{"X-A": "v\r\nX-B: w"}}}, []string{`header "X-A" has a line break`}},
		{"api key", []manifest.MCP{{ID: "crm", URL: "http://h/mcp", APIKey: "k\n"}}, []string{"api_key has a line break"}},
		{"stdio without command", []manifest.MCP{{ID: "fs", Transport: "stdio"}}, []string{"command is required"}},
		{"env name", []manifest.MCP{{ID: "fs", Transport: "stdio", Command: "x", Env: map[string]string{"A=B": "c"}}}, []string{`env name "A=B"`}},
		{"allow-list entry", []manifest.MCP{{ID: "crm", URL: "http://h/mcp", Tools: []string{"ok", "not ok"}}}, []string{`tools entry "not ok"`}},
		{"negative timeout", []manifest.MCP{{ID: "crm", URL: "http://h/mcp", Timeout: -1}}, []string{"timeout must not be negative"}},
		{"every problem", []manifest.MCP{{ID: "", Transport: "stdio"}, {ID: "x", Transport: "pipe"}},
			[]string{"mcps[0]: id must be", "mcps[0]: command is required", `mcps[1] (id "x"): transport "pipe"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate(tc.servers)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("error = %v, want ErrInvalidConfig", err)
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			if got := len(strings.Split(err.Error(), "\n")); got != len(tc.want) {
				t.Errorf("error has %d problems, want %d: %v", got, len(tc.want), err)
			}
			if strings.Contains(err.Error(), "t0ken") {
				t.Errorf("error %q contains the URL", err)
			}
		})
	}
}

func TestHTTPHeaders(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  manifest.MCP
		want map[string]string
	}{
		{"none", manifest.MCP{}, map[string]string{}},
		{"headers", manifest.MCP{Headers: map[string]string{"X-Tenant": "acme"}}, map[string]string{"X-Tenant": "acme"}},
		{"api key", manifest.MCP{APIKey: "k"}, map[string]string{"Authorization": "Bearer k"}},
		{"api key replaces", manifest.MCP{APIKey: "k", Headers: map[string]string{"authorization": "Basic x", "X-A": "1"}},
			map[string]string{"Authorization": "Bearer k", "X-A": "1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := httpHeaders(tc.cfg); !maps.Equal(got, tc.want) {
				t.Errorf("headers = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestStdioEnv(t *testing.T) {
	t.Setenv("PATH", "/usr/bin")
	t.Setenv("HOME", "/home/agent")
	t.Setenv("OPENAI_API_KEY", "sk-secret")
	env := stdioEnv(manifest.MCP{Env: map[string]string{"HOME": "/srv", "ROOT": "/data"}})
	got := map[string]string{}
	for _, kv := range env {
		name, value, _ := strings.Cut(kv, "=")
		if _, dup := got[name]; dup {
			t.Errorf("%s is set twice", name)
		}
		got[name] = value
	}
	for name, want := range map[string]string{"PATH": "/usr/bin", "HOME": "/srv", "ROOT": "/data"} {
		if got[name] != want {
			t.Errorf("%s = %q, want %q", name, got[name], want)
		}
	}
	if _, ok := got["OPENAI_API_KEY"]; ok {
		t.Error("OPENAI_API_KEY was inherited")
	}
	if env := stdioEnv(manifest.MCP{}); env == nil {
		t.Error("stdioEnv returned nil, which exec.Cmd reads as the whole environment")
	}
}

func TestRedactor(t *testing.T) {
	for _, tc := range []struct {
		name, url, msg, want string
	}{
		{"query", "http://h:1/mcp?token=abc", `Post "http://h:1/mcp?token=abc": dial tcp: refused`, `Post "http://h:1": dial tcp: refused`},
		{"path", "https://h/hooks/T0K3N", `Get "https://h/hooks/T0K3N": EOF`, `Get "https://h": EOF`},
		{"password", "http://u:pw@h/mcp", `Post "http://u:***@h/mcp": EOF`, `Post "http://h": EOF`},
		{"absent", "http://h/mcp", "initialize: method not found", "initialize: method not found"},
		{"stdio", "", "exit status 3", "exit status 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inner := errors.New(tc.msg)
			err := newRedactor(tc.url).wrap(fmt.Errorf("%w", inner))
			if err.Error() != tc.want {
				t.Errorf("message = %q, want %q", err.Error(), tc.want)
			}
			if !errors.Is(err, inner) {
				t.Error("the redacted error lost its chain")
			}
		})
	}
}
