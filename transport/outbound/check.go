package outbound

import (
	"context"
	"fmt"
	"net/url"
)

// CheckURL reports whether the client may reach rawURL's host now: it
// resolves the host and applies the same address check as a dial. Callers
// use it to reject a URL when it is submitted rather than when it is first
// used; the check at dial time still runs, so a host whose DNS answer
// changes later is refused then. The error wraps ErrBlockedAddress for a
// blocked host and never contains the URL's path or query.
func (c *Client) CheckURL(ctx context.Context, rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil || u.Hostname() == "" {
		return fmt.Errorf("outbound: invalid URL: it must be absolute with a host")
	}
	g := c.guard
	host := u.Hostname()
	if g.open || g.allow.allowsName(host) {
		return nil
	}
	addrs, err := g.resolve(ctx, "tcp", host)
	if err != nil {
		return err
	}
	for _, addr := range addrs {
		if class := g.blockedClass(addr); class != "" {
			return fmt.Errorf("%w: host %q resolves to %s address; "+
				"to reach it, list the host in runtime.outbound.allow_hosts or set allow_private_networks",
				ErrBlockedAddress, host, withArticle(class))
		}
	}
	return nil
}
