package agentry

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/tmc/langchaingo/embeddings"
	"github.com/tmc/langchaingo/llms/openai"

	"github.com/agentry/agentry/kb"
	"github.com/agentry/agentry/kb/httpsearch"
	"github.com/agentry/agentry/kb/lexical"
	"github.com/agentry/agentry/kb/memory"
	"github.com/agentry/agentry/kb/pgvector"
	"github.com/agentry/agentry/manifest"
)

// Embedder returns the embedding model of m's llms.embedding: an OpenAI
// (or OpenAI-compatible) embedding model for "openai/<model>", or, when
// llms.embedding is empty, the offline lexical embedder of kb/lexical,
// which matches words rather than meaning. The kb ingest command and the
// knowledge base of the server use the same one, so stored vectors and
// queries agree.
func Embedder(m *manifest.Manifest) (embeddings.Embedder, error) {
	id := m.AgentConfig.LLMs.Embedding
	if id == "" {
		dims := lexical.DefaultDimensions
		if s := m.AgentConfig.Search; s != nil && s.EmbeddingDimensions > 0 {
			dims = s.EmbeddingDimensions
		}
		return lexical.New(lexical.Options{Dimensions: dims})
	}
	provider, model, ok := strings.Cut(id, "/")
	if !ok || (provider != "openai" && provider != "ollama") {
		return nil, fmt.Errorf("llms.embedding %q: use openai/<model> or ollama/<model>, or leave it empty for the offline lexical embedder", id)
	}
	p := m.AgentConfig.LLMs.Providers[provider]
	token, baseURL := p.APIKey, p.BaseURL
	if provider == "ollama" {
		token = "ollama"
		if baseURL == "" {
			baseURL = "http://127.0.0.1:11434/v1"
		}
	}
	if token == "" {
		token = "none"
	}
	opts := []openai.Option{openai.WithToken(token), openai.WithEmbeddingModel(model), openai.WithModel(model)}
	if baseURL != "" {
		opts = append(opts, openai.WithBaseURL(baseURL))
	}
	client, err := openai.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("llms.embedding %q: %w", id, err)
	}
	return embeddings.NewEmbedder(client)
}

// newRetriever builds the knowledge base of m's search block, or returns
// nil when there is none. It checks a pgvector table's dimension against
// the embedder now, so a mismatch fails at start-up rather than per
// question.
func newRetriever(ctx context.Context, m *manifest.Manifest) (kb.Retriever, error) {
	s := m.AgentConfig.Search
	if s == nil {
		return nil, nil
	}
	switch s.Type {
	case manifest.SearchExternal:
		return httpsearch.New(httpsearch.Config{
			URL:     s.URL,
			APIKey:  s.APIKey,
			TopK:    s.TopK,
			Timeout: time.Duration(s.Timeout),
		})
	case manifest.SearchPgvector:
		emb, err := Embedder(m)
		if err != nil {
			return nil, err
		}
		r, err := pgvector.New(pgvector.ConfigFromManifest(*s), emb)
		if err != nil {
			return nil, err
		}
		if err := r.Check(ctx); err != nil {
			r.Close()
			return nil, fmt.Errorf("search: %w", err)
		}
		return r, nil
	case manifest.SearchMemory:
		emb, err := Embedder(m)
		if err != nil {
			return nil, err
		}
		paths := make([]string, len(s.Documents))
		for i, p := range s.Documents {
			if !filepath.IsAbs(p) {
				p = filepath.Join(m.Dir, p)
			}
			paths[i] = p
		}
		return memory.Load(ctx, paths, memory.Options{Embedder: emb, TopK: s.TopK})
	}
	return nil, fmt.Errorf("search.type %q: use pgvector, external or memory", s.Type)
}
