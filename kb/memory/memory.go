package memory

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"

	"github.com/tmc/langchaingo/embeddings"

	"github.com/agentry/agentry/kb"
	"github.com/agentry/agentry/kb/internal/metafilter"
	"github.com/agentry/agentry/kb/lexical"
)

// DefaultTopK is the number of chunks Search returns when Query.TopK and
// Options.TopK are zero.
const DefaultTopK = 5

// embedBatchSize is the number of chunks per EmbedDocuments call, so that
// an embedder backed by a remote model gets requests of bounded size.
const embedBatchSize = 64

// Sentinel errors of New, Load and ReadFiles.
var (
	// ErrInvalidOptions is wrapped by the error of New and Load for an
	// option value they cannot use.
	ErrInvalidOptions = errors.New("memory: invalid options")
	// ErrInvalidDocument is wrapped by the error of New for a document
	// with an empty or repeated ID, or metadata that is not JSON.
	ErrInvalidDocument = errors.New("memory: invalid document")
	// ErrEmbedding is wrapped by the error of New when the embedder fails
	// or returns vectors that cannot be searched: the wrong number, of
	// different lengths, or with NaN or infinite components.
	ErrEmbedding = errors.New("memory: embedding failed")
)

// Options configures a Retriever. The zero value is valid.
type Options struct {
	// Embedder embeds chunks at start-up and queries at search time.
	// Default: the lexical embedder of package kb/lexical with its
	// default dimension (256).
	Embedder embeddings.Embedder
	// TopK is the number of chunks Search returns when Query.TopK is 0.
	// Default DefaultTopK (5).
	TopK int
	// MinScore drops chunks whose cosine similarity to the query is not
	// above it. Default 0, so chunks that share no word with the query
	// under the lexical embedder (score 0) are left out. A chunk with an
	// all-zero vector never matches, whatever MinScore is.
	MinScore float64
	// MaxChunkBytes is the size limit of a chunk's content. Default
	// DefaultMaxChunkBytes (2000).
	MaxChunkBytes int
	// MaxFileBytes is the size limit of a file that Load reads. Default
	// DefaultMaxFileBytes (10 MiB).
	MaxFileBytes int64
	// Logger receives Load's notes on skipped files. Default
	// slog.Default().
	Logger *slog.Logger
}

func (o Options) withDefaults() (Options, error) {
	switch {
	case o.TopK < 0:
		return o, fmt.Errorf("%w: top_k %d: use a positive number, or 0 for %d", ErrInvalidOptions, o.TopK, DefaultTopK)
	case o.MaxChunkBytes < 0:
		return o, fmt.Errorf("%w: max chunk bytes %d: use a positive number, or 0 for %d",
			ErrInvalidOptions, o.MaxChunkBytes, DefaultMaxChunkBytes)
	case o.MaxFileBytes < 0:
		return o, fmt.Errorf("%w: max file bytes %d: use a positive number, or 0 for %d",
			ErrInvalidOptions, o.MaxFileBytes, DefaultMaxFileBytes)
	case math.IsNaN(o.MinScore) || math.IsInf(o.MinScore, 0):
		return o, fmt.Errorf("%w: min score %v: use a finite number", ErrInvalidOptions, o.MinScore)
	}
	if o.Embedder == nil {
		e, err := lexical.New(lexical.Options{})
		if err != nil {
			return o, err
		}
		o.Embedder = e
	}
	if o.TopK == 0 {
		o.TopK = DefaultTopK
	}
	if o.MaxChunkBytes == 0 {
		o.MaxChunkBytes = DefaultMaxChunkBytes
	}
	if o.MaxFileBytes == 0 {
		o.MaxFileBytes = DefaultMaxFileBytes
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o, nil
}

// Retriever searches chunks held in memory by cosine similarity. It is
// safe for concurrent use and does not change after New returns.
type Retriever struct {
	opts       Options
	entries    []entry
	dimensions int
	skipped    []Skipped
}

// entry is a chunk with its embedding. Its metadata is normalized to the
// form encoding/json decodes, so filters compare like jsonb @>.
type entry struct {
	chunk  kb.Chunk
	vector []float32
	norm   float64
}

var _ kb.Retriever = (*Retriever)(nil)

// New splits docs into chunks (see SplitDocument), embeds them with
// opts.Embedder and returns a Retriever over them. docs may be empty.
// The error wraps ErrInvalidOptions, ErrInvalidDocument or ErrEmbedding.
func New(ctx context.Context, docs []Document, opts Options) (*Retriever, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	r := &Retriever{opts: opts}

	var texts []string
	seen := map[string]bool{}
	for i, doc := range docs {
		if doc.ID == "" {
			return nil, fmt.Errorf("%w: document %d has an empty ID", ErrInvalidDocument, i)
		}
		if seen[doc.ID] {
			return nil, fmt.Errorf("%w: document ID %q appears twice; IDs must be unique", ErrInvalidDocument, doc.ID)
		}
		seen[doc.ID] = true
		metadata, err := metafilter.Normalize(doc.Metadata)
		if err != nil {
			return nil, fmt.Errorf("%w: metadata of %q: %w", ErrInvalidDocument, doc.ID, err)
		}
		doc.Metadata = metadata
		pieces := split(doc, opts.MaxChunkBytes)
		for j, chunk := range toChunks(doc, pieces) {
			r.entries = append(r.entries, entry{chunk: chunk})
			texts = append(texts, embeddingText(pieces[j]))
		}
	}

	if err := r.embed(ctx, texts); err != nil {
		return nil, err
	}
	return r, nil
}

// embeddingText is the text embedded for a piece. A piece that continues
// a section gets its section's title in front, so that a search for the
// heading's words finds every part of the section.
func embeddingText(p piece) string {
	if p.continued && p.title != "" {
		return p.title + "\n\n" + p.content
	}
	return p.content
}

// embed fills the vectors of r.entries from texts, one per entry.
func (r *Retriever) embed(ctx context.Context, texts []string) error {
	for start := 0; start < len(texts); start += embedBatchSize {
		end := min(start+embedBatchSize, len(texts))
		vectors, err := r.opts.Embedder.EmbedDocuments(ctx, texts[start:end])
		if err != nil {
			return fmt.Errorf("%w: chunks %d to %d of %d: %w", ErrEmbedding, start, end-1, len(texts), err)
		}
		if len(vectors) != end-start {
			return fmt.Errorf("%w: the embedder returned %d vectors for %d chunks", ErrEmbedding, len(vectors), end-start)
		}
		for i, vector := range vectors {
			e := &r.entries[start+i]
			if r.dimensions == 0 {
				r.dimensions = len(vector)
			}
			if len(vector) == 0 || len(vector) != r.dimensions {
				return fmt.Errorf("%w: chunk %q has a vector of %d dimensions, want %d like the first chunk",
					ErrEmbedding, e.chunk.ID, len(vector), r.dimensions)
			}
			norm, ok := vectorNorm(vector)
			if !ok {
				return fmt.Errorf("%w: chunk %q has a vector with NaN or infinite components", ErrEmbedding, e.chunk.ID)
			}
			e.vector, e.norm = vector, norm
		}
	}
	return nil
}

// vectorNorm returns the L2 norm of v, and false when a component is NaN
// or infinite.
func vectorNorm(v []float32) (float64, bool) {
	var squares float64
	for _, x := range v {
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, false
		}
		squares += f * f
	}
	return math.Sqrt(squares), true
}

// Skipped returns the files that Load left out, in the order it met them.
func (r *Retriever) Skipped() []Skipped {
	return slices.Clone(r.skipped)
}

// Len returns the number of chunks.
func (r *Retriever) Len() int {
	return len(r.entries)
}
