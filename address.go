package ownkey

import (
	"net/netip"
	"strings"
)

// IsInternalHost reports whether host (a name or an IP literal) is one that
// user-supplied endpoints may not reach: localhost names and the addresses
// IsInternalAddr rejects.
func IsInternalHost(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	if h == "localhost" || strings.HasSuffix(h, ".localhost") || h == "metadata.google.internal" || strings.HasSuffix(h, ".internal") {
		return true
	}
	if a, err := netip.ParseAddr(strings.Trim(h, "[]")); err == nil {
		return IsInternalAddr(a)
	}
	return false
}

// IsInternalAddr reports whether a is not an ordinary address on the public
// internet: loopback, private, link-local (the 169.254.169.254 metadata
// service among them), multicast, or any block of the IANA special-purpose
// registries that is not globally reachable. Addresses that embed an IPv4
// address are judged by it where the embedding is standard (IPv4-mapped
// ::ffff:0:0/96, well-known NAT64 64:ff9b::/96) and refused otherwise.
func IsInternalAddr(a netip.Addr) bool {
	if !a.IsValid() {
		return true
	}
	// Prefix.Contains never matches an address with a zone; only
	// link-local addresses carry one, and they are refused anyway.
	a = a.WithZone("").Unmap()
	if a.Is4() {
		return inAny(internalIPv4, a)
	}
	if nat64WellKnown.Contains(a) {
		b := a.As16()
		return IsInternalAddr(netip.AddrFrom4([4]byte(b[12:])))
	}
	// IANA has allocated nothing for the public internet outside
	// 2000::/3. Refusing all the rest covers loopback, unspecified,
	// IPv4-compatible ::/96, local-use NAT64 64:ff9b:1::/48, discard-only
	// 100::/64, SRv6 SIDs 5f00::/16, unique-local fc00::/7, link-local
	// fe80::/10, site-local fec0::/10 and multicast ff00::/8, and whatever
	// is carved out there later.
	if !ipv6GlobalUnicast.Contains(a) {
		return true
	}
	return inAny(internalIPv6, a)
}

func inAny(ps []netip.Prefix, a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

var (
	ipv6GlobalUnicast = netip.MustParsePrefix("2000::/3")
	nat64WellKnown    = netip.MustParsePrefix("64:ff9b::/96") // RFC 6052: the IPv4 address is the last 32 bits
)

// The tables below are the entries of the IANA IPv4 Special-Purpose Address
// Registry (revision of 2020-09-04) and the IANA IPv6 Special-Purpose Address
// Registry (revision of 2024-10-22) whose "Globally Reachable" is False or
// N/A, transcribed by hand on 2026-11-29 from
// https://www.iana.org/assignments/iana-ipv4-special-registry and
// https://www.iana.org/assignments/iana-ipv6-special-registry. A few globally
// reachable entries are refused too, where a whole block is simpler and no
// provider API lives (noted). IPv6 entries outside 2000::/3 are left out: that
// space is refused whole (see IsInternalAddr). Re-check both registries when
// touching this list.
var internalIPv4 = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "This network" (RFC 791); holds 0.0.0.0/32 "this host"
	netip.MustParsePrefix("10.0.0.0/8"),      // Private-Use (RFC 1918)
	netip.MustParsePrefix("100.64.0.0/10"),   // Shared Address Space, CGNAT (RFC 6598)
	netip.MustParsePrefix("127.0.0.0/8"),     // Loopback (RFC 1122)
	netip.MustParsePrefix("169.254.0.0/16"),  // Link Local (RFC 3927), cloud metadata services
	netip.MustParsePrefix("172.16.0.0/12"),   // Private-Use (RFC 1918)
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF Protocol Assignments (RFC 6890); holds DS-Lite 192.0.0.0/29, the dummy 192.0.0.8/32, NAT64 discovery 192.0.0.170-171 and the PCP/TURN anycast /32s (refused with the block)
	netip.MustParsePrefix("192.0.2.0/24"),    // Documentation TEST-NET-1 (RFC 5737)
	netip.MustParsePrefix("192.88.99.0/24"),  // Deprecated 6to4 Relay Anycast (RFC 7526)
	netip.MustParsePrefix("192.168.0.0/16"),  // Private-Use (RFC 1918)
	netip.MustParsePrefix("198.18.0.0/15"),   // Benchmarking (RFC 2544)
	netip.MustParsePrefix("198.51.100.0/24"), // Documentation TEST-NET-2 (RFC 5737)
	netip.MustParsePrefix("203.0.113.0/24"),  // Documentation TEST-NET-3 (RFC 5737)
	netip.MustParsePrefix("224.0.0.0/4"),     // Multicast (RFC 5771; IANA Multicast Address Space registry)
	netip.MustParsePrefix("240.0.0.0/4"),     // Reserved (RFC 1112); holds Limited Broadcast 255.255.255.255/32
}

var internalIPv6 = []netip.Prefix{
	netip.MustParsePrefix("2001::/23"),     // IETF Protocol Assignments (RFC 2928); holds Teredo 2001::/32, Benchmarking 2001:2::/48, ORCHID 2001:10::/28 and a few globally reachable anycast and ORCHIDv2/DET blocks (refused with the block)
	netip.MustParsePrefix("2001:db8::/32"), // Documentation (RFC 3849)
	netip.MustParsePrefix("2002::/16"),     // 6to4 (RFC 3056): would relay to any IPv4 address, private ones included
	netip.MustParsePrefix("3fff::/20"),     // Documentation (RFC 9637)
}
