package scripted

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"text/template"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/agentry/agentry/llm/internal/toolname"
)

// Script is a parsed rule file: an ordered list of rules, each a `when`
// condition and a `reply`. The first rule whose conditions all hold
// produces the reply. A Script is immutable and may be shared by several models.
//
// The file is a YAML list of rules:
//
//	# script.yaml
//	- when:
//	    lane: chat                 # chat or evaluation
//	    user_matches: "(?i)refund" # regexp on the last customer message
//	    after_tool: shop:refund    # the last message is this tool's result
//	    tool_offered: shop:refund  # a tool of this name is offered
//	  reply:
//	    text: "Refunded. You said: {{.LastUser}}"
//	  delay: 2s                    # wait before replying (a key of the rule)
//
// A rule without `when` always matches. `reply` holds exactly one of
// `text`, `tool_call` (`name` and an `arguments` object) or `json` (any
// value, sent as JSON text). Tool names are written as "ns:name"; they
// are compared with offered tools and results after the provider name
// mapping, so "ns__name" from a lane matches too. A text may use the
// template fields .LastUser, .Lane, .ToolName, .ToolResult and .Vars (the
// system prompt's variables by name).
type Script struct {
	rules []rule
}

type rule struct {
	index int // 1-based position in the file
	lane  string
	user  *regexp.Regexp
	// afterTool and toolOffered are provider names.
	afterTool   string
	toolOffered string
	delay       time.Duration

	text     string
	tmpl     *template.Template
	toolName string // provider name
	toolArgs string
}

// ruleFile is one rule as written in YAML.
type ruleFile struct {
	When struct {
		Lane        string `yaml:"lane"`
		UserMatches string `yaml:"user_matches"`
		AfterTool   string `yaml:"after_tool"`
		ToolOffered string `yaml:"tool_offered"`
	} `yaml:"when"`
	Reply struct {
		Text     *string `yaml:"text"`
		ToolCall *struct {
			Name      string         `yaml:"name"`
			Arguments map[string]any `yaml:"arguments"`
		} `yaml:"tool_call"`
		JSON yaml.Node `yaml:"json"`
	} `yaml:"reply"`
	Delay string `yaml:"delay"`
}

// LoadScript reads and parses the rule file at path.
func LoadScript(path string) (*Script, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read script: %w", err)
	}
	s, err := ParseScript(data)
	if err != nil {
		return nil, fmt.Errorf("script %s: %w", path, err)
	}
	return s, nil
}

// ParseScript parses a rule file. Unknown keys are errors. The error
// lists every invalid rule with its position and line.
func ParseScript(data []byte) (*Script, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var files []ruleFile
	if err := dec.Decode(&files); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("no rules: the script must be a YAML list of rules")
		}
		return nil, fmt.Errorf("invalid YAML: %w", err)
	}
	if len(files) == 0 {
		return nil, errors.New("no rules: the script must be a YAML list of rules")
	}
	lines := ruleLines(data)
	s := &Script{rules: make([]rule, 0, len(files))}
	var errs []error
	for i, f := range files {
		r, err := compileRule(i+1, f)
		if err != nil {
			line := ""
			if i < len(lines) {
				line = fmt.Sprintf(" (line %d)", lines[i])
			}
			errs = append(errs, fmt.Errorf("rule %d%s: %w", i+1, line, err))
			continue
		}
		s.rules = append(s.rules, r)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

// ruleLines returns the line of each rule in the top-level list.
func ruleLines(data []byte) []int {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
		return nil
	}
	var lines []int
	for _, n := range doc.Content[0].Content {
		lines = append(lines, n.Line)
	}
	return lines
}

func compileRule(index int, f ruleFile) (rule, error) {
	r := rule{index: index}
	var errs []error
	switch f.When.Lane {
	case "", "chat", "evaluation":
		r.lane = f.When.Lane
	default:
		errs = append(errs, fmt.Errorf("when.lane %q is invalid: use chat or evaluation", f.When.Lane))
	}
	if f.When.UserMatches != "" {
		re, err := regexp.Compile(f.When.UserMatches)
		if err != nil {
			errs = append(errs, fmt.Errorf("when.user_matches: %w", err))
		}
		r.user = re
	}
	if f.When.AfterTool != "" {
		r.afterTool = toolname.ToProvider(f.When.AfterTool)
	}
	if f.When.ToolOffered != "" {
		r.toolOffered = toolname.ToProvider(f.When.ToolOffered)
	}
	if f.Delay != "" {
		d, err := time.ParseDuration(f.Delay)
		if err != nil || d < 0 {
			errs = append(errs, fmt.Errorf("delay %q is invalid: use a Go duration such as \"2s\"", f.Delay))
		}
		r.delay = d
	}
	if err := r.compileReply(f); err != nil {
		errs = append(errs, err)
	}
	return r, errors.Join(errs...)
}

func (r *rule) compileReply(f ruleFile) error {
	kinds := 0
	if f.Reply.Text != nil {
		kinds++
	}
	if f.Reply.ToolCall != nil {
		kinds++
	}
	if f.Reply.JSON.Kind != 0 {
		kinds++
	}
	if kinds != 1 {
		return fmt.Errorf("reply must hold exactly one of text, tool_call or json, found %d", kinds)
	}
	switch {
	case f.Reply.Text != nil:
		r.text = *f.Reply.Text
		if strings.Contains(r.text, "{{") {
			t, err := template.New("reply").Option("missingkey=zero").Parse(r.text)
			if err != nil {
				return fmt.Errorf("reply.text template: %w", err)
			}
			r.tmpl = t
		}
	case f.Reply.ToolCall != nil:
		tc := f.Reply.ToolCall
		if strings.TrimSpace(tc.Name) == "" {
			return errors.New("reply.tool_call.name is missing")
		}
		r.toolName = toolname.ToProvider(tc.Name)
		r.toolArgs = "{}"
		if len(tc.Arguments) > 0 {
			b, err := json.Marshal(tc.Arguments)
			if err != nil {
				return fmt.Errorf("reply.tool_call.arguments cannot be written as JSON: %w", err)
			}
			r.toolArgs = string(b)
		}
	default:
		var v any
		if err := f.Reply.JSON.Decode(&v); err != nil {
			return fmt.Errorf("reply.json: %w", err)
		}
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("reply.json cannot be written as JSON (use string keys): %w", err)
		}
		r.text = string(b)
	}
	return nil
}

// match returns the first rule that matches c, or nil.
func (s *Script) match(c *call) *rule {
	for i := range s.rules {
		if s.rules[i].matches(c) {
			return &s.rules[i]
		}
	}
	return nil
}

func (r *rule) matches(c *call) bool {
	if r.lane != "" && r.lane != c.lane {
		return false
	}
	if r.user != nil {
		text, ok := c.lastUser()
		if !ok || !r.user.MatchString(text) {
			return false
		}
	}
	if r.afterTool != "" {
		_, name, ok := c.toolResult()
		if !ok || toolname.ToProvider(name) != r.afterTool {
			return false
		}
	}
	if r.toolOffered != "" {
		if _, ok := c.offered(r.toolOffered); !ok {
			return false
		}
	}
	return true
}

// output produces the rule's reply for c. A tool call uses the offered
// tool's own name, so a caller gets back the name it offered. A tool
// that is not offered is called by its provider name.
func (r *rule) output(c *call) (output, error) {
	if r.toolName != "" {
		name := r.toolName
		if fn, ok := c.offered(r.toolName); ok {
			name = fn.Name
		}
		return output{toolName: name, toolArgs: r.toolArgs}, nil
	}
	if r.tmpl == nil {
		return output{text: r.text}, nil
	}
	var b strings.Builder
	if err := r.tmpl.Execute(&b, newTemplateData(c)); err != nil {
		return output{}, fmt.Errorf("reply.text template: %w", err)
	}
	return output{text: b.String()}, nil
}

// templateData holds the fields a reply text template may use.
type templateData struct {
	LastUser   string
	Lane       string
	ToolName   string
	ToolResult string
	Vars       map[string]string
}

func newTemplateData(c *call) templateData {
	d := templateData{Lane: c.lane}
	d.LastUser, _ = c.lastUser()
	if res, name, ok := c.toolResult(); ok {
		d.ToolName = toolname.FromProvider(name)
		d.ToolResult = res.Content
	}
	vars := ParseVariables(c.system())
	d.Vars = make(map[string]string, len(vars))
	for _, v := range vars {
		d.Vars[v.Name] = v.Value
	}
	return d
}
