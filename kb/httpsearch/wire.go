package httpsearch

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/agentry/agentry/kb"
)

// Request is the JSON body POSTed to the search endpoint.
type Request struct {
	// Query is the text to search for.
	Query string `json:"query"`
	// Messages is the recent conversation, oldest first. It is [] when
	// there is none.
	Messages []kb.Message `json:"messages"`
	// TopK is the number of results wanted.
	TopK int `json:"top_k"`
	// Filter keeps only results whose metadata contains it. Left out when
	// the query has none.
	Filter map[string]any `json:"filter,omitempty"`
}

// Response is the JSON body the search endpoint returns.
type Response struct {
	// Results are the matches. The order does not matter.
	Results []Result `json:"results"`
}

// Result is one match of a Response.
type Result struct {
	// ID names the chunk. Required and non-empty.
	ID string `json:"id"`
	// Content is the chunk's text. Required.
	Content string `json:"content"`
	// Score is the similarity to the query, higher is better. Required.
	Score float64 `json:"score"`
	// Metadata is an object or absent. Its "title" names the chunk in
	// citations.
	Metadata map[string]any `json:"metadata,omitempty"`
}

// wireResponse and wireResult decode a Response with its required fields
// checked.
type wireResponse struct {
	Results json.RawMessage `json:"results"`
}

type wireResult struct {
	ID       *string        `json:"id"`
	Content  *string        `json:"content"`
	Score    *float64       `json:"score"`
	Metadata map[string]any `json:"metadata"`
}

// decodeResponse parses a response body into chunks, in the endpoint's
// order.
func decodeResponse(body []byte) ([]kb.Chunk, error) {
	var resp wireResponse
	if err := json.Unmarshal(body, &resp); err != nil {
		var syntaxErr *json.SyntaxError
		if len(body) > 0 && errors.As(err, &syntaxErr) && syntaxErr.Offset == int64(len(body)) {
			return nil, fmt.Errorf("invalid JSON: %w (the body ends early after %d bytes; "+
				"if the HTTP client limits response bodies, raise its limit)", err, len(body))
		}
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if len(resp.Results) == 0 {
		return nil, fmt.Errorf(`the body has no "results" field`)
	}
	var results []wireResult
	if err := json.Unmarshal(resp.Results, &results); err != nil {
		return nil, fmt.Errorf(`invalid "results": %w`, err)
	}
	chunks := make([]kb.Chunk, len(results))
	for i, r := range results {
		switch {
		case r.ID == nil || *r.ID == "":
			return nil, fmt.Errorf(`result %d has no "id"`, i)
		case r.Content == nil:
			return nil, fmt.Errorf(`result %d (%q) has no "content"`, i, *r.ID)
		case r.Score == nil:
			return nil, fmt.Errorf(`result %d (%q) has no "score"`, i, *r.ID)
		}
		chunks[i] = kb.Chunk{ID: *r.ID, Content: *r.Content, Score: *r.Score, Metadata: r.Metadata}
	}
	return chunks, nil
}
