package pgvector_test

import (
	"context"
	"encoding/json"
	"hash/fnv"
	"math"
	"net/url"
	"strings"
	"testing"
	"unicode"

	"github.com/jackc/pgx/v5"

	"github.com/agentry/agentry/internal/testenv"
	"github.com/agentry/agentry/kb/pgvector"
)

// testDims is the vector dimension of most tests.
const testDims = 32

// hashEmbedder is a deterministic test embedder: each lowercased word
// adds 1 to the slot its FNV-1a hash selects. A text without letters or
// digits gets the all-zero vector.
type hashEmbedder struct {
	dims int
	// override, when set, replaces the vector of the texts it returns
	// non-nil for.
	override func(text string) []float32
}

func (e hashEmbedder) embed(text string) []float32 {
	if e.override != nil {
		if v := e.override(text); v != nil {
			return v
		}
	}
	v := make([]float32, e.dims)
	for _, w := range words(text) {
		h := fnv.New32a()
		h.Write([]byte(w))
		v[h.Sum32()%uint32(e.dims)]++
	}
	return v
}

func (e hashEmbedder) EmbedQuery(_ context.Context, text string) ([]float32, error) {
	return e.embed(text), nil
}

func (e hashEmbedder) EmbedDocuments(_ context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		out[i] = e.embed(t)
	}
	return out, nil
}

func words(text string) []string {
	return strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// cosine is the reference similarity the tests compare Search with.
func cosine(a, b []float32) float64 {
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	return dot / (math.Sqrt(na) * math.Sqrt(nb))
}

// corpus returns documents that all contain the word "account".
func corpus() []pgvector.Document {
	return []pgvector.Document{
		{ID: "billing-invoices", Content: "Invoices for your account are issued monthly and paid by card.",
			Metadata: map[string]any{"topic": "billing", "version": 2, "tags": []any{"payments", "invoices"},
				"owner": map[string]any{"team": "payments", "region": "eu"}}},
		{ID: "billing-refunds", Content: "Refunds go back to the account that paid within ten days.",
			Metadata: map[string]any{"topic": "billing", "version": 1, "tags": []any{"payments"},
				"owner": map[string]any{"team": "payments", "region": "eu"}}},
		{ID: "security-password", Content: "Reset the account password from the sign-in page.",
			Metadata: map[string]any{"topic": "security", "version": 2, "tags": []any{"login"},
				"owner": map[string]any{"team": "identity", "region": "us"}}},
		{ID: "security-two-factor", Content: "Two-factor authentication protects the account with a code.",
			Metadata: map[string]any{"topic": "security", "version": 1, "tags": []any{"login", "mfa"},
				"owner": map[string]any{"team": "identity", "region": "us"}}},
		{ID: "data-export", Content: "Export account data as a CSV archive from settings.",
			Metadata: map[string]any{"topic": "data", "version": 1, "beta": true}},
		{ID: "data-deletion", Content: "Deleting an account removes every project after thirty days.",
			Metadata: map[string]any{"topic": "data", "version": 1, "beta": false}},
		{ID: "developer-keys", Content: "Create API keys for an account under developer settings.",
			Metadata: map[string]any{"topic": "developers", "version": 3}},
	}
}

// fixture is a retriever over its own table.
type fixture struct {
	r     *pgvector.Retriever
	url   string // the database URL
	table string // "schema.docs"
}

// setup returns a retriever over an empty table of testDims dimensions,
// in a schema of its own.
func setup(t *testing.T, embedder hashEmbedder, change func(*pgvector.Config)) fixture {
	t.Helper()
	url := testenv.PostgresURL(t)
	cfg := pgvector.Config{URL: url, Table: testenv.PostgresSchema(t, url) + ".docs"}
	if change != nil {
		change(&cfg)
	}
	r, err := pgvector.New(cfg, embedder)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(r.Close)
	if err := r.EnsureTable(t.Context(), testDims); err != nil {
		t.Fatalf("EnsureTable: %v", err)
	}
	return fixture{r: r, url: url, table: cfg.Table}
}

// setupCorpus is setup with the corpus upserted.
func setupCorpus(t *testing.T, change func(*pgvector.Config)) fixture {
	t.Helper()
	f := setup(t, hashEmbedder{dims: testDims}, change)
	if err := f.r.Upsert(t.Context(), corpus()); err != nil {
		t.Fatalf("Upsert: %v", err)
	}
	return f
}

// execSQL runs statements on a new connection to url.
func execSQL(t *testing.T, url, sql string, args ...any) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(t.Context(), sql, args...); err != nil {
		t.Fatalf("exec %q: %v", sql, err)
	}
}

// countRows returns the number of rows of table.
func countRows(t *testing.T, url, table string) int {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatalf("count rows of %s: %v", table, err)
	}
	return n
}

// withParam returns rawURL with the query parameter key set to value.
// pgx sends parameters it does not know as run-time settings.
func withParam(t *testing.T, rawURL, key, value string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatalf("parse the test database URL: %v", err)
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String()
}

// normalize returns m as encoding/json decodes it, with float64 numbers.
func normalize(t *testing.T, m map[string]any) map[string]any {
	t.Helper()
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatalf("encode metadata: %v", err)
	}
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("decode metadata: %v", err)
	}
	return out
}
