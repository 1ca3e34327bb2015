package manifest

// Authorization schemes of traces.api_key_scheme.
const (
	TraceAuthBearer = "bearer"
	TraceAuthBasic  = "basic"
)

// Traces is the agent_config.traces block: where the server exports its
// OpenTelemetry spans. Without it, or without backend.url, spans are not
// exported.
type Traces struct {
	// Backend is the OTLP/HTTP receiver.
	Backend TraceBackend `json:"backend,omitempty"`
	// APIKey is sent in the Authorization header of each export, after
	// the scheme that APIKeyScheme names. Optional.
	APIKey string `json:"api_key,omitempty"`
	// APIKeyScheme is bearer (default), sending "Bearer <api_key>", or
	// basic, sending "Basic <api_key>": for basic, api_key is the
	// base64 of "user:password".
	APIKeyScheme string `json:"api_key_scheme,omitempty" jsonschema:"enum=bearer,enum=basic"`
	// DeploymentEnvironment is the deployment.environment resource
	// attribute of every span, such as production or staging. Optional.
	DeploymentEnvironment string `json:"deployment_environment,omitempty"`
}

// TraceBackend is the traces.backend block.
type TraceBackend struct {
	// URL is the OTLP/HTTP traces endpoint, the full path included, such
	// as http://127.0.0.1:4318/v1/traces. The operator chooses it, so it
	// may be a private address; the outbound allowlist does not apply.
	URL string `json:"url,omitempty"`
}

// applyDefaults fills the unset fields of the block.
func (t *Traces) applyDefaults() {
	if t.APIKeyScheme == "" {
		t.APIKeyScheme = TraceAuthBearer
	}
}
