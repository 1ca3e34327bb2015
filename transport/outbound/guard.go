package outbound

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"time"
)

// guard dials the connections of a Client. It resolves the host itself
// and, unless open is set or the host matches a name in AllowHosts,
// rejects the whole host when any of its addresses is blocked. Then it
// dials the addresses one by one, and the dialer's Control hook checks
// each address again right before connect(2), so no path reaches a
// blocked address unchecked.
type guard struct {
	open   bool // true for NewTrusted and AllowPrivateNetworks, which check no address
	allow  allowList
	lookup func(ctx context.Context, network, host string) ([]netip.Addr, error)

	checked        *net.Dialer // dialer whose Control rejects blocked addresses
	unchecked      *net.Dialer
	connectTimeout time.Duration // bounds connecting to all addresses of a host

	// dial connects to one IP address and port. Tests replace it to prove
	// that a blocked destination is never dialed.
	dial func(ctx context.Context, network, address string, check bool) (net.Conn, error)
}

func newGuard(open bool, allow allowList, cfg Config, connectTimeout time.Duration) *guard {
	g := &guard{open: open, allow: allow, lookup: cfg.LookupNetIP, connectTimeout: connectTimeout}
	if g.lookup == nil {
		g.lookup = net.DefaultResolver.LookupNetIP
	}
	g.checked = &net.Dialer{Timeout: connectTimeout, Control: g.control}
	g.unchecked = &net.Dialer{Timeout: connectTimeout}
	g.dial = g.dialNet
	return g
}

func (g *guard) dialNet(ctx context.Context, network, address string, check bool) (net.Conn, error) {
	if check {
		return g.checked.DialContext(ctx, network, address)
	}
	return g.unchecked.DialContext(ctx, network, address)
}

// DialContext connects to address ("host:port") for the client's
// http.Transport, after checking every address that the host resolves to.
func (g *guard) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fmt.Errorf("outbound: invalid dial address %q: %w", address, err)
	}
	addrs, err := g.resolve(ctx, network, host)
	if err != nil {
		return nil, err
	}
	check := !g.open && !g.allow.allowsName(host)
	if check {
		for _, addr := range addrs {
			if class := g.blockedClass(addr); class != "" {
				return nil, fmt.Errorf("%w: host %q resolves to %s address; "+
					"to reach it, list the host in AllowHosts or set AllowPrivateNetworks",
					ErrBlockedAddress, host, withArticle(class))
			}
		}
	}
	return g.dialEach(ctx, network, addrs, port, check)
}

// minDialShare is the least time dialEach gives one address when it
// splits the connect timeout among several.
const minDialShare = 2 * time.Second

// dialEach dials the addresses in order until one connects. Like the
// serial dialing of package net, it gives each address an equal share of
// the time left (at least minDialShare), so an address that drops packets
// does not use up the whole timeout before the next one is tried.
func (g *guard) dialEach(ctx context.Context, network string, addrs []netip.Addr, port string, check bool) (net.Conn, error) {
	deadline := time.Now().Add(g.connectTimeout)
	if ctxDeadline, ok := ctx.Deadline(); ok && ctxDeadline.Before(deadline) {
		deadline = ctxDeadline
	}
	var errs []error
	for i, addr := range addrs {
		left := time.Until(deadline)
		if left <= 0 {
			errs = append(errs, fmt.Errorf("outbound: connect timed out after %s: %w",
				g.connectTimeout, os.ErrDeadlineExceeded))
			break
		}
		share := max(left/time.Duration(len(addrs)-i), minDialShare)
		dialCtx, cancel := context.WithTimeout(ctx, share)
		conn, err := g.dial(dialCtx, network, net.JoinHostPort(addr.String(), port), check)
		cancel()
		if err == nil {
			return conn, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}

// resolve returns the addresses of host that suit network ("tcp", "tcp4"
// or "tcp6"). An IP literal resolves to itself.
func (g *guard) resolve(ctx context.Context, network, host string) ([]netip.Addr, error) {
	if addr, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{addr}, nil
	}
	ipNetwork := "ip"
	switch network {
	case "tcp4":
		ipNetwork = "ip4"
	case "tcp6":
		ipNetwork = "ip6"
	}
	addrs, err := g.lookup(ctx, ipNetwork, host)
	if err != nil {
		// A DNS error names the resolver's address, which API callers
		// should not learn; keep only what went wrong.
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) {
			return nil, fmt.Errorf("outbound: resolve host %q: %s", host, dnsErr.Err)
		}
		return nil, fmt.Errorf("outbound: resolve host %q: %w", host, err)
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("outbound: resolve host %q: no addresses", host)
	}
	return addrs, nil
}

// blockedClass returns the class of a blocked address that no AllowHosts
// entry allows, or "" for an address that may be reached.
func (g *guard) blockedClass(addr netip.Addr) string {
	class := addressClass(addr)
	if class == "" || g.allow.allowsAddr(addr) {
		return ""
	}
	return class
}

// withArticle puts "a" or "an" before an address class.
func withArticle(class string) string {
	if strings.ContainsRune("aeiou", rune(class[0])) {
		return "an " + class
	}
	return "a " + class
}

// control is the net.Dialer Control hook of checked dials. It runs after
// the socket is created and before it connects.
func (g *guard) control(network, address string, _ syscall.RawConn) error {
	addrPort, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: dial address %q is not an IP address and port",
			ErrBlockedAddress, address)
	}
	if class := g.blockedClass(addrPort.Addr()); class != "" {
		return fmt.Errorf("%w: dial-time check rejected %s address", ErrBlockedAddress, withArticle(class))
	}
	return nil
}
