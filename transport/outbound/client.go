package outbound

import (
	"io"
	"net/http"
	"net/url"
	"time"
)

// Client sends outbound HTTP requests. It is safe for concurrent use.
type Client struct {
	guard            *guard
	httpClient       *http.Client
	maxResponseBytes int64
}

// NewClient returns a client for URLs that arrive in API requests: it
// rejects blocked addresses (see the package documentation) unless
// cfg.AllowPrivateNetworks or cfg.AllowHosts allow them. The error wraps
// ErrInvalidConfig when an AllowHosts entry is invalid.
func NewClient(cfg Config) (*Client, error) {
	allow, err := parseAllowList(cfg.AllowHosts)
	if err != nil {
		return nil, err
	}
	return newClient(cfg, cfg.AllowPrivateNetworks, allow), nil
}

// NewTrusted returns a client for URLs that the operator wrote in the
// manifest: it reaches every address, so it ignores cfg.AllowHosts and
// cfg.AllowPrivateNetworks. Like NewClient it ignores proxy settings,
// follows no redirects and applies cfg.Timeout and cfg.MaxResponseBytes.
func NewTrusted(cfg Config) *Client {
	return newClient(cfg, true, allowList{})
}

func newClient(cfg Config, open bool, allow allowList) *Client {
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	connectTimeout := timeout
	if timeout < 0 {
		timeout = 0 // http.Client: no overall bound
		connectTimeout = DefaultTimeout
	}
	maxBytes := cfg.MaxResponseBytes
	if maxBytes == 0 {
		maxBytes = DefaultMaxResponseBytes
	}

	g := newGuard(open, allow, cfg, connectTimeout)
	transport := &http.Transport{
		Proxy:             nil, // never read HTTP_PROXY and friends
		DialContext:       g.DialContext,
		ForceAttemptHTTP2: true,
		MaxIdleConns:      100,
		// Deliveries send several requests to one receiver at once; the
		// default of 2 idle connections per host made most of them dial.
		MaxIdleConnsPerHost:   32,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   connectTimeout,
		ExpectContinueTimeout: time.Second,
	}
	return &Client{
		guard: g,
		httpClient: &http.Client{
			Transport: transport,
			Timeout:   timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
		maxResponseBytes: maxBytes,
	}
}

// Do sends req and returns the response, whose body reads at most
// Config.MaxResponseBytes bytes before io.EOF. A 3xx response is returned
// as it is. The URL in an error is cut down to scheme and host, because
// paths and queries of webhook URLs often carry tokens. As with
// http.Client.Do, the caller closes the body.
func (c *Client) Do(req *http.Request) (*http.Response, error) {
	resp, err := c.httpClient.Do(req)
	if err != nil {
		return nil, redactURL(err, req.URL)
	}
	if c.maxResponseBytes > 0 {
		resp.Body = &limitedBody{
			Reader: io.LimitReader(resp.Body, c.maxResponseBytes),
			Closer: resp.Body,
		}
	}
	return resp, nil
}

// HTTPClient returns the underlying *http.Client for libraries that take
// one. It has the same address check, timeout and redirect policy as Do,
// but it neither limits response bodies nor shortens URLs in errors.
func (c *Client) HTTPClient() *http.Client {
	return c.httpClient
}

// limitedBody is a response body cut at Config.MaxResponseBytes that
// still closes the original body.
type limitedBody struct {
	io.Reader
	io.Closer
}

// redactURL replaces the URL in the *url.Error that http.Client.Do
// returns with its scheme and host.
func redactURL(err error, u *url.URL) error {
	urlErr, ok := err.(*url.Error)
	if !ok || u == nil {
		return err
	}
	redacted := *urlErr
	redacted.URL = u.Scheme + "://" + u.Host
	return &redacted
}
