package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/agentry/agentry"
	"github.com/agentry/agentry/kb/memory"
	"github.com/agentry/agentry/kb/pgvector"
	"github.com/agentry/agentry/manifest"
)

const kbUsage = "Usage: agentry kb ingest --manifest FILE [--create] [--batch N] PATH..."

// defaultIngestBatch is the number of chunks embedded and written in one
// Upsert call. The value is an estimate that keeps each embedding request
// small without making many round trips.
const defaultIngestBatch = 32

// kbCmd runs the "kb" subcommands.
func kbCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "ingest" {
		fmt.Fprintln(stderr, kbUsage)
		return 2
	}
	return kbIngest(args[1:], stdout, stderr)
}

// ingestOptions are the parsed flags and arguments of "kb ingest".
type ingestOptions struct {
	manifestPath string
	create       bool
	batch        int
	paths        []string
}

// parseIngestArgs parses the flags of "kb ingest", which may come before,
// between or after the paths.
func parseIngestArgs(args []string, stderr io.Writer) (ingestOptions, bool) {
	var o ingestOptions
	fs := flag.NewFlagSet("kb ingest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.manifestPath, "manifest", "", "path of the agent manifest, whose search block must have type pgvector; required")
	fs.BoolVar(&o.create, "create", false, "create the table and its HNSW index when they do not exist")
	fs.IntVar(&o.batch, "batch", defaultIngestBatch, "number of chunks embedded and written per request")
	fs.Usage = func() {
		fmt.Fprintln(stderr, kbUsage)
		fs.PrintDefaults()
	}
	for {
		if err := fs.Parse(args); err != nil {
			return o, false
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		o.paths = append(o.paths, args[0])
		args = args[1:]
	}
	switch {
	case o.manifestPath == "":
		fmt.Fprintln(stderr, "agentry kb ingest: --manifest is required")
	case len(o.paths) == 0:
		fmt.Fprintln(stderr, "agentry kb ingest: name at least one file or directory to ingest")
	case o.batch < 1:
		fmt.Fprintf(stderr, "agentry kb ingest: --batch %d is invalid; use 1 or more\n", o.batch)
	default:
		return o, true
	}
	fs.Usage()
	return o, false
}

// kbIngest reads, chunks, embeds and stores documents in the manifest's
// pgvector table.
func kbIngest(args []string, stdout, stderr io.Writer) int {
	o, ok := parseIngestArgs(args, stderr)
	if !ok {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := ingest(ctx, o, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "agentry kb ingest: %v\n", err)
		return 1
	}
	return 0
}

// ingest does the work of kbIngest and returns the first error.
func ingest(ctx context.Context, o ingestOptions, stdout, stderr io.Writer) error {
	m, err := manifest.Load(o.manifestPath)
	if err != nil {
		return err
	}
	s := m.AgentConfig.Search
	switch {
	case s == nil:
		return fmt.Errorf("manifest %s has no agent_config.search block; add one with type pgvector", o.manifestPath)
	case s.Type != manifest.SearchPgvector:
		return fmt.Errorf("search.type is %q in manifest %s; kb ingest writes only to a pgvector table, so set type: pgvector", s.Type, o.manifestPath)
	}

	docs, skipped, err := memory.ReadFiles(o.paths, 0)
	for _, sk := range skipped {
		fmt.Fprintf(stderr, "skipped %s: %v\n", sk.Path, sk.Err)
	}
	if err != nil {
		return err
	}
	chunks, files := splitDocuments(docs, m.Dir)
	if len(chunks) == 0 {
		return fmt.Errorf("the files contain no text to ingest (%d skipped)", len(skipped))
	}

	emb, err := agentry.Embedder(m)
	if err != nil {
		return err
	}
	r, err := pgvector.New(pgvector.ConfigFromManifest(*s), emb)
	if err != nil {
		return fmt.Errorf("search: %w", err)
	}
	defer r.Close()
	if err := prepareTable(ctx, r, o.create, s, emb.EmbedQuery); err != nil {
		return err
	}

	bar := newProgress(stdout, len(chunks))
	for start := 0; start < len(chunks); start += o.batch {
		end := min(start+o.batch, len(chunks))
		if err := r.Upsert(ctx, chunks[start:end]); err != nil {
			bar.done()
			return fmt.Errorf("files %s: %w", batchFiles(chunks[start:end], files), err)
		}
		bar.set(end)
	}
	bar.done()
	fmt.Fprintf(stdout, "ingested %d chunks from %d files into table %s (%d skipped)\n",
		len(chunks), len(docs), s.Table, len(skipped))
	return nil
}

// prepareTable creates the table with --create, or checks that it
// exists, and checks that the embedder's dimension agrees with it.
func prepareTable(ctx context.Context, r *pgvector.Retriever, create bool, s *manifest.Search,
	embedQuery func(context.Context, string) ([]float32, error)) error {
	if !create {
		err := r.Check(ctx)
		if errors.Is(err, pgvector.ErrTableNotFound) {
			return fmt.Errorf("%w; run again with --create to create it", err)
		}
		return err
	}
	probe, err := embedQuery(ctx, "dimension probe")
	if err != nil {
		return fmt.Errorf("embed a probe text to learn the embedder's dimension: %w", err)
	}
	dims := len(probe)
	if s.EmbeddingDimensions != 0 && dims != s.EmbeddingDimensions {
		return fmt.Errorf("the embedder returns %d-dimensional vectors but search.embedding_dimensions is %d; correct one of them",
			dims, s.EmbeddingDimensions)
	}
	return r.EnsureTable(ctx, dims)
}

// splitDocuments chunks the documents and returns each chunk ID's file,
// for error messages. Each document's ID and "source" metadata become its
// path relative to the manifest directory dir, or absolute when outside
// it. So the chunk IDs do not depend on the working directory, and a
// second run replaces the rows of the first.
//
// NOTE: a file that shrinks keeps the rows of its former last chunks,
// because rows are only inserted or replaced, never deleted.
func splitDocuments(docs []memory.Document, dir string) ([]pgvector.Document, map[string]string) {
	var out []pgvector.Document
	files := map[string]string{}
	for _, d := range docs {
		path := filepath.FromSlash(d.ID)
		d.ID = stableID(path, dir)
		if d.Metadata == nil {
			d.Metadata = map[string]any{}
		}
		d.Metadata["source"] = d.ID
		for _, c := range memory.SplitDocument(d, 0) {
			out = append(out, pgvector.Document{ID: c.ID, Content: c.Content, Metadata: c.Metadata})
			files[c.ID] = path
		}
	}
	return out, files
}

// stableID returns path relative to dir with forward slashes, or the
// absolute path when it is outside dir.
func stableID(path, dir string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return filepath.ToSlash(path)
	}
	rel, err := filepath.Rel(dir, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return filepath.ToSlash(abs)
	}
	return filepath.ToSlash(rel)
}

// batchFiles lists the distinct files of a batch's chunks.
func batchFiles(batch []pgvector.Document, files map[string]string) string {
	var names []string
	seen := map[string]bool{}
	for _, d := range batch {
		if f := files[d.ID]; !seen[f] {
			seen[f] = true
			names = append(names, f)
		}
	}
	return strings.Join(names, ", ")
}

// progress reports how many chunks are stored: a bar redrawn in place on
// a terminal, otherwise a line each time another tenth is done.
type progress struct {
	w        io.Writer
	total    int
	terminal bool
	lastStep int // tenths reported so far, for plain lines
}

// progressWidth is the number of cells of the terminal bar.
const progressWidth = 30

func newProgress(w io.Writer, total int) *progress {
	return &progress{w: w, total: total, terminal: isTerminal(w)}
}

// isTerminal reports whether w is a character device, such as a
// terminal, rather than a file, a pipe or a buffer.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

// set reports that n chunks are stored.
func (p *progress) set(n int) {
	percent := n * 100 / p.total
	if p.terminal {
		filled := n * progressWidth / p.total
		fmt.Fprintf(p.w, "\r[%s%s] %3d%% %d/%d chunks",
			strings.Repeat("#", filled), strings.Repeat(".", progressWidth-filled), percent, n, p.total)
		return
	}
	if step := n * 10 / p.total; step > p.lastStep {
		p.lastStep = step
		fmt.Fprintf(p.w, "stored %d/%d chunks (%d%%)\n", n, p.total, percent)
	}
}

// done ends the terminal bar's line, so that the next output, such as an
// error, starts on a line of its own.
func (p *progress) done() {
	if p.terminal {
		fmt.Fprintln(p.w)
	}
}
