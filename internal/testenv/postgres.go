package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultPostgresURL is the test database that scripts/setup-postgres
// prepares: the agentry_test role (its password is public and it is no
// superuser) and the agentry_test database with the vector extension.
const DefaultPostgresURL = "postgres://agentry_test:agentry_test_pw@127.0.0.1:5432/agentry_test?sslmode=disable"

// PostgresURLEnv is the environment variable that overrides
// DefaultPostgresURL.
const PostgresURLEnv = "AGENTRY_TEST_DATABASE_URL"

// postgresCheckTimeout bounds the connection check of PostgresURL and the
// statements of PostgresSchema.
const postgresCheckTimeout = 10 * time.Second

// PostgresURL returns the URL of the test database, read from
// AGENTRY_TEST_DATABASE_URL or DefaultPostgresURL when that is unset,
// after checking that the server accepts a connection and that the
// database has the vector extension. Otherwise it skips the test, or
// fails it under CI=true, with a message telling the user to run
// scripts/setup-postgres.
func PostgresURL(t testing.TB) string {
	t.Helper()
	url := os.Getenv(PostgresURLEnv)
	if url == "" {
		url = DefaultPostgresURL
	}
	if err := checkPostgres(url); err != nil {
		msg := fmt.Sprintf("%v; run scripts/setup-postgres from the repository root, or set %s to a database with the vector extension", err, PostgresURLEnv)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return url
}

// PostgresSchema creates a schema with a random name in the database at
// url and returns its name. The schema and everything in it is dropped
// when the test ends. Tests that put their tables in their own schema
// (as "schema.table") can run in parallel. The vector type stays in the
// schema where the extension was created (public by default), which is
// still on the search path.
func PostgresSchema(t testing.TB, url string) string {
	t.Helper()
	suffix := make([]byte, 8)
	if _, err := rand.Read(suffix); err != nil {
		t.Fatalf("random schema name: %v", err)
	}
	schema := "test_" + hex.EncodeToString(suffix)
	quoted := pgx.Identifier{schema}.Sanitize()
	if err := execPostgres(url, "CREATE SCHEMA "+quoted); err != nil {
		t.Fatalf("create schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		if err := execPostgres(url, "DROP SCHEMA IF EXISTS "+quoted+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return schema
}

// checkPostgres returns an error saying what is missing when the database
// at url cannot be reached or lacks the vector extension.
func checkPostgres(url string) error {
	ctx, cancel := context.WithTimeout(context.Background(), postgresCheckTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return fmt.Errorf("test database unavailable: %w", err)
	}
	defer conn.Close(context.Background())

	var version string
	err = conn.QueryRow(ctx, "SELECT extversion FROM pg_extension WHERE extname = 'vector'").Scan(&version)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("extension vector is not created in test database %s", conn.Config().Database)
	}
	if err != nil {
		return fmt.Errorf("look up extension vector in test database %s: %w", conn.Config().Database, err)
	}
	return nil
}

// execPostgres runs one statement on a new connection to url.
func execPostgres(url, sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), postgresCheckTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}
