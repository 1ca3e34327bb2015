package llm

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/tmc/langchaingo/llms"

	"github.com/agentry/agentry/manifest"
)

// Options configures [New].
type Options struct {
	// HTTPClient is the base client of the HTTP providers. Its transport
	// is wrapped with retries, so its Timeout, if set, bounds a request
	// with all its retries. Default: a new client over
	// http.DefaultTransport.
	HTTPClient *http.Client
	// Logger receives retries and fallbacks. Default slog.Default().
	Logger *slog.Logger
	// Dir is the directory that script paths resolve against, usually
	// the manifest's directory. Default: the working directory.
	Dir string
	// Providers adds or replaces providers by name. A model id
	// "name/model" whose name is a key here is built by that factory,
	// built-in names included.
	Providers map[string]Factory

	// backoffBase replaces defaultBackoffBase; tests shorten it.
	backoffBase time.Duration
}

// Factory builds the model of one model id.
type Factory func(Spec) (llms.Model, error)

// Spec describes one model for a [Factory] to build.
type Spec struct {
	// ID is the whole model id, "provider/model".
	ID string
	// Provider and Model are the two halves of ID.
	Provider, Model string
	// Lane is the name of the lane the model serves: [LaneChat] or
	// [LaneEvaluation].
	Lane string
	// Config is the manifest's providers.<Provider> block; zero when the
	// manifest has none.
	Config manifest.Provider
	// HTTPClient retries responses with status 429 and 5xx up to
	// Config.MaxRetries times. Use it for every request to the provider.
	HTTPClient *http.Client
	// Dir is [Options.Dir].
	Dir string
}

// Lanes holds the lanes a manifest's llms block describes.
type Lanes struct {
	// Chat writes the replies to customers.
	Chat *Lane
	// Evaluation matches policies and routines and produces structured
	// output. It uses the chat lane's models when the manifest names
	// none.
	Evaluation *Lane
}

// New builds the chat and evaluation lanes of cfg. It applies the
// defaults of the llms block itself, so cfg need not have passed
// manifest.ApplyDefaults. Provider clients always get an explicit token,
// base URL and model, so no OPENAI_* or ANTHROPIC_* environment variable
// is read.
func New(cfg manifest.LLMs, opts Options) (*Lanes, error) {
	if strings.TrimSpace(cfg.Default) == "" {
		return nil, fmt.Errorf("llms.default is missing: name the chat model as \"provider/model\", for example \"scripted/demo\"")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{}
	}
	b := builder{opts: opts, providers: cfg.Providers, clients: map[string]*http.Client{}}

	evaluation, evaluationFallback := cfg.Evaluation, cfg.EvaluationFallback
	if evaluation == "" {
		evaluation = cfg.Default
		if len(evaluationFallback) == 0 {
			evaluationFallback = cfg.Fallback
		}
	}
	chatWindow := cfg.ContextWindow
	if chatWindow <= 0 {
		chatWindow = manifest.DefaultContextWindow
	}
	evaluationWindow := cfg.EvaluationContextWindow
	if evaluationWindow <= 0 {
		evaluationWindow = chatWindow
	}

	chat, err := b.lane(LaneChat, cfg.Default, cfg.Fallback, chatWindow)
	if err != nil {
		return nil, err
	}
	eval, err := b.lane(LaneEvaluation, evaluation, evaluationFallback, evaluationWindow)
	if err != nil {
		return nil, err
	}
	return &Lanes{Chat: chat, Evaluation: eval}, nil
}

// builder builds lanes and shares one retrying HTTP client per provider.
type builder struct {
	opts      Options
	providers map[string]manifest.Provider
	clients   map[string]*http.Client
}

func (b *builder) lane(name, primary string, fallbacks []string, window int) (*Lane, error) {
	ids := append([]string{primary}, fallbacks...)
	models := make([]Candidate, 0, len(ids))
	for _, id := range ids {
		c, err := b.candidate(name, id)
		if err != nil {
			return nil, fmt.Errorf("%s lane: %w", name, err)
		}
		models = append(models, c)
	}
	return NewLane(LaneConfig{Name: name, Models: models, ContextWindow: window, Logger: b.opts.Logger})
}

func (b *builder) candidate(lane, id string) (Candidate, error) {
	provider, model, ok := strings.Cut(strings.TrimSpace(id), "/")
	if !ok || provider == "" || model == "" {
		return Candidate{}, fmt.Errorf("%w %q: use \"provider/model\", for example \"openai/gpt-4o-mini\"", ErrInvalidModelID, id)
	}
	cfg := b.providers[provider]
	spec := Spec{
		ID:         provider + "/" + model,
		Provider:   provider,
		Model:      model,
		Lane:       lane,
		Config:     cfg,
		HTTPClient: b.client(provider, cfg),
		Dir:        b.opts.Dir,
	}
	factory, err := b.factory(provider)
	if err != nil {
		return Candidate{}, fmt.Errorf("model %s: %w", spec.ID, err)
	}
	m, err := factory(spec)
	if err != nil {
		return Candidate{}, fmt.Errorf("model %s: %w", spec.ID, err)
	}
	return Candidate{ID: spec.ID, Model: m, Timeout: cfg.Timeout.Or(DefaultTimeout)}, nil
}

func (b *builder) factory(provider string) (Factory, error) {
	if f, ok := b.opts.Providers[provider]; ok && f != nil {
		return f, nil
	}
	switch provider {
	case "openai":
		return newOpenAI, nil
	case "anthropic":
		return newAnthropic, nil
	case "ollama":
		return newOllama, nil
	case "scripted":
		return newScripted, nil
	case "googleai":
		return nil, fmt.Errorf("%w: googleai is not part of this build: register a factory for it in llm.Options.Providers", ErrProviderNotCompiled)
	}
	return nil, fmt.Errorf("%w %q: use openai, anthropic, ollama or scripted, or register a factory in llm.Options.Providers", ErrUnknownProvider, provider)
}

// client returns the provider's HTTP client: the base client with a
// transport that retries up to the provider's max_retries times.
func (b *builder) client(provider string, cfg manifest.Provider) *http.Client {
	if c, ok := b.clients[provider]; ok {
		return c
	}
	base := b.opts.HTTPClient
	transport := base.Transport
	if transport == nil {
		transport = http.DefaultTransport
	}
	retries := DefaultMaxRetries
	if cfg.MaxRetries != nil {
		retries = max(*cfg.MaxRetries, 0)
	}
	backoffBase := b.opts.backoffBase
	if backoffBase <= 0 {
		backoffBase = defaultBackoffBase
	}
	c := &http.Client{
		Transport: &retryTransport{
			base:        transport,
			maxRetries:  retries,
			backoffBase: backoffBase,
			backoffMax:  defaultBackoffMax,
			logger:      b.opts.Logger.With("provider", provider),
			now:         time.Now,
		},
		CheckRedirect: base.CheckRedirect,
		Jar:           base.Jar,
		Timeout:       base.Timeout,
	}
	b.clients[provider] = c
	return c
}
