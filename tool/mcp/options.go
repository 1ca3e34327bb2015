package mcp

import (
	"log/slog"
	"time"

	"github.com/agentry/agentry/manifest"
	"github.com/agentry/agentry/transport/outbound"
)

// Defaults of Options and of manifest.MCP.Timeout.
const (
	// DefaultCallTimeout bounds a tool call when the server's timeout is
	// not set.
	DefaultCallTimeout = manifest.DefaultMCPTimeout
	// DefaultConnectTimeout bounds one connection attempt.
	DefaultConnectTimeout = 30 * time.Second
	// DefaultRetryMin is the first delay before a failed connection is
	// tried again.
	DefaultRetryMin = time.Second
	// DefaultRetryMax is the longest delay between connection attempts.
	DefaultRetryMax = time.Minute
	// DefaultCheckInterval is the period of the health check, which lists
	// a connected server's tools.
	DefaultCheckInterval = 30 * time.Second
)

// Options configures a Manager. The zero value uses the defaults.
type Options struct {
	// Logger receives connects, disconnects, retries and the standard
	// error output of stdio servers (at debug level). Default
	// slog.Default().
	Logger *slog.Logger
	// HTTPClient sends the requests of the streamable-http and sse
	// transports. It must not bound a whole request, because responses
	// may be long-lived event streams. Default
	// outbound.NewTrusted(outbound.Config{Timeout: -1}).
	HTTPClient *outbound.Client
	// ConnectTimeout bounds one connection attempt: starting the
	// transport, initializing the session and listing the tools. Default
	// DefaultConnectTimeout (30s).
	ConnectTimeout time.Duration
	// RetryMin and RetryMax bound the delay between background attempts
	// to connect a server that is down. The delay starts at RetryMin and
	// doubles after each failure up to RetryMax. Defaults DefaultRetryMin
	// (1s) and DefaultRetryMax (1m).
	RetryMin, RetryMax time.Duration
	// CheckInterval is the period at which each connected server's tools
	// are listed again, which refreshes them and finds servers that went
	// away while idle. Default DefaultCheckInterval (30s); a negative
	// value turns the check off.
	CheckInterval time.Duration
	// ClientName and ClientVersion identify agentry in the initialize
	// request. Defaults "agentry" and "dev".
	ClientName, ClientVersion string
}

// withDefaults returns o with every zero field set to its default.
func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.HTTPClient == nil {
		o.HTTPClient = outbound.NewTrusted(outbound.Config{Timeout: -1})
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = DefaultConnectTimeout
	}
	if o.RetryMin <= 0 {
		o.RetryMin = DefaultRetryMin
	}
	if o.RetryMax <= 0 {
		o.RetryMax = DefaultRetryMax
	}
	if o.RetryMax < o.RetryMin {
		o.RetryMax = o.RetryMin
	}
	if o.CheckInterval == 0 {
		o.CheckInterval = DefaultCheckInterval
	}
	if o.ClientName == "" {
		o.ClientName = "agentry"
	}
	if o.ClientVersion == "" {
		o.ClientVersion = "dev"
	}
	return o
}
