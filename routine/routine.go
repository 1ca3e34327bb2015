package routine

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/agentry/agentry/manifest"
	"github.com/agentry/agentry/tool"
)

// Sentinel errors of [Compile]; match them with errors.Is.
var (
	// ErrInvalidSchema reports a JSON Schema that does not compile.
	ErrInvalidSchema = errors.New("invalid JSON Schema")
	// ErrUnknownTool reports a tool reference that names no registered
	// tool and no built-in one.
	ErrUnknownTool = errors.New("unknown tool")
	// ErrInvalidRoutine reports a routine whose graph cannot run: a
	// missing entry or target, a node of several kinds, or a terminal node
	// of an autonomous routine that cannot emit the output.
	ErrInvalidRoutine = errors.New("invalid routine")
)

// Routine is a compiled routine: its definition with every schema
// compiled once and every tool reference checked. A Routine is immutable
// and safe for concurrent use.
type Routine struct {
	def   manifest.Routine
	nodes map[string]*manifest.Node

	// input and output are nil unless the routine is autonomous; output
	// is the tightened output schema.
	input, output *schema
	// think holds the output schema of each think node by node id.
	think map[string]*schema
	// route holds, by node id, the schema of the reply that picks one of
	// a node's transitions, for nodes where the model must choose.
	route map[string]*schema
	// toolArgs holds the argument schema of each referenced tool, as the
	// registry given to Compile had it.
	toolArgs map[string]*schema
}

// Compile checks r and compiles its schemas. The input schema, the
// output schema and the output schemas of think nodes are compiled with
// format assertion on, so trigger input and emitted output whose "format"
// (email, date-time, uuid, ...) does not match are rejected. The output
// schema is tightened first, as [Routine.OutputSchema] describes. Every
// tool reference must name a tool in tools or built-in:emit_output, which
// only autonomous routines may use. Compile reports every problem it
// finds, joined.
func Compile(r manifest.Routine, tools *tool.Registry) (*Routine, error) {
	c := &Routine{
		def:      r,
		nodes:    make(map[string]*manifest.Node, len(r.Nodes)),
		think:    make(map[string]*schema),
		route:    make(map[string]*schema),
		toolArgs: make(map[string]*schema),
	}
	var errs []error
	fail := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("routine %q: "+format, append([]any{r.ID}, args...)...))
	}

	for i := range c.def.Nodes {
		n := &c.def.Nodes[i]
		if _, dup := c.nodes[n.ID]; dup {
			fail("%w: node id %q is used twice: give each node its own id", ErrInvalidRoutine, n.ID)
			continue
		}
		c.nodes[n.ID] = n
	}
	if _, ok := c.nodes[r.Entry]; !ok {
		fail("%w: entry %q names no node", ErrInvalidRoutine, r.Entry)
	}

	if r.Autonomous != nil {
		if err := c.compileIO(r.Autonomous); err != nil {
			errs = append(errs, fmt.Errorf("routine %q: %w", r.ID, err))
		}
	}
	for i := range c.def.Nodes {
		for _, err := range c.checkNode(&c.def.Nodes[i], tools) {
			errs = append(errs, fmt.Errorf("routine %q: node %q: %w", r.ID, c.def.Nodes[i].ID, err))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// compileIO compiles the input schema and the tightened output schema.
func (c *Routine) compileIO(a *manifest.Autonomous) error {
	var errs []error
	in, err := compileSchema("routines/"+c.def.ID+"/input_schema", a.InputSchema)
	if err != nil {
		errs = append(errs, fmt.Errorf("autonomous.input_schema: %w", err))
	}
	c.input = in
	tight, err := tightenOutputSchema(a.OutputSchema)
	if err != nil {
		errs = append(errs, fmt.Errorf("autonomous.output_schema: %w", err))
	} else {
		out, err := compileSchema("routines/"+c.def.ID+"/output_schema", tight)
		if err != nil {
			errs = append(errs, fmt.Errorf("autonomous.output_schema: %w", err))
		}
		c.output = out
	}
	return errors.Join(errs...)
}

// checkNode checks one node and compiles its schemas.
func (c *Routine) checkNode(n *manifest.Node, tools *tool.Registry) []error {
	var errs []error
	kinds := 0
	for _, set := range []bool{n.ChatState != "", len(n.Tools) > 0 || n.ToolInstruction != "", n.Think != "" || len(n.OutputSchema) > 0} {
		if set {
			kinds++
		}
	}
	if kinds > 1 {
		errs = append(errs, fmt.Errorf("%w: the node sets fields of several kinds: use one of chat_state, tools or think", ErrInvalidRoutine))
	}

	unconditional := 0
	for _, t := range n.Transitions {
		if _, ok := c.nodes[t.To]; !ok {
			errs = append(errs, fmt.Errorf("%w: transition to %q names no node", ErrInvalidRoutine, t.To))
		}
		if t.Condition == "" {
			unconditional++
		}
	}
	if unconditional > 1 {
		errs = append(errs, fmt.Errorf("%w: %d transitions have no condition: at most one may be the default", ErrInvalidRoutine, unconditional))
	}

	if targets, _ := routeTargets(n); len(targets) > 1 {
		s, err := compileSchema("routines/"+c.def.ID+"/nodes/"+n.ID+"/transitions", routeSchema(targets))
		if err != nil {
			errs = append(errs, fmt.Errorf("transitions: %w", err))
		}
		c.route[n.ID] = s
	}

	switch n.Kind() {
	case manifest.NodeThink:
		s, err := compileSchema("routines/"+c.def.ID+"/nodes/"+n.ID+"/output_schema", n.OutputSchema)
		if err != nil {
			errs = append(errs, fmt.Errorf("output_schema: %w", err))
		}
		c.think[n.ID] = s
	case manifest.NodeTool:
		errs = append(errs, c.checkTools(n, tools)...)
	}

	if c.def.Autonomous != nil && len(n.Transitions) == 0 {
		if n.Kind() != manifest.NodeTool || !emits(n) {
			errs = append(errs, fmt.Errorf("%w: the node ends the routine but does not list %s: add it to the node's tools, or add a transition", ErrInvalidRoutine, manifest.EmitOutputTool))
		}
	}
	return errs
}

// checkTools resolves the tool references of a tool node and keeps the
// argument schemas of registered tools.
func (c *Routine) checkTools(n *manifest.Node, tools *tool.Registry) []error {
	var errs []error
	for _, name := range n.Tools {
		if name == manifest.EmitOutputTool {
			if c.def.Autonomous == nil {
				errs = append(errs, fmt.Errorf("%w: %s needs an output schema, which only autonomous routines have: add an autonomous block", ErrUnknownTool, name))
			}
			continue
		}
		t, ok := tools.Get(name)
		if !ok && tools.HasSource(tool.Namespace(name)) {
			// The tool's server has not connected yet; the call resolves
			// the tool and checks its arguments when it runs.
			continue
		}
		if !ok {
			errs = append(errs, fmt.Errorf("%w %q: register it, or check the MCP server id and the tool name", ErrUnknownTool, name))
			continue
		}
		if _, done := c.toolArgs[name]; done {
			continue
		}
		// A tool whose schema does not compile is still called; its
		// arguments are then not checked before the call.
		if s, err := compileSchema("tools/"+name, argumentSchema(t)); err == nil {
			c.toolArgs[name] = s
		}
	}
	return errs
}

// emits reports whether a node lists built-in:emit_output.
func emits(n *manifest.Node) bool {
	for _, name := range n.Tools {
		if name == manifest.EmitOutputTool {
			return true
		}
	}
	return false
}

// ID returns the routine's id.
func (c *Routine) ID() string { return c.def.ID }

// Definition returns the routine as the manifest defines it. The caller
// must not modify the slices and schemas it shares with c.
func (c *Routine) Definition() manifest.Routine { return c.def }

// Autonomous reports whether the routine has an autonomous block, so it
// can be triggered with input and emits output.
func (c *Routine) Autonomous() bool { return c.def.Autonomous != nil }

// InputSchema returns the input schema as written, or nil when the
// routine is not autonomous.
func (c *Routine) InputSchema() json.RawMessage {
	if c.input == nil {
		return nil
	}
	return c.input.raw
}

// OutputSchema returns the output schema that emitted output must
// validate against, or nil when the routine is not autonomous. It is the
// schema as written, tightened: the top-level object and every nested
// schema that lists "properties" reject properties they do not list,
// unless the schema sets "additionalProperties", "unevaluatedProperties"
// or "patternProperties" itself. Schemas under "$defs" and under
// combinators such as "allOf" and "anyOf" are left as written.
func (c *Routine) OutputSchema() json.RawMessage {
	if c.output == nil {
		return nil
	}
	return c.output.raw
}

// ValidateInput checks raw against the input schema and returns every
// violation, or nil when raw is valid. Numbers are compared exactly: an
// integer beyond 2^53 is not rounded, and 1.0 and 1e2 count as integers.
// Known formats are asserted. A routine that is not autonomous takes no
// input, so every input is a violation.
func (c *Routine) ValidateInput(raw json.RawMessage) []Violation {
	if c.input == nil {
		return []Violation{{Path: "", Message: fmt.Sprintf("routine %q is not autonomous and takes no input", c.def.ID)}}
	}
	return c.input.validate(raw)
}

// ValidateOutput checks raw against the tightened output schema, as
// built-in:emit_output does, and returns every violation, or nil when raw
// is valid.
func (c *Routine) ValidateOutput(raw json.RawMessage) []Violation {
	if c.output == nil {
		return []Violation{{Path: "", Message: fmt.Sprintf("routine %q is not autonomous and has no output", c.def.ID)}}
	}
	return c.output.validate(raw)
}
