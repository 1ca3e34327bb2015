package kb

import (
	"context"
	"errors"
)

// Sentinel errors of retrievers.
var (
	// ErrUnavailable: the knowledge base could not be reached or returned
	// an error. The turn goes on without snippets.
	ErrUnavailable = errors.New("kb: knowledge base unavailable")
	// ErrInvalidQuery: the query cannot be searched (an empty text, a
	// filter that is not an object).
	ErrInvalidQuery = errors.New("kb: invalid query")
)

// Query is one search.
type Query struct {
	// Text is the search text, usually rewritten from the conversation.
	Text string
	// Messages is the recent conversation, for retrievers that use it
	// (the external HTTP endpoint receives it). Oldest first.
	Messages []Message
	// TopK is the number of chunks wanted; 0 means the retriever's default.
	TopK int
	// Filter keeps only chunks whose metadata contains these key/value
	// pairs (JSON containment). Nil keeps all.
	Filter map[string]any
}

// Message is one message of the conversation passed to a retriever.
type Message struct {
	// Role is "user" or "assistant".
	Role string `json:"role"`
	Text string `json:"content"`
}

// Chunk is a piece of a document returned by a search.
type Chunk struct {
	ID      string
	Content string
	// Score is the similarity to the query, higher is better; for cosine
	// similarity it lies in [-1, 1].
	Score    float64
	Metadata map[string]any
}

// Title returns the chunk's "title" metadata, or "".
func (c Chunk) Title() string {
	t, _ := c.Metadata["title"].(string)
	return t
}

// Retriever searches a knowledge base. Implementations must be safe for
// concurrent use, honour ctx, and return chunks in descending score
// order, at most q.TopK of them.
type Retriever interface {
	Search(ctx context.Context, q Query) ([]Chunk, error)
}
