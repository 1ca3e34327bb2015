package pgvector

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/tmc/langchaingo/embeddings"

	"github.com/agentry/agentry/internal/pgurl"
	"github.com/agentry/agentry/kb"
)

var _ kb.Retriever = (*Retriever)(nil)

// minEFSearch is pgvector's default hnsw.ef_search. Search raises it to
// top_k when top_k is larger, because an HNSW index scan that is not
// iterative returns at most ef_search rows.
const minEFSearch = 40

// Retriever searches and fills one pgvector table. It is safe for
// concurrent use.
type Retriever struct {
	cfg      Config
	embedder embeddings.Embedder
	pool     *pgxpool.Pool
	table    pgx.Identifier
	tableSQL string // the quoted table name
	database string // for messages
	filter   []byte // Config.MetadataFilter as JSON, nil when empty
	redactor *pgurl.Redactor

	mu   sync.Mutex
	info *tableInfo // nil until the table has been read
}

// New returns a retriever over the table in cfg that embeds texts with
// embedder. It opens no connection: Check, Search, EnsureTable and Upsert
// connect when they need to. Call Close when done.
func New(cfg Config, embedder embeddings.Embedder) (*Retriever, error) {
	if embedder == nil {
		return nil, fmt.Errorf("%w: embedder is nil", ErrInvalidConfig)
	}

	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	table, err := parseTable(cfg.Table)
	if err != nil {
		return nil, err
	}
	filter, err := encodeFilter(cfg.MetadataFilter)
	if err != nil {
		return nil, fmt.Errorf("%w: metadata_filter: %w", ErrInvalidConfig, err)
	}

	pc, red, err := cfg.poolConfig()
	if err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), pc)
	if err != nil {
		return nil, red.Redact(fmt.Errorf("%w: create connection pool: %w", ErrInvalidConfig, err), redactSentinels...)
	}

	return &Retriever{
		cfg:      cfg,
		embedder: embedder,
		pool:     pool,
		table:    table,
		tableSQL: table.Sanitize(),
		database: pc.ConnConfig.Database,
		filter:   filter,
		redactor: red,
	}, nil
}

// Close closes the connections. It waits for the statements in progress.
func (r *Retriever) Close() {
	r.pool.Close()
}

// Search returns the chunks of the rows nearest to q.Text by cosine
// distance, best first, at most q.TopK of them (Config.TopK when 0).
// Only rows whose metadata contains both Config.MetadataFilter and
// q.Filter are considered. A query text whose vector is all zeros
// matches nothing, so Search returns no chunks and no error.
//
// Errors wrap kb.ErrInvalidQuery for an empty text, a negative or too
// large TopK or a filter that is not JSON, and kb.ErrUnavailable for
// everything else, together with ctx.Err() when ctx is done.
func (r *Retriever) Search(ctx context.Context, q kb.Query) ([]kb.Chunk, error) {
	topK, queryFilter, err := r.checkQuery(q)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%w: search table %s: %w", kb.ErrUnavailable, r.cfg.Table, err)
	}
	ctx, cancel := context.WithTimeoutCause(ctx, r.cfg.Timeout, timeoutError{r.cfg.Timeout})
	defer cancel()

	chunks, err := r.search(ctx, q.Text, topK, queryFilter)
	if err != nil {
		if !errors.Is(err, kb.ErrUnavailable) {
			err = fmt.Errorf("%w: %w", kb.ErrUnavailable, err)
		}
		// The cause tells the caller's cancellation from this timeout.
		if cause := context.Cause(ctx); cause != nil && !errors.Is(err, cause) {
			err = fmt.Errorf("%w (%w)", err, cause)
		}
		return nil, r.redact(err)
	}
	return chunks, nil
}

// checkQuery returns the top_k and the JSON filter of q, or an error
// wrapping kb.ErrInvalidQuery.
func (r *Retriever) checkQuery(q kb.Query) (int, []byte, error) {
	if strings.TrimSpace(q.Text) == "" {
		return 0, nil, fmt.Errorf("%w: query text is empty", kb.ErrInvalidQuery)
	}
	topK := q.TopK
	if topK == 0 {
		topK = r.cfg.TopK
	}
	if topK < 0 || topK > MaxTopK {
		return 0, nil, fmt.Errorf("%w: top_k %d is out of range 1..%d", kb.ErrInvalidQuery, q.TopK, MaxTopK)
	}
	filter, err := encodeFilter(q.Filter)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: %w", kb.ErrInvalidQuery, err)
	}
	return topK, filter, nil
}

func (r *Retriever) search(ctx context.Context, text string, topK int, queryFilter []byte) ([]kb.Chunk, error) {
	info, err := r.tableInfo(ctx)
	if err != nil {
		return nil, err
	}
	vec, err := r.embedder.EmbedQuery(ctx, text)
	if err != nil {
		return nil, fmt.Errorf("embed the query: %w", err)
	}
	if err := checkVector(vec, info.dims, "the query vector", r.cfg.Table); err != nil {
		return nil, err
	}
	if isZero(vec) {
		return nil, nil
	}

	// The settings apply to the batch's implicit transaction only, so the
	// pooled connection keeps its defaults.
	batch := &pgx.Batch{}
	batch.Queue("SELECT set_config('hnsw.ef_search', $1, true)", strconv.Itoa(max(topK, minEFSearch)))
	if info.iterativeScan {
		// Without it, an index scan stops after ef_search rows, and the
		// metadata filters can then leave fewer than top_k.
		batch.Queue("SELECT set_config('hnsw.iterative_scan', 'strict_order', true)")
	}
	sql, args := r.searchSQL(vec, topK, queryFilter)
	batch.Queue(sql, args...)

	results := r.pool.SendBatch(ctx, batch)
	defer results.Close()
	for range batch.Len() - 1 {
		if _, err := results.Exec(); err != nil {
			return nil, fmt.Errorf("set the HNSW search options: %w", err)
		}
	}
	rows, err := results.Query()
	if err != nil {
		return nil, fmt.Errorf("search table %s in database %s: %w", r.cfg.Table, r.database, err)
	}
	chunks, err := scanChunks(rows)
	if err != nil {
		return nil, fmt.Errorf("search table %s in database %s: %w", r.cfg.Table, r.database, err)
	}
	return chunks, nil
}

// searchSQL returns the search statement and its arguments. Rows with a
// NULL vector, and rows whose distance is NaN (an all-zero stored
// vector), are left out.
func (r *Retriever) searchSQL(vec []float32, topK int, queryFilter []byte) (string, []any) {
	args := []any{formatVector(vec), r.cfg.ContentKey, topK}
	var where strings.Builder
	where.WriteString("vec IS NOT NULL AND (vec <=> $1::vector) <> 'NaN'::float8")
	for _, f := range [][]byte{r.filter, queryFilter} {
		if f != nil {
			args = append(args, string(f))
			fmt.Fprintf(&where, " AND metadata @> $%d::jsonb", len(args))
		}
	}
	sql := "SELECT id::text, coalesce(metadata ->> $2::text, ''), metadata - $2::text, vec <=> $1::vector" +
		" FROM " + r.tableSQL +
		" WHERE " + where.String() +
		" ORDER BY vec <=> $1::vector LIMIT $3"
	return sql, args
}

// scanChunks reads the rows of the search statement and sorts them by
// score, best first. An HNSW index scan orders rows by the index's own
// distance computation, which can differ from the selected <=> value in
// the last digits, so rows with nearly equal scores can come out of order.
func scanChunks(rows pgx.Rows) ([]kb.Chunk, error) {
	var (
		chunks   []kb.Chunk
		c        kb.Chunk
		distance float64
	)
	_, err := pgx.ForEachRow(rows, []any{&c.ID, &c.Content, &c.Metadata, &distance}, func() error {
		c.Score = min(max(1-distance, -1), 1)
		chunks = append(chunks, c)
		c = kb.Chunk{}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(chunks, func(a, b kb.Chunk) int { return cmp.Compare(b.Score, a.Score) })
	return chunks, nil
}

// timeoutError is the cause of a Search context that reached
// Config.Timeout.
type timeoutError struct{ timeout time.Duration }

func (e timeoutError) Error() string {
	return fmt.Sprintf("search timed out after %s, the timeout setting", e.timeout)
}

// Is makes the error match context.DeadlineExceeded.
func (e timeoutError) Is(target error) bool { return target == context.DeadlineExceeded }

// redact masks the database password in err's message.
func (r *Retriever) redact(err error) error {
	return r.redactor.Redact(err, redactSentinels...)
}
