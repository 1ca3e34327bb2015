package postgres

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentry/agentry/internal/testenv"
	"github.com/agentry/agentry/store"
)

// proxy forwards loopback TCP connections to the database, so a test can
// cut the database off from a store (Stop) and bring it back on the same
// port (Start) without touching the shared server.
type proxy struct {
	t        *testing.T
	addr     string // listen address, fixed after the first Start
	upstream string

	mu       sync.Mutex
	listener net.Listener
	conns    map[net.Conn]struct{}
	// frozen holds the connections whose bytes are dropped, as on a
	// network path that went dark without a TCP reset.
	frozen map[net.Conn]bool
	wg     sync.WaitGroup
}

func newProxy(t *testing.T, upstream string) *proxy {
	p := &proxy{
		t:        t,
		addr:     "127.0.0.1:0",
		upstream: upstream,
		conns:    make(map[net.Conn]struct{}),
		frozen:   make(map[net.Conn]bool),
	}
	p.Start()
	t.Cleanup(p.Stop)
	return p
}

// Start listens on the proxy's address and forwards every connection.
func (p *proxy) Start() {
	p.t.Helper()
	l, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatalf("proxy listen on %s: %v", p.addr, err)
	}
	p.mu.Lock()
	p.listener = l
	p.addr = l.Addr().String()
	p.mu.Unlock()
	p.wg.Go(func() {
		for {
			client, err := l.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", p.upstream)
			if err != nil {
				client.Close()
				continue
			}
			if !p.track(client, server) {
				return
			}
			p.wg.Go(func() { p.pipe(client, server) })
			p.wg.Go(func() { p.pipe(server, client) })
		}
	})
}

// track records a forwarded pair, or closes it when the proxy stopped.
func (p *proxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.listener == nil {
		for _, c := range conns {
			c.Close()
		}
		return false
	}
	for _, c := range conns {
		p.conns[c] = struct{}{}
	}
	return true
}

// pipe copies src to dst until either closes, dropping the bytes read
// while src is frozen.
func (p *proxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32*1024)
	for {
		n, err := src.Read(buf)
		if n > 0 && !p.isFrozen(src) {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *proxy) isFrozen(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.frozen[c]
}

// Freeze drops all traffic of the connections open now, in both
// directions, without closing them. New connections work normally.
func (p *proxy) Freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		p.frozen[c] = true
	}
}

// Stop closes the listener and every forwarded connection, as a database
// that went down would.
func (p *proxy) Stop() {
	p.mu.Lock()
	if p.listener != nil {
		p.listener.Close()
		p.listener = nil
	}
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// proxiedURL returns rawURL with its host replaced by the proxy's.
func (p *proxy) proxiedURL(t *testing.T, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatalf("parse test URL: %v", err)
	}
	u.Host = p.addr
	return u.String()
}

func TestDatabaseOutage(t *testing.T) {
	ctx := context.Background()
	rawURL := testenv.PostgresURL(t)
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatalf("parse test URL: %v", err)
	}
	schema := testenv.PostgresSchema(t, rawURL)
	p := newProxy(t, u.Host)
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	behind := openAt(t, p.proxiedURL(t, rawURL), schema, WithLogger(logger))
	direct := openAt(t, rawURL, schema)

	if _, _, err := direct.CreateSession(ctx, store.Session{ID: "s"}, nil); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	wake, cancel := behind.Notifier().Subscribe("s")
	defer cancel()

	p.Stop()

	// Calls fail with ErrUnavailable instead of hanging: the context
	// deadline is far beyond the connect timeout.
	calls := []struct {
		name string
		call func(context.Context) error
	}{
		{"Ping", behind.Ping},
		{"GetSession", func(ctx context.Context) error { _, err := behind.GetSession(ctx, "s"); return err }},
		{"Append", func(ctx context.Context) error {
			_, err := behind.Append(ctx, "s", []store.NewEvent{{Kind: "message"}}, store.AppendOptions{})
			return err
		}},
		{"ClaimRun", func(ctx context.Context) error { _, _, err := behind.ClaimRun(ctx, "w", time.Minute); return err }},
	}
	for _, c := range calls {
		callCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := c.call(callCtx)
		cancel()
		if !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("%s with the database down: err = %v, want ErrUnavailable", c.name, err)
		}
		if password, ok := u.User.Password(); ok && err != nil && strings.Contains(err.Error(), password) {
			t.Errorf("%s error contains the password: %v", c.name, err)
		}
	}

	// The listener retries while the database is down.
	deadline := time.Now().Add(wakeWithin)
	for !strings.Contains(logs.String(), "postgres listener reconnect failed") {
		if time.Now().After(deadline) {
			t.Fatalf("no failed reconnect logged within %v; log:\n%s", wakeWithin, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Appended while the listener of behind is disconnected: its NOTIFY
	// never reaches behind.
	if _, err := direct.Append(ctx, "s", []store.NewEvent{{Kind: "message"}}, store.AppendOptions{}); err != nil {
		t.Fatalf("Append on the direct store: %v", err)
	}
	drain(wake)

	p.Start()

	// The listener reconnects and wakes its waiters, which re-read.
	expectWake(t, wake, "waiter after the database came back")
	var events []store.Event
	deadline = time.Now().Add(wakeWithin)
	for {
		events, err = behind.ListEvents(ctx, "s", 0, 0)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("ListEvents after the database came back: %v", err)
	}
	if len(events) != 1 {
		t.Fatalf("ListEvents after the database came back = %d events, want 1", len(events))
	}
	if err := behind.Ping(ctx); err != nil {
		t.Fatalf("Ping after the database came back: %v", err)
	}

	// NOTIFY works again across the stores.
	waitListening(t, behind, 0)
	drain(wake)
	if _, err := direct.Append(ctx, "s", []store.NewEvent{{Kind: "message"}}, store.AppendOptions{}); err != nil {
		t.Fatalf("Append after the database came back: %v", err)
	}
	expectWake(t, wake, "waiter after an append once the database came back")

	if password, ok := u.User.Password(); ok && strings.Contains(logs.String(), password) {
		t.Errorf("log contains the password:\n%s", logs.String())
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent use, for capturing
// logs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestListenerDetectsSilentConnection(t *testing.T) {
	defer func(old time.Duration) { listenerPingInterval = old }(listenerPingInterval)
	listenerPingInterval = 100 * time.Millisecond

	ctx := context.Background()
	rawURL := testenv.PostgresURL(t)
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatalf("parse test URL: %v", err)
	}
	schema := testenv.PostgresSchema(t, rawURL)
	p := newProxy(t, u.Host)
	behind := openAt(t, p.proxiedURL(t, rawURL), schema)
	direct := openAt(t, rawURL, schema)
	if _, _, err := direct.CreateSession(ctx, store.Session{ID: "s"}, nil); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	wake, cancel := behind.Notifier().Subscribe("s")
	defer cancel()
	old := behind.listener.backendPID.Load()

	// The listening connection stays open but carries nothing, so only
	// the idle ping (which times out after 5 s) can notice.
	p.Freeze()
	if _, err := direct.Append(ctx, "s", []store.NewEvent{{Kind: "message"}}, store.AppendOptions{}); err != nil {
		t.Fatalf("Append: %v", err)
	}
	select {
	case <-wake:
	case <-time.After(notifyTimeout + wakeWithin):
		t.Fatalf("waiter not woken within %v of a silent listener connection", notifyTimeout+wakeWithin)
	}
	if pid := behind.listener.backendPID.Load(); pid == old {
		t.Fatalf("listener still on backend %d after its connection went silent", pid)
	}
}

func TestClosedStoreReturnsErrClosed(t *testing.T) {
	ctx := context.Background()
	s, _, _ := openTest(t)
	wake, cancel := s.Notifier().Subscribe("s")
	defer cancel()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	expectWake(t, wake, "waiter when the store closed")
	if _, err := s.GetSession(ctx, "s"); !errors.Is(err, store.ErrClosed) {
		t.Errorf("GetSession after Close: err = %v, want ErrClosed", err)
	}
	if err := s.Ping(ctx); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Ping after Close: err = %v, want ErrClosed", err)
	}
	if err := s.Close(); !errors.Is(err, store.ErrClosed) {
		t.Errorf("second Close: err = %v, want ErrClosed", err)
	}
}
