package memory

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/agentry/agentry/kb"
)

// writeFiles creates files under dir from a map of slash paths to
// contents.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func docIDs(docs []Document) []string {
	ids := make([]string, len(docs))
	for i, d := range docs {
		ids[i] = d.ID
	}
	return ids
}

func TestReadFilesWalk(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"b.txt":          "plain text",
		"a.md":           "# A\nmarkdown",
		"c.MARKDOWN":     "# C\nmarkdown",
		"sub/d.md":       "# D\nnested",
		"image.png":      "not a document",
		"notes.rst":      "not walked",
		".hidden.md":     "hidden file",
		".git/config.md": "hidden directory",
	})
	if err := os.Symlink(filepath.Join(dir, "b.txt"), filepath.Join(dir, "link.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "sub"), filepath.Join(dir, "linkdir.md")); err != nil {
		t.Fatal(err)
	}

	docs, skipped, err := ReadFiles([]string{dir}, 0)
	if err != nil {
		t.Fatalf("ReadFiles: %v", err)
	}
	if len(skipped) != 0 {
		t.Errorf("skipped %v, want none", skipped)
	}
	slash := filepath.ToSlash(dir)
	want := []string{slash + "/a.md", slash + "/b.txt", slash + "/c.MARKDOWN", slash + "/link.txt", slash + "/sub/d.md"}
	if got := docIDs(docs); !slices.Equal(got, want) {
		t.Fatalf("documents %q, want %q", got, want)
	}
	for _, d := range docs {
		wantMarkdown := !strings.HasSuffix(d.ID, ".txt")
		if d.Markdown != wantMarkdown {
			t.Errorf("%s: Markdown = %v, want %v", d.ID, d.Markdown, wantMarkdown)
		}
		if d.Metadata["source"] != d.ID {
			t.Errorf("%s: source metadata = %v, want the ID", d.ID, d.Metadata["source"])
		}
	}
}

func TestReadFilesNamed(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"notes.rst": "named files are read whatever the extension", "a.md": "# A\ntext"})
	named := filepath.Join(dir, "notes.rst")
	docs, _, err := ReadFiles([]string{named, dir, filepath.Join(dir, "a.md"), named}, 0)
	if err != nil {
		t.Fatalf("ReadFiles: %v", err)
	}
	want := []string{filepath.ToSlash(named), filepath.ToSlash(filepath.Join(dir, "a.md"))}
	if got := docIDs(docs); !slices.Equal(got, want) {
		t.Errorf("documents %q, want %q (each file once)", got, want)
	}
	if docs[0].Markdown {
		t.Error("notes.rst read as Markdown, want plain text")
	}
}

func TestReadFilesSkipped(t *testing.T) {
	cases := []struct {
		name    string
		content string
		want    error
	}{
		{"empty", "", ErrEmptyFile},
		{"white space", " \n\t\r\n", ErrEmptyFile},
		{"NUL byte", "text\x00more", ErrBinaryFile},
		{"invalid UTF-8", "caf\xe9", ErrBinaryFile},
		{"UTF-16", "\xff\xfeh\x00i\x00", ErrBinaryFile},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{"bad.md": c.content, "good.md": "# Good\ntext"})
			docs, skipped, err := ReadFiles([]string{dir}, 0)
			if err != nil {
				t.Fatalf("ReadFiles: %v", err)
			}
			if got := docIDs(docs); len(got) != 1 || !strings.HasSuffix(got[0], "/good.md") {
				t.Errorf("documents %q, want only good.md", got)
			}
			if len(skipped) != 1 {
				t.Fatalf("skipped %v, want bad.md", skipped)
			}
			if !strings.HasSuffix(skipped[0].Path, "/bad.md") {
				t.Errorf("skipped path %q, want bad.md", skipped[0].Path)
			}
			if !errors.Is(skipped[0].Err, c.want) {
				t.Errorf("skipped error %v, want %v", skipped[0].Err, c.want)
			}
			if !strings.Contains(skipped[0].Err.Error(), "bad.md") {
				t.Errorf("skipped error %q does not name the file", skipped[0].Err)
			}
		})
	}
}

func TestReadFilesErrors(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"big.md":          strings.Repeat("x", 101),
		"fits.md":         strings.Repeat("x", 100),
		"empty/image.png": "no documents here",
	})
	missing := filepath.Join(dir, "missing.md")
	paths := []string{filepath.Join(dir, "big.md"), missing, filepath.Join(dir, "empty"), filepath.Join(dir, "fits.md")}

	docs, _, err := ReadFiles(paths, 100)
	if docs != nil {
		t.Errorf("documents %q, want none on error", docIDs(docs))
	}
	for _, want := range []error{ErrFileTooLarge, fs.ErrNotExist, ErrNoDocuments} {
		if !errors.Is(err, want) {
			t.Errorf("error %v does not wrap %v", err, want)
		}
	}
	for _, name := range []string{"big.md", "missing.md", "empty"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("error %v does not name %s", err, name)
		}
	}
	if err != nil && strings.Contains(err.Error(), "fits.md") {
		t.Errorf("error %v names fits.md, which is within the limit", err)
	}
}

func TestReadFilesNotRegular(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pipe.md")
	if err := mkfifo(fifo); err != nil {
		t.Skipf("cannot make a named pipe: %v", err)
	}
	_, _, err := ReadFiles([]string{fifo}, 0)
	if err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("error %v, want one saying pipe.md is not a regular file", err)
	}
}

// logRecords is a slog.Handler that keeps records.
type logRecords struct {
	mu      sync.Mutex
	records []slog.Record
}

func (h *logRecords) Enabled(context.Context, slog.Level) bool { return true }
func (h *logRecords) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, r)
	return nil
}
func (h *logRecords) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *logRecords) WithGroup(string) slog.Handler      { return h }

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"guide.md":  "# Refunds\n\nRefunds arrive within ten business days.\n\n# Invoices\n\nInvoices are issued monthly.",
		"faq.txt":   "Passwords are reset from the sign-in page.",
		"empty.md":  "",
		"binary.md": "\x00\x01",
	})
	records := &logRecords{}
	r, err := Load(t.Context(), []string{dir}, Options{Logger: slog.New(records)})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got := r.Len(); got != 3 {
		t.Errorf("Len() = %d, want 3 chunks", got)
	}

	skipped := r.Skipped()
	if len(skipped) != 2 {
		t.Fatalf("Skipped() = %v, want binary.md and empty.md", skipped)
	}
	levels := map[string]slog.Level{}
	for _, rec := range records.records {
		rec.Attrs(func(a slog.Attr) bool {
			if a.Key == "path" {
				levels[filepath.Base(a.Value.String())] = rec.Level
			}
			return true
		})
	}
	if got := levels["binary.md"]; got != slog.LevelWarn {
		t.Errorf("binary.md logged at %v, want WARN", got)
	}
	if got, ok := levels["empty.md"]; !ok || got != slog.LevelInfo {
		t.Errorf("empty.md logged at %v (logged %v), want INFO", got, ok)
	}

	chunks, err := r.Search(t.Context(), kb.Query{Text: "when do refunds arrive"})
	if err != nil {
		t.Fatalf("Search: %v", err)
	}
	if len(chunks) == 0 {
		t.Fatal("Search found nothing, want the refunds section")
	}
	first := chunks[0]
	wantID := filepath.ToSlash(filepath.Join(dir, "guide.md")) + "#0"
	if first.ID != wantID {
		t.Errorf("first chunk %q, want %q", first.ID, wantID)
	}
	if first.Title() != "Refunds" {
		t.Errorf("first chunk title %q, want %q", first.Title(), "Refunds")
	}
	if first.Metadata["source"] != filepath.ToSlash(filepath.Join(dir, "guide.md")) {
		t.Errorf("first chunk source %v, want guide.md's path", first.Metadata["source"])
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"big.md": strings.Repeat("word ", 100)})
	var logs bytes.Buffer
	_, err := Load(t.Context(), []string{filepath.Join(dir, "big.md")},
		Options{MaxFileBytes: 10, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if !errors.Is(err, ErrFileTooLarge) {
		t.Errorf("Load error %v, want ErrFileTooLarge", err)
	}
	_, err = Load(t.Context(), nil, Options{MaxFileBytes: -1})
	if !errors.Is(err, ErrInvalidOptions) {
		t.Errorf("Load error %v, want ErrInvalidOptions", err)
	}
}
