package manifest

// Database drivers of the database block.
const (
	DatabasePostgres = "postgres"
	DatabaseSQLite   = "sqlite"
)

// Database is the agent_config.database block: where the server keeps
// customers, sessions, events, runs and delivery progress. Without it the
// server uses the in-memory store, which loses everything on restart.
type Database struct {
	// Driver is postgres or sqlite. Default postgres.
	Driver string `json:"driver,omitempty" jsonschema:"enum=postgres,enum=sqlite"`

	// URL is the PostgreSQL URL, such as
	// postgres://user:password@host:5432/dbname. Host, Port, User,
	// Password, DBName and SSLMode may be given instead.
	URL      string `json:"url,omitempty"`
	Host     string `json:"host,omitempty"`
	Port     int    `json:"port,omitempty" jsonschema:"minimum=1,maximum=65535"`
	User     string `json:"user,omitempty"`
	Password string `json:"password,omitempty"`
	DBName   string `json:"dbname,omitempty"`
	SSLMode  string `json:"sslmode,omitempty"`
	// Schema is the PostgreSQL schema that holds the store's tables,
	// created when missing. Default public.
	Schema string `json:"schema,omitempty"`

	// Path is the SQLite database file, relative to the manifest's
	// directory. The directory must exist.
	Path string `json:"path,omitempty"`
}
