package agentry_test

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentry/agentry"
	"github.com/agentry/agentry/internal/testenv"
	"github.com/agentry/agentry/manifest"
	"github.com/agentry/agentry/store"
	"github.com/agentry/agentry/store/memory"
	"github.com/agentry/agentry/store/postgres"
	"github.com/agentry/agentry/store/sqlite"
)

// databaseManifest parses a minimal manifest with the given database
// block, resolving relative paths against dir.
func databaseManifest(t *testing.T, dir, block string) *manifest.Manifest {
	t.Helper()
	src := "id: db\nname: Database test\nagent_config:\n  runtime:\n    api_key: k\n  llms:\n    default: scripted/demo\n" + block
	m, err := manifest.Parse([]byte(src), manifest.WithDir(dir))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return m
}

func openStore(t *testing.T, m *manifest.Manifest) store.Store {
	t.Helper()
	s, err := agentry.OpenStore(context.Background(), m, nil)
	if err != nil {
		t.Fatalf("OpenStore: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestOpenStoreMemoryByDefault(t *testing.T) {
	s := openStore(t, databaseManifest(t, t.TempDir(), ""))
	if _, ok := s.(*memory.Store); !ok {
		t.Errorf("OpenStore without a database block = %T, want *memory.Store", s)
	}
}

func TestOpenStoreSQLiteRelativePath(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	s := openStore(t, databaseManifest(t, dir, "  database:\n    driver: sqlite\n    path: data/agentry.db\n"))
	if _, ok := s.(*sqlite.Store); !ok {
		t.Fatalf("OpenStore = %T, want *sqlite.Store", s)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "agentry.db")); err != nil {
		t.Errorf("the database file is not next to the manifest: %v", err)
	}
}

func TestOpenStoreSQLiteMissingDirectory(t *testing.T) {
	m := databaseManifest(t, t.TempDir(), "  database:\n    driver: sqlite\n    path: missing/agentry.db\n")
	_, err := agentry.OpenStore(context.Background(), m, nil)
	if err == nil {
		t.Fatal("OpenStore succeeded for a file in a missing directory")
	}
	if !strings.Contains(err.Error(), filepath.Join("missing", "agentry.db")) {
		t.Errorf("error %q does not name the path", err)
	}
}

func TestOpenStorePostgresHostFields(t *testing.T) {
	u, err := url.Parse(testenv.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	schema := testenv.PostgresSchema(t, u.String())
	password, _ := u.User.Password()
	block := "  database:\n    host: " + u.Hostname() + "\n    port: " + u.Port() +
		"\n    user: " + u.User.Username() + "\n    password: " + password +
		"\n    dbname: " + strings.TrimPrefix(u.Path, "/") + "\n    sslmode: disable\n    schema: " + schema + "\n"
	s := openStore(t, databaseManifest(t, t.TempDir(), block))
	if _, ok := s.(*postgres.Store); !ok {
		t.Fatalf("OpenStore = %T, want *postgres.Store", s)
	}
	if _, _, err := s.CreateSession(context.Background(), store.Session{ID: "s-1"}, nil); err != nil {
		t.Errorf("CreateSession on the opened store: %v", err)
	}
}

// The test server may trust loopback connections and accept any
// password, so the failure comes from a database that does not exist;
// the URL still carries a password that must not show.
func TestOpenStorePostgresWrongDatabase(t *testing.T) {
	u, err := url.Parse(testenv.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	const secret = "wrong-secret-4242"
	u.User = url.UserPassword(u.User.Username(), secret)
	u.Path = "/agentry_no_such_database"
	m := databaseManifest(t, t.TempDir(), "  database:\n    url: "+u.String()+"\n")
	_, err = agentry.OpenStore(context.Background(), m, nil)
	if err == nil {
		t.Fatal("OpenStore succeeded for a database that does not exist")
	}
	msg := err.Error()
	if strings.Contains(msg, secret) {
		t.Errorf("error contains the password: %s", msg)
	}
	for _, want := range []string{u.Host, strings.TrimPrefix(u.Path, "/")} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not name %q", msg, want)
		}
	}
}
