package outbound

import "net/netip"

// addressRange is a range of addresses that NewClient rejects, with the
// class named in errors.
type addressRange struct {
	prefix netip.Prefix
	class  string
}

// blockedRanges lists the address ranges that NewClient rejects. The first
// match wins, so the metadata addresses come before the ranges that
// contain them.
var blockedRanges = []addressRange{
	{netip.MustParsePrefix("169.254.169.254/32"), "cloud metadata"},
	{netip.MustParsePrefix("fd00:ec2::254/128"), "cloud metadata"},

	{netip.MustParsePrefix("0.0.0.0/8"), "unspecified"},
	{netip.MustParsePrefix("10.0.0.0/8"), "private"},
	{netip.MustParsePrefix("100.64.0.0/10"), "shared (carrier-grade NAT)"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local"},
	{netip.MustParsePrefix("172.16.0.0/12"), "private"},
	{netip.MustParsePrefix("192.0.0.0/24"), "reserved"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private"},
	{netip.MustParsePrefix("198.18.0.0/15"), "reserved"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("255.255.255.255/32"), "broadcast"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"},

	{netip.MustParsePrefix("::/128"), "unspecified"},
	{netip.MustParsePrefix("::1/128"), "loopback"},
	// IPv4-compatible addresses, deprecated since RFC 4291.
	{netip.MustParsePrefix("::/96"), "reserved"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "private"},
	{netip.MustParsePrefix("fc00::/7"), "private"},
	{netip.MustParsePrefix("fe80::/10"), "link-local"},
	{netip.MustParsePrefix("fec0::/10"), "private"},
	{netip.MustParsePrefix("ff00::/8"), "multicast"},
}

var (
	// nat64Prefix is the well-known NAT64 prefix (RFC 6052): the last 32
	// bits are the IPv4 address that a NAT64 gateway connects to.
	nat64Prefix = netip.MustParsePrefix("64:ff9b::/96")
	// sixToFourPrefix is the 6to4 prefix (RFC 3056): bits 16 to 47 are
	// the IPv4 address of the relay.
	sixToFourPrefix = netip.MustParsePrefix("2002::/16")
)

// addressClass returns the class of a blocked address, or "" for an
// address that may be reached. IPv4 addresses embedded in IPv4-mapped,
// NAT64 and 6to4 addresses are classified as the IPv4 address.
func addressClass(addr netip.Addr) string {
	addr = addr.WithZone("").Unmap()
	if !addr.IsValid() {
		return "invalid"
	}
	if embedded, ok := embeddedIPv4(addr); ok {
		return addressClass(embedded)
	}
	for _, r := range blockedRanges {
		if r.prefix.Contains(addr) {
			return r.class
		}
	}
	return ""
}

// embeddedIPv4 extracts the IPv4 address of a NAT64 or 6to4 address.
func embeddedIPv4(addr netip.Addr) (netip.Addr, bool) {
	if !addr.Is6() {
		return netip.Addr{}, false
	}
	b := addr.As16()
	switch {
	case nat64Prefix.Contains(addr):
		return netip.AddrFrom4([4]byte(b[12:16])), true
	case sixToFourPrefix.Contains(addr):
		return netip.AddrFrom4([4]byte(b[2:6])), true
	}
	return netip.Addr{}, false
}
