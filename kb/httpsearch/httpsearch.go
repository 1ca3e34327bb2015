package httpsearch

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/agentry/agentry/kb"
	"github.com/agentry/agentry/kb/internal/metafilter"
	"github.com/agentry/agentry/transport/outbound"
)

// Defaults of Config.
const (
	// DefaultTopK is the top_k sent when Query.TopK and Config.TopK are 0.
	DefaultTopK = 5
	// DefaultTimeout bounds one search when Config.Timeout is 0.
	DefaultTimeout = 10 * time.Second
	// DefaultMaxResponseBytes is the response body limit when
	// Config.MaxResponseBytes is 0.
	DefaultMaxResponseBytes int64 = 1 << 20
)

// ErrInvalidConfig is wrapped by the error of New for a Config it cannot
// use.
var ErrInvalidConfig = errors.New("httpsearch: invalid configuration")

// errTimeout is the cause of a search that ran past Config.Timeout.
var errTimeout = errors.New("search timed out")

// Config configures a Retriever.
type Config struct {
	// URL is the search endpoint, http or https. Required.
	URL string
	// APIKey is sent as "Authorization: Bearer <APIKey>" when not empty.
	APIKey string
	// TopK is the top_k sent when Query.TopK is 0. Default DefaultTopK
	// (5).
	TopK int
	// Timeout bounds one search: connecting, sending the request and
	// reading the response. Client's own timeout also applies. Default
	// DefaultTimeout (10s).
	Timeout time.Duration
	// MaxResponseBytes is the size limit of a response body. Client's own
	// limit applies first, so a Client passed in should allow at least as
	// much. Default DefaultMaxResponseBytes (1 MiB).
	MaxResponseBytes int64
	// Client sends the requests. Default: outbound.NewTrusted with
	// Timeout, and a body limit just above MaxResponseBytes.
	Client *outbound.Client
}

// Retriever searches through the endpoint. It is safe for concurrent use.
type Retriever struct {
	cfg      Config
	url      string
	endpoint string // scheme and host, for errors
}

var _ kb.Retriever = (*Retriever)(nil)

// New returns a Retriever for cfg. The error wraps ErrInvalidConfig and
// never contains the API key.
func New(cfg Config) (*Retriever, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: url %q: use an absolute http or https URL", ErrInvalidConfig, redactedURL(cfg.URL, u))
	}
	if strings.ContainsFunc(cfg.APIKey, unicode.IsControl) {
		return nil, fmt.Errorf("%w: the API key contains a control character such as a line break; remove it",
			ErrInvalidConfig)
	}
	switch {
	case cfg.TopK < 0:
		return nil, fmt.Errorf("%w: top_k %d: use a positive number, or 0 for %d", ErrInvalidConfig, cfg.TopK, DefaultTopK)
	case cfg.Timeout < 0:
		return nil, fmt.Errorf("%w: timeout %v: use a positive duration, or 0 for %v",
			ErrInvalidConfig, cfg.Timeout, DefaultTimeout)
	case cfg.MaxResponseBytes < 0:
		return nil, fmt.Errorf("%w: max response bytes %d: use a positive number, or 0 for %d",
			ErrInvalidConfig, cfg.MaxResponseBytes, DefaultMaxResponseBytes)
	}
	cfg.TopK = cmp.Or(cfg.TopK, DefaultTopK)
	cfg.Timeout = cmp.Or(cfg.Timeout, DefaultTimeout)
	cfg.MaxResponseBytes = cmp.Or(cfg.MaxResponseBytes, DefaultMaxResponseBytes)
	if cfg.Client == nil {
		// One byte over the limit, so that post can tell a body at the
		// limit from a longer one.
		cfg.Client = outbound.NewTrusted(outbound.Config{
			Timeout:          cfg.Timeout,
			MaxResponseBytes: cfg.MaxResponseBytes + 1,
		})
	}
	return &Retriever{cfg: cfg, url: u.String(), endpoint: u.Scheme + "://" + u.Host}, nil
}

// redactedURL returns rawURL cut to scheme and host when it parses, so an
// error does not show credentials in its path, query or user info.
func redactedURL(rawURL string, u *url.URL) string {
	if u == nil || u.Host == "" {
		if strings.ContainsAny(rawURL, "@?") {
			return "(not shown)"
		}
		return rawURL
	}
	return u.Scheme + "://" + u.Host
}

// Search sends q to the endpoint and returns its results that contain
// q.Filter, best first, at most top_k of them. An empty text or a
// negative TopK wraps kb.ErrInvalidQuery. When ctx is done, the error
// wraps ctx.Err(); any other failure wraps kb.ErrUnavailable.
func (r *Retriever) Search(ctx context.Context, q kb.Query) ([]kb.Chunk, error) {
	if strings.TrimSpace(q.Text) == "" {
		return nil, fmt.Errorf("%w: the query text is empty", kb.ErrInvalidQuery)
	}
	if q.TopK < 0 {
		return nil, fmt.Errorf("%w: top_k %d is negative", kb.ErrInvalidQuery, q.TopK)
	}
	filter, err := metafilter.Normalize(q.Filter)
	if err != nil {
		return nil, fmt.Errorf("%w: filter: %w", kb.ErrInvalidQuery, err)
	}
	topK := cmp.Or(q.TopK, r.cfg.TopK)

	messages := q.Messages
	if messages == nil {
		messages = []kb.Message{}
	}
	body, err := json.Marshal(Request{Query: q.Text, Messages: messages, TopK: topK, Filter: filter})
	if err != nil {
		return nil, fmt.Errorf("%w: encode the request: %w", kb.ErrInvalidQuery, err)
	}

	searchCtx, cancel := context.WithTimeoutCause(ctx, r.cfg.Timeout, errTimeout)
	defer cancel()
	respBody, err := r.post(searchCtx, body)
	if err != nil {
		return nil, r.classify(ctx, searchCtx, err)
	}

	chunks, err := decodeResponse(respBody)
	if err != nil {
		return nil, fmt.Errorf("%w: search endpoint %s: %w; return a JSON object "+
			`{"results": [{"id", "content", "score", "metadata"}]}`, kb.ErrUnavailable, r.endpoint, err)
	}
	chunks = slices.DeleteFunc(chunks, func(c kb.Chunk) bool {
		return !metafilter.Contains(c.Metadata, filter)
	})
	slices.SortStableFunc(chunks, func(a, b kb.Chunk) int { return cmp.Compare(b.Score, a.Score) })
	return chunks[:min(topK, len(chunks))], nil
}

// post sends the request and returns the body of a 2xx response.
func (r *Retriever) post(ctx context.Context, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if r.cfg.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+r.cfg.APIKey)
	}

	resp, err := r.cfg.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, r.cfg.MaxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read the response: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, &statusError{code: resp.StatusCode, snippet: r.snippet(data)}
	}
	if int64(len(data)) > r.cfg.MaxResponseBytes {
		return nil, fmt.Errorf("the response body is larger than %d bytes; return fewer or shorter "+
			"results, or raise the limit", r.cfg.MaxResponseBytes)
	}
	if resp.ContentLength > int64(len(data)) {
		return nil, fmt.Errorf("the response body was cut at %d of %d bytes by the HTTP client's "+
			"size limit; raise the client's MaxResponseBytes", len(data), resp.ContentLength)
	}
	return data, nil
}

// statusError is a response with a non-2xx status.
type statusError struct {
	code    int
	snippet string
}

func (e *statusError) Error() string {
	msg := fmt.Sprintf("status %d %s", e.code, http.StatusText(e.code))
	switch {
	case e.code == http.StatusUnauthorized || e.code == http.StatusForbidden:
		msg += "; check the API key"
	case e.code >= 300 && e.code < 400:
		msg += "; redirects are not followed, so set the URL to the final address"
	}
	if e.snippet != "" {
		msg += fmt.Sprintf("; body: %q", e.snippet)
	}
	return msg
}

// snippet returns the start of a response body for an error message, with
// the API key replaced in case the endpoint echoes the request headers.
func (r *Retriever) snippet(data []byte) string {
	const maxSnippet = 200
	s := strings.ToValidUTF8(string(data), "\uFFFD")
	if r.cfg.APIKey != "" {
		s = strings.ReplaceAll(s, r.cfg.APIKey, "[api key]")
	}
	s = strings.TrimSpace(s)
	if len(s) > maxSnippet {
		cut := maxSnippet
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return s
}

// classify wraps a failed request: a done parent ctx gives an error that
// wraps its Err, anything else one that wraps kb.ErrUnavailable.
func (r *Retriever) classify(parent, searchCtx context.Context, err error) error {
	if parentErr := parent.Err(); parentErr != nil {
		return fmt.Errorf("httpsearch: search endpoint %s: %w", r.endpoint, parentErr)
	}
	if errors.Is(context.Cause(searchCtx), errTimeout) {
		return fmt.Errorf("%w: search endpoint %s: timed out after %v: %w",
			kb.ErrUnavailable, r.endpoint, r.cfg.Timeout, context.DeadlineExceeded)
	}
	return fmt.Errorf("%w: search endpoint %s: %w", kb.ErrUnavailable, r.endpoint, err)
}
