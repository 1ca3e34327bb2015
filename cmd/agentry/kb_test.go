package main

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/agentry/agentry/internal/testenv"
	"github.com/agentry/agentry/kb/memory"
)

const guideMarkdown = `# Returns

Items can be returned within 30 days of delivery.

## Refunds

Refunds reach the original payment method within 5 business days.
`

const shippingMarkdown = `# Shipping

Orders ship from the Lisbon warehouse every weekday.
`

// ingestManifest writes a manifest whose search block is given, in dir,
// and returns its path.
func ingestManifest(t *testing.T, dir, search string) string {
	t.Helper()
	src := "id: kb\nname: KB\nagent_config:\n  runtime:\n    api_key: k\n  llms:\n    default: scripted/demo\n  search:\n" + search
	path := filepath.Join(dir, "agent.yaml")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// pgvectorSearch returns a pgvector search block for the table
// schema.table of the test database.
func pgvectorSearch(dbURL, table string) string {
	return "    type: pgvector\n    url: " + dbURL + "\n    table: " + table + "\n"
}

// writeDocs writes name → content files under dir/docs and returns that
// folder.
func writeDocs(t *testing.T, dir string, files map[string]string) string {
	t.Helper()
	docs := filepath.Join(dir, "docs")
	if err := os.MkdirAll(docs, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(docs, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return docs
}

// runIngest runs "kb ingest" with args and returns the exit code and
// both outputs, failing the test if either contains the database
// password.
func runIngest(t *testing.T, dbURL string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(append([]string{"kb", "ingest"}, args...), &stdout, &stderr)
	if u, err := url.Parse(dbURL); err == nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			if strings.Contains(stdout.String()+stderr.String(), pw) {
				t.Errorf("output contains the database password:\n%s\n%s", stdout.String(), stderr.String())
			}
		}
	}
	return code, stdout.String(), stderr.String()
}

// expectedChunks returns the number of chunks the files under docs split
// into.
func expectedChunks(t *testing.T, docs string) int {
	t.Helper()
	read, _, err := memory.ReadFiles([]string{docs}, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range read {
		n += len(memory.SplitDocument(d, 0))
	}
	return n
}

// queryRow runs one query against the test database and scans its row.
func queryRow(t *testing.T, dbURL, sql string, args []any, dest ...any) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, sql, args...).Scan(dest...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func TestKBIngestIdempotent(t *testing.T) {
	dbURL := testenv.PostgresURL(t)
	table := testenv.PostgresSchema(t, dbURL) + ".chunks"
	dir := t.TempDir()
	mf := ingestManifest(t, dir, pgvectorSearch(dbURL, table))
	docs := writeDocs(t, dir, map[string]string{"returns.md": guideMarkdown, "shipping.md": shippingMarkdown})
	want := expectedChunks(t, docs)
	count := func() int {
		var n int
		queryRow(t, dbURL, "SELECT count(*) FROM "+table, nil, &n)
		return n
	}

	code, stdout, stderr := runIngest(t, dbURL, "--manifest", mf, "--create", docs)
	if code != 0 {
		t.Fatalf("first run: exit code %d; stderr: %s", code, stderr)
	}
	if got := count(); got != want {
		t.Errorf("rows after first run = %d, want %d", got, want)
	}
	if strings.Contains(stdout, "\r") {
		t.Errorf("output to a buffer contains a carriage return: %q", stdout)
	}
	if !strings.Contains(stdout, "stored ") || !strings.Contains(stdout, "(100%)\n") {
		t.Errorf("output lacks plain progress lines:\n%s", stdout)
	}

	code, _, stderr = runIngest(t, dbURL, "--manifest", mf, docs)
	if code != 0 {
		t.Fatalf("second run: exit code %d; stderr: %s", code, stderr)
	}
	if got := count(); got != want {
		t.Errorf("rows after second run = %d, want %d", got, want)
	}

	changed := strings.Replace(shippingMarkdown, "Lisbon", "Porto", 1)
	writeDocs(t, dir, map[string]string{"shipping.md": changed})
	code, _, stderr = runIngest(t, dbURL, docs, "--manifest", mf)
	if code != 0 {
		t.Fatalf("third run: exit code %d; stderr: %s", code, stderr)
	}
	if got := count(); got != want {
		t.Errorf("rows after changing a file = %d, want %d", got, want)
	}
	var content string
	queryRow(t, dbURL, "SELECT metadata->>'content' FROM "+table+" WHERE id = $1",
		[]any{"docs/shipping.md#0"}, &content)
	if !strings.Contains(content, "Porto") {
		t.Errorf("content of docs/shipping.md#0 = %q, want the changed text", content)
	}
}

func TestKBIngestMissingTable(t *testing.T) {
	dbURL := testenv.PostgresURL(t)
	table := testenv.PostgresSchema(t, dbURL) + ".absent"
	dir := t.TempDir()
	mf := ingestManifest(t, dir, pgvectorSearch(dbURL, table))
	docs := writeDocs(t, dir, map[string]string{"shipping.md": shippingMarkdown})

	code, _, stderr := runIngest(t, dbURL, "--manifest", mf, docs)
	if code != 1 {
		t.Fatalf("exit code = %d, want 1; stderr: %s", code, stderr)
	}
	for _, want := range []string{table, "does not exist", "--create"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

func TestKBIngestOtherType(t *testing.T) {
	dir := t.TempDir()
	docs := writeDocs(t, dir, map[string]string{"shipping.md": shippingMarkdown})
	mf := ingestManifest(t, dir, "    type: memory\n    documents: [docs]\n")

	code, _, stderr := runIngest(t, "", "--manifest", mf, docs)
	if code != 1 {
		t.Fatalf("exit code = %d, want 1; stderr: %s", code, stderr)
	}
	for _, want := range []string{`"memory"`, "pgvector"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

func TestKBIngestSkipped(t *testing.T) {
	dbURL := testenv.PostgresURL(t)
	table := testenv.PostgresSchema(t, dbURL) + ".chunks"
	dir := t.TempDir()
	mf := ingestManifest(t, dir, pgvectorSearch(dbURL, table))
	docs := writeDocs(t, dir, map[string]string{
		"shipping.md": shippingMarkdown,
		"empty.md":    "  \n\n",
		"binary.txt":  "text\x00with a NUL byte",
	})

	code, stdout, stderr := runIngest(t, dbURL, "--manifest", mf, "--create", docs)
	if code != 0 {
		t.Fatalf("exit code = %d, want 0; stderr: %s", code, stderr)
	}
	for _, name := range []string{"empty.md", "binary.txt"} {
		if !strings.Contains(stderr, "skipped "+filepath.ToSlash(filepath.Join(docs, name))) {
			t.Errorf("stderr does not list %s as skipped:\n%s", name, stderr)
		}
	}
	if !strings.Contains(stdout, "(2 skipped)") {
		t.Errorf("summary lacks the skipped count:\n%s", stdout)
	}
	var n int
	queryRow(t, dbURL, "SELECT count(*) FROM "+table, nil, &n)
	if want := expectedChunks(t, docs); n != want {
		t.Errorf("rows = %d, want %d", n, want)
	}
}

func TestKBIngestUsage(t *testing.T) {
	cases := []struct {
		name string
		args []string
	}{
		{"no subcommand", nil},
		{"no manifest", []string{"ingest", "docs"}},
		{"no paths", []string{"ingest", "--manifest", "agent.yaml"}},
		{"bad batch", []string{"ingest", "--manifest", "agent.yaml", "--batch", "0", "docs"}},
		{"unknown flag", []string{"ingest", "--nope"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(append([]string{"kb"}, c.args...), &stdout, &stderr); code != 2 {
				t.Errorf("exit code = %d, want 2; stderr: %s", code, stderr.String())
			}
			if !strings.Contains(stderr.String(), "Usage: agentry kb ingest") {
				t.Errorf("stderr lacks the usage line:\n%s", stderr.String())
			}
		})
	}
}

func TestProgressTerminalBar(t *testing.T) {
	var buf bytes.Buffer
	p := &progress{w: &buf, total: 4, terminal: true}
	for n := 1; n <= 4; n++ {
		p.set(n)
	}
	p.done()
	out := buf.String()
	if got := strings.Count(out, "\r"); got != 4 {
		t.Errorf("bar redrawn %d times, want 4: %q", got, out)
	}
	if got := strings.Count(out, "\n"); got != 1 {
		t.Errorf("bar output has %d newlines, want 1: %q", got, out)
	}
	if !strings.HasSuffix(out, "100% 4/4 chunks\n") {
		t.Errorf("bar does not end at 100%%: %q", out)
	}
}

func TestProgressPlainLines(t *testing.T) {
	var buf bytes.Buffer
	p := &progress{w: &buf, total: 100}
	for n := 1; n <= 100; n++ {
		p.set(n)
	}
	p.done()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 10 {
		t.Errorf("got %d progress lines, want one per tenth (10):\n%s", len(lines), buf.String())
	}
}
