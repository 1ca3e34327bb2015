package pgvector

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/agentry/agentry/kb"
)

// Document is one chunk to store.
type Document struct {
	// ID is the row's primary key. Required and unique within one Upsert.
	ID string
	// Content is the text that is embedded and stored in the metadata
	// under Config.ContentKey. Required.
	Content string
	// Metadata is stored in the metadata column. Its value under
	// Config.ContentKey, if any, is replaced by Content.
	Metadata map[string]any
}

// Upsert embeds the documents' contents with one EmbedDocuments call and
// inserts the rows, replacing the rows that have the same IDs, in one
// transaction. Every document and vector is checked before any row is
// written: an empty or repeated ID, empty content or metadata that is not
// JSON wraps ErrInvalidDocument, a vector of the wrong dimension wraps
// ErrDimensionMismatch, and a NaN, infinite or all-zero vector wraps
// ErrInvalidVector. The table must exist (see EnsureTable).
//
// Upsert sends all documents in one request to the embedder, so the
// caller splits large sets into batches that the embedding model accepts.
func (r *Retriever) Upsert(ctx context.Context, docs []Document) error {
	if len(docs) == 0 {
		return nil
	}
	metadata, err := r.documentMetadata(docs)
	if err != nil {
		return err
	}
	info, err := r.tableInfo(ctx)
	if err != nil {
		return err
	}

	texts := make([]string, len(docs))
	for i, d := range docs {
		texts[i] = d.Content
	}
	vecs, err := r.embedder.EmbedDocuments(ctx, texts)
	if err != nil {
		return r.redact(fmt.Errorf("%w: embed %d documents: %w", kb.ErrUnavailable, len(docs), err))
	}
	if len(vecs) != len(docs) {
		return fmt.Errorf("%w: the embedder returned %d vectors for %d documents", kb.ErrUnavailable, len(vecs), len(docs))
	}
	for i, v := range vecs {
		what := fmt.Sprintf("the vector of document %q", docs[i].ID)
		if err := checkVector(v, info.dims, what, r.cfg.Table); err != nil {
			return err
		}
		if isZero(v) {
			return fmt.Errorf("%w: %s is all zeros, so its cosine distance to any query is undefined; give the document text the embedder can represent, or leave it out",
				ErrInvalidVector, what)
		}
	}

	sql := "INSERT INTO " + r.tableSQL + " (id, vec, metadata) VALUES ($1, $2::vector, $3::jsonb)" +
		" ON CONFLICT (id) DO UPDATE SET vec = excluded.vec, metadata = excluded.metadata"
	batch := &pgx.Batch{}
	for i, d := range docs {
		batch.Queue(sql, d.ID, formatVector(vecs[i]), metadata[i])
	}
	err = pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		return tx.SendBatch(ctx, batch).Close()
	})
	if err != nil {
		return r.redact(fmt.Errorf("%w: upsert %d rows into table %s in database %s: %w",
			kb.ErrUnavailable, len(docs), r.cfg.Table, r.database, err))
	}
	return nil
}

// documentMetadata checks the documents and returns the JSON of each
// one's metadata with its content added.
func (r *Retriever) documentMetadata(docs []Document) ([]string, error) {
	seen := make(map[string]bool, len(docs))
	out := make([]string, len(docs))
	for i, d := range docs {
		switch {
		case d.ID == "":
			return nil, fmt.Errorf("%w: document %d has no ID", ErrInvalidDocument, i)
		case seen[d.ID]:
			return nil, fmt.Errorf("%w: ID %q appears more than once", ErrInvalidDocument, d.ID)
		case strings.TrimSpace(d.Content) == "":
			return nil, fmt.Errorf("%w: document %q has no content", ErrInvalidDocument, d.ID)
		}
		seen[d.ID] = true
		m := make(map[string]any, len(d.Metadata)+1)
		maps.Copy(m, d.Metadata)
		m[r.cfg.ContentKey] = d.Content
		data, err := json.Marshal(m)
		if err != nil {
			return nil, fmt.Errorf("%w: metadata of document %q cannot be encoded as JSON: %w", ErrInvalidDocument, d.ID, err)
		}
		out[i] = string(data)
	}
	return out, nil
}
