package manifest

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Option changes how [Load] and [Parse] read a manifest.
type Option func(*options)

type options struct {
	dir       string
	lookupEnv func(string) (string, bool)
}

// WithDir sets the directory that relative file paths in the manifest
// resolve against. Default: the manifest file's directory for [Load], the
// working directory for [Parse].
func WithDir(dir string) Option {
	return func(o *options) { o.dir = dir }
}

// WithLookupEnv sets the function that `${VAR}` references read. Default:
// [os.LookupEnv].
func WithLookupEnv(lookup func(string) (string, bool)) Option {
	return func(o *options) { o.lookupEnv = lookup }
}

//go:embed default.yaml
var defaultYAML []byte

// DefaultYAML returns the built-in demo manifest that the quickstart uses.
// It runs the offline scripted/demo model and reads its API key from the
// AGENTRY_API_KEY environment variable.
func DefaultYAML() []byte {
	return bytes.Clone(defaultYAML)
}

// ParseDefault parses [DefaultYAML]. It fails unless AGENTRY_API_KEY is set
// (in the environment, or in [WithLookupEnv]).
func ParseDefault(opts ...Option) (*Manifest, error) {
	return Parse(defaultYAML, opts...)
}

// Load reads and parses the manifest file at path, as [Parse] does.
// Relative paths inside it resolve against the file's directory unless
// [WithDir] sets another one. A manifest that fails to validate returns a
// *[ValidationError] whose File is path.
func Load(path string, opts ...Option) (*Manifest, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open manifest: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("read manifest %s: %w", path, err)
	}
	abs, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("resolve manifest directory of %s: %w", path, err)
	}
	m, err := Parse(data, append([]Option{WithDir(abs)}, opts...)...)
	if ve, ok := errors.AsType[*ValidationError](err); ok {
		ve.File = path
	} else if err != nil {
		return nil, fmt.Errorf("load manifest %s: %w", path, err)
	}
	return m, err
}

// Parse parses a YAML manifest, validates it and returns it with defaults
// applied. It reports every problem at once in a *[ValidationError]; see
// the package documentation for the steps and rules.
func Parse(data []byte, opts ...Option) (*Manifest, error) {
	o := options{lookupEnv: os.LookupEnv}
	for _, opt := range opts {
		opt(&o)
	}
	if o.dir == "" {
		o.dir = "."
	}
	dir, err := filepath.Abs(o.dir)
	if err != nil {
		return nil, fmt.Errorf("resolve manifest directory %s: %w", o.dir, err)
	}
	if len(data) > MaxSize {
		return nil, fmt.Errorf("manifest is over %d bytes: %w", MaxSize, ErrTooLarge)
	}

	p := &problems{}
	t := parseTree(data, dir, o.lookupEnv, p)
	if t == nil {
		return nil, p.err()
	}
	if _, ok := t.root.(map[string]any); !ok {
		p.add("", t.line(""), "the manifest must be a mapping of keys such as id, name and agent_config")
		return nil, p.err()
	}
	// Semantic checks run first so that their more specific messages win
	// where both find a problem with the same value.
	sem := checkSemantics(t, dir, p)
	validateSchema(t, p)
	if !p.empty() {
		return nil, p.err()
	}

	m, err := decode(t)
	if err != nil {
		return nil, err
	}
	if sp := m.AgentConfig.Context.SystemPrompt; sp != nil && sp.File != "" {
		sp.Text = sem.promptText
	}
	recordRoutineSources(m, t)
	recordPolicySources(m, t)
	rt := &m.AgentConfig.Runtime
	rt.LogLevel = logLevels[strings.ToLower(rt.LogLevel)]
	m.ApplyDefaults()
	m.Dir = dir
	m.Warnings = append(warnings(t), routineWarnings(m, t)...)
	return m, nil
}

// decode fills a Manifest from a tree that passed validation.
func decode(t *tree) (*Manifest, error) {
	data, err := json.Marshal(t.root)
	if err != nil {
		return nil, fmt.Errorf("encode manifest values: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		// The schema admits values the Go types cannot hold, such as an
		// integer beyond int64.
		p := &problems{}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			ptr := "/" + strings.ReplaceAll(te.Field, ".", "/")
			p.add(t.path(ptr), t.line(ptr), "value is out of range for a Go %s", te.Type)
		} else {
			p.add("", 0, "%v", err)
		}
		return nil, p.err()
	}
	return &m, nil
}

// ignoredKeys are accepted for compatibility with manifests of the hosted
// Interactive Agents platform, which alone reads them. Their values are
// not checked and variables inside them are not expanded.
var ignoredKeys = []string{"/endpoint", "/secrets", "/agent_config/interactive_platform"}

func ignoredKey(ptr string) bool {
	for _, k := range ignoredKeys {
		if ptr == k {
			return true
		}
	}
	return false
}

// warnings lists the ignored keys present in t.
func warnings(t *tree) []string {
	var out []string
	for _, ptr := range ignoredKeys {
		if l, ok := t.locs[ptr]; ok {
			v := Violation{Path: l.path, Line: l.keyLine, Message: "ignored: read only by the hosted platform"}
			out = append(out, v.String())
		}
	}
	return out
}

// Path resolves a file name from the manifest against [Manifest.Dir]; an
// absolute name is returned cleaned.
func (m *Manifest) Path(name string) string {
	return resolvePath(m.Dir, name)
}
