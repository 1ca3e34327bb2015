package transport

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/agentry/agentry/agent"
	"github.com/agentry/agentry/internal/ratelog"
	"github.com/agentry/agentry/internal/telemetry"
	"github.com/agentry/agentry/manifest"
	"github.com/agentry/agentry/routine"
	"github.com/agentry/agentry/store"
	"github.com/agentry/agentry/transport/ui"
	"github.com/agentry/agentry/transport/wire"
)

// Config configures the HTTP handler.
type Config struct {
	// Manifest supplies the api key and the runtime limits. Required.
	Manifest *manifest.Manifest
	// Store serves reads. Required.
	Store store.Store
	// Engine handles writes that involve turns. Required.
	Engine *agent.Engine
	// Logger receives request errors. Default: slog.Default().
	Logger *slog.Logger
	// Runner triggers and runs autonomous routines. Optional: without it
	// GET /routines lists none and the other routine routes return 404.
	Runner *routine.Runner
	// Deliverer is woken when a callback becomes due. Optional.
	Deliverer *routine.Deliverer
	// Dependencies reports the state of optional dependencies, such as MCP
	// servers, for /health/ready: "ok" or "degraded: <reason>". A degraded
	// dependency keeps the status 200. Optional.
	Dependencies func() map[string]string
	// Events pushes session events to sinks. Optional: without it
	// sessions show no delivery state.
	Events *EventDeliverer
	// CheckWebhookURL rejects a session's webhook_url at open and PATCH
	// (422) when the outbound guard would not reach it. Optional.
	CheckWebhookURL func(ctx context.Context, rawURL string) error
	// HeartbeatInterval is the time between SSE heartbeat comments, which
	// keep proxies from closing idle streams. Default 15s.
	HeartbeatInterval time.Duration
	// LoginTTL is how long the cookie set by POST /auth/login stays
	// valid. Default 12h.
	LoginTTL time.Duration
	// Metrics serves GET /metrics, behind the API key unless
	// runtime.metrics_public is set. Optional: without it /metrics
	// returns 404.
	Metrics http.Handler
	// Telemetry counts the long-poll and SSE requests waiting for
	// events. Optional.
	Telemetry *telemetry.Telemetry
}

// Server is the HTTP API as an [http.Handler]. It is safe for concurrent
// use. It returns 503 on /health/ready with 503 until SetReady(true) is called.
type Server struct {
	mux     *http.ServeMux
	store   store.Store
	engine  *agent.Engine
	log     *slog.Logger
	keyHash [sha256.Size]byte
	// healthErrors logs store failures seen by /health/ready, which load
	// balancers poll every few seconds, at most once per 10 s.
	healthErrors *ratelog.Errors
	maxBody      int64
	maxWait      time.Duration
	beat         time.Duration
	runner       *routine.Runner
	deliverer    *routine.Deliverer
	delivery     *EventDeliverer
	checkURL     func(ctx context.Context, rawURL string) error
	inbound      map[string]*inbound
	deps         func() map[string]string
	ready        atomic.Bool
	manifest     *manifest.Manifest
	logins       *loginSigner
	metrics      http.Handler
	tel          *telemetry.Telemetry
	// patterns lists every pattern registered on mux, in registration
	// order. The OpenAPI test checks the document against it.
	patterns []string
}

// New returns the handler with every route registered.
func New(cfg Config) (*Server, error) {
	if cfg.Manifest == nil || cfg.Store == nil || cfg.Engine == nil {
		return nil, errors.New("transport: Config.Manifest, Config.Store and Config.Engine are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	rt := cfg.Manifest.AgentConfig.Runtime
	s := &Server{
		mux:       http.NewServeMux(),
		store:     cfg.Store,
		engine:    cfg.Engine,
		log:       cfg.Logger,
		keyHash:   sha256.Sum256([]byte(rt.APIKey)),
		maxBody:   rt.MaxBodyBytes,
		maxWait:   rt.LongPollMaxWait.Or(manifest.DefaultLongPollMaxWait),
		manifest:  cfg.Manifest,
		beat:      cfg.HeartbeatInterval,
		runner:    cfg.Runner,
		deliverer: cfg.Deliverer,
		delivery:  cfg.Events,
		checkURL:  cfg.CheckWebhookURL,
		metrics:   cfg.Metrics,
		tel:       cfg.Telemetry,
	}
	if s.beat <= 0 {
		s.beat = defaultHeartbeat
	}
	s.healthErrors = ratelog.New(s.log, "readiness check: store unreachable")
	hooks, err := newInbound(cfg.Manifest.AgentConfig.Webhooks)
	if err != nil {
		return nil, fmt.Errorf("transport: %w", err)
	}
	s.inbound = hooks
	if s.logins, err = newLoginSigner(rt.APIKey, cfg.LoginTTL); err != nil {
		return nil, fmt.Errorf("transport: %w", err)
	}
	s.deps = cfg.Dependencies
	if s.maxBody <= 0 {
		s.maxBody = manifest.DefaultMaxBodyBytes
	}
	s.routes()
	return s, nil
}

// SetReady switches /health/ready between 503 and 200.
func (s *Server) SetReady(ready bool) { s.ready.Store(ready) }

// handlerFunc is a handler that returns its error for writeError.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// handle registers h on the mux and records the pattern. Every route goes
// through it, so the OpenAPI test sees each one.
func (s *Server) handle(pattern string, h http.Handler) {
	s.patterns = append(s.patterns, pattern)
	s.mux.Handle(pattern, h)
}

func (s *Server) routes() {
	open := func(pattern string, h handlerFunc) { s.handle(pattern, s.wrap(h)) }
	authed := func(pattern string, h handlerFunc) { s.handle(pattern, s.auth(s.wrap(h))) }

	open("GET /health", s.health)
	open("GET /health/live", s.health)
	open("GET /health/ready", s.healthReady)

	open("POST /auth/login", s.login)
	open("POST /auth/logout", s.logout)
	// The chat page's static files need no credentials; its API calls do.
	s.handle("GET /ui", http.HandlerFunc(ui.RedirectToPage))
	s.handle("GET /ui/", http.StripPrefix("/ui", ui.Handler()))

	authed("PUT /customers/{id}", s.putCustomer)
	authed("GET /customers/{id}", s.getCustomer)
	authed("PATCH /customers/{id}/variables", s.mergeCustomer(false))
	authed("PATCH /customers/{id}/metadata", s.mergeCustomer(true))

	authed("POST /sessions", s.createSession)
	authed("GET /sessions", s.listSessions)
	authed("GET /sessions/{id}", s.getSession)
	authed("PATCH /sessions/{id}", s.patchSession)
	authed("DELETE /sessions/{id}", s.deleteSession)
	authed("POST /sessions/{id}/messages", s.postMessage)
	authed("GET /sessions/{id}/events", s.events)
	authed("POST /sessions/{id}/cancel", s.cancelTurn)
	authed("POST /sessions/{id}/tool_events", s.postToolEvent)
	authed("POST /sessions/{id}/redeliver", s.redeliverEvents)

	authed("GET /routines", s.listRoutines)
	authed("GET /routines/{id}", s.getRoutine)
	authed("POST /routines/{id}/trigger", s.triggerRoutine)
	authed("GET /runs/{run_id}", s.getRun)
	authed("POST /runs/{run_id}/cancel", s.cancelRun)
	authed("POST /runs/{run_id}/redeliver", s.redeliverRun)

	// Inbound webhooks authenticate by their signature alone.
	open("POST /webhooks/{name}", s.receiveWebhook)

	open("GET /openapi.json", s.serveOpenAPI)
	s.handle("GET /metrics", s.metricsHandler())
}

func (s *Server) wrap(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// auth checks the bearer token in constant time, or the login cookie when
// the request has no Authorization header. A failure is 401 with no detail
// about what was wrong, or 403 for a cross-site request with the cookie.
func (s *Server) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, ok := cookieAuthenticated(r); ok {
			if err := s.checkCookie(r, c); err != nil {
				if err == errUnauthorized {
					w.Header().Set("WWW-Authenticate", `Bearer realm="agentry"`)
				}
				s.writeError(w, r, err)
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		if !s.bearerAuthorized(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="agentry"`)
			s.writeError(w, r, errUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// bearerAuthorized reports whether r carries the api key as a bearer
// token, compared in constant time.
func (s *Server) bearerAuthorized(r *http.Request) bool {
	token, ok := bearerToken(r.Header.Get("Authorization"))
	got := sha256.Sum256([]byte(token))
	return ok && subtle.ConstantTimeCompare(got[:], s.keyHash[:]) == 1
}

// bearerToken returns the token of an "Authorization: Bearer <token>"
// header. The scheme is case-insensitive and may be followed by several
// spaces, as RFC 9110 allows.
func bearerToken(h string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimLeft(token, " ")
	return token, token != ""
}

// ServeHTTP routes the request. Unknown routes and wrong methods get the
// JSON error body instead of the mux's plain text.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := s.mux.Handler(r); pattern == "" {
		probe := &statusProbe{header: make(http.Header)}
		s.mux.ServeHTTP(probe, r)
		if probe.code == http.StatusMethodNotAllowed {
			allow := probe.header.Get("Allow")
			w.Header().Set("Allow", allow)
			s.writeError(w, r, &apiError{status: probe.code, code: wire.CodeMethodNotAllowed,
				message: r.Method + " is not allowed on " + r.URL.Path + "; allowed: " + allow})
			return
		}
		s.writeError(w, r, &apiError{status: http.StatusNotFound, code: wire.CodeNotFound, message: "no route for " + r.Method + " " + r.URL.Path})
		return
	}
	s.mux.ServeHTTP(w, r)
}

// statusProbe records the status and headers the mux's own 404 and 405
// handlers write, and discards their plain-text body.
type statusProbe struct {
	header http.Header
	code   int
}

func (p *statusProbe) Header() http.Header         { return p.header }
func (p *statusProbe) Write(b []byte) (int, error) { return len(b), nil }
func (p *statusProbe) WriteHeader(code int)        { p.code = code }
