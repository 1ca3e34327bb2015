package pgvector_test

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/agentry/agentry/internal/testenv"
	"github.com/agentry/agentry/kb"
	"github.com/agentry/agentry/kb/pgvector"
	"github.com/agentry/agentry/manifest"
)

func TestNewInvalidConfig(t *testing.T) {
	const url = "postgres://u@127.0.0.1:1/db"
	tests := []struct {
		name string
		cfg  pgvector.Config
	}{
		{"no table", pgvector.Config{URL: url}},
		{"table with two dots", pgvector.Config{URL: url, Table: "a.b.c"}},
		{"table with empty part", pgvector.Config{URL: url, Table: "a."}},
		{"no url or host", pgvector.Config{Table: "docs"}},
		{"url and host", pgvector.Config{URL: url, Host: "127.0.0.1", Table: "docs"}},
		{"url and password", pgvector.Config{URL: url, Password: "pw", Table: "docs"}},
		{"port out of range", pgvector.Config{Host: "127.0.0.1", Port: 70000, Table: "docs"}},
		{"negative top_k", pgvector.Config{URL: url, Table: "docs", TopK: -1}},
		{"top_k too large", pgvector.Config{URL: url, Table: "docs", TopK: pgvector.MaxTopK + 1}},
		{"negative dimensions", pgvector.Config{URL: url, Table: "docs", Dimensions: -1}},
		{"negative timeout", pgvector.Config{URL: url, Table: "docs", Timeout: -time.Second}},
		{"filter not JSON", pgvector.Config{URL: url, Table: "docs", MetadataFilter: map[string]any{"x": math.NaN()}}},
		{"invalid sslmode", pgvector.Config{URL: url + "?sslmode=sometimes", Table: "docs"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := pgvector.New(tt.cfg, hashEmbedder{dims: testDims})
			if !errors.Is(err, pgvector.ErrInvalidConfig) {
				t.Errorf("error %v, want ErrInvalidConfig", err)
			}
			if r != nil {
				r.Close()
				t.Error("New returned a retriever with the error")
			}
		})
	}
}

func TestNewNilEmbedder(t *testing.T) {
	_, err := pgvector.New(pgvector.Config{URL: "postgres://u@127.0.0.1:1/db", Table: "docs"}, nil)
	if !errors.Is(err, pgvector.ErrInvalidConfig) {
		t.Errorf("error %v, want ErrInvalidConfig", err)
	}
}

// TestErrorsHidePassword checks the messages of configuration and
// connection errors for the password in its plain and URL-escaped forms.
func TestErrorsHidePassword(t *testing.T) {
	const password = "Secret pw/42!"
	escaped := "Secret%20pw%2F42%21"
	tests := []struct {
		name string
		cfg  pgvector.Config
	}{
		{"url with invalid port", pgvector.Config{URL: "postgres://u:" + escaped + "@127.0.0.1:99999/db"}},
		{"url that does not parse", pgvector.Config{URL: "postgres://u:" + escaped + "@[::1/db"}},
		{"url with invalid sslmode", pgvector.Config{URL: "postgres://u:" + escaped + "@127.0.0.1:1/db?sslmode=sometimes"}},
		{"key/value with invalid port", pgvector.Config{URL: "host=127.0.0.1 port=99999 password='" + password + "'"}},
		{"host fields with invalid sslmode", pgvector.Config{Host: "127.0.0.1", Port: 1, User: "u", Password: password, SSLMode: "sometimes"}},
		{"url refused", pgvector.Config{URL: "postgres://u:" + escaped + "@127.0.0.1:1/db?sslmode=disable&connect_timeout=5"}},
		{"host fields refused", pgvector.Config{Host: "127.0.0.1", Port: 1, User: "u", Password: password, SSLMode: "disable"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Table = "docs"
			r, err := pgvector.New(tt.cfg, hashEmbedder{dims: testDims})
			if err == nil {
				defer r.Close()
				err = r.Check(t.Context())
				if !errors.Is(err, kb.ErrUnavailable) {
					t.Errorf("Check: error %v, want kb.ErrUnavailable", err)
				}
				_, serr := r.Search(t.Context(), kb.Query{Text: "account"})
				if serr == nil {
					t.Fatal("Search on an unreachable server returned no error")
				}
				err = errors.Join(err, serr)
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, form := range []string{password, escaped, "Secret"} {
				if strings.Contains(err.Error(), form) {
					t.Errorf("error contains the password as %q: %v", form, err)
				}
			}
		})
	}
}

func TestHostFields(t *testing.T) {
	t.Parallel()
	url := testenv.PostgresURL(t)
	pc, err := pgconn.ParseConfig(url)
	if err != nil {
		t.Fatalf("parse the test database URL: %v", err)
	}
	f := setupCorpus(t, nil)

	cfg := pgvector.Config{
		Host:     pc.Host,
		Port:     int(pc.Port),
		User:     pc.User,
		Password: pc.Password,
		DBName:   pc.Database,
		SSLMode:  "disable",
		Table:    f.table,
	}
	r, err := pgvector.New(cfg, hashEmbedder{dims: testDims})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer r.Close()

	if err := r.Check(t.Context()); err != nil {
		t.Fatalf("Check: %v", err)
	}
	chunks, err := r.Search(t.Context(), kb.Query{Text: "account", TopK: 2})
	if err != nil {
		t.Fatalf("Search: %v", err)
	}
	if len(chunks) != 2 {
		t.Errorf("got %d chunks, want 2", len(chunks))
	}
}

func TestConfigFromManifest(t *testing.T) {
	s := manifest.Search{
		Type:                manifest.SearchPgvector,
		URL:                 "postgres://u@h/db",
		Host:                "h",
		Port:                6543,
		User:                "u",
		Password:            "p",
		DBName:              "db",
		SSLMode:             "require",
		Table:               "kb.docs",
		ContentKey:          "text",
		MetadataFilter:      map[string]any{"lang": "en"},
		EmbeddingDimensions: 768,
		TopK:                7,
		Timeout:             manifest.Duration(3 * time.Second),
	}
	want := pgvector.Config{
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
		Timeout:        3 * time.Second,
	}
	if got := pgvector.ConfigFromManifest(s); !reflect.DeepEqual(got, want) {
		t.Errorf("ConfigFromManifest = %+v, want %+v", got, want)
	}
}
