package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentry/agentry/store"
	"github.com/agentry/agentry/store/storetest"
)

// lockChildEnv makes the test binary act as a second process that opens
// the store at the path in the variable, prints the outcome and exits.
const lockChildEnv = "AGENTRY_SQLITE_LOCK_CHILD"

func TestOpenSecondOpenInProcessFails(t *testing.T) {
	s, _ := newTestStore(t)
	_, err := Open(context.Background(), s.path, WithLogger(discardLogger()))
	if err == nil {
		t.Fatal("second Open of the same path: got nil error, want one saying the database is in use")
	}
	if !strings.Contains(err.Error(), "in use by another process") {
		t.Errorf("second Open error = %q, want it to say %q", err, "in use by another process")
	}
	if !strings.Contains(err.Error(), s.path) {
		t.Errorf("second Open error = %q, want it to name the path %q", err, s.path)
	}
}

func TestOpenLockedByOtherProcess(t *testing.T) {
	if path := os.Getenv(lockChildEnv); path != "" {
		s, err := Open(context.Background(), path, WithLogger(discardLogger()))
		if err != nil {
			fmt.Printf("open failed: %v\n", err)
			os.Exit(0)
		}
		_ = s.Close()
		fmt.Println("open succeeded")
		os.Exit(0)
	}

	s, _ := newTestStore(t)
	out := runLockChild(t, s.path)
	if !strings.Contains(out, "open failed") || !strings.Contains(out, "in use by another process") {
		t.Errorf("child Open while the parent holds the store printed %q, want a failure saying %q",
			out, "in use by another process")
	}
	if !strings.Contains(out, s.path) {
		t.Errorf("child Open error %q does not name the path %q", out, s.path)
	}

	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if out := runLockChild(t, s.path); !strings.Contains(out, "open succeeded") {
		t.Errorf("child Open after the parent closed the store printed %q, want %q", out, "open succeeded")
	}
}

// runLockChild runs this test in a child process that opens path, and
// returns what it printed.
func runLockChild(t *testing.T, path string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestOpenLockedByOtherProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), lockChildEnv+"="+path)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child process: %v\n%s", err, out)
	}
	return string(out)
}

func TestOpenPathErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, bytes.Repeat([]byte("not sqlite "), 400), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string
		want string
	}{
		{"missing directory", filepath.Join(dir, "missing", "agentry.db"), "does not exist"},
		{"parent is a file", filepath.Join(file, "agentry.db"), "is not a directory"},
		{"path is a directory", dir, "is a directory"},
		{"not a database", file, "not a database"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(context.Background(), tt.path, WithLogger(discardLogger()))
			if err == nil {
				_ = s.Close()
				t.Fatalf("Open(%q): got nil error, want one saying %q", tt.path, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open(%q) error = %q, want it to say %q", tt.path, err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.path) {
				t.Errorf("Open(%q) error = %q, want it to name the path", tt.path, err)
			}
		})
	}
}

func TestOpenUnwritableDirectory(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root ignores directory permissions, so the directory stays writable")
	}
	dir := filepath.Join(t.TempDir(), "readonly")
	if err := os.Mkdir(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "agentry.db")
	s, err := Open(context.Background(), path, WithLogger(discardLogger()))
	if err == nil {
		_ = s.Close()
		t.Fatalf("Open(%q) in a read-only directory: got nil error", path)
	}
	if !strings.Contains(err.Error(), path) || !errors.Is(err, os.ErrPermission) {
		t.Errorf("Open(%q) error = %q, want a permission error naming the path", path, err)
	}
}

func TestOpenMigrationsRunOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agentry.db")
	s := openTestStore(t, path, time.Now)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	before := readMigrations(t, path)
	s = openTestStore(t, path, time.Now)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	after := readMigrations(t, path)

	migrations, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(before) != len(migrations) {
		t.Errorf("schema_migrations has %d rows after the first Open, want %d", len(before), len(migrations))
	}
	if strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Errorf("schema_migrations changed on the second Open:\nbefore %q\nafter  %q", before, after)
	}
}

// readMigrations returns the rows of schema_migrations of the closed
// database at path.
func readMigrations(t *testing.T, path string) []string {
	t.Helper()
	db := openRaw(t, path)
	rows, err := db.Query(`SELECT version, name, applied_at FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var version, appliedAt int64
		var name string
		if err := rows.Scan(&version, &name, &appliedAt); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%d %s %d", version, name, appliedAt))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// openRaw opens the database at path without the store, for tests that
// inspect or damage it while no store has it open.
func openRaw(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func TestOpenNewerSchemaRejected(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agentry.db")
	s := openTestStore(t, path, time.Now)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db := openRaw(t, path)
	if _, err := db.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, '9999_future', 0)`); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s, err := Open(context.Background(), path, WithLogger(discardLogger()))
	if err == nil {
		_ = s.Close()
		t.Fatal("Open of a database with an unknown schema version: got nil error")
	}
	for _, want := range []string{"9999", "newer", path} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Open error = %q, want it to contain %q", err, want)
		}
	}
}

func TestOpenSetsPragmas(t *testing.T) {
	s, _ := newTestStore(t)
	ctx := context.Background()
	checks := []struct {
		pool   *sql.DB
		name   string
		pragma string
		want   string
	}{
		{s.writer, "writer", "journal_mode", "wal"},
		{s.writer, "writer", "synchronous", "2"},
		{s.writer, "writer", "foreign_keys", "1"},
		{s.writer, "writer", "busy_timeout", fmt.Sprint(busyTimeoutMillis)},
		{s.reader, "reader", "synchronous", "2"},
		{s.reader, "reader", "query_only", "1"},
		{s.reader, "reader", "foreign_keys", "1"},
	}
	for _, c := range checks {
		var got string
		if err := c.pool.QueryRowContext(ctx, "PRAGMA "+c.pragma).Scan(&got); err != nil {
			t.Fatalf("%s PRAGMA %s: %v", c.name, c.pragma, err)
		}
		if got != c.want {
			t.Errorf("%s PRAGMA %s = %q, want %q", c.name, c.pragma, got, c.want)
		}
	}
}

func TestCloseCheckpointsAndRejectsCalls(t *testing.T) {
	s, _ := newTestStore(t)
	ctx := context.Background()
	mustCreate(t, s, "s-1")
	if _, err := s.Append(ctx, "s-1", []store.NewEvent{textEvent("hi")}, store.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.path + "-wal"); err != nil {
		t.Fatalf("stat WAL file while open: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if _, err := os.Stat(s.path + suffix); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("stat %s file after Close: err = %v, want it removed by the checkpoint", suffix, err)
		}
	}
	if err := s.Close(); !errors.Is(err, store.ErrClosed) {
		t.Errorf("second Close = %v, want ErrClosed", err)
	}
	if _, err := s.GetSession(ctx, "s-1"); !errors.Is(err, store.ErrClosed) {
		t.Errorf("GetSession after Close = %v, want ErrClosed", err)
	}
	if _, err := s.Append(ctx, "s-1", []store.NewEvent{textEvent("hi")}, store.AppendOptions{}); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Append after Close = %v, want ErrClosed", err)
	}
	if err := s.Ping(ctx); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Ping after Close = %v, want ErrClosed", err)
	}
}

func TestPayloadsSurviveReopenByteExact(t *testing.T) {
	clock := storetest.NewClock()
	path := filepath.Join(t.TempDir(), "agentry.db")
	s := openTestStore(t, path, clock.Now)
	ctx := context.Background()
	mustCreate(t, s, "s-1")
	payloads := []json.RawMessage{
		json.RawMessage(`{ "text" : "caf\u00e9 é",  "n": 1.50 }`),
		nil,
		json.RawMessage{},
		json.RawMessage("{\"big\":9007199254740993}\n"),
	}
	events := make([]store.NewEvent, len(payloads))
	for i, p := range payloads {
		events[i] = store.NewEvent{Kind: "k", TurnID: fmt.Sprint("t-", i), Payload: p}
	}
	if _, err := s.Append(ctx, "s-1", events, store.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTestStore(t, path, clock.Now)

	got, err := s.ListEvents(ctx, "s-1", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(payloads) {
		t.Fatalf("ListEvents returned %d events, want %d", len(got), len(payloads))
	}
	for i, p := range payloads {
		if !bytes.Equal(got[i].Payload, p) || (got[i].Payload == nil) != (p == nil) {
			t.Errorf("event %d payload = %q (nil %v), want %q (nil %v)",
				i, got[i].Payload, got[i].Payload == nil, p, p == nil)
		}
		if !got[i].CreatedAt.Equal(clock.Now()) {
			t.Errorf("event %d CreatedAt = %v, want %v", i, got[i].CreatedAt, clock.Now())
		}
	}
}

func TestMapsKeepLargeIntegers(t *testing.T) {
	s, _ := newTestStore(t)
	ctx := context.Background()
	in := store.Session{ID: "s-1", Variables: map[string]any{
		"big":    json.Number("9007199254740993"),
		"nested": map[string]any{"n": 1},
	}}
	if _, _, err := s.CreateSession(ctx, in, nil); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetSession(ctx, "s-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Variables["big"] != json.Number("9007199254740993") {
		t.Errorf("Variables[big] = %#v, want json.Number 9007199254740993", got.Variables["big"])
	}
	nested, _ := got.Variables["nested"].(map[string]any)
	if nested["n"] != json.Number("1") {
		t.Errorf("Variables[nested][n] = %#v, want json.Number 1", nested["n"])
	}
}

func TestAppendWakesAfterCommit(t *testing.T) {
	s, _ := newTestStore(t)
	ctx := context.Background()
	mustCreate(t, s, "s-1")
	wake, cancel := s.Notifier().Subscribe("s-1")
	defer cancel()
	if _, err := s.Append(ctx, "s-1", []store.NewEvent{textEvent("hi")}, store.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-wake:
	case <-time.After(5 * time.Second):
		t.Fatal("subscriber not woken within 5s of Append")
	}
	// The wake-up comes after the commit, so a reader connection sees the
	// event.
	events, err := s.ListEvents(ctx, "s-1", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 {
		t.Errorf("ListEvents after the wake-up returned %d events, want 1", len(events))
	}
}

func TestClaimQueriesUseIndexes(t *testing.T) {
	s, _ := newTestStore(t)
	queries := map[string]string{
		"pending turns": `SELECT id FROM sessions WHERE trigger_offset >= processed_offset
			AND (lease_owner = '' OR lease_expires <= 0) ORDER BY seq LIMIT 1`,
		"claim run": `SELECT id FROM runs WHERE status IN ('queued', 'running')
			AND (status = 'queued' OR lease_expires <= 0) ORDER BY created_at, id LIMIT 1`,
		"claim callback": `SELECT id FROM runs WHERE cb_state = 'pending' AND cb_next_attempt_at <= 0
			AND (cb_lease_owner = '' OR cb_lease_expires <= 0) ORDER BY cb_next_attempt_at, created_at, id LIMIT 1`,
		"claim delivery": `SELECT d.session_seq FROM deliveries AS d WHERE d.sink = 'x'
			AND (d.state = 'retrying' OR (d.state = 'active' AND d.cursor < d.head)) ORDER BY d.session_seq LIMIT 1`,
	}
	wantIndex := map[string]string{
		"pending turns":  "sessions_needing_turn",
		"claim run":      "runs_claimable",
		"claim callback": "runs_callback_pending",
		"claim delivery": "deliveries_with_work",
	}
	for name, query := range queries {
		rows, err := s.reader.Query("EXPLAIN QUERY PLAN " + query)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		// Without INDEXED BY the planner picks on its own, so this checks
		// that the partial indexes match the queries' WHERE terms.
		if !strings.Contains(strings.Join(plan, "; "), wantIndex[name]) {
			t.Errorf("%s plan = %q, want it to use index %s", name, plan, wantIndex[name])
		}
	}
}
