package postgres

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/agentry/agentry/internal/testenv"
)

// openTest opens a store in a new schema of the test database and closes
// it when the test ends.
func openTest(t testing.TB, opts ...Option) (*Store, string, string) {
	t.Helper()
	url := testenv.PostgresURL(t)
	schema := testenv.PostgresSchema(t, url)
	s := openAt(t, url, schema, opts...)
	return s, url, schema
}

// openAt opens a store on url and schema and closes it when the test
// ends.
func openAt(t testing.TB, url, schema string, opts ...Option) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Tests keep their output free of the migration log; a test that
	// reads the log passes its own WithLogger, which comes later and wins.
	quiet := slog.New(slog.DiscardHandler)
	s, err := Open(ctx, url, append([]Option{WithSchema(schema), WithLogger(quiet)}, opts...)...)
	if err != nil {
		t.Fatalf("Open(schema %s): %v", schema, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}
