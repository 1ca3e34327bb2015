package memory

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/agentry/agentry/kb"
	"github.com/agentry/agentry/kb/internal/metafilter"
)

// Search returns the chunks most similar to q.Text whose metadata
// contains q.Filter, best first. A query whose vector is all zero (under
// the lexical embedder, a text with only stop words or punctuation)
// returns no chunks.
//
// An empty text or a negative TopK gives an error wrapping
// kb.ErrInvalidQuery, and an embedder failure one wrapping
// kb.ErrUnavailable. When ctx is done, the error wraps ctx.Err().
func (r *Retriever) Search(ctx context.Context, q kb.Query) ([]kb.Chunk, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memory: search: %w", err)
	}
	if strings.TrimSpace(q.Text) == "" {
		return nil, fmt.Errorf("%w: the query text is empty", kb.ErrInvalidQuery)
	}
	if q.TopK < 0 {
		return nil, fmt.Errorf("%w: top_k %d is negative", kb.ErrInvalidQuery, q.TopK)
	}
	filter, err := metafilter.Normalize(q.Filter)
	if err != nil {
		return nil, fmt.Errorf("%w: filter: %w", kb.ErrInvalidQuery, err)
	}
	topK := cmp.Or(q.TopK, r.opts.TopK)
	if len(r.entries) == 0 {
		return []kb.Chunk{}, nil
	}

	query, err := r.opts.Embedder.EmbedQuery(ctx, q.Text)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("memory: embed the query: %w", ctxErr)
		}
		return nil, fmt.Errorf("%w: embed the query: %w", kb.ErrUnavailable, err)
	}
	if len(query) != r.dimensions {
		return nil, fmt.Errorf("%w: the query vector has %d dimensions but the chunks have %d; "+
			"embed queries and documents with the same model", kb.ErrUnavailable, len(query), r.dimensions)
	}
	queryNorm, ok := vectorNorm(query)
	if !ok {
		return nil, fmt.Errorf("%w: the query vector has NaN or infinite components", kb.ErrUnavailable)
	}
	if queryNorm == 0 {
		return []kb.Chunk{}, nil
	}

	hits, err := r.score(ctx, query, queryNorm, filter)
	if err != nil {
		return nil, err
	}
	// A stable sort keeps equal scores in document order.
	slices.SortStableFunc(hits, func(a, b hit) int { return cmp.Compare(b.score, a.score) })
	hits = hits[:min(topK, len(hits))]

	chunks := make([]kb.Chunk, len(hits))
	for i, h := range hits {
		c := r.entries[h.index].chunk
		c.Score = h.score
		c.Metadata = cloneMetadata(c.Metadata)
		chunks[i] = c
	}
	return chunks, nil
}

// hit is an entry that matches a query.
type hit struct {
	index int
	score float64
}

// score returns the entries whose metadata contains filter and whose
// cosine similarity to query is above MinScore.
func (r *Retriever) score(ctx context.Context, query []float32, queryNorm float64, filter map[string]any) ([]hit, error) {
	var hits []hit
	for i, e := range r.entries {
		if i%1024 == 1023 {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("memory: search: %w", err)
			}
		}
		if e.norm == 0 || !metafilter.Contains(e.chunk.Metadata, filter) {
			continue
		}
		var dot float64
		for j, x := range e.vector {
			dot += float64(x) * float64(query[j])
		}
		// Rounding can push the cosine of equal vectors past 1.
		score := max(-1, min(1, dot/(e.norm*queryNorm)))
		if score > r.opts.MinScore {
			hits = append(hits, hit{index: i, score: score})
		}
	}
	return hits, nil
}

// cloneMetadata returns a deep copy of metadata in the form encoding/json
// decodes, so callers cannot change the retriever's copy.
func cloneMetadata(metadata map[string]any) map[string]any {
	if metadata == nil {
		return nil
	}
	return cloneValue(metadata).(map[string]any)
}

func cloneValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = cloneValue(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = cloneValue(x)
		}
		return out
	default:
		return v
	}
}
