package manifest

// Knowledge base types of the search block.
const (
	SearchPgvector = "pgvector"
	SearchExternal = "external"
	SearchMemory   = "memory"
)

// Search is the agent_config.search block: the knowledge base the agent
// retrieves from.
type Search struct {
	// Type is pgvector, external or memory.
	Type string `json:"type" jsonschema:"enum=pgvector,enum=external,enum=memory"`

	// URL is the PostgreSQL URL (pgvector) or the search endpoint
	// (external). For pgvector, Host, Port, User, Password, DBName and
	// SSLMode may be given instead.
	URL      string `json:"url,omitempty"`
	Host     string `json:"host,omitempty"`
	Port     int    `json:"port,omitempty" jsonschema:"minimum=1,maximum=65535"`
	User     string `json:"user,omitempty"`
	Password string `json:"password,omitempty"`
	DBName   string `json:"dbname,omitempty"`
	SSLMode  string `json:"sslmode,omitempty"`

	// Table is the pgvector table: id text primary key, vec vector(N),
	// metadata jsonb. Required for pgvector.
	Table string `json:"table,omitempty"`
	// ContentKey is the metadata key that holds a chunk's text (pgvector).
	// Default "content".
	ContentKey string `json:"content_key,omitempty"`
	// MetadataFilter keeps only rows whose metadata contains it (JSONB
	// containment).
	MetadataFilter map[string]any `json:"metadata_filter,omitempty"`
	// EmbeddingDimensions is the vector size; it must match the table and
	// the embedding model.
	EmbeddingDimensions int `json:"embedding_dimensions,omitempty" jsonschema:"minimum=1,maximum=16000"`

	// APIKey is sent as a bearer token to the external endpoint.
	APIKey string `json:"api_key,omitempty"`
	// Timeout bounds one search (pgvector and external), at most 5m.
	// Default 10s.
	Timeout Duration `json:"timeout,omitempty"`

	// Documents are files or directories of Markdown and text, relative to
	// the manifest, for the memory type.
	Documents []string `json:"documents,omitempty"`

	// TopK is the number of chunks placed in the prompt. Default 5.
	TopK int `json:"top_k,omitempty" jsonschema:"minimum=1,maximum=100"`
}
