package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/agentry/agentry/internal/pgurl"
	"github.com/agentry/agentry/store"
)

// connectTimeout bounds each new connection when the URL sets no
// connect_timeout, so a database that does not respond fails calls with
// ErrUnavailable instead of hanging them.
const connectTimeout = 5 * time.Second

// Store is the PostgreSQL [store.Store]. Create it with [Open]; it is safe
// for concurrent use, and any number of processes may open the same
// database and schema.
type Store struct {
	pool   *pgxpool.Pool
	now    func() time.Time
	logger *slog.Logger
	schema string

	// notifier is the value Notifier returns. listener is the
	// LISTEN/NOTIFY notifier, nil when WithNotifier replaced it. With a
	// listener the store sends NOTIFY on channel inside its statements.
	notifier store.Notifier
	listener *Notifier
	channel  string
	origin   string

	// sinks caches the sink names known to be in delivery_sinks.
	sinks sync.Map

	closed atomic.Bool
}

var _ store.Store = (*Store)(nil)

// config is the settings the options change.
type config struct {
	now        func() time.Time
	schema     string
	logger     *slog.Logger
	notifier   store.Notifier
	poolConfig func(*pgxpool.Config)
}

// Option configures [Open].
type Option func(*config)

// WithClock sets the function the store reads the time from. Every
// timestamp and lease expiry is computed in Go from it, truncated to
// microseconds (PostgreSQL's precision) so a value returned by a call
// equals the value read back later. The default is [time.Now]. Replicas
// sharing a database compare each other's lease expiries, so their clocks
// must be synchronised (NTP) to well under the lease TTLs.
func WithClock(now func() time.Time) Option {
	return func(c *config) { c.now = now }
}

// WithSchema puts the tables in the named schema, which Open creates when
// it is missing. Without it the store uses the first schema of the URL's
// search_path parameter, or "public".
func WithSchema(name string) Option {
	return func(c *config) { c.schema = name }
}

// WithLogger sets the logger for listener reconnects and other errors the
// store handles itself. The default is [slog.Default].
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}

// WithNotifier replaces LISTEN/NOTIFY with another broker (NATS or Redis,
// for example). The store then opens no listening connection and calls
// n.Notify for each topic after a change commits. n must deliver the
// wake-up to the subscribers of every process sharing the database.
func WithNotifier(n store.Notifier) Option {
	return func(c *config) { c.notifier = n }
}

// WithPoolConfig lets the caller tune the pgxpool configuration (pool
// size, connection lifetimes, tracing) after Open has parsed the URL and
// set its defaults: a 5 s connect timeout and the schema's search_path.
func WithPoolConfig(f func(*pgxpool.Config)) Option {
	return func(c *config) { c.poolConfig = f }
}

// Open connects to the database at url, applies the embedded migrations
// to the schema and starts the listener. The error of a URL that cannot
// be parsed or a database that cannot be reached names the host, port,
// database and user, never the password. A database that refuses or
// drops connections returns an error wrapping [store.ErrUnavailable].
func Open(ctx context.Context, url string, opts ...Option) (*Store, error) {
	cfg := config{now: time.Now, logger: slog.Default()}
	for _, opt := range opts {
		opt(&cfg)
	}
	poolConfig, redactor, err := pgurl.Settings{URL: url}.PoolConfig("agentry")
	if err != nil {
		return nil, fmt.Errorf("open postgres store: %w; "+
			"use the form postgres://user:password@host:port/database?sslmode=disable", err)
	}
	if cfg.schema == "" {
		cfg.schema = schemaFromSearchPath(poolConfig.ConnConfig.RuntimeParams["search_path"])
	}
	if poolConfig.ConnConfig.ConnectTimeout == 0 {
		poolConfig.ConnConfig.ConnectTimeout = connectTimeout
	}
	poolConfig.ConnConfig.RuntimeParams["search_path"] = pgx.Identifier{cfg.schema}.Sanitize()
	if cfg.poolConfig != nil {
		cfg.poolConfig(poolConfig)
	}
	target := pgurl.Describe(poolConfig)

	pool, err := pgxpool.NewWithConfig(ctx, poolConfig)
	if err != nil {
		return nil, redactor.Redact(fmt.Errorf("open postgres store at %s: %w", target, err), openSentinels...)
	}
	s := &Store{
		pool:    pool,
		now:     cfg.now,
		logger:  cfg.logger,
		schema:  cfg.schema,
		channel: channelName(cfg.schema),
		origin:  newOrigin(),
	}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, redactor.Redact(fmt.Errorf("open postgres store at %s: %w", target, connectError(err)), openSentinels...)
	}
	if cfg.notifier != nil {
		s.notifier = cfg.notifier
		cfg.logger.Info("opened postgres store", "target", target, "schema", cfg.schema, "notifier", "custom")
		return s, nil
	}
	listener, err := newNotifier(ctx, pool, s.channel, s.origin, cfg.logger)
	if err != nil {
		pool.Close()
		return nil, redactor.Redact(fmt.Errorf("open postgres store at %s: %w", target, connectError(err)), openSentinels...)
	}
	s.listener = listener
	s.notifier = listener
	cfg.logger.Info("opened postgres store", "target", target, "schema", cfg.schema)
	return s, nil
}

// openSentinels are the errors that an Open error with its password
// masked keeps matching.
var openSentinels = []error{store.ErrUnavailable, context.Canceled, context.DeadlineExceeded}

// connectError wraps err with ErrUnavailable when it is a connection
// failure, leaving authentication and missing-database errors as they are
// because retrying does not fix them.
func connectError(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "28P01", "28000":
			return fmt.Errorf("authentication failed, check the user and password: %w", err)
		case "3D000":
			return fmt.Errorf("database does not exist, create it or fix the URL: %w", err)
		}
	}
	if isUnavailable(err) {
		return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	}
	return err
}

// schemaFromSearchPath returns the first schema of a search_path value, or
// "public" when it is empty.
func schemaFromSearchPath(searchPath string) string {
	first, _, _ := strings.Cut(searchPath, ",")
	first = strings.TrimSpace(first)
	if len(first) >= 2 && first[0] == '"' && first[len(first)-1] == '"' {
		first = strings.ReplaceAll(first[1:len(first)-1], `""`, `"`)
	}
	if first == "" || first == "$user" {
		return "public"
	}
	return first
}

// Notifier returns the notifier that appends and run changes wake: the
// LISTEN/NOTIFY [Notifier], or the one passed to [WithNotifier].
func (s *Store) Notifier() store.Notifier { return s.notifier }

// Ping checks that the database responds to a query.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.check(ctx); err != nil {
		return fmt.Errorf("ping postgres store: %w", err)
	}
	if err := s.pool.Ping(ctx); err != nil {
		return s.wrap("ping postgres store", err)
	}
	return nil
}

// Close stops the listener, closes the pool and wakes every local waiter
// so long-polls re-read the store and see ErrClosed. Calls after Close
// return ErrClosed.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return fmt.Errorf("close postgres store: %w", store.ErrClosed)
	}
	if s.listener != nil {
		s.listener.Close()
	}
	s.pool.Close()
	return nil
}

// check returns the error for a call on a closed store or with a done
// context.
func (s *Store) check(ctx context.Context) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	return ctx.Err()
}

// clock returns the store's current time in UTC, truncated to
// microseconds.
func (s *Store) clock() time.Time {
	return dbTime(s.now())
}

// dbTime returns t as PostgreSQL stores it: UTC with microsecond
// precision and no monotonic reading.
func dbTime(t time.Time) time.Time {
	return t.UTC().Truncate(time.Microsecond)
}
