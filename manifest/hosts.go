package manifest

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
)

// ErrCallbackURL marks a callback URL that [Autonomous.CheckCallbackURL]
// rejects.
var ErrCallbackURL = errors.New("invalid callback URL")

// MatchHost reports whether host matches an entry of allowlist. Three
// forms of entry exist:
//   - A host name matches that name exactly, in any case.
//   - An IP address matches that address, so "127.0.0.1" also matches
//     "::ffff:127.0.0.1".
//   - "*." and a host name matches every subdomain at any depth but not
//     the name itself, and never an IP address. So "*.example.com"
//     matches "api.example.com" and "a.b.example.com" but not
//     "example.com".
//
// The host has no port, as [url.URL.Hostname] returns it. A trailing dot
// and IPv6 brackets are ignored. An empty allowlist matches nothing.
func MatchHost(allowlist []string, host string) bool {
	host = normalizeHost(host)
	if host == "" {
		return false
	}
	hostIP, hostErr := netip.ParseAddr(host)
	for _, entry := range allowlist {
		entry = normalizeHost(entry)
		if suffix, ok := strings.CutPrefix(entry, "*"); ok {
			if hostErr != nil && strings.HasPrefix(suffix, ".") &&
				len(host) > len(suffix) && strings.HasSuffix(host, suffix) {
				return true
			}
			continue
		}
		if ip, err := netip.ParseAddr(entry); err == nil {
			if hostErr == nil && ip.Unmap() == hostIP.Unmap() {
				return true
			}
			continue
		}
		if entry == host {
			return true
		}
	}
	return false
}

// normalizeHost lower-cases h and removes IPv6 brackets and a trailing
// dot.
func normalizeHost(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	h = strings.TrimSuffix(h, ".")
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		h = h[1 : len(h)-1]
	}
	return h
}

// AllowsCallbackHost reports whether a callback URL may have host: any
// host when CallbackURLAllowlist is empty, else the hosts that
// [MatchHost] matches. The outbound guard applies in both cases.
func (a *Autonomous) AllowsCallbackHost(host string) bool {
	return len(a.CallbackURLAllowlist) == 0 || MatchHost(a.CallbackURLAllowlist, host)
}

// CheckCallbackURL returns an error matching [ErrCallbackURL] unless raw
// is an absolute http or https URL without user information whose host
// [Autonomous.AllowsCallbackHost] allows. The error never contains raw,
// which may carry a token in its query.
func (a *Autonomous) CheckCallbackURL(raw string) error {
	u, err := checkHTTPURL(raw)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCallbackURL, err)
	}
	if !a.AllowsCallbackHost(u.Hostname()) {
		return fmt.Errorf("%w: host %q is not in callback_url_allowlist", ErrCallbackURL, u.Hostname())
	}
	return nil
}

// checkHTTPURL parses raw as an absolute http or https URL with a host and
// without user information. Its errors do not contain raw.
func checkHTTPURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return nil, errors.New("must be an absolute http or https URL; it does not parse")
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, errors.New("must be an absolute http or https URL, such as https://example.com/hook")
	case u.Hostname() == "":
		return nil, errors.New("must be an absolute http or https URL with a host")
	case u.User != nil:
		return nil, errors.New("must not contain a user name or password; use runtime.outbound_auth for credentials")
	}
	return u, nil
}

// checkHostPattern returns an error unless s is a host name, an IP
// address or, when wildcard is true, "*." and a host name: the entries
// that [MatchHost] takes. Ports, schemes and paths are rejected.
func checkHostPattern(s string, wildcard bool) error {
	if _, err := netip.ParseAddr(s); err == nil {
		return nil
	}
	name := s
	if wildcard {
		name = strings.TrimPrefix(s, "*.")
	}
	switch {
	case strings.Contains(s, "://"):
		return errors.New("must be a host name without a scheme, such as api.example.com")
	case strings.ContainsAny(s, "/?#"):
		return errors.New("must be a host name without a path, such as api.example.com")
	case strings.Contains(s, ":"):
		return errors.New("must be a host name without a port; every port of the host matches")
	case wildcard && strings.Contains(name, "*"):
		return errors.New(`may use '*' only as a leading "*." for subdomains, such as *.example.com`)
	case !validHostName(name):
		if wildcard {
			return errors.New("must be a host name such as api.example.com, *.example.com for its subdomains, or an IP address")
		}
		return errors.New("must be a host name such as api.example.com, or an IP address")
	}
	return nil
}

// validHostName reports whether s is a DNS name: dot-separated labels of
// 1 to 63 letters, digits, '-' and '_', not starting or ending with '-',
// at most 253 bytes in all.
func validHostName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			ok := r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
			if !ok {
				return false
			}
		}
	}
	return true
}
