package agentry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"

	"github.com/tmc/langchaingo/llms"

	"github.com/agentry/agentry/agent"
	"github.com/agentry/agentry/internal/ids"
	"github.com/agentry/agentry/internal/telemetry"
	"github.com/agentry/agentry/kb"
	"github.com/agentry/agentry/llm"
	"github.com/agentry/agentry/manifest"
	"github.com/agentry/agentry/store"
	"github.com/agentry/agentry/tool"
	"github.com/agentry/agentry/transport"
	"github.com/agentry/agentry/transport/sink"
)

// Options are the parts of a server that code supplies rather than the
// manifest. The zero value is valid.
type Options struct {
	// Store keeps customers, sessions, events, runs and delivery
	// progress. Default: the store of the manifest's database block, opened
	// with [OpenStore], or a new in-memory store, which loses everything
	// when the process exits, when the block is omitted. The caller closes
	// a store it passes in; the server closes one it opened.
	Store store.Store
	// Logger receives the server's logs. Default: slog.Default().
	Logger *slog.Logger
	// HTTPClient is the base client for model providers. Default: a new
	// client per provider.
	HTTPClient *http.Client
	// ChatModel, when set, replaces the chat and evaluation lanes built
	// from the manifest's llms block: for custom providers and for tests.
	ChatModel llms.Model
	// Tools are native Go tools that routines and the model may call, in
	// addition to those of the manifest's MCP servers.
	Tools []tool.Tool
	// Owner names this process in work leases, so that several replicas
	// sharing a store can tell their leases apart. Default: a random id.
	Owner string
	// Sinks receive every event of every session, in addition to the
	// built-in event webhook, each with a delivery cursor of its own in
	// the store (see package transport/sink). Default none.
	Sinks []sink.Sink
}

// Server is an agent served over HTTP: an [http.Handler] plus the
// background work (turns) behind it. Mount it on any router, under any
// path prefix with [http.StripPrefix]. Call Start before serving and
// Shutdown when done; a Server is safe for concurrent use.
type Server struct {
	handler   *transport.Server
	engine    *agent.Engine
	routines  routineParts
	events    eventParts
	mcp       mcpServers
	knowledge kb.Retriever
	store     store.Store
	ownsStore bool
	log       *slog.Logger
	// observability owns the tracer provider, flushed at Shutdown.
	observability *observability

	mu      sync.Mutex
	started bool
	stopped bool
}

// New builds a server for m. It does not start background work; call
// Start for that. m must come from [manifest.Load] or [manifest.Parse].
func New(m *manifest.Manifest, opts Options) (*Server, error) {
	if m == nil {
		return nil, errors.New("agentry: manifest is nil")
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	// Logs inside turns and runs get their ids from the context.
	log = slog.New(telemetry.NewLogHandler(log.Handler())).With("agent_id", m.ID)
	obs, err := newObservability(m, log)
	if err != nil {
		return nil, fmt.Errorf("agentry: %w", err)
	}
	built := false
	defer func() {
		if !built {
			_ = obs.shutdown(context.Background())
		}
	}()
	tel := obs.tel

	chat, evaluation := opts.ChatModel, opts.ChatModel
	if chat == nil {
		lanes, err := llm.New(m.AgentConfig.LLMs, llm.Options{HTTPClient: opts.HTTPClient, Logger: log, Dir: m.Dir})
		if err != nil {
			return nil, fmt.Errorf("agentry: building model lanes: %w", err)
		}
		chat, evaluation = lanes.Chat, lanes.Evaluation
	}
	chat = tel.WrapModel(llm.LaneChat, chat)
	evaluation = tel.WrapModel(llm.LaneEvaluation, evaluation)
	tools, err := tool.NewRegistry(opts.Tools...)
	if err != nil {
		return nil, fmt.Errorf("agentry: Options.Tools: %w", err)
	}
	if err := resolveTools(m, tools); err != nil {
		return nil, err
	}
	servers, err := connectMCP(m, tools, log)
	if err != nil {
		return nil, fmt.Errorf("agentry: %w", err)
	}
	defer func() {
		if !built {
			_ = servers.close()
		}
	}()

	st, owns := opts.Store, false
	if st == nil {
		st, err = OpenStore(context.Background(), m, log)
		if err != nil {
			return nil, fmt.Errorf("agentry: %w", err)
		}
		owns = true
		defer func() {
			if !built {
				_ = st.Close()
			}
		}()
	}
	owner := opts.Owner
	if owner == "" {
		owner = ids.New("proc_")
	}
	// The server's parts use the timed store; Store() returns st itself.
	timed := timedStore{inner: st, metrics: tel.Metrics()}
	parts, err := newRoutineParts(m, timed, chat, evaluation, tools, owner, log, tel)
	if err != nil {
		return nil, fmt.Errorf("agentry: %w", err)
	}
	events, err := newEventParts(m, timed, opts.Sinks, owner, log, tel)
	if err != nil {
		return nil, fmt.Errorf("agentry: %w", err)
	}
	knowledge, err := newRetriever(context.Background(), m)
	if err != nil {
		return nil, fmt.Errorf("agentry: knowledge base: %w", err)
	}
	defer func() {
		if c, ok := knowledge.(interface{ Close() }); ok && !built {
			c.Close()
		}
	}()
	engine, err := agent.New(agent.Config{
		Manifest:   m,
		Store:      timed,
		Chat:       chat,
		Evaluation: evaluation,
		Knowledge:  knowledge,
		Tools:      tools,
		Logger:     log,
		Owner:      owner,
		LeaseTTL:   m.AgentConfig.Runtime.LeaseTTL.Or(manifest.DefaultLeaseTTL),
		Telemetry:  tel,
	})
	if err != nil {
		return nil, fmt.Errorf("agentry: %w", err)
	}
	handler, err := transport.New(transport.Config{
		Manifest:        m,
		Store:           timed,
		Engine:          engine,
		Runner:          parts.runner,
		Deliverer:       parts.deliverer,
		Events:          events.deliverer,
		CheckWebhookURL: events.checkURL,
		Dependencies:    servers.status,
		Logger:          log,
		Metrics:         obs.metrics,
		Telemetry:       tel,
	})
	if err != nil {
		return nil, fmt.Errorf("agentry: %w", err)
	}
	built = true
	return &Server{
		handler: handler, engine: engine, routines: parts, events: events,
		mcp: servers, knowledge: knowledge, store: st, ownsStore: owns, log: log,
		observability: obs,
	}, nil
}

// ServeHTTP serves the agent's HTTP API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

// Start starts the background work and marks the server ready. Requests
// are served before Start too, but /health/ready returns 503 until it has
// finished.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return errors.New("agentry: Start after Shutdown")
	}
	if s.started {
		return nil
	}
	if err := s.store.Ping(ctx); err != nil {
		return fmt.Errorf("agentry: store not reachable: %w", err)
	}
	if err := s.engine.Start(ctx); err != nil {
		return fmt.Errorf("agentry: %w", err)
	}
	if err := s.routines.runner.Start(ctx); err != nil {
		return fmt.Errorf("agentry: %w", err)
	}
	if err := s.routines.deliverer.Start(ctx); err != nil {
		return fmt.Errorf("agentry: %w", err)
	}
	if err := s.events.deliverer.Start(ctx); err != nil {
		return fmt.Errorf("agentry: %w", err)
	}
	s.started = true
	s.handler.SetReady(true)
	s.log.Info("agent server started")
	return nil
}

// Shutdown marks the server not ready, stops the background work (turns
// in flight are handed back to the store and re-run by the next process),
// and closes the store if the server created it. It does not close
// listeners: shut the http.Server down first.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return nil
	}
	s.stopped = true
	s.handler.SetReady(false)
	// The parts stop concurrently, so one that waits for a slow receiver
	// does not use up the time of the others.
	stops := []func(context.Context) error{
		s.engine.Stop,
		s.routines.runner.Stop,
		s.routines.deliverer.Stop,
		s.events.deliverer.Stop,
	}
	errs := make([]error, len(stops))
	var wg sync.WaitGroup
	for i, stop := range stops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = stop(ctx)
		}()
	}
	wg.Wait()
	err := errors.Join(append(errs, s.mcp.close())...)
	if c, ok := s.knowledge.(interface{ Close() }); ok {
		c.Close()
	}
	if s.ownsStore {
		err = errors.Join(err, s.store.Close())
	}
	// The spans of the work stopped above are flushed last.
	err = errors.Join(err, s.observability.shutdown(ctx))
	s.log.Info("agent server stopped")
	return err
}

// Store returns the server's store.
func (s *Server) Store() store.Store { return s.store }
