package mcp

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strings"

	"github.com/agentry/agentry/manifest"
	"github.com/agentry/agentry/tool"
)

// idPattern is the alphabet of a server id, which is the namespace of its
// tools.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// headerNamePattern is the token alphabet of an HTTP header name
// (RFC 9110, section 5.6.2).
var headerNamePattern = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")

// Validate checks servers and returns every problem it finds, each naming
// its mcps[] entry and wrapping ErrInvalidConfig, or nil.
func Validate(servers []manifest.MCP) error {
	var errs []error
	seen := make(map[string]int)
	for i, cfg := range servers {
		where := fmt.Sprintf("mcps[%d]", i)
		if cfg.ID != "" {
			where = fmt.Sprintf("mcps[%d] (id %q)", i, cfg.ID)
		}
		for _, problem := range checkServer(cfg) {
			errs = append(errs, fmt.Errorf("%w: %s: %s", ErrInvalidConfig, where, problem))
		}
		if first, dup := seen[cfg.ID]; dup && cfg.ID != "" {
			errs = append(errs, fmt.Errorf("%w: %s: id is also used by mcps[%d]; give each server its own id", ErrInvalidConfig, where, first))
		} else {
			seen[cfg.ID] = i
		}
	}
	return errors.Join(errs...)
}

// checkServer returns the problems of one entry.
func checkServer(cfg manifest.MCP) []string {
	var problems []string
	switch {
	case !idPattern.MatchString(cfg.ID):
		problems = append(problems, "id must be 1 to 64 letters, digits, '_' and '-'")
	case cfg.ID == tool.BuiltinNamespace:
		problems = append(problems, fmt.Sprintf("id %q is reserved for agentry's own tools; choose another id", cfg.ID))
	}
	if cfg.Timeout < 0 {
		problems = append(problems, "timeout must not be negative")
	}
	for _, name := range cfg.Tools {
		if !tool.ValidName(cfg.ID + ":" + name) {
			problems = append(problems, fmt.Sprintf("tools entry %q must be 1 to 64 letters, digits, '_', '.' and '-'", name))
		}
	}
	switch transportOf(cfg) {
	case manifest.MCPStreamableHTTP, manifest.MCPSSE:
		problems = append(problems, checkHTTP(cfg)...)
	case manifest.MCPStdio:
		if strings.TrimSpace(cfg.Command) == "" {
			problems = append(problems, "command is required for the stdio transport")
		}
		for key := range cfg.Env {
			if key == "" || strings.ContainsAny(key, "=\x00") {
				problems = append(problems, fmt.Sprintf("env name %q must be non-empty without '=' or NUL", key))
			}
		}
	default:
		problems = append(problems, fmt.Sprintf("transport %q is unknown; use %s, %s or %s",
			cfg.Transport, manifest.MCPStreamableHTTP, manifest.MCPSSE, manifest.MCPStdio))
	}
	return problems
}

// checkHTTP returns the problems of an entry for an HTTP transport.
func checkHTTP(cfg manifest.MCP) []string {
	var problems []string
	switch {
	case cfg.URL != "" && (cfg.Hostname != "" || cfg.Port != 0):
		problems = append(problems, "set either url or hostname and port, not both")
	case cfg.URL != "":
		u, err := url.Parse(cfg.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			// The URL itself stays out of the message: it may carry a token.
			problems = append(problems, "url must be an absolute http or https URL")
		}
	case cfg.Hostname == "" || cfg.Port == 0:
		problems = append(problems, "url, or hostname and port, is required for the "+transportOf(cfg)+" transport")
	case cfg.Port < 1 || cfg.Port > 65535:
		problems = append(problems, "port must be between 1 and 65535")
	case strings.ContainsAny(cfg.Hostname, "/?#@ "):
		problems = append(problems, fmt.Sprintf("hostname %q must be a host name or an IP address", cfg.Hostname))
	}
	for name, value := range cfg.Headers {
		if !headerNamePattern.MatchString(name) {
			problems = append(problems, fmt.Sprintf("header name %q is not a valid HTTP header name", name))
		}
		if strings.ContainsAny(value, "\r\n\x00") {
			problems = append(problems, fmt.Sprintf("header %q has a line break or NUL in its value", name))
		}
	}
	if strings.ContainsAny(cfg.APIKey, "\r\n\x00") {
		problems = append(problems, "api_key has a line break or NUL")
	}
	return problems
}

// transportOf returns the transport of cfg, streamable-http when unset.
func transportOf(cfg manifest.MCP) string {
	if cfg.Transport == "" {
		return manifest.MCPStreamableHTTP
	}
	return cfg.Transport
}

// httpHeaders returns the headers sent with every request: cfg.Headers,
// and Authorization with the bearer api_key, which replaces an
// Authorization entry of Headers.
func httpHeaders(cfg manifest.MCP) map[string]string {
	headers := make(map[string]string, len(cfg.Headers)+1)
	maps.Copy(headers, cfg.Headers)
	if cfg.APIKey != "" {
		for name := range headers {
			if strings.EqualFold(name, "Authorization") {
				delete(headers, name)
			}
		}
		headers["Authorization"] = "Bearer " + cfg.APIKey
	}
	return headers
}

// inheritedEnv lists the variables that a stdio server inherits from
// agentry's environment. The rest, API keys included, stay out of the
// child: it gets what it needs through cfg.Env.
var inheritedEnv = func() []string {
	if runtime.GOOS == "windows" {
		return []string{"APPDATA", "HOMEDRIVE", "HOMEPATH", "LOCALAPPDATA", "PATH",
			"PATHEXT", "PROCESSOR_ARCHITECTURE", "PROGRAMFILES", "SYSTEMDRIVE",
			"SYSTEMROOT", "TEMP", "TMP", "USERNAME", "USERPROFILE", "WINDIR"}
	}
	return []string{"HOME", "LANG", "LC_ALL", "LOGNAME", "PATH", "SHELL", "TERM",
		"TMPDIR", "TZ", "USER"}
}()

// stdioEnv returns the environment of a stdio server: the inherited
// variables that are set, then cfg.Env, which overrides them.
func stdioEnv(cfg manifest.MCP) []string {
	var env []string
	for _, name := range inheritedEnv {
		if _, override := cfg.Env[name]; override {
			continue
		}
		if value, ok := os.LookupEnv(name); ok {
			env = append(env, name+"="+value)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(cfg.Env)) {
		env = append(env, name+"="+cfg.Env[name])
	}
	return env
}
