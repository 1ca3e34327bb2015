package memory

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// DefaultMaxFileBytes is the file size limit when Options.MaxFileBytes is
// zero.
const DefaultMaxFileBytes int64 = 10 << 20

// Sentinel errors of ReadFiles. ErrEmptyFile and ErrBinaryFile mark
// skipped files; the others fail the whole read.
var (
	// ErrFileTooLarge: a file is larger than the size limit.
	ErrFileTooLarge = errors.New("memory: file too large")
	// ErrNoDocuments: a directory contains no Markdown or text file.
	ErrNoDocuments = errors.New("memory: no documents in directory")
	// ErrEmptyFile: a file contains nothing but white space.
	ErrEmptyFile = errors.New("memory: empty file")
	// ErrBinaryFile: a file contains a NUL byte or is not valid UTF-8.
	ErrBinaryFile = errors.New("memory: binary file")
)

// Skipped is a file that ReadFiles left out.
type Skipped struct {
	// Path is the file's path, as in Document.ID.
	Path string
	// Err wraps ErrEmptyFile or ErrBinaryFile.
	Err error
}

// ReadFiles reads the documents at paths. A path is a file or a
// directory. A directory is walked for files ending in .md, .markdown or
// .txt (any case), in lexical order, leaving out entries whose names
// start with "." and not following symbolic links to directories. A file
// named directly is read whatever its extension. Files ending in .md or
// .markdown are Markdown, the others plain text.
//
// Each document's ID and "source" metadata is its path with forward
// slashes, so the chunk IDs stay the same across restarts as long as the
// paths and the text before each chunk do. A file reached twice is read
// once.
//
// Empty files and binary files (a NUL byte or invalid UTF-8, such as
// UTF-16 text) are left out and listed in skipped, because one odd file
// should not stop the rest of the documents from loading. Missing or
// unreadable paths, files over maxFileBytes (DefaultMaxFileBytes when 0
// or less) and directories without documents are errors: ReadFiles reads
// every path and returns all of them joined, with no documents.
func ReadFiles(paths []string, maxFileBytes int64) (docs []Document, skipped []Skipped, err error) {
	if maxFileBytes <= 0 {
		maxFileBytes = DefaultMaxFileBytes
	}
	var errs []error
	seen := map[string]bool{}
	read := func(path string) {
		path = filepath.Clean(path)
		if seen[path] {
			return
		}
		seen[path] = true
		doc, err := readFile(path, maxFileBytes)
		switch {
		case errors.Is(err, ErrEmptyFile) || errors.Is(err, ErrBinaryFile):
			skipped = append(skipped, Skipped{Path: doc.ID, Err: err})
		case err != nil:
			errs = append(errs, err)
		default:
			docs = append(docs, doc)
		}
	}

	for _, path := range paths {
		info, err := os.Stat(path)
		if err != nil {
			errs = append(errs, fmt.Errorf("memory: document path: %w", err))
			continue
		}
		if !info.IsDir() {
			read(path)
			continue
		}
		files, err := documentFiles(path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, file := range files {
			read(file)
		}
	}
	if len(errs) > 0 {
		return nil, skipped, errors.Join(errs...)
	}
	return docs, skipped, nil
}

// documentFiles returns the Markdown and text files under dir.
func documentFiles(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path != dir && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() || !isDocumentName(d.Name()) {
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			info, err := os.Stat(path)
			if err != nil || !info.Mode().IsRegular() {
				return nil // a dangling link or a link to a directory
			}
		}
		files = append(files, path)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("memory: walk %s: %w", dir, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%w: %s has no .md, .markdown or .txt file; "+
			"add documents or remove the directory from the list", ErrNoDocuments, dir)
	}
	return files, nil
}

func isDocumentName(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".md", ".markdown", ".txt":
		return true
	}
	return false
}

func isMarkdownName(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	return ext == ".md" || ext == ".markdown"
}

// readFile reads one document. On ErrEmptyFile and ErrBinaryFile the
// returned document has its ID set.
func readFile(path string, maxFileBytes int64) (Document, error) {
	id := filepath.ToSlash(path)
	doc := Document{ID: id, Markdown: isMarkdownName(path), Metadata: map[string]any{"source": id}}

	// Stat before Open, because opening a named pipe blocks.
	info, err := os.Stat(path)
	if err != nil {
		return doc, fmt.Errorf("memory: read document: %w", err)
	}
	if !info.Mode().IsRegular() {
		return doc, fmt.Errorf("memory: read document %s: not a regular file; "+
			"list Markdown or text files, or directories of them", path)
	}
	tooLarge := fmt.Errorf("%w: %s is %d bytes, more than the limit of %d bytes; "+
		"split it into smaller files or raise the limit", ErrFileTooLarge, path, info.Size(), maxFileBytes)
	if info.Size() > maxFileBytes {
		return doc, tooLarge
	}
	f, err := os.Open(path)
	if err != nil {
		return doc, fmt.Errorf("memory: read document: %w", err)
	}
	defer f.Close()
	// The file can grow between Stat and reading, so the read is limited
	// too.
	data, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	if err != nil {
		return doc, fmt.Errorf("memory: read document %s: %w", path, err)
	}
	if int64(len(data)) > maxFileBytes {
		return doc, tooLarge
	}

	if len(bytes.TrimSpace(data)) == 0 {
		return doc, fmt.Errorf("%w: %s has no text; it was skipped", ErrEmptyFile, path)
	}
	if bytes.IndexByte(data, 0) >= 0 || !utf8.Valid(data) {
		return doc, fmt.Errorf("%w: %s contains NUL bytes or invalid UTF-8; "+
			"it was skipped, so convert it to UTF-8 text to search it", ErrBinaryFile, path)
	}
	doc.Text = string(data)
	return doc, nil
}

// Load reads the documents at paths with ReadFiles, logs each skipped
// file through opts.Logger (empty files at Info, binary files at Warn)
// and returns a Retriever over the documents. Relative paths are resolved
// against the working directory. Retriever.Skipped lists the skipped
// files.
func Load(ctx context.Context, paths []string, opts Options) (*Retriever, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	docs, skipped, err := ReadFiles(paths, opts.MaxFileBytes)
	if err != nil {
		return nil, err
	}
	for _, s := range skipped {
		level := slog.LevelInfo
		if errors.Is(s.Err, ErrBinaryFile) {
			level = slog.LevelWarn
		}
		opts.Logger.Log(ctx, level, "knowledge base file skipped", "path", s.Path, "error", s.Err)
	}
	r, err := New(ctx, docs, opts)
	if err != nil {
		return nil, err
	}
	r.skipped = skipped
	return r, nil
}
