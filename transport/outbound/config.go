package outbound

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Defaults of Config.
const (
	// DefaultTimeout bounds one attempt when Config.Timeout is zero.
	DefaultTimeout = 15 * time.Second
	// DefaultMaxResponseBytes is the response body limit of Client.Do when
	// Config.MaxResponseBytes is zero.
	DefaultMaxResponseBytes int64 = 64 << 10
)

// Config configures a Client.
type Config struct {
	// AllowPrivateNetworks lets NewClient reach every address, private and
	// loopback ones included. Default false.
	AllowPrivateNetworks bool
	// AllowHosts lists destinations that NewClient reaches even when they
	// resolve to a blocked address. An entry is a host name matched
	// exactly and case-insensitively ("hooks.internal"), a host name with
	// a "*." prefix that matches any subdomain ("*.svc.cluster.local"), an
	// IP address ("10.0.0.5") or a CIDR range ("10.20.0.0/16"). A name
	// entry lifts the check for every address the name resolves to. An
	// address or range entry lifts it for matching addresses whatever the
	// host name. Default empty.
	AllowHosts []string
	// Timeout bounds one attempt: connecting, sending the request and
	// reading the whole response body. Default DefaultTimeout (15s). A
	// negative value removes the overall bound, for streaming responses
	// such as server-sent events, but connecting and the TLS handshake
	// are still bounded by DefaultTimeout.
	Timeout time.Duration
	// MaxResponseBytes is the number of response body bytes that Client.Do
	// lets the caller read. Reading past it returns io.EOF. Default
	// DefaultMaxResponseBytes (64 KiB). A negative value removes the limit.
	MaxResponseBytes int64
	// LookupNetIP resolves host names. Default net.DefaultResolver's
	// LookupNetIP. Tests and programs with their own DNS set it.
	LookupNetIP func(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// allowList is the parsed form of Config.AllowHosts.
type allowList struct {
	names    map[string]bool
	suffixes []string // ".example.com" for the entry "*.example.com"
	prefixes []netip.Prefix
}

// parseAllowList parses Config.AllowHosts.
func parseAllowList(entries []string) (allowList, error) {
	list := allowList{names: map[string]bool{}}
	for i, entry := range entries {
		entry = strings.TrimSpace(entry)
		if err := list.add(entry); err != nil {
			return allowList{}, fmt.Errorf("%w: AllowHosts[%d] %q: %w; use a host name, "+
				"*.domain, an IP address or a CIDR range", ErrInvalidConfig, i, entry, err)
		}
	}
	return list, nil
}

func (l *allowList) add(entry string) error {
	if entry == "" {
		return fmt.Errorf("empty entry")
	}
	if strings.Contains(entry, "/") {
		prefix, err := netip.ParsePrefix(entry)
		if err != nil {
			return fmt.Errorf("invalid CIDR range")
		}
		if prefix.Addr().Is4In6() && prefix.Bits() >= 96 {
			prefix = netip.PrefixFrom(prefix.Addr().Unmap(), prefix.Bits()-96)
		}
		l.prefixes = append(l.prefixes, prefix.Masked())
		return nil
	}
	if inner, ok := strings.CutPrefix(entry, "["); ok {
		entry = strings.TrimSuffix(inner, "]") // "[::1]" as in a URL
	}
	if addr, err := netip.ParseAddr(entry); err == nil {
		addr = addr.WithZone("").Unmap()
		l.prefixes = append(l.prefixes, netip.PrefixFrom(addr, addr.BitLen()))
		return nil
	}
	name := normalizeHost(entry)
	if rest, ok := strings.CutPrefix(name, "*."); ok {
		if !validHostName(rest) {
			return fmt.Errorf("invalid host name after *.")
		}
		l.suffixes = append(l.suffixes, "."+rest)
		return nil
	}
	if !validHostName(name) {
		return fmt.Errorf("invalid host name")
	}
	l.names[name] = true
	return nil
}

// allowsName reports whether host matches a name entry.
func (l *allowList) allowsName(host string) bool {
	host = normalizeHost(host)
	if l.names[host] {
		return true
	}
	for _, suffix := range l.suffixes {
		if strings.HasSuffix(host, suffix) {
			return true
		}
	}
	return false
}

// allowsAddr reports whether addr falls in an address or range entry.
func (l *allowList) allowsAddr(addr netip.Addr) bool {
	addr = addr.WithZone("").Unmap()
	for _, prefix := range l.prefixes {
		if prefix.Contains(addr) {
			return true
		}
	}
	return false
}

// normalizeHost lowercases a host name and drops the final dot of a fully
// qualified name.
func normalizeHost(host string) string {
	return strings.TrimSuffix(strings.ToLower(host), ".")
}

// validHostName reports whether name is a DNS name of letters, digits,
// '-' and '_' labels.
func validHostName(name string) bool {
	if name == "" || len(name) > 253 {
		return false
	}
	for label := range strings.SplitSeq(name, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, r := range label {
			ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_'
			if !ok {
				return false
			}
		}
	}
	return true
}
