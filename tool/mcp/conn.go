package mcp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"

	"github.com/agentry/agentry/manifest"
)

// conn is one connection to a server: an mcp-go client, started and
// initialized. A conn that fails is closed and replaced, never repaired,
// so a new conn never carries the session id of an old one.
type conn struct {
	client *client.Client
	// cancel ends the transport's long-lived context: the stdio process
	// and the sse event stream.
	cancel context.CancelFunc
	// sessionRejected is set when the server responded with 404 or 400
	// to a request that carried an Mcp-Session-Id, because the session
	// expired or the server restarted without it.
	sessionRejected atomic.Bool
	closeOnce       sync.Once
}

// close closes the client and ends the transport. It may block for a few
// seconds while a stdio process exits.
func (c *conn) close() {
	c.closeOnce.Do(func() {
		if c.client != nil {
			_ = c.client.Close()
		}
		c.cancel()
	})
}

// broken reports whether err, returned by a request on c, means that the
// connection or its session is gone, so that a new connection may
// succeed. Errors of the caller's context, JSON-RPC errors of a live
// session and invalid responses do not count.
func (c *conn) broken(ctx context.Context, err error) bool {
	if err == nil || expired(ctx) {
		return false
	}
	if c.sessionRejected.Load() || errors.Is(err, transport.ErrSessionTerminated) ||
		errors.Is(err, errClientPanic) {
		return true
	}
	var transportErr *transport.Error
	return errors.As(err, &transportErr)
}

// expired reports whether ctx has ended or its deadline has passed. The
// sse transport runs its own timer to the context's deadline, which can
// fire an instant before the context reports DeadlineExceeded.
func expired(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	deadline, ok := ctx.Deadline()
	return ok && !time.Now().Before(deadline)
}

// errClientPanic is wrapped by the error of a request during which the
// mcp-go client panicked.
var errClientPanic = errors.New("mcp client panicked")

// safely runs fn, a request through the mcp-go client, and returns a
// panic inside it as an error wrapping errClientPanic.
//
// NOTE: mcp-go v1.2.1's sse transport returns a nil response and a nil
// error when the context's deadline passes before the context reports
// it, and the client then dereferences the nil response.
func safely[T any](fn func() (T, error)) (v T, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", errClientPanic, r)
		}
	}()
	return fn()
}

// newClient returns an mcp-go client for s's transport, not started yet.
func (s *Server) newClient(c *conn) (*client.Client, error) {
	log := s.log
	switch transportOf(s.cfg) {
	case manifest.MCPSSE:
		// The transport's own response timeout must not cut calls that the
		// server's timeout allows.
		responseTimeout := max(s.timeout, s.opts.ConnectTimeout)
		return client.NewSSEMCPClient(s.url,
			transport.WithHTTPClient(s.httpClient(c)),
			transport.WithHeaders(httpHeaders(s.cfg)),
			transport.WithSSELogger(log),
			transport.WithEndpointTimeout(s.opts.ConnectTimeout),
			transport.WithResponseTimeout(responseTimeout),
		)
	case manifest.MCPStdio:
		env := stdioEnv(s.cfg)
		stdio := transport.NewStdioWithOptions(s.cfg.Command, nil, s.cfg.Args,
			transport.WithCommandFunc(func(ctx context.Context, command string, _ []string, args []string) (*exec.Cmd, error) {
				cmd := exec.CommandContext(ctx, command, args...)
				cmd.Env = env
				return cmd, nil
			}),
			transport.WithCommandLogger(log),
			transport.WithCommandStderrWriter(&lineLogger{log: log}),
		)
		return client.NewClient(stdio), nil
	default:
		return client.NewStreamableHttpClient(s.url,
			transport.WithHTTPBasicClient(s.httpClient(c)),
			transport.WithHTTPHeaders(httpHeaders(s.cfg)),
			transport.WithHTTPLogger(log),
		)
	}
}

// httpClient returns an HTTP client for one connection: the configured
// client with a transport that records rejected sessions in c.
func (s *Server) httpClient(c *conn) *http.Client {
	hc := *s.opts.HTTPClient.HTTPClient()
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	hc.Transport = &sessionWatcher{base: base, rejected: &c.sessionRejected}
	return &hc
}

// sessionWatcher is an http.RoundTripper that records a 404 or 400
// response to a request with a session id. A streamable-http server
// responds with 404 to a session it does not have, and some (the examples
// of the TypeScript SDK among them) respond with 400.
type sessionWatcher struct {
	base     http.RoundTripper
	rejected *atomic.Bool
}

func (w *sessionWatcher) RoundTrip(req *http.Request) (*http.Response, error) {
	hasSession := req.Header.Get(transport.HeaderKeySessionID) != ""
	resp, err := w.base.RoundTrip(req)
	if err == nil && hasSession && req.Method == http.MethodPost &&
		(resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusBadRequest) {
		w.rejected.Store(true)
	}
	return resp, err
}

// startWithin starts cl on the long-lived connCtx, but gives up when ctx
// ends first. The sse and stdio transports tie their stream and process
// to the context of Start, so it cannot be the shorter ctx.
func startWithin(ctx, connCtx context.Context, cancelConn context.CancelFunc, cl *client.Client) error {
	done := make(chan error, 1)
	go func() { done <- cl.Start(connCtx) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		cancelConn()
		<-done
		return ctx.Err()
	}
}

// lineLogger writes a stdio server's standard error to the log, one
// record per line, at debug level.
type lineLogger struct {
	log     *slog.Logger
	partial []byte
}

// maxStderrLine bounds a logged line of a server's standard error.
const maxStderrLine = 4 << 10

func (w *lineLogger) Write(p []byte) (int, error) {
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		w.emit(w.partial[:i])
		w.partial = w.partial[i+1:]
	}
	if len(w.partial) > maxStderrLine {
		w.emit(w.partial)
		w.partial = w.partial[:0]
	}
	return len(p), nil
}

func (w *lineLogger) emit(line []byte) {
	line = bytes.TrimRight(line, "\r")
	if len(line) > maxStderrLine {
		line = line[:maxStderrLine]
	}
	if len(line) > 0 {
		w.log.Debug("mcp server stderr", "line", string(line))
	}
}

// sinceStart returns the time since start, rounded for logs.
func sinceStart(start time.Time) time.Duration {
	return time.Since(start).Round(time.Millisecond)
}
