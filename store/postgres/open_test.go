package postgres

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/agentry/agentry/internal/testenv"
	"github.com/agentry/agentry/store"
)

// appliedVersions returns the versions recorded in the schema's
// schema_migrations table.
func appliedVersions(t *testing.T, rawURL, schema string) []int32 {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, rawURL)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "SELECT version FROM "+pgx.Identifier{schema, "schema_migrations"}.Sanitize()+" ORDER BY version")
	if err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	return versions
}

func embeddedVersions(t *testing.T) []int32 {
	t.Helper()
	list, err := loadMigrations()
	if err != nil {
		t.Fatalf("loadMigrations: %v", err)
	}
	var out []int32
	for _, m := range list {
		out = append(out, int32(m.version))
	}
	return out
}

func TestOpenMigratesEmptySchema(t *testing.T) {
	s, rawURL, schema := openTest(t)
	want := embeddedVersions(t)
	if got := appliedVersions(t, rawURL, schema); !equalInts(got, want) {
		t.Fatalf("applied versions = %v, want %v", got, want)
	}
	if _, _, err := s.CreateSession(context.Background(), store.Session{ID: "s"}, nil); err != nil {
		t.Fatalf("CreateSession after migration: %v", err)
	}
}

func TestOpenAgainIsNoOp(t *testing.T) {
	ctx := context.Background()
	first, rawURL, schema := openTest(t)
	if _, _, err := first.CreateSession(ctx, store.Session{ID: "kept"}, nil); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	_ = first.Close()

	second := openAt(t, rawURL, schema)
	if got, want := appliedVersions(t, rawURL, schema), embeddedVersions(t); !equalInts(got, want) {
		t.Fatalf("applied versions after second Open = %v, want %v", got, want)
	}
	if _, err := second.GetSession(ctx, "kept"); err != nil {
		t.Fatalf("GetSession after second Open: %v", err)
	}
}

func TestOpenConcurrentOnFreshSchema(t *testing.T) {
	rawURL := testenv.PostgresURL(t)
	// The schema does not exist yet: every Open races to create it.
	schema := testenv.PostgresSchema(t, rawURL) + "_fresh"
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), rawURL)
		if err != nil {
			t.Errorf("connect to drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})

	const replicas = 4
	var wg sync.WaitGroup
	errs := make([]error, replicas)
	stores := make([]*Store, replicas)
	for i := range replicas {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			stores[i], errs[i] = Open(ctx, rawURL, WithSchema(schema))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open %d: %v", i, err)
			continue
		}
		defer stores[i].Close()
	}
	if got, want := appliedVersions(t, rawURL, schema), embeddedVersions(t); !equalInts(got, want) {
		t.Fatalf("applied versions = %v, want %v", got, want)
	}
}

func TestOpenSchemaFromSearchPath(t *testing.T) {
	rawURL := testenv.PostgresURL(t)
	schema := testenv.PostgresSchema(t, rawURL)
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatalf("parse test URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema+",public")
	u.RawQuery = q.Encode()

	ctx := context.Background()
	s, err := Open(ctx, u.String())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	if s.schema != schema {
		t.Fatalf("schema = %q, want %q from search_path", s.schema, schema)
	}
	if got := appliedVersions(t, rawURL, schema); len(got) == 0 {
		t.Fatalf("no migrations recorded in schema %s", schema)
	}
}

func TestOpenErrors(t *testing.T) {
	rawURL := testenv.PostgresURL(t)
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatalf("parse test URL: %v", err)
	}
	const secret = "s3cret-Pw-9481"

	wrongPassword := *u
	wrongPassword.User = url.UserPassword(u.User.Username(), secret)

	wrongUser := *u
	wrongUser.User = url.UserPassword("agentry_no_such_user", secret)

	wrongDatabase := *u
	wrongDatabase.Path = "/agentry_no_such_db"

	refused := *u
	refused.Host = "127.0.0.1:" + strconv.Itoa(closedPort(t))
	refused.User = url.UserPassword(u.User.Username(), secret)

	tests := []struct {
		name        string
		url         string
		want        []string
		unavailable bool
		// passwordChecked marks a case that needs the server to check
		// passwords on loopback connections.
		passwordChecked bool
	}{
		{
			name:            "wrong password",
			url:             wrongPassword.String(),
			want:            []string{"authentication failed", u.Hostname(), u.Port(), "agentry_test", u.User.Username()},
			passwordChecked: true,
		},
		{
			name: "wrong user",
			url:  wrongUser.String(),
			want: []string{"authentication failed", u.Hostname(), u.Port(), "agentry_test", "agentry_no_such_user"},
		},
		{
			name: "wrong database",
			url:  wrongDatabase.String(),
			want: []string{"database does not exist", "agentry_no_such_db", u.Hostname(), u.User.Username()},
		},
		{
			name:        "refused port",
			url:         refused.String(),
			want:        []string{refused.Host},
			unavailable: true,
		},
		{
			name: "unparsable URL",
			url:  "postgres://user:" + secret + "@127.0.0.1:99999999/db?sslmode=%zz",
			want: []string{"invalid PostgreSQL connection settings", "user:xxxxx@"},
		},
	}
	// A schema of this test, so an Open that wrongly succeeds creates
	// nothing outside it.
	schema := testenv.PostgresSchema(t, rawURL)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.passwordChecked && !passwordChecked(t, wrongPassword.String()) {
				t.Skip("the server accepts any password on loopback (trust authentication in pg_hba.conf)")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			s, err := Open(ctx, tt.url, WithSchema(schema))
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded, want an error")
			}
			msg := err.Error()
			t.Logf("Open error: %v", msg)
			if strings.Contains(msg, secret) {
				t.Errorf("error contains the password: %v", msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not name %q", msg, w)
				}
			}
			if got := errors.Is(err, store.ErrUnavailable); got != tt.unavailable {
				t.Errorf("errors.Is(err, ErrUnavailable) = %v, want %v (err: %v)", got, tt.unavailable, err)
			}
		})
	}
}

// passwordChecked reports whether the server rejects the wrong password
// in rawURL.
func passwordChecked(t *testing.T, rawURL string) bool {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), rawURL)
	if err != nil {
		return true
	}
	conn.Close(context.Background())
	return false
}

// closedPort returns a loopback port with no listener.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

func equalInts(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestOpenWithPoolConfig(t *testing.T) {
	ctx := context.Background()
	called := false
	s, _, _ := openTest(t, WithPoolConfig(func(c *pgxpool.Config) {
		called = true
		c.MaxConns = 2
		c.ConnConfig.RuntimeParams["application_name"] = "agentry-pool-test"
	}))
	if !called {
		t.Fatal("WithPoolConfig function not called")
	}
	if got := s.pool.Config().MaxConns; got != 2 {
		t.Fatalf("pool MaxConns = %d, want 2", got)
	}
	var name, searchPath string
	if err := s.pool.QueryRow(ctx, "SELECT current_setting('application_name'), current_setting('search_path')").Scan(&name, &searchPath); err != nil {
		t.Fatalf("read settings: %v", err)
	}
	if name != "agentry-pool-test" {
		t.Errorf("application_name = %q, want agentry-pool-test", name)
	}
	want := pgx.Identifier{s.schema}.Sanitize()
	if searchPath != want {
		t.Errorf("search_path = %q, want %q", searchPath, want)
	}
	if got := s.listener.backendPID.Load(); got == 0 {
		t.Error("listener not connected")
	}
}
