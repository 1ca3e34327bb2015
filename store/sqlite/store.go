package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/agentry/agentry/store"
	"github.com/agentry/agentry/store/memory"
)

// busyTimeoutMillis is how long a connection waits for a lock that another
// connection of this process holds, such as a checkpoint. Writes share one
// connection, so writers never wait for each other here.
const busyTimeoutMillis = 10_000

// Store is a [store.Store] in one SQLite database file. Create it with
// [Open]; it is safe for concurrent use by many goroutines of one process.
type Store struct {
	path   string
	now    func() time.Time
	logger *slog.Logger

	// writer has one connection and runs every write in a BEGIN IMMEDIATE
	// transaction, so writes are serialized in the process and never meet
	// SQLITE_BUSY. reader is a pool of query_only connections for reads,
	// which WAL mode lets run alongside the writer.
	writer *sql.DB
	reader *sql.DB
	lock   *os.File

	notifier *memory.Notifier
	closed   atomic.Bool

	// knownSinks caches the sink names recorded in delivery_sinks, so
	// ClaimDelivery touches that table once per sink and process.
	knownSinks sync.Map
}

var _ store.Store = (*Store)(nil)

type config struct {
	now    func() time.Time
	logger *slog.Logger
}

// Option configures a [Store].
type Option func(*config)

// WithClock sets the function the store reads the time from, for
// timestamps and lease expiry. The default is [time.Now]; tests pass a
// fake clock to expire leases without sleeping.
func WithClock(now func() time.Time) Option {
	return func(c *config) { c.now = now }
}

// WithLogger sets the logger for opening, migrating and closing the
// store, and for errors the store handles itself. The default is
// [slog.Default].
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}

// Open opens the store in the SQLite database file at path, creating the
// file when it is missing, and applies the embedded migrations. The
// directory must exist. Open takes an exclusive lock on path+".lock", so a
// second Open of the same path, in this process or another, fails until
// the first store is closed.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	cfg := config{now: time.Now, logger: slog.Default()}
	for _, opt := range opts {
		opt(&cfg)
	}
	if path == "" {
		return nil, errors.New("open sqlite store: missing path: pass the database file's path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open sqlite store %q: %w", path, err)
	}
	if err := checkPath(abs); err != nil {
		return nil, err
	}
	lock, err := lockFile(abs + ".lock")
	if err != nil {
		return nil, fmt.Errorf("open sqlite store %q: %w", abs, err)
	}

	s := &Store{
		path:     abs,
		now:      cfg.now,
		logger:   cfg.logger,
		lock:     lock,
		notifier: memory.NewNotifier(),
	}
	if err := s.openPools(ctx); err != nil {
		s.closeResources()
		return nil, err
	}
	s.logger.Info("opened sqlite store", "path", abs)
	return s, nil
}

// checkPath returns a clear error when path cannot hold a database file:
// its directory is missing or not a directory, or path is a directory.
// It only calls stat, never opens the file, because closing any
// descriptor of the database file would drop SQLite's POSIX locks on it.
func checkPath(path string) error {
	dir := filepath.Dir(path)
	info, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("open sqlite store %q: directory %q does not exist: create it first", path, dir)
	case err != nil:
		return fmt.Errorf("open sqlite store %q: %w", path, err)
	case !info.IsDir():
		return fmt.Errorf("open sqlite store %q: %q is not a directory", path, dir)
	}
	info, err = os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("open sqlite store %q: %w", path, err)
	case info.IsDir():
		return fmt.Errorf("open sqlite store %q: the path is a directory: pass a file path", path)
	}
	return nil
}

// openPools opens the writer, checks the journal mode, migrates the
// schema and opens the reader pool.
func (s *Store) openPools(ctx context.Context) error {
	writer, err := sql.Open("sqlite", dsn(s.path, true))
	if err != nil {
		return fmt.Errorf("open sqlite store %q: %w", s.path, err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	writer.SetConnMaxIdleTime(0)
	s.writer = writer

	var mode string
	if err := writer.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("open sqlite store %q: %w", s.path, err)
	}
	if mode != "wal" {
		return fmt.Errorf("open sqlite store %q: journal mode is %q, not wal: keep the file on a local file system", s.path, mode)
	}
	if err := s.migrate(ctx); err != nil {
		return err
	}

	reader, err := sql.Open("sqlite", dsn(s.path, false))
	if err != nil {
		return fmt.Errorf("open sqlite store %q: %w", s.path, err)
	}
	readers := max(4, runtime.GOMAXPROCS(0))
	reader.SetMaxOpenConns(readers)
	reader.SetMaxIdleConns(readers)
	s.reader = reader
	if err := reader.PingContext(ctx); err != nil {
		return fmt.Errorf("open sqlite store %q: %w", s.path, err)
	}
	return nil
}

// dsn returns the modernc.org/sqlite data source name for path. The
// driver runs each _pragma on every new connection. synchronous=FULL
// makes each commit sync the WAL before it returns; it is set on readers
// too, because the last connection to close checkpoints the WAL into the
// database file.
func dsn(path string, writer bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeoutMillis))
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(1)")
	if writer {
		q.Add("_pragma", "journal_mode(WAL)")
		q.Set("_txlock", "immediate")
	} else {
		q.Add("_pragma", "query_only(1)")
	}
	u := url.URL{Scheme: "file", Path: path, RawQuery: q.Encode()}
	// url.URL writes "file:///path" for an absolute path, which SQLite
	// reads as a file URI with an empty authority.
	return u.String()
}

// Notifier returns the in-process notifier that appends, turns, runs and
// deliveries wake after their transaction commits.
func (s *Store) Notifier() store.Notifier { return s.notifier }

// Ping runs a query on a reader connection.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.check(ctx); err != nil {
		return fmt.Errorf("ping sqlite store %q: %w", s.path, err)
	}
	var one int
	if err := s.reader.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("ping sqlite store %q: %w", s.path, s.mapErr(err))
	}
	return nil
}

// Close closes the database connections, which checkpoints the WAL into
// the database file, releases the lock file and wakes every waiter so it
// re-reads the store and sees ErrClosed. Calls after Close return
// ErrClosed.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return fmt.Errorf("close sqlite store %q: %w", s.path, store.ErrClosed)
	}
	err := s.closeResources()
	s.notifier.NotifyAll()
	if err != nil {
		s.logger.Error("close sqlite store", "path", s.path, "error", err)
		return err
	}
	s.logger.Info("closed sqlite store", "path", s.path)
	return nil
}

// closeResources closes the readers, then the writer, then the lock
// file, and returns the first error.
func (s *Store) closeResources() error {
	var errs []error
	if s.reader != nil {
		if err := s.reader.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close sqlite store %q readers: %w", s.path, err))
		}
	}
	if s.writer != nil {
		if err := s.writer.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close sqlite store %q writer: %w", s.path, err))
		}
	}
	if s.lock != nil {
		if err := s.lock.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close sqlite store %q lock file: %w", s.path, err))
		}
	}
	return errors.Join(errs...)
}

// check returns the error for a call on a closed store or with a done
// context.
func (s *Store) check(ctx context.Context) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	return ctx.Err()
}

// clock returns the current time in UTC, truncated to the microseconds
// the database keeps, so a returned time equals the stored one.
func (s *Store) clock() time.Time {
	return s.now().UTC().Truncate(time.Microsecond)
}

// write runs fn in a BEGIN IMMEDIATE transaction on the writer connection
// and commits it. An error from fn rolls the transaction back.
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return s.mapErr(err)
	}
	if err := fn(tx); err != nil {
		s.rollback(tx)
		return s.mapErr(err)
	}
	if err := tx.Commit(); err != nil {
		return s.mapErr(err)
	}
	return nil
}

// read runs fn in a read transaction on a reader connection, so every
// query in fn sees the same snapshot.
func (s *Store) read(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	tx, err := s.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return s.mapErr(err)
	}
	defer s.rollback(tx)
	if err := fn(tx); err != nil {
		return s.mapErr(err)
	}
	return nil
}

func (s *Store) rollback(tx *sql.Tx) {
	err := tx.Rollback()
	if err != nil && !errors.Is(err, sql.ErrTxDone) {
		s.logger.Error("roll back sqlite transaction", "path", s.path, "error", err)
	}
}

// mapErr adds the store's sentinel errors to a database error: a
// constraint violation becomes ErrConflict, sql.ErrNoRows ErrNotFound,
// and any error after Close ErrClosed.
func (s *Store) mapErr(err error) error {
	var sqliteErr *sqlite.Error
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrClosed), errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrConflict):
		return err
	case s.closed.Load():
		return fmt.Errorf("%w: %w", store.ErrClosed, err)
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("%w: %w", store.ErrNotFound, err)
	case errors.As(err, &sqliteErr) && sqliteErr.Code()&0xff == sqlite3.SQLITE_CONSTRAINT:
		return fmt.Errorf("%w: %w", store.ErrConflict, err)
	}
	return err
}
