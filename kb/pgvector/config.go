package pgvector

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/agentry/agentry/internal/pgurl"
	"github.com/agentry/agentry/manifest"
)

// Defaults and limits of Config.
const (
	// DefaultContentKey is the metadata key of a chunk's text.
	DefaultContentKey = "content"
	// DefaultTopK is the number of chunks Search returns when neither
	// Query.TopK nor Config.TopK is set.
	DefaultTopK = 5
	// MaxTopK is the largest top_k Search accepts. Search sets
	// hnsw.ef_search to top_k, and 1000 is the largest value pgvector
	// 0.8.0 accepts for it.
	MaxTopK = 1000
	// DefaultTimeout bounds one Search when Config.Timeout is zero.
	DefaultTimeout = 10 * time.Second
	// DefaultPort is the PostgreSQL port used with Config.Host.
	DefaultPort = pgurl.DefaultPort
	// MaxIndexDimensions is the largest dimension of a vector column that
	// pgvector 0.8.0 can index with HNSW, so EnsureTable accepts no more.
	MaxIndexDimensions = 2000
	// MaxDimensions is the largest dimension of pgvector's vector type.
	MaxDimensions = 16000
)

// Config is the connection, table and search settings of a pgvector
// knowledge base.
type Config struct {
	// URL is the PostgreSQL connection URL or a key/value connection
	// string, with any parameter that pgx accepts, such as
	// postgres://user:password@host:5432/dbname?sslmode=require. Set
	// either URL or Host.
	URL string
	// Host, Port, User, Password, DBName and SSLMode are the connection
	// settings when URL is empty. Port defaults to DefaultPort, SSLMode to
	// pgx's default "prefer", User and DBName to pgx's defaults (the
	// PGUSER and PGDATABASE environment variables, else the OS user name).
	Host     string
	Port     int
	User     string
	Password string
	DBName   string
	SSLMode  string

	// Table is the table's name, or "schema.table". Each part is an exact,
	// case-sensitive identifier (it is quoted in SQL). Required.
	Table string
	// ContentKey is the metadata key that holds a chunk's text. Default
	// DefaultContentKey ("content").
	ContentKey string
	// MetadataFilter, when not empty, keeps only rows whose metadata
	// contains it (metadata @> filter). It applies in addition to
	// Query.Filter.
	MetadataFilter map[string]any
	// Dimensions, when not zero, is the vector dimension the table and
	// the embedder must both have.
	Dimensions int
	// TopK is the number of chunks Search returns when Query.TopK is 0.
	// Default DefaultTopK (5), at most MaxTopK.
	TopK int
	// Timeout bounds one Search, the query embedding included. Default
	// DefaultTimeout (10s).
	Timeout time.Duration
}

// ConfigFromManifest returns the Config of a search block of type
// pgvector.
func ConfigFromManifest(s manifest.Search) Config {
	return Config{
		URL:            s.URL,
		Host:           s.Host,
		Port:           s.Port,
		User:           s.User,
		Password:       s.Password,
		DBName:         s.DBName,
		SSLMode:        s.SSLMode,
		Table:          s.Table,
		ContentKey:     s.ContentKey,
		MetadataFilter: s.MetadataFilter,
		Dimensions:     s.EmbeddingDimensions,
		TopK:           s.TopK,
		Timeout:        time.Duration(s.Timeout),
	}
}

// withDefaults returns c with its zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.ContentKey == "" {
		c.ContentKey = DefaultContentKey
	}
	if c.TopK == 0 {
		c.TopK = DefaultTopK
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	return c
}

// validate checks the fields that do not depend on the connection.
func (c Config) validate() error {
	switch {
	case c.Table == "":
		return fmt.Errorf("%w: table is required", ErrInvalidConfig)
	case c.TopK < 0 || c.TopK > MaxTopK:
		return fmt.Errorf("%w: top_k %d is out of range 1..%d", ErrInvalidConfig, c.TopK, MaxTopK)
	case c.Dimensions < 0 || c.Dimensions > MaxDimensions:
		return fmt.Errorf("%w: embedding_dimensions %d is out of range 1..%d", ErrInvalidConfig, c.Dimensions, MaxDimensions)
	case c.Timeout < 0:
		return fmt.Errorf("%w: timeout %s is negative", ErrInvalidConfig, c.Timeout)
	}
	return nil
}

// parseTable splits "table" or "schema.table" into an identifier.
func parseTable(name string) (pgx.Identifier, error) {
	parts := strings.Split(name, ".")
	if len(parts) > 2 {
		return nil, fmt.Errorf("%w: table %q has more than one dot; use table or schema.table", ErrInvalidConfig, name)
	}
	for _, p := range parts {
		if p == "" {
			return nil, fmt.Errorf("%w: table %q has an empty name part; use table or schema.table", ErrInvalidConfig, name)
		}
	}
	return pgx.Identifier(parts), nil
}

// encodeFilter returns the JSON of a metadata filter, or nil for an empty
// one, which matches every row.
func encodeFilter(filter map[string]any) ([]byte, error) {
	if len(filter) == 0 {
		return nil, nil
	}
	data, err := json.Marshal(filter)
	if err != nil {
		return nil, fmt.Errorf("filter cannot be encoded as JSON: %w", err)
	}
	return data, nil
}

// poolConfig returns the pgxpool configuration of c and the redactor of
// its password.
func (c Config) poolConfig() (*pgxpool.Config, *pgurl.Redactor, error) {
	settings := pgurl.Settings{
		URL: c.URL, Host: c.Host, Port: c.Port, User: c.User,
		Password: c.Password, DBName: c.DBName, SSLMode: c.SSLMode,
	}
	pc, red, err := settings.PoolConfig("agentry")
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return pc, red, nil
}
