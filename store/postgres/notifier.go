package postgres

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/agentry/agentry/store"
	"github.com/agentry/agentry/store/memory"
)

// ListenerApplicationName is the application_name of the listening
// connection, so operators can find it in pg_stat_activity.
const ListenerApplicationName = "agentry-listener"

// maxNotifyPayload is the largest payload sent with pg_notify. PostgreSQL
// rejects payloads of 8000 bytes or more; a message whose topics do not
// fit wakes every subscriber of the receiving processes instead.
const maxNotifyPayload = 7900

// wakeAll is the payload topic list that wakes every subscriber.
var wakeAll = []string{"*"}

// Reconnection backoff of the listening connection.
const (
	minReconnectDelay = 100 * time.Millisecond
	maxReconnectDelay = 5 * time.Second
)

// listenerPingInterval is how long the listener waits for a notification
// before it checks the connection with a ping. Tests shorten it.
var listenerPingInterval = 30 * time.Second

// notifyTimeout bounds the NOTIFY that [Notifier.Notify] sends.
const notifyTimeout = 5 * time.Second

// Notifier is a [store.Notifier] that carries wake-ups between processes
// with PostgreSQL LISTEN/NOTIFY. Each Notifier holds one dedicated
// connection, outside the pool's normal use, that LISTENs on a channel,
// and fans the notifications it receives out to the subscribers of its
// own process through a [memory.Notifier].
//
// When the listening connection drops, the Notifier reconnects with
// backoff (100 ms doubling up to 5 s), LISTENs again and then wakes every
// local subscriber, because notifications sent while it was disconnected
// are lost. Waiters re-read the store on every wake-up, so nothing is
// missed; they only see a spurious wake-up.
//
// [Store] creates one for itself; an application can create its own with
// [NewNotifier] to share wake-ups between processes for other purposes.
type Notifier struct {
	local   *memory.Notifier
	pool    *pgxpool.Pool
	channel string
	// origin identifies this process's notifications, so the listener
	// skips the ones whose subscribers were already woken directly.
	origin string
	logger *slog.Logger

	// pingInterval is listenerPingInterval when the Notifier was created.
	pingInterval time.Duration

	// backendPID is the server process id of the listening connection,
	// 0 while disconnected.
	backendPID atomic.Uint32

	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

var _ store.Notifier = (*Notifier)(nil)

// notifyMessage is the JSON payload of a notification.
type notifyMessage struct {
	Origin string   `json:"o"`
	Topics []string `json:"t"`
}

// NewNotifier connects a listening connection with the settings of pool's
// connections (application_name set to [ListenerApplicationName]), runs
// LISTEN on channel and returns once it is listening, so notifications
// sent after it returns are received. Notify sends NOTIFY through pool.
// Close stops the listener; the pool stays open. The logger receives
// reconnect attempts; nil means [slog.Default].
func NewNotifier(ctx context.Context, pool *pgxpool.Pool, channel string, logger *slog.Logger) (*Notifier, error) {
	return newNotifier(ctx, pool, channel, newOrigin(), logger)
}

func newNotifier(ctx context.Context, pool *pgxpool.Pool, channel, origin string, logger *slog.Logger) (*Notifier, error) {
	if channel == "" {
		return nil, errors.New("start postgres notifier: missing channel name")
	}
	if logger == nil {
		logger = slog.Default()
	}
	runCtx, cancel := context.WithCancel(context.Background())
	n := &Notifier{
		local:        memory.NewNotifier(),
		pool:         pool,
		channel:      channel,
		origin:       origin,
		logger:       logger,
		cancel:       cancel,
		pingInterval: listenerPingInterval,
		done:         make(chan struct{}),
	}
	conn, err := n.listen(ctx)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("start postgres notifier on channel %q: %w", channel, err)
	}
	n.backendPID.Store(conn.PgConn().PID())
	go n.run(runCtx, conn)
	return n, nil
}

// Subscribe returns a channel that receives a value after every Notify
// for topic, in this process or any other on the same channel.
func (n *Notifier) Subscribe(topic string) (<-chan struct{}, func()) {
	return n.local.Subscribe(topic)
}

// Notify wakes the topic's subscribers in this process at once, then
// sends a NOTIFY so other processes wake theirs. It waits for the NOTIFY
// (one round trip, at most 5 s) and logs a failure, because Notify has no
// error result.
func (n *Notifier) Notify(topic string) {
	n.local.Notify(topic)
	ctx, cancel := context.WithTimeout(context.Background(), notifyTimeout)
	defer cancel()
	if _, err := n.pool.Exec(ctx, "SELECT pg_notify($1, $2)", n.channel, n.payload([]string{topic})); err != nil {
		n.logger.Error("send postgres notification failed", "channel", n.channel, "topic", topic, "error", err)
	}
}

// NotifyAll wakes every subscriber in this process.
func (n *Notifier) NotifyAll() { n.local.NotifyAll() }

// Close stops the listener, closes its connection and wakes every local
// subscriber. It waits for the listener to stop. Calling it again does
// nothing.
func (n *Notifier) Close() {
	n.once.Do(func() {
		n.cancel()
		<-n.done
		n.local.NotifyAll()
	})
}

// wakeLocal wakes the local subscribers of topics after a commit.
func (n *Notifier) wakeLocal(topics []string) {
	for _, t := range topics {
		n.local.Notify(t)
	}
}

// payload encodes topics for pg_notify, or a wake-everyone payload when
// they do not fit.
func (n *Notifier) payload(topics []string) string {
	return encodePayload(n.origin, topics)
}

func encodePayload(origin string, topics []string) string {
	b, _ := json.Marshal(notifyMessage{Origin: origin, Topics: topics})
	if len(b) > maxNotifyPayload {
		b, _ = json.Marshal(notifyMessage{Origin: origin, Topics: wakeAll})
	}
	return string(b)
}

// listen opens the listening connection and runs LISTEN on it.
func (n *Notifier) listen(ctx context.Context) (*pgx.Conn, error) {
	cfg := n.pool.Config().ConnConfig.Copy()
	cfg.RuntimeParams["application_name"] = ListenerApplicationName
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{n.channel}.Sanitize()); err != nil {
		_ = conn.Close(context.Background())
		return nil, err
	}
	return conn, nil
}

// run receives notifications on conn until ctx ends, reconnecting when
// the connection fails.
func (n *Notifier) run(ctx context.Context, conn *pgx.Conn) {
	defer close(n.done)
	for {
		err := n.receive(ctx, conn)
		n.backendPID.Store(0)
		_ = conn.Close(context.Background())
		if ctx.Err() != nil {
			return
		}
		n.logger.Warn("postgres listener connection lost, reconnecting",
			"channel", n.channel, "error", err)
		conn = n.reconnect(ctx)
		if conn == nil {
			return
		}
		n.backendPID.Store(conn.PgConn().PID())
		// Notifications sent while disconnected are lost, so every waiter
		// re-reads the store.
		n.local.NotifyAll()
		n.logger.Info("postgres listener reconnected", "channel", n.channel)
	}
}

// receive dispatches notifications until the connection fails or ctx
// ends. After listenerPingInterval without a notification it pings the
// server, so a connection that died without a TCP reset (a crashed host)
// is detected instead of waited on forever.
func (n *Notifier) receive(ctx context.Context, conn *pgx.Conn) error {
	for {
		waitCtx, cancel := context.WithTimeout(ctx, n.pingInterval)
		note, err := conn.WaitForNotification(waitCtx)
		cancel()
		if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			// pgconn keeps the connection open after a timeout.
			pingCtx, cancel := context.WithTimeout(ctx, notifyTimeout)
			err = conn.Ping(pingCtx)
			cancel()
			if err != nil {
				return fmt.Errorf("ping listening connection: %w", err)
			}
			continue
		}
		if err != nil {
			return err
		}
		var msg notifyMessage
		if err := json.Unmarshal([]byte(note.Payload), &msg); err != nil {
			n.logger.Warn("postgres notification with invalid payload, waking every subscriber",
				"channel", n.channel, "error", err)
			n.local.NotifyAll()
			continue
		}
		if msg.Origin == n.origin {
			continue
		}
		if len(msg.Topics) == 1 && msg.Topics[0] == wakeAll[0] {
			n.local.NotifyAll()
			continue
		}
		n.wakeLocal(msg.Topics)
	}
}

// reconnect retries listen with backoff until it succeeds or ctx ends, in
// which case it returns nil.
func (n *Notifier) reconnect(ctx context.Context) *pgx.Conn {
	delay := minReconnectDelay
	for attempt := 1; ; attempt++ {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(delay):
		}
		connectCtx, cancel := context.WithTimeout(ctx, connectTimeout)
		conn, err := n.listen(connectCtx)
		cancel()
		if err == nil {
			return conn
		}
		if ctx.Err() != nil {
			return nil
		}
		delay = min(2*delay, maxReconnectDelay)
		n.logger.Warn("postgres listener reconnect failed",
			"channel", n.channel, "attempt", attempt, "retry_in", delay, "error", err)
	}
}

// channelName derives the NOTIFY channel from the schema, so stores in
// different schemas of one database do not wake each other. PostgreSQL
// truncates identifiers to 63 bytes, so a long schema name is hashed.
func channelName(schema string) string {
	name := "agentry_" + schema
	if len(name) <= 63 {
		return name
	}
	sum := sha256.Sum256([]byte(schema))
	return "agentry_" + hex.EncodeToString(sum[:16])
}

// newOrigin returns a random id for one process's notifications.
func newOrigin() string {
	return rand.Text()[:16]
}
