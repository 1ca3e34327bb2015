package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// migrations holds the schema changes, applied in the order of their
// numeric prefix. A released file is never edited; a change gets a new
// file.
//
//go:embed migrations/*.sql
var migrations embed.FS

// migration is one embedded .sql file.
type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations returns the embedded migrations sorted by version.
func loadMigrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrations, "migrations")
	if err != nil {
		return nil, fmt.Errorf("read embedded migrations: %w", err)
	}
	var out []migration
	for _, e := range entries {
		prefix, _, ok := strings.Cut(e.Name(), "_")
		version, err := strconv.Atoi(prefix)
		if !ok || err != nil || version <= 0 {
			return nil, fmt.Errorf("embedded migration %s: name must start with a positive number and an underscore", e.Name())
		}
		body, err := migrations.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, fmt.Errorf("read embedded migration %s: %w", e.Name(), err)
		}
		out = append(out, migration{version: version, name: e.Name(), sql: string(body)})
	}
	slices.SortFunc(out, func(a, b migration) int { return a.version - b.version })
	return out, nil
}

// migrate creates the schema when it is missing and applies the
// migrations not yet recorded in its schema_migrations table, all in one
// transaction. The transaction first takes an advisory lock keyed by the
// schema name, so replicas starting together apply each migration once:
// the others wait, then find everything recorded.
func (s *Store) migrate(ctx context.Context) error {
	list, err := loadMigrations()
	if err != nil {
		return err
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		// The first statement opens the pool's first connection, so this
		// is where a wrong address or credential shows.
		return fmt.Errorf("connect: %w", err)
	}
	defer func() { _ = tx.Rollback(context.Background()) }()

	quoted := pgx.Identifier{s.schema}.Sanitize()
	steps := []string{
		"SELECT pg_advisory_xact_lock(hashtextextended('agentry schema migrations ' || $1, 0))",
		"CREATE SCHEMA IF NOT EXISTS " + quoted,
		`CREATE TABLE IF NOT EXISTS ` + quoted + `.schema_migrations (
			version    integer PRIMARY KEY,
			name       text NOT NULL,
			applied_at timestamptz NOT NULL DEFAULT now())`,
	}
	if _, err := tx.Exec(ctx, steps[0], s.schema); err != nil {
		return fmt.Errorf("migrate schema %q: lock: %w", s.schema, err)
	}
	for _, step := range steps[1:] {
		if _, err := tx.Exec(ctx, step); err != nil {
			return fmt.Errorf("migrate schema %q: %w", s.schema, err)
		}
	}

	applied := make(map[int]bool)
	rows, err := tx.Query(ctx, "SELECT version FROM "+quoted+".schema_migrations")
	if err != nil {
		return fmt.Errorf("migrate schema %q: read applied versions: %w", s.schema, err)
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return fmt.Errorf("migrate schema %q: read applied versions: %w", s.schema, err)
	}
	for _, v := range versions {
		applied[int(v)] = true
	}

	// The migrations name their tables without a schema.
	if _, err := tx.Exec(ctx, "SET LOCAL search_path TO "+quoted); err != nil {
		return fmt.Errorf("migrate schema %q: %w", s.schema, err)
	}
	for _, m := range list {
		if applied[m.version] {
			continue
		}
		if _, err := tx.Exec(ctx, m.sql); err != nil {
			return fmt.Errorf("migrate schema %q: apply %s: %w", s.schema, m.name, err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.version, m.name); err != nil {
			return fmt.Errorf("migrate schema %q: record %s: %w", s.schema, m.name, err)
		}
		s.logger.Info("applied postgres store migration", "schema", s.schema, "migration", m.name)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("migrate schema %q: commit: %w", s.schema, err)
	}
	return nil
}
