package testenv

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// unreachablePostgresURL names a port where nothing listens, so the
// connection is refused at once.
const unreachablePostgresURL = "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=5"

func TestPostgresURLReachable(t *testing.T) {
	url := PostgresURL(t)
	want := os.Getenv(PostgresURLEnv)
	if want == "" {
		want = DefaultPostgresURL
	}
	if url != want {
		t.Errorf("PostgresURL = %q, want %q", url, want)
	}
}

func TestPostgresURLUnreachableSkips(t *testing.T) {
	t.Setenv("CI", "")
	t.Setenv(PostgresURLEnv, unreachablePostgresURL)
	var sub *testing.T
	t.Run("unreachable", func(t *testing.T) {
		sub = t
		PostgresURL(t)
		t.Error("PostgresURL returned for an unreachable server")
	})
	if !sub.Skipped() {
		t.Error("test with an unreachable server was not skipped")
	}
}

// TestPostgresURLUnreachableFailsInCI runs this test binary again with
// CI=true, because a failing subtest would fail this test too.
func TestPostgresURLUnreachableFailsInCI(t *testing.T) {
	if os.Getenv("TESTENV_CHILD") == "1" {
		PostgresURL(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestPostgresURLUnreachableFailsInCI$", "-test.v")
	cmd.Env = append(os.Environ(), "TESTENV_CHILD=1", "CI=true", PostgresURLEnv+"="+unreachablePostgresURL)
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("child test passed under CI=true, want a failure; output:\n%s", out)
	}
	if !strings.Contains(string(out), "scripts/setup-postgres") {
		t.Errorf("failure message does not mention scripts/setup-postgres; output:\n%s", out)
	}
	if strings.Contains(string(out), "--- SKIP") {
		t.Errorf("child test skipped under CI=true; output:\n%s", out)
	}
}

func TestPostgresSchemaDropped(t *testing.T) {
	url := PostgresURL(t)
	var schema string
	t.Run("create", func(t *testing.T) {
		schema = PostgresSchema(t, url)
		if !strings.HasPrefix(schema, "test_") {
			t.Errorf("schema %q has no test_ prefix", schema)
		}
		if !schemaExists(t, url, schema) {
			t.Errorf("schema %s does not exist during the test", schema)
		}
		other := PostgresSchema(t, url)
		if other == schema {
			t.Errorf("two calls returned the same schema %s", schema)
		}
	})
	if schemaExists(t, url, schema) {
		t.Errorf("schema %s still exists after the test ended", schema)
	}
}

func schemaExists(t *testing.T, url, schema string) bool {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	var exists bool
	err = conn.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = $1)", schema).Scan(&exists)
	if err != nil {
		t.Fatalf("look up schema %s: %v", schema, err)
	}
	return exists
}
