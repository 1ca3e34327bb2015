package llm

import (
	"log/slog"
	"testing"
	"time"

	"github.com/tmc/langchaingo/llms"

	"github.com/agentry/agentry/manifest"
)

// isolateEnv sets the variables the langchaingo clients read to values
// that break any test that picks them up.
func isolateEnv(t *testing.T) {
	t.Helper()
	for k, v := range map[string]string{
		"OPENAI_API_KEY":      "leaked-openai-key",
		"OPENAI_BASE_URL":     "http://127.0.0.1:9/leaked",
		"OPENAI_API_BASE":     "http://127.0.0.1:9/leaked",
		"OPENAI_MODEL":        "leaked-model",
		"OPENAI_ORGANIZATION": "leaked-org",
		"ANTHROPIC_API_KEY":   "leaked-anthropic-key",
	} {
		t.Setenv(k, v)
	}
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// testOptions shortens the backoff so retry tests run quickly.
func testOptions() Options {
	return Options{Logger: quietLogger(), backoffBase: 5 * time.Millisecond}
}

func newLanes(t *testing.T, cfg manifest.LLMs) *Lanes {
	t.Helper()
	lanes, err := New(cfg, testOptions())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return lanes
}

func intPtr(n int) *int { return &n }

func human(text string) llms.MessageContent {
	return llms.TextParts(llms.ChatMessageTypeHuman, text)
}

func system(text string) llms.MessageContent {
	return llms.TextParts(llms.ChatMessageTypeSystem, text)
}

// shopTools are two namespaced tools, one without parameters.
func shopTools() []llms.Tool {
	return []llms.Tool{
		{Type: "function", Function: &llms.FunctionDefinition{
			Name:        "shop:order_status",
			Description: "Look up the status of an order.",
			Parameters: map[string]any{
				"type":       "object",
				"properties": map[string]any{"order": map[string]any{"type": "string"}},
				"required":   []string{"order"},
			},
		}},
		{Type: "function", Function: &llms.FunctionDefinition{
			Name:        "shop:refund",
			Description: "Refund the last order.",
		}},
	}
}

// provider describes one fake provider for table tests.
type provider struct {
	name  string
	model string
	// start starts the fake and returns it with its base URL.
	start func(t *testing.T, token, model string) (*fakeProvider, string)
	text  func(text string) responseFunc
}

var providers = []provider{
	{
		name: "openai", model: "gpt-4o-mini",
		start: func(t *testing.T, token, model string) (*fakeProvider, string) {
			f := newFakeOpenAI(t, token, model)
			return f.fakeProvider, f.baseURL()
		},
		text: openAIText,
	},
	{
		name: "anthropic", model: "claude-test",
		start: func(t *testing.T, token, model string) (*fakeProvider, string) {
			f := newFakeAnthropic(t, token, model)
			return f.fakeProvider, f.baseURL()
		},
		text: func(text string) responseFunc { return anthropicResponse("end_turn", anthropicText(text)) },
	},
}

// single returns an llms block with one model of p at baseURL.
func (p provider) single(baseURL string, cfg manifest.Provider) manifest.LLMs {
	cfg.BaseURL = baseURL
	if cfg.APIKey == "" {
		cfg.APIKey = "key-" + p.name
	}
	return manifest.LLMs{
		Default:   p.name + "/" + p.model,
		Providers: map[string]manifest.Provider{p.name: cfg},
	}
}
