package pgvector_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/agentry/agentry/internal/testenv"
	"github.com/agentry/agentry/kb"
	"github.com/agentry/agentry/kb/pgvector"
)

func TestEnsureTableIndex(t *testing.T) {
	t.Parallel()
	f := setup(t, hashEmbedder{dims: testDims}, nil)
	if err := f.r.EnsureTable(t.Context(), testDims); err != nil {
		t.Fatalf("second EnsureTable: %v", err)
	}
	schema, _, _ := strings.Cut(f.table, ".")

	conn, err := pgx.Connect(t.Context(), f.url)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(context.Background())
	var defs []string
	rows, err := conn.Query(t.Context(), "SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = 'docs'", schema)
	if err != nil {
		t.Fatalf("list indexes: %v", err)
	}
	defs, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("list indexes: %v", err)
	}
	var hnsw int
	for _, d := range defs {
		if strings.Contains(d, "USING hnsw (vec vector_cosine_ops)") {
			hnsw++
		}
	}
	if hnsw != 1 {
		t.Errorf("found %d HNSW cosine indexes on vec, want 1; indexes: %q", hnsw, defs)
	}
	var vecType string
	err = conn.QueryRow(t.Context(), `SELECT format_type(atttypid, atttypmod) FROM pg_attribute
		WHERE attrelid = $1::regclass AND attname = 'vec'`, f.table).Scan(&vecType)
	if err != nil {
		t.Fatalf("read column vec: %v", err)
	}
	if want := fmt.Sprintf("vector(%d)", testDims); vecType != want {
		t.Errorf("column vec is %s, want %s", vecType, want)
	}
}

func TestEnsureTableInvalidDimensions(t *testing.T) {
	t.Parallel()
	f := setup(t, hashEmbedder{dims: testDims}, nil)
	for _, dims := range []int{0, -1, pgvector.MaxIndexDimensions + 1} {
		if err := f.r.EnsureTable(t.Context(), dims); !errors.Is(err, pgvector.ErrInvalidConfig) {
			t.Errorf("EnsureTable(%d): error %v, want ErrInvalidConfig", dims, err)
		}
	}
}

func TestEnsureTableOtherDimension(t *testing.T) {
	t.Parallel()
	f := setup(t, hashEmbedder{dims: testDims}, nil)
	err := f.r.EnsureTable(t.Context(), testDims*2)
	if !errors.Is(err, pgvector.ErrDimensionMismatch) {
		t.Fatalf("error %v, want ErrDimensionMismatch", err)
	}
	for _, part := range []string{f.table, fmt.Sprintf("vector(%d)", testDims), fmt.Sprintf("vector(%d)", testDims*2)} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q does not mention %q", err, part)
		}
	}
}

func TestCheckDimensionMismatch(t *testing.T) {
	t.Parallel()
	f := setup(t, hashEmbedder{dims: testDims}, nil)
	const embedderDims = 8
	r, err := pgvector.New(pgvector.Config{URL: f.url, Table: f.table}, hashEmbedder{dims: embedderDims})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer r.Close()

	err = r.Check(t.Context())
	if !errors.Is(err, pgvector.ErrDimensionMismatch) {
		t.Fatalf("Check: error %v, want ErrDimensionMismatch", err)
	}
	for _, part := range []string{f.table, fmt.Sprintf("vector(%d)", testDims), fmt.Sprintf("has %d dimensions", embedderDims)} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("Check: error %q does not mention %q", err, part)
		}
	}

	_, err = r.Search(t.Context(), kb.Query{Text: "account"})
	if !errors.Is(err, pgvector.ErrDimensionMismatch) {
		t.Errorf("Search: error %v, want ErrDimensionMismatch", err)
	}
	if !errors.Is(err, kb.ErrUnavailable) {
		t.Errorf("Search: error %v, want kb.ErrUnavailable", err)
	}

	err = r.Upsert(t.Context(), corpus()[:1])
	if !errors.Is(err, pgvector.ErrDimensionMismatch) {
		t.Errorf("Upsert: error %v, want ErrDimensionMismatch", err)
	}
	if n := countRows(t, f.url, f.table); n != 0 {
		t.Errorf("table has %d rows after a rejected Upsert, want 0", n)
	}
}

func TestCheckConfigDimensions(t *testing.T) {
	t.Parallel()
	f := setup(t, hashEmbedder{dims: testDims}, nil)
	cfg := pgvector.Config{URL: f.url, Table: f.table, Dimensions: testDims + 1}
	r, err := pgvector.New(cfg, hashEmbedder{dims: testDims})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer r.Close()
	err = r.Check(t.Context())
	if !errors.Is(err, pgvector.ErrDimensionMismatch) {
		t.Fatalf("Check: error %v, want ErrDimensionMismatch", err)
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("embedding_dimensions is %d", testDims+1)) {
		t.Errorf("Check: error %q does not name embedding_dimensions", err)
	}
	if err := r.EnsureTable(t.Context(), testDims); !errors.Is(err, pgvector.ErrDimensionMismatch) {
		t.Errorf("EnsureTable: error %v, want ErrDimensionMismatch", err)
	}
}

func TestCheckOK(t *testing.T) {
	t.Parallel()
	f := setup(t, hashEmbedder{dims: testDims}, func(c *pgvector.Config) { c.Dimensions = testDims })
	if err := f.r.Check(t.Context()); err != nil {
		t.Errorf("Check: %v", err)
	}
}

func TestCheckMissingTable(t *testing.T) {
	t.Parallel()
	url := testenv.PostgresURL(t)
	schema := testenv.PostgresSchema(t, url)
	for _, table := range []string{schema + ".missing", "no_such_schema_for_tests.docs"} {
		r, err := pgvector.New(pgvector.Config{URL: url, Table: table}, hashEmbedder{dims: testDims})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		defer r.Close()

		err = r.Check(t.Context())
		if !errors.Is(err, pgvector.ErrTableNotFound) {
			t.Errorf("Check(%s): error %v, want ErrTableNotFound", table, err)
		} else if !strings.Contains(err.Error(), table) || !strings.Contains(err.Error(), "agentry_test") {
			t.Errorf("Check(%s): error %q does not name the table and the database", table, err)
		}

		_, err = r.Search(t.Context(), kb.Query{Text: "account"})
		if !errors.Is(err, pgvector.ErrTableNotFound) || !errors.Is(err, kb.ErrUnavailable) {
			t.Errorf("Search(%s): error %v, want ErrTableNotFound and kb.ErrUnavailable", table, err)
		}
		if err := r.Upsert(t.Context(), corpus()); !errors.Is(err, pgvector.ErrTableNotFound) {
			t.Errorf("Upsert(%s): error %v, want ErrTableNotFound", table, err)
		}
	}
}

func TestCheckInvalidTable(t *testing.T) {
	t.Parallel()
	url := testenv.PostgresURL(t)
	schema := testenv.PostgresSchema(t, url)
	tests := []struct {
		name    string
		columns string
		mention string
	}{
		{"no metadata", "id text PRIMARY KEY, vec vector(4)", "no column metadata"},
		{"no id", "key text PRIMARY KEY, vec vector(4), metadata jsonb", "no column id"},
		{"vec is an array", "id text PRIMARY KEY, vec real[], metadata jsonb", "real[]"},
		{"vec without dimension", "id text PRIMARY KEY, vec vector, metadata jsonb", "without a dimension"},
		{"metadata is json", "id text PRIMARY KEY, vec vector(4), metadata json", "not jsonb"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			table := fmt.Sprintf("%s.t%d", schema, i)
			execSQL(t, url, "CREATE TABLE "+table+" ("+tt.columns+")")
			r, err := pgvector.New(pgvector.Config{URL: url, Table: table}, hashEmbedder{dims: 4})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			defer r.Close()
			err = r.Check(t.Context())
			if !errors.Is(err, pgvector.ErrInvalidTable) {
				t.Fatalf("error %v, want ErrInvalidTable", err)
			}
			if !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("error %q does not mention %q", err, tt.mention)
			}
		})
	}
}

// TestSearchIndexFilter makes the planner use the HNSW index and filters
// down to rows far from the query. An index scan alone returns only the
// ef_search nearest rows, none of which pass the filter, so the results
// are complete only when Search enables iterative index scans.
func TestSearchIndexFilter(t *testing.T) {
	t.Parallel()
	indexURL := withParam(t, testenv.PostgresURL(t), "enable_seqscan", "off")
	f := setup(t, hashEmbedder{dims: testDims}, func(c *pgvector.Config) { c.URL = indexURL })

	const near, far = 300, 6
	var docs []pgvector.Document
	for i := range near {
		docs = append(docs, pgvector.Document{
			ID:       fmt.Sprintf("near-%d", i),
			Content:  fmt.Sprintf("alpha beta w%d", i),
			Metadata: map[string]any{"group": "common"},
		})
	}
	for i := range far {
		docs = append(docs, pgvector.Document{
			ID:       fmt.Sprintf("far-%d", i),
			Content:  fmt.Sprintf("zulu yankee x%d", i),
			Metadata: map[string]any{"group": "rare"},
		})
	}
	if err := f.r.Upsert(t.Context(), docs); err != nil {
		t.Fatalf("Upsert: %v", err)
	}

	conn, err := pgx.Connect(t.Context(), indexURL)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(context.Background())
	var plan strings.Builder
	rows, err := conn.Query(t.Context(), "EXPLAIN SELECT id FROM "+f.table+
		" ORDER BY vec <=> (SELECT vec FROM "+f.table+" WHERE id = 'near-0') LIMIT 5")
	if err != nil {
		t.Fatalf("explain: %v", err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("explain: %v", err)
	}
	plan.WriteString(strings.Join(lines, "\n"))
	if !strings.Contains(plan.String(), "docs_vec_idx") {
		t.Fatalf("the plan does not use the HNSW index, so this test checks nothing:\n%s", plan.String())
	}

	chunks, err := f.r.Search(t.Context(), kb.Query{Text: "alpha beta", TopK: far, Filter: map[string]any{"group": "rare"}})
	if err != nil {
		t.Fatalf("Search: %v", err)
	}
	if len(chunks) != far {
		t.Errorf("got %d chunks, want all %d rows of group rare", len(chunks), far)
	}
	for _, c := range chunks {
		if !strings.HasPrefix(c.ID, "far-") {
			t.Errorf("chunk %s is not in group rare", c.ID)
		}
	}
}
