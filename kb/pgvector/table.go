package pgvector

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/agentry/agentry/kb"
)

// probeText is embedded by Check to learn the embedder's dimension.
const probeText = "dimension check"

// tableInfo is the table's vector dimension and the extension features
// that Search and Upsert use.
type tableInfo struct {
	// dims is the dimension of the vec column.
	dims int
	// iterativeScan is true when the extension has hnsw.iterative_scan
	// (pgvector 0.8.0 and newer).
	iterativeScan bool
}

// EnsureTable creates the table with a vec vector(dims) column and an
// HNSW index for cosine distance, unless they exist, then reads the table
// as Check does (without embedding a probe text). dims must be between 1
// and MaxIndexDimensions and equal Config.Dimensions when that is set.
// An existing table of another dimension is an error wrapping
// ErrDimensionMismatch. The schema of a "schema.table" name must exist.
func (r *Retriever) EnsureTable(ctx context.Context, dims int) error {
	if dims < 1 || dims > MaxIndexDimensions {
		return fmt.Errorf("%w: dimensions %d are out of range 1..%d (the largest vector an HNSW index accepts)",
			ErrInvalidConfig, dims, MaxIndexDimensions)
	}
	if r.cfg.Dimensions != 0 && dims != r.cfg.Dimensions {
		return fmt.Errorf("%w: EnsureTable got %d dimensions but embedding_dimensions is %d",
			ErrDimensionMismatch, dims, r.cfg.Dimensions)
	}
	index := pgx.Identifier{r.table[len(r.table)-1] + "_vec_idx"}.Sanitize()
	// dims is an int, so formatting it into the statement is safe.
	sql := "CREATE TABLE IF NOT EXISTS " + r.tableSQL + " (" +
		"id text PRIMARY KEY, " +
		"vec vector(" + strconv.Itoa(dims) + ") NOT NULL, " +
		"metadata jsonb NOT NULL DEFAULT '{}'::jsonb);\n" +
		"CREATE INDEX IF NOT EXISTS " + index + " ON " + r.tableSQL +
		" USING hnsw (vec vector_cosine_ops)"
	if _, err := r.pool.Exec(ctx, sql); err != nil {
		return r.redact(fmt.Errorf("%w: create table %s in database %s: %w", kb.ErrUnavailable, r.cfg.Table, r.database, err))
	}
	info, err := r.inspect(ctx)
	if err != nil {
		return err
	}
	if info.dims != dims {
		return fmt.Errorf("%w: table %s already exists with vector(%d), not vector(%d); drop it or use an embedding model with %d dimensions",
			ErrDimensionMismatch, r.cfg.Table, info.dims, dims, info.dims)
	}
	return nil
}

// Check reads the table's columns, fails when the table is missing or
// does not have the expected columns, and compares the dimension of its
// vec column with Config.Dimensions and with a vector that the embedder
// returns for a probe text. Call it at start-up so that a mismatch stops
// the server instead of failing every search. Search and Upsert read the
// table on their first use when Check has not run.
func (r *Retriever) Check(ctx context.Context) error {
	info, err := r.inspect(ctx)
	if err != nil {
		return err
	}
	probe, err := r.embedder.EmbedQuery(ctx, probeText)
	if err != nil {
		return r.redact(fmt.Errorf("%w: embed a probe text to check the embedder's dimension: %w", kb.ErrUnavailable, err))
	}
	return checkVector(probe, info.dims, "the embedder's vector", r.cfg.Table)
}

// tableInfo returns what inspect returned last, or calls it.
func (r *Retriever) tableInfo(ctx context.Context) (tableInfo, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.info != nil {
		return *r.info, nil
	}
	return r.inspectLocked(ctx)
}

// inspect reads the table's columns and the extension version, checks
// them and stores the result for Search and Upsert.
func (r *Retriever) inspect(ctx context.Context) (tableInfo, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.inspectLocked(ctx)
}

func (r *Retriever) inspectLocked(ctx context.Context) (tableInfo, error) {
	var (
		oid        *uint32
		extVersion *string
	)
	err := r.pool.QueryRow(ctx,
		"SELECT to_regclass($1)::oid, (SELECT extversion FROM pg_extension WHERE extname = 'vector')",
		r.tableSQL).Scan(&oid, &extVersion)
	if err != nil {
		return tableInfo{}, r.redact(fmt.Errorf("%w: look up table %s in database %s: %w", kb.ErrUnavailable, r.cfg.Table, r.database, err))
	}
	if oid == nil {
		return tableInfo{}, fmt.Errorf("%w: table %s does not exist in database %s; create it with columns id text primary key, vec vector(N), metadata jsonb (agentry kb ingest does), or correct the table setting",
			ErrTableNotFound, r.cfg.Table, r.database)
	}

	cols, err := r.columns(ctx, *oid)
	if err != nil {
		return tableInfo{}, err
	}
	info, err := checkColumns(cols, r.cfg.Table)
	if err != nil {
		return tableInfo{}, err
	}
	if r.cfg.Dimensions != 0 && info.dims != r.cfg.Dimensions {
		return tableInfo{}, fmt.Errorf("%w: column vec of table %s is vector(%d) but embedding_dimensions is %d",
			ErrDimensionMismatch, r.cfg.Table, info.dims, r.cfg.Dimensions)
	}
	if extVersion != nil {
		info.iterativeScan = versionAtLeast(*extVersion, 0, 8)
	}
	r.info = &info
	return info, nil
}

// column is one row of pg_attribute.
type column struct {
	typeName string // pg_type.typname, such as "vector"
	typmod   int    // for vector, its dimension; -1 when unset
	display  string // format_type, such as "vector(768)"
}

// columns returns the id, vec and metadata columns of the table with the
// given oid, by name.
func (r *Retriever) columns(ctx context.Context, oid uint32) (map[string]column, error) {
	rows, err := r.pool.Query(ctx, `
		SELECT a.attname, t.typname, a.atttypmod, format_type(a.atttypid, a.atttypmod)
		FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
		WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
		  AND a.attname IN ('id', 'vec', 'metadata')`, oid)
	if err != nil {
		return nil, r.redact(fmt.Errorf("%w: read the columns of table %s: %w", kb.ErrUnavailable, r.cfg.Table, err))
	}
	cols := map[string]column{}
	var (
		name string
		c    column
	)
	_, err = pgx.ForEachRow(rows, []any{&name, &c.typeName, &c.typmod, &c.display}, func() error {
		cols[name] = c
		return nil
	})
	if err != nil {
		return nil, r.redact(fmt.Errorf("%w: read the columns of table %s: %w", kb.ErrUnavailable, r.cfg.Table, err))
	}
	return cols, nil
}

// checkColumns checks the columns against the table contract and returns
// the dimension of vec.
func checkColumns(cols map[string]column, table string) (tableInfo, error) {
	const contract = "expected id text primary key, vec vector(N), metadata jsonb"
	for _, name := range []string{"id", "vec", "metadata"} {
		if _, ok := cols[name]; !ok {
			return tableInfo{}, fmt.Errorf("%w: table %s has no column %s; %s", ErrInvalidTable, table, name, contract)
		}
	}
	vec := cols["vec"]
	if vec.typeName != "vector" {
		return tableInfo{}, fmt.Errorf("%w: column vec of table %s is %s, not vector(N); %s", ErrInvalidTable, table, vec.display, contract)
	}
	if vec.typmod < 1 {
		return tableInfo{}, fmt.Errorf("%w: column vec of table %s is vector without a dimension; declare it vector(N)", ErrInvalidTable, table)
	}
	if meta := cols["metadata"]; meta.typeName != "jsonb" {
		return tableInfo{}, fmt.Errorf("%w: column metadata of table %s is %s, not jsonb; %s", ErrInvalidTable, table, meta.display, contract)
	}
	return tableInfo{dims: vec.typmod}, nil
}

// versionAtLeast reports whether a version such as "0.8.0" is at least
// major.minor.
func versionAtLeast(version string, major, minor int) bool {
	parts := strings.SplitN(version, ".", 3)
	if len(parts) < 2 {
		return false
	}
	gotMajor, err1 := strconv.Atoi(parts[0])
	gotMinor, err2 := strconv.Atoi(parts[1])
	if err := errors.Join(err1, err2); err != nil {
		return false
	}
	return gotMajor > major || (gotMajor == major && gotMinor >= minor)
}
