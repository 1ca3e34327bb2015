package manifest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"
)

// providerNames lists the model providers a model id may name, in the order
// error messages show them.
var providerNames = []string{"anthropic", "googleai", "ollama", "openai", "scripted"}

// routerModel is the hosted platform's router, which only it can run.
const routerModel = "interactive/agent"

// logLevels are the accepted values of runtime.log_level, in lower case.
var logLevels = map[string]string{
	"debug": "debug", "info": "info", "warn": "warn", "warning": "warn", "error": "error",
}

// semantics holds what the semantic checks read from files.
type semantics struct {
	promptText string // system_prompt.file's contents, if it is set
}

// checker runs the checks that JSON Schema cannot express. It reads the
// converted tree, so it also runs when the schema found problems, and
// skips any value whose type is already wrong.
type checker struct {
	t   *tree
	dir string
	p   *problems
	out semantics
}

func checkSemantics(t *tree, dir string, p *problems) semantics {
	c := &checker{t: t, dir: dir, p: p}
	c.nonBlank("id")
	c.nonBlank("name")
	c.nonBlank("agent_config", "runtime", "api_key")
	c.token("agent_config", "runtime", "api_key")
	c.nonBlank("agent_config", "llms", "default")
	c.logLevel()
	c.signingSecret()
	c.models()
	c.eventWebhook()
	c.outbound()
	c.delivery()
	c.systemPrompt()
	c.variables()
	c.routines()
	c.glossary()
	c.macros()
	c.relationships(c.policies())
	c.webhooks()
	c.mcps()
	c.search()
	c.database()
	c.traces()
	c.leaseTTL()
	return c.out
}

// str returns the string at the given keys, with its pointer.
func (c *checker) str(keys ...string) (string, string, bool) {
	v, ptr, ok := c.t.lookup(keys...)
	s, isStr := v.(string)
	return s, ptr, ok && isStr
}

func (c *checker) report(ptr, format string, args ...any) {
	c.p.addOnce(c.t.path(ptr), c.t.line(ptr), format, args...)
}

// nonBlank rejects an empty or whitespace-only string.
func (c *checker) nonBlank(keys ...string) {
	if s, ptr, ok := c.str(keys...); ok && strings.TrimSpace(s) == "" {
		c.report(ptr, "must not be empty or only whitespace")
	}
}

// token checks a bearer token: leading or trailing whitespace or a control
// character (often a newline from a file or a variable) would make every
// request fail to authenticate.
func (c *checker) token(keys ...string) {
	s, ptr, ok := c.str(keys...)
	if !ok || strings.TrimSpace(s) == "" {
		return
	}
	if strings.TrimSpace(s) != s || strings.ContainsFunc(s, unicode.IsControl) {
		c.report(ptr, "must not start or end with whitespace or contain control characters; check for a trailing newline in the file or variable it comes from")
	}
}

func (c *checker) logLevel() {
	s, ptr, ok := c.str("agent_config", "runtime", "log_level")
	if !ok {
		return
	}
	if _, known := logLevels[strings.ToLower(s)]; !known {
		c.report(ptr, "must be one of debug, info, warn, error (in any case)")
	}
}

// signingSecret checks runtime.signing_secret and every entry of
// runtime.previous_signing_secrets.
func (c *checker) signingSecret() {
	if s, ptr, ok := c.str("agent_config", "runtime", "signing_secret"); ok {
		c.whsec(ptr, s)
	}
	v, ptr, _ := c.t.lookup("agent_config", "runtime", "previous_signing_secrets")
	list, _ := v.([]any)
	for i, item := range list {
		if s, ok := item.(string); ok {
			c.whsec(ptr+"/"+strconv.Itoa(i), s)
		}
	}
}

// whsec checks the Standard Webhooks secret form: "whsec_" and the key in
// base64. The value never appears in the message.
func (c *checker) whsec(ptr, s string) {
	key, isWhsec := strings.CutPrefix(s, "whsec_")
	raw, err := base64.StdEncoding.DecodeString(key)
	if !isWhsec || err != nil || len(raw) == 0 {
		c.report(ptr, `must be "whsec_" followed by a base64-encoded key, such as the output of: echo "whsec_$(openssl rand -base64 32)"`)
	}
}

// models checks every model id and the provider settings that the ids in
// use need.
func (c *checker) models() {
	used := map[string]string{} // provider → pointer of its first use
	var scripted []string       // pointers of scripted/<name> ids other than demo
	check := func(ptr, id string) {
		provider, ok := c.modelID(ptr, id)
		if !ok {
			return
		}
		if _, seen := used[provider]; !seen {
			used[provider] = ptr
		}
		if provider == "scripted" && id != "scripted/demo" {
			scripted = append(scripted, ptr)
		}
	}
	for _, key := range []string{"default", "evaluation", "embedding"} {
		if id, ptr, ok := c.str("agent_config", "llms", key); ok && strings.TrimSpace(id) != "" {
			check(ptr, id)
		}
	}
	for _, key := range []string{"fallback", "evaluation_fallback"} {
		list, ptr, _ := c.t.lookup("agent_config", "llms", key)
		items, _ := list.([]any)
		for i, item := range items {
			if id, ok := item.(string); ok {
				check(ptr+"/"+strconv.Itoa(i), id)
			}
		}
	}

	providers, providersPtr, _ := c.t.lookup("agent_config", "llms", "providers")
	configs, _ := providers.(map[string]any)
	for _, name := range sortedKeys(configs) {
		ptr := providersPtr + "/" + escapePointer(name)
		if !knownProvider(name) {
			c.p.add(c.t.path(ptr), c.t.locs[ptr].keyLine, "unknown provider %q: use one of %s", name, strings.Join(providerNames, ", "))
			continue
		}
		cfg, _ := configs[name].(map[string]any)
		if s, ok := cfg["api_key"].(string); ok && strings.TrimSpace(s) == "" {
			c.report(ptr+"/api_key", "must not be empty or only whitespace; remove the key if the server needs none")
		}
		if s, ok := cfg["base_url"].(string); ok {
			c.baseURL(ptr+"/base_url", s)
		}
	}

	has := func(provider, key string) bool {
		cfg, _ := configs[provider].(map[string]any)
		s, _ := cfg[key].(string)
		return strings.TrimSpace(s) != ""
	}
	if ptr, ok := used["openai"]; ok && !has("openai", "api_key") && !has("openai", "base_url") {
		c.report(ptr, "openai needs a key: set llms.providers.openai.api_key, or base_url for a server that needs no key")
	}
	for _, p := range []string{"anthropic", "googleai"} {
		if ptr, ok := used[p]; ok && !has(p, "api_key") {
			c.report(ptr, "%s needs a key: set llms.providers.%s.api_key", p, p)
		}
	}
	if len(scripted) > 0 {
		c.script(scripted)
	}
}

// modelID checks one "provider/model" id and returns its provider.
func (c *checker) modelID(ptr, id string) (string, bool) {
	if strings.EqualFold(id, routerModel) {
		c.report(ptr, "%q is the hosted platform's router and cannot run here; name a provider/model such as \"openai/gpt-4o-mini\"", id)
		return "", false
	}
	provider, model, ok := strings.Cut(id, "/")
	if !ok || provider == "" || strings.TrimSpace(model) == "" {
		c.report(ptr, "must be provider/model, such as \"openai/gpt-4o-mini\" or \"scripted/demo\"")
		return "", false
	}
	if !knownProvider(provider) {
		c.report(ptr, "unknown provider %q: use one of %s", provider, strings.Join(providerNames, ", "))
		return "", false
	}
	return provider, true
}

func knownProvider(name string) bool {
	for _, p := range providerNames {
		if p == name {
			return true
		}
	}
	return false
}

func (c *checker) baseURL(ptr, s string) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		c.report(ptr, "must be an http or https URL, such as http://127.0.0.1:11434/v1")
	}
}

// script checks that a rule file is set and exists for the scripted
// models other than the built-in scripted/demo.
func (c *checker) script(users []string) {
	file, ptr, ok := c.str("agent_config", "llms", "providers", "scripted", "script")
	if !ok || strings.TrimSpace(file) == "" {
		for _, u := range users {
			v, _ := c.t.valueAt(u)
			c.report(u, "%v needs a rule file: set llms.providers.scripted.script, or use scripted/demo", v)
		}
		return
	}
	c.regularFile(ptr, file)
}

// regularFile reports a path (relative to the manifest) that is not an
// existing regular file, and returns its resolved path.
func (c *checker) regularFile(ptr, name string) (string, bool) {
	path, err := checkFile(c.dir, name)
	if err != nil {
		c.report(ptr, "%v", err)
		return path, false
	}
	return path, true
}

// checkFile resolves name against dir and returns an error unless it is a
// regular file of at most [MaxSize] bytes.
func checkFile(dir, name string) (string, error) {
	path := resolvePath(dir, name)
	info, err := os.Stat(path)
	switch {
	case err != nil && os.IsNotExist(err):
		return path, fmt.Errorf("file %s not found (relative paths start at %s)", path, dir)
	case err != nil:
		return path, fmt.Errorf("cannot read file %s: %w", path, err)
	case !info.Mode().IsRegular():
		return path, fmt.Errorf("%s is not a regular file", path)
	case info.Size() > MaxSize:
		return path, fmt.Errorf("file %s is %d bytes; the limit is %d", path, info.Size(), MaxSize)
	}
	return path, nil
}

// readFile reads the file that name (relative to dir) names, within the
// limits of [checkFile].
func readFile(dir, name string) ([]byte, error) {
	path, err := checkFile(dir, name)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read file %s: %w", path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read file %s: %w", path, err)
	}
	if len(data) > MaxSize {
		return nil, fmt.Errorf("file %s is over %d bytes", path, MaxSize)
	}
	return data, nil
}

// systemPrompt checks that exactly one of text and file is set and reads
// the file.
func (c *checker) systemPrompt() {
	v, ptr, ok := c.t.lookup("agent_config", "context", "system_prompt")
	sp, isMap := v.(map[string]any)
	if !ok || !isMap {
		return
	}

	text, hasText := sp["text"]
	file, hasFile := sp["file"]
	switch {
	case hasText && hasFile:
		c.report(ptr, "set exactly one of text and file, not both")
		return
	case !hasText && !hasFile:
		c.report(ptr, "set text or file")
		return
	}
	if s, ok := text.(string); ok && strings.TrimSpace(s) == "" {
		c.report(ptr+"/text", "must not be empty or only whitespace")
	}

	name, ok := file.(string)
	if !ok {
		return
	}
	filePtr := ptr + "/file"
	if strings.TrimSpace(name) == "" {
		c.report(filePtr, "must not be empty or only whitespace")
		return
	}

	path, ok := c.regularFile(filePtr, name)
	if !ok {
		return
	}
	data, err := os.ReadFile(path)
	if err != nil {
		c.report(filePtr, "cannot read file %s: %v", path, err)
		return
	}
	if strings.TrimSpace(string(data)) == "" {
		c.report(filePtr, "file %s is empty", path)
		return
	}
	c.out.promptText = string(data)
}

// variables checks that names are unique and that each default_value
// matches its declared type.
func (c *checker) variables() {
	v, ptr, _ := c.t.lookup("agent_config", "context", "variables")
	list, _ := v.([]any)
	first := map[string]string{} // name → pointer of its first declaration
	for i, item := range list {
		decl, _ := item.(map[string]any)
		itemPtr := ptr + "/" + strconv.Itoa(i)
		if name, ok := decl["name"].(string); ok {
			if prev, dup := first[name]; dup {
				c.report(itemPtr+"/name", "duplicate variable name %q (first declared on line %d)", name, c.t.line(prev))
			} else {
				first[name] = itemPtr + "/name"
			}
		}
		def, ok := decl["default_value"]
		if !ok || def == nil {
			continue
		}
		typ, _ := decl["type"].(string)
		if typ == "" {
			typ = "string"
		}
		if !matchesType(def, typ) {
			c.report(itemPtr+"/default_value", "must be %s to match type %q", typeNames[typ], typ)
		}
	}
}

func matchesType(v any, typ string) bool {
	switch typ {
	case "string":
		_, ok := v.(string)
		return ok
	case "number":
		_, ok := v.(json.Number)
		return ok
	case "integer":
		n, ok := v.(json.Number)
		if !ok {
			return false
		}
		if _, err := n.Int64(); err == nil {
			return true
		}
		f, err := n.Float64()
		return err == nil && f == math.Trunc(f)
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "object":
		_, ok := v.(map[string]any)
		return ok
	}
	return true // an unknown type is reported by the schema
}

// resolvePath joins a relative name to dir.
func resolvePath(dir, name string) string {
	if filepath.IsAbs(name) {
		return filepath.Clean(name)
	}
	return filepath.Join(dir, name)
}
