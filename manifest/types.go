package manifest

// Manifest is one agent's configuration, loaded from YAML by [Load] or
// [Parse]. Fields hold the values after `${VAR}` expansion and after the
// defaults of [Manifest.ApplyDefaults] are filled in.
type Manifest struct {
	// ID names the agent: letters, digits, '-' and '_'.
	ID string `json:"id" jsonschema:"pattern=^[A-Za-z0-9_-]+$"`
	// Name is a display name.
	Name string `json:"name"`
	// Version is free text, usually semantic versioning.
	Version string `json:"version,omitempty"`
	// AgentConfig holds every block the server reads.
	AgentConfig AgentConfig `json:"agent_config"`

	// Endpoint and Secrets are read only by the hosted Interactive Agents
	// platform. They are accepted, so its manifests load, and ignored with a
	// warning.
	Endpoint any `json:"endpoint,omitempty"`
	Secrets  any `json:"secrets,omitempty"`

	// Dir is the directory that relative file paths resolve against: the
	// manifest file's directory, or the working directory for [Parse].
	Dir string `json:"-"`
	// Warnings lists accepted keys that the server ignores.
	Warnings []string `json:"-"`
}

// AgentConfig is the `agent_config` block.
type AgentConfig struct {
	Runtime Runtime `json:"runtime"`
	LLMs    LLMs    `json:"llms"`
	Context Context `json:"context,omitempty"`
	// Webhooks are the inbound entry points that third parties call.
	Webhooks []Webhook `json:"webhooks,omitempty"`
	// MCPs are the Model Context Protocol servers whose tools the agent
	// may call.
	MCPs []MCP `json:"mcps,omitempty"`
	// Search is the knowledge base; none when omitted.
	Search *Search `json:"search,omitempty"`
	// Database is the durable store; the in-memory store when omitted.
	Database *Database `json:"database,omitempty"`
	// Traces is where spans are exported; nowhere when omitted.
	Traces *Traces `json:"traces,omitempty"`

	// InteractivePlatform is read only by the hosted platform; it is
	// accepted and ignored with a warning.
	InteractivePlatform any `json:"interactive_platform,omitempty"`
}

// Double-texting modes: what happens to a customer message that arrives
// while a turn is running.
const (
	// DoubleTextInterrupt cancels the running turn and restarts it with every
	// unanswered message.
	DoubleTextInterrupt = "interrupt"
	// DoubleTextEnqueue lets the running turn finish; the next turn then
	// replies to the new message, together with any others that arrived
	// meanwhile.
	DoubleTextEnqueue = "enqueue"
	// DoubleTextReject refuses the message with 409 while a turn runs.
	DoubleTextReject = "reject"
)

// Tool access modes: which tools the chat lane is offered each round.
const (
	ToolAccessOpen   = "open"
	ToolAccessGuided = "guided"
)

// Runtime is the `agent_config.runtime` block.
type Runtime struct {
	// APIKey is the bearer token for every authenticated route. Required.
	APIKey string `json:"api_key"`
	// LogLevel is debug, info (default), warn or error, in any case;
	// "warning" means warn. Loading stores it in lower case.
	LogLevel string `json:"log_level,omitempty"`
	// MaxEngineIterations caps the tool and think rounds of one turn.
	// Default 5.
	MaxEngineIterations int `json:"max_engine_iterations,omitempty" jsonschema:"minimum=1,maximum=100"`
	// PolicyBatchSize is the number of policy conditions per matching call.
	// Default 5.
	PolicyBatchSize int `json:"policy_batch_size,omitempty" jsonschema:"minimum=1,maximum=100"`
	// SigningSecret signs callbacks and event webhooks with the Standard
	// Webhooks scheme: a `whsec_` secret.
	SigningSecret string `json:"signing_secret,omitempty"`
	// PreviousSigningSecrets are still signed with during a key rotation,
	// so receivers that know only an older secret keep verifying.
	PreviousSigningSecrets []string `json:"previous_signing_secrets,omitempty"`
	// EventWebhook is the default target of session events pushed over
	// HTTP; a session's own webhook_url wins.
	EventWebhook *EventWebhook `json:"event_webhook,omitempty"`
	// Outbound sets which private destinations callbacks and event
	// webhooks may reach.
	Outbound Outbound `json:"outbound,omitempty"`
	// OutboundAuth sets the bearer token sent on callbacks and event
	// webhooks.
	OutboundAuth OutboundAuth `json:"outbound_auth,omitempty"`
	// Delivery sets the retry schedule and timeout of outbound POSTs.
	Delivery Delivery `json:"delivery,omitempty"`
	// DoubleTexting is interrupt (default), enqueue or reject.
	DoubleTexting string `json:"double_texting,omitempty" jsonschema:"enum=interrupt,enum=enqueue,enum=reject"`
	// ToolAccess is open (default: every tool is offered) or guided.
	ToolAccess string `json:"tool_access,omitempty" jsonschema:"enum=open,enum=guided"`
	// MetricsPublic serves /metrics without authentication.
	MetricsPublic bool `json:"metrics_public,omitempty"`
	// MaxBodyBytes limits request bodies. Default 1 MiB.
	MaxBodyBytes int64 `json:"max_body_bytes,omitempty" jsonschema:"minimum=1024"`
	// LongPollMaxWait is the longest a long-poll request waits.
	// Default 60s.
	LongPollMaxWait Duration `json:"long_poll_max_wait,omitempty"`
	// TurnTimeout bounds one turn, model calls included. Default 2m.
	TurnTimeout Duration `json:"turn_timeout,omitempty"`
	// LeaseTTL is how long a claim on a turn, a run or a session's event
	// delivery lasts without a heartbeat: when a replica dies, another
	// takes its work over this long after its last heartbeat. A callback's
	// claim lasts delivery.timeout plus LeaseTTL. From 1s to 10m.
	// Default 30s.
	LeaseTTL Duration `json:"lease_ttl,omitempty"`
	// ToolResultMaxBytes limits the size in bytes of one tool result sent
	// to the model. A longer result is cut and marked as cut. From 1 KiB
	// to 10 MiB. Default 64 KiB.
	ToolResultMaxBytes int `json:"tool_result_max_bytes,omitempty" jsonschema:"minimum=1024,maximum=10485760"`
}

// LLMs is the `agent_config.llms` block. Model ids are "provider/model",
// for example "openai/gpt-4o-mini" or "scripted/demo".
type LLMs struct {
	// Default is the chat lane's model. Required.
	Default string `json:"default"`
	// Fallback models are tried in order when the default fails.
	Fallback []string `json:"fallback,omitempty"`
	// Evaluation is the matching lane's model; defaults to Default.
	Evaluation string `json:"evaluation,omitempty"`
	// EvaluationFallback models are tried in order when Evaluation fails.
	EvaluationFallback []string `json:"evaluation_fallback,omitempty"`
	// Embedding is the embedding model, used by the knowledge base.
	Embedding string `json:"embedding,omitempty"`
	// ContextWindow is the chat lane's context size in tokens; history is
	// trimmed to fit. Default 128000.
	ContextWindow int `json:"context_window,omitempty" jsonschema:"minimum=256"`
	// EvaluationContextWindow is the evaluation lane's context size in
	// tokens. Default: ContextWindow.
	EvaluationContextWindow int `json:"evaluation_context_window,omitempty" jsonschema:"minimum=256"`
	// Providers configures each provider by name: openai, anthropic,
	// ollama, scripted.
	Providers map[string]Provider `json:"providers,omitempty"`
}

// Provider configures one model provider.
type Provider struct {
	// APIKey is the provider's token. For openai and anthropic it is
	// required unless BaseURL points at a server that needs none.
	APIKey string `json:"api_key,omitempty"`
	// BaseURL overrides the provider's address, for example an
	// OpenAI-compatible server or Ollama's http://127.0.0.1:11434/v1.
	BaseURL string `json:"base_url,omitempty"`
	// Script is the rule file of the scripted provider, relative to the
	// manifest.
	Script string `json:"script,omitempty"`
	// Timeout bounds each model call. Default 60s.
	Timeout Duration `json:"timeout,omitempty"`
	// MaxRetries is the number of retries after a 429 or 5xx response.
	// Default 2.
	MaxRetries *int `json:"max_retries,omitempty" jsonschema:"minimum=0,maximum=10"`
}

// Context is the `agent_config.context` block: the agent's prompt,
// language, greeting, variables, glossary, policies, routines and
// macros.
type Context struct {
	// SystemPrompt is the base instruction, inline or from a file.
	SystemPrompt *SystemPrompt `json:"system_prompt,omitempty"`
	// Language is a fixed reply language ("English", "de") or "auto"
	// (default) for the customer's language.
	Language string `json:"language,omitempty"`
	// Greeting, when set, is the first agent_message of every new session.
	Greeting string `json:"greeting,omitempty"`
	// Variables declares the variables the prompt may show.
	Variables []Variable `json:"variables,omitempty"`
	// Routines are written inline or as paths of YAML files relative to
	// the manifest; after loading, every entry holds the routine itself.
	Routines []Routine `json:"routines,omitempty"`
	// Glossary lists terms that are explained to the model in turns whose
	// conversation mentions them.
	Glossary []Term `json:"glossary,omitempty"`
	// Policies are written inline or as paths of YAML files relative to
	// the manifest; after loading, every entry holds the policy itself.
	Policies []Policy `json:"policies,omitempty"`
	// Relationships order and link policies.
	Relationships Relationships `json:"relationships,omitempty"`
	// Macros are approved reply wordings that chat nodes of routines
	// name.
	Macros []Macro `json:"macros,omitempty"`
	// Handoff offers the built-in:handoff tool, which hands the session to
	// a human, in every round under runtime.tool_access open. Under
	// guided, and in either mode for a matched policy that lists it, a
	// policy's tools decide.
	Handoff bool `json:"handoff,omitempty"`
}

// SystemPrompt is inline text or a file relative to the manifest; exactly
// one of the two is set.
type SystemPrompt struct {
	Text string `json:"text,omitempty"`
	File string `json:"file,omitempty"`
}

// Variable scopes: where a variable's value is stored.
const (
	ScopeCustomer = "customer"
	ScopeSession  = "session"
)

// Variable declares one variable shown to the model.
type Variable struct {
	Name        string `json:"name" jsonschema:"pattern=^[A-Za-z_][A-Za-z0-9_]*$"`
	Description string `json:"description,omitempty"`
	// Type is string (default), number, integer, boolean or object.
	Type string `json:"type,omitempty" jsonschema:"enum=string,enum=number,enum=integer,enum=boolean,enum=object"`
	// DefaultValue is used when neither the session nor the customer sets
	// the variable.
	DefaultValue any `json:"default_value,omitempty"`
	// Scope is customer or session (default).
	Scope string `json:"scope,omitempty" jsonschema:"enum=customer,enum=session"`
}
