package postgres

import (
	"context"
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
	s, err := Open(ctx, url, append([]Option{WithSchema(schema)}, opts...)...)
	if err != nil {
		t.Fatalf("Open(schema %s): %v", schema, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}
