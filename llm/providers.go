package llm

import (
	"fmt"
	"path/filepath"

	"github.com/tmc/langchaingo/llms"
	"github.com/tmc/langchaingo/llms/anthropic"
	"github.com/tmc/langchaingo/llms/openai"

	"github.com/agentry/agentry/llm/scripted"
)

// Default provider addresses, used when a provider sets no base_url.
const (
	DefaultOpenAIBaseURL    = "https://api.openai.com/v1"
	DefaultAnthropicBaseURL = "https://api.anthropic.com/v1"
	DefaultOllamaBaseURL    = "http://127.0.0.1:11434/v1"
)

// placeholderToken is sent to servers that need no key, because the
// langchaingo clients refuse an empty token.
const placeholderToken = "unused"

// token returns the provider's api_key, a placeholder when a base_url
// names a server that may need none, or ErrMissingAPIKey.
func token(s Spec) (string, error) {
	if s.Config.APIKey != "" {
		return s.Config.APIKey, nil
	}
	if s.Config.BaseURL != "" {
		return placeholderToken, nil
	}
	return "", fmt.Errorf("%w: set llms.providers.%s.api_key, or base_url for a server that needs no key",
		ErrMissingAPIKey, s.Provider)
}

func newOpenAI(s Spec) (llms.Model, error) {
	tok, err := token(s)
	if err != nil {
		return nil, err
	}
	return openAICompatible(s, tok, orDefault(s.Config.BaseURL, DefaultOpenAIBaseURL))
}

// newOllama reaches Ollama through its OpenAI-compatible API, because the
// langchaingo v0.1.14 ollama client drops tools.
func newOllama(s Spec) (llms.Model, error) {
	tok := orDefault(s.Config.APIKey, "ollama")
	return openAICompatible(s, tok, orDefault(s.Config.BaseURL, DefaultOllamaBaseURL))
}

func openAICompatible(s Spec, tok, baseURL string) (llms.Model, error) {
	m, err := openai.New(
		openai.WithToken(tok),
		openai.WithModel(s.Model),
		openai.WithBaseURL(baseURL),
		openai.WithOrganization(""),
		openai.WithAPIType(openai.APITypeOpenAI),
		openai.WithHTTPClient(s.HTTPClient),
	)
	if err != nil {
		return nil, fmt.Errorf("create %s client: %w", s.Provider, err)
	}
	return m, nil
}

func newAnthropic(s Spec) (llms.Model, error) {
	tok, err := token(s)
	if err != nil {
		return nil, err
	}
	m, err := anthropic.New(
		anthropic.WithToken(tok),
		anthropic.WithModel(s.Model),
		anthropic.WithBaseURL(orDefault(s.Config.BaseURL, DefaultAnthropicBaseURL)),
		anthropic.WithHTTPClient(s.HTTPClient),
	)
	if err != nil {
		return nil, fmt.Errorf("create anthropic client: %w", err)
	}
	return m, nil
}

// newScripted builds the built-in scripted/demo, or for any other name a
// scripted model that follows llms.providers.scripted.script.
func newScripted(s Spec) (llms.Model, error) {
	opts := []scripted.Option{scripted.WithLane(s.Lane)}
	if s.Model != scripted.DemoName {
		if s.Config.Script == "" {
			return nil, fmt.Errorf("llms.providers.scripted.script is not set: use scripted/%s or name a rule file", scripted.DemoName)
		}
		path := s.Config.Script
		if !filepath.IsAbs(path) && s.Dir != "" {
			path = filepath.Join(s.Dir, path)
		}
		script, err := scripted.LoadScript(path)
		if err != nil {
			return nil, err
		}
		opts = append(opts, scripted.WithScript(script))
	}
	return scripted.New(s.Model, opts...)
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
