package manifest

import "fmt"

// Policy is a rule for the agent's replies: when Condition holds for the
// conversation, the reply follows Action, and the model may call Tools.
type Policy struct {
	// ID names the policy in relationships, logs and spans: letters,
	// digits, '-' and '_'.
	ID string `json:"id" jsonschema:"pattern=^[A-Za-z0-9_-]+$"`
	// Name is a display name.
	Name string `json:"name,omitempty"`
	// Condition is a statement about the conversation that the evaluation
	// lane judges, such as "The customer asks for a refund".
	Condition string `json:"condition"`
	// Action is the instruction the reply follows while Condition holds.
	Action string `json:"action"`
	// Criticality is LOW, MEDIUM (default) or HIGH. The prompt lists the
	// actions of matched policies from HIGH to LOW.
	Criticality string `json:"criticality,omitempty" jsonschema:"enum=LOW,enum=MEDIUM,enum=HIGH"`
	// Tools are offered to the model while the policy matches, as
	// "namespace:name" (an MCP server's id or a native tool set, or
	// built-in:handoff).
	Tools []string `json:"tools,omitempty"`

	// File is the path of the file the policy was read from, as the
	// manifest's context.policies entry writes it; empty for an inline
	// policy.
	File string `json:"-"`

	// toolLines holds the source line of each entry of Tools, for
	// [Manifest.ToolReferences]; nil for a policy built in code.
	toolLines []int
}

// Criticality levels of a policy.
const (
	CriticalityLow    = "LOW"
	CriticalityMedium = "MEDIUM"
	CriticalityHigh   = "HIGH"
)

// CriticalityRank orders criticality levels: 2 for HIGH, 1 for MEDIUM
// (and for an unset level, which defaults to it), 0 for LOW.
func CriticalityRank(level string) int {
	switch level {
	case CriticalityHigh:
		return 2
	case CriticalityLow:
		return 0
	}
	return 1
}

// HandoffTool hands the session to a human: it switches the session to
// manual mode, and the turn ends without a reply.
const HandoffTool = "built-in:handoff"

// Relationships is the context.relationships block.
type Relationships struct {
	// Priorities decide between policies that match together.
	Priorities []Priority `json:"priorities,omitempty"`
	// Entailments make a policy apply whenever another one matches.
	Entailments []Entailment `json:"entailments,omitempty"`
}

// Priority says that policy Higher wins over policy Over when both
// match, so only Higher applies; or, with OverAllRoutines, that Higher
// wins over every routine. Exactly one of Over and OverAllRoutines is
// set.
type Priority struct {
	Higher string `json:"higher"`
	Over   string `json:"over,omitempty"`
	// OverAllRoutines is recorded for conversational routines; the engine
	// does not run those yet, so it changes nothing today.
	OverAllRoutines bool `json:"over_all_routines,omitempty"`
}

// Entailment says that policy Target applies whenever policy Source
// matches.
type Entailment struct {
	Source string `json:"source"`
	Target string `json:"target"`
}

// Policy returns the policy with the given id, or nil.
func (c *Context) Policy(id string) *Policy {
	for i := range c.Policies {
		if c.Policies[i].ID == id {
			return &c.Policies[i]
		}
	}
	return nil
}

// policiesPointer is the JSON pointer of the context.policies list.
const policiesPointer = "/agent_config/context/policies"

// policyToolReferences lists the tool references of every policy, except
// those in [BuiltinNamespace], in manifest order.
func (m *Manifest) policyToolReferences() []ToolRef {
	var out []ToolRef
	for i := range m.AgentConfig.Context.Policies {
		p := &m.AgentConfig.Context.Policies[i]
		for k, name := range p.Tools {
			ref := ToolRef{
				Name: name,
				Path: fmt.Sprintf("agent_config.context.policies[%d].tools[%d]", i, k),
				File: p.File,
			}
			if ref.Namespace() == BuiltinNamespace {
				continue
			}
			if k < len(p.toolLines) {
				ref.Line = p.toolLines[k]
			}
			out = append(out, ref)
		}
	}
	return out
}

// recordPolicySources copies what decoding loses from t into the policies
// of m: the file each one was read from and the line of each tool
// reference.
func recordPolicySources(m *Manifest, t *tree) {
	for i := range m.AgentConfig.Context.Policies {
		p := &m.AgentConfig.Context.Policies[i]
		p.File = t.policyFiles[i]
		p.toolLines = make([]int, len(p.Tools))
		for k := range p.Tools {
			p.toolLines[k] = t.line(fmt.Sprintf("%s/%d/tools/%d", policiesPointer, i, k))
		}
	}
}
