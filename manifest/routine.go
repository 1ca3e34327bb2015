package manifest

import "encoding/json"

// Routine is a graph of nodes that the agent walks: with a customer over
// several turns (conversational), or alone from a typed input to a typed
// output (autonomous, when Autonomous is set).
type Routine struct {
	// ID names the routine in URLs and events: letters, digits, '-', '_'.
	ID    string `json:"id" jsonschema:"pattern=^[A-Za-z0-9_-]+$"`
	Title string `json:"title,omitempty"`
	// Description is the routine's purpose, shown to the model.
	Description string `json:"description,omitempty"`
	// Conditions activate a conversational routine when one holds.
	Conditions []string `json:"conditions,omitempty"`
	// Entry is the id of the first node.
	Entry string `json:"entry"`
	Nodes []Node `json:"nodes"`
	// Autonomous makes the routine triggerable over HTTP with typed input.
	Autonomous *Autonomous `json:"autonomous,omitempty"`

	// File is the path of the file the routine was read from, as the
	// manifest's context.routines entry writes it. A relative path starts
	// at [Manifest.Dir]. File is empty for an inline routine.
	File string `json:"-"`
}

// Node returns the node with the given id, or nil.
func (r *Routine) Node(id string) *Node {
	for i := range r.Nodes {
		if r.Nodes[i].ID == id {
			return &r.Nodes[i]
		}
	}
	return nil
}

// Node kinds, as [Node.Kind] returns them.
const (
	NodeChat  = "chat"
	NodeTool  = "tool"
	NodeThink = "think"
	NodeRoute = "route"
)

// Tool references that the manifest package resolves itself.
const (
	// BuiltinNamespace is the namespace of the tools built into agentry.
	BuiltinNamespace = "built-in"
	// EmitOutputTool ends an autonomous run with its output. Every
	// terminal node of an autonomous routine lists it.
	EmitOutputTool = "built-in:emit_output"
)

// Node is one step of a routine. Exactly one kind is set: chat
// (ChatState), tool (Tools and ToolInstruction), think (Think and
// OutputSchema, autonomous routines only) or route (only Transitions).
type Node struct {
	ID string `json:"id" jsonschema:"pattern=^[A-Za-z0-9_-]+$"`
	// ChatState is the instruction for the model at this node of a
	// conversation.
	ChatState string `json:"chat_state,omitempty"`
	// Macros name entries of context.macros whose text is the approved
	// wording of replies at this chat node.
	Macros []string `json:"macros,omitempty"`
	// Tools are the tools the node calls, as "namespace:name".
	Tools []string `json:"tools,omitempty"`
	// ToolInstruction is the instruction for calling Tools.
	ToolInstruction string `json:"tool_instruction,omitempty"`
	// Think is an instruction whose result is structured output that
	// validates against OutputSchema.
	Think        string          `json:"think,omitempty"`
	OutputSchema json.RawMessage `json:"output_schema,omitempty" jsonschema:"type=object"`
	// Transitions lead to the next node; a node without transitions ends
	// the routine. At most one transition has no condition.
	Transitions []Transition `json:"transitions,omitempty"`

	// toolLines holds the source line of each entry of Tools, for
	// [Manifest.ToolReferences]; nil for a node built in code.
	toolLines []int
}

// Kind returns the node's kind: [NodeChat], [NodeTool], [NodeThink] or
// [NodeRoute]. For a node that sets the fields of several kinds, which
// loading rejects, the first of chat, tool and think wins.
func (n *Node) Kind() string {
	switch {
	case n.ChatState != "":
		return NodeChat
	case len(n.Tools) > 0 || n.ToolInstruction != "":
		return NodeTool
	case n.Think != "" || len(n.OutputSchema) > 0:
		return NodeThink
	}
	return NodeRoute
}

// Transition leads to node To when Condition holds, or always when
// Condition is empty.
type Transition struct {
	To        string `json:"to"`
	Condition string `json:"condition,omitempty"`
}

// Autonomous is the block that makes a routine triggerable with typed
// input and delivers its typed output.
type Autonomous struct {
	// InputSchema is the JSON Schema (draft 2020-12) of the trigger's
	// input. Required.
	InputSchema json.RawMessage `json:"input_schema" jsonschema:"type=object"`
	// OutputSchema is the JSON Schema of the output passed to
	// built-in:emit_output; it is tightened with additionalProperties:
	// false. Required.
	OutputSchema json.RawMessage `json:"output_schema" jsonschema:"type=object"`
	// Instructions add to the system prompt for every model call of a run.
	Instructions string `json:"instructions,omitempty"`
	// CallbackURL is the default callback of runs whose trigger names none.
	CallbackURL string `json:"callback_url,omitempty"`
	// CallbackURLAllowlist lists the hosts a callback URL may have, as
	// [MatchHost] matches them: host names, "*." and a host name for its
	// subdomains, or IP addresses, without scheme, port or path. Empty
	// allows any host that the outbound guard allows.
	CallbackURLAllowlist []string `json:"callback_url_allowlist,omitempty"`
	// TimeoutSeconds bounds a run from its start. Default 300.
	TimeoutSeconds int `json:"timeout_seconds,omitempty" jsonschema:"minimum=1,maximum=86400"`
	// MaxAttempts is how many times a run is started before a run whose
	// process died is failed as interrupted. Default 3.
	MaxAttempts int `json:"max_attempts,omitempty" jsonschema:"minimum=1,maximum=20"`
}

// Outbound is the runtime.outbound block: which private destinations
// outbound requests to URLs from API calls may reach.
type Outbound struct {
	// AllowHosts lists host names (or "*." and a host name, matched as
	// [MatchHost] does), IP addresses or CIDR ranges that may be reached
	// even when they resolve to a private or loopback address.
	AllowHosts []string `json:"allow_hosts,omitempty"`
	// AllowPrivateNetworks lifts the private-address check entirely.
	AllowPrivateNetworks bool `json:"allow_private_networks,omitempty"`
}

// Outbound authentication modes of callbacks and event webhooks.
const (
	// OutboundAuthAPIKey sends runtime.api_key as the bearer token.
	OutboundAuthAPIKey = "api_key"
	// OutboundAuthSignatureOnly sends no bearer token; receivers check the
	// signature.
	OutboundAuthSignatureOnly = "signature_only"
	// OutboundAuthToken sends OutboundAuth.Token as the bearer token.
	OutboundAuthToken = "token"
)

// OutboundAuth is the runtime.outbound_auth block.
type OutboundAuth struct {
	// Mode is api_key (default), signature_only or token.
	Mode string `json:"mode,omitempty" jsonschema:"enum=api_key,enum=signature_only,enum=token"`
	// Token is the bearer token of mode token, required by it and rejected
	// by the other modes.
	Token string `json:"token,omitempty"`
}

// Delivery is the runtime.delivery block: how callbacks and event webhooks
// are retried.
type Delivery struct {
	// RetrySchedule is the wait before each attempt after the first: 1 to
	// 20 entries of at most 48h. Default: [DefaultRetrySchedule]. Each wait
	// gets up to 20% jitter.
	RetrySchedule []Duration `json:"retry_schedule,omitempty" jsonschema:"minItems=1,maxItems=20"`
	// Timeout bounds each attempt: more than 0, at most 5m. Default 15s.
	Timeout Duration `json:"timeout,omitempty"`
}

// EventWebhook is the runtime.event_webhook block: the default target of
// session events pushed over HTTP.
type EventWebhook struct {
	// URL is an absolute http or https URL. Required.
	URL string `json:"url"`
	// SigningSecret overrides runtime.signing_secret for these POSTs: a
	// `whsec_` secret.
	SigningSecret string `json:"signing_secret,omitempty"`
}
