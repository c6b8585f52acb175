package ownkey

import (
	"net/netip"
	"testing"
)

// TestIsInternalAddr has an address in every refused range of the IANA
// special-purpose registries, and public addresses that must stay reachable.
func TestIsInternalAddr(t *testing.T) {
	internal := []string{
		// IPv4 Special-Purpose Address Registry
		"0.0.0.0", "0.1.2.3", // this host, this network
		"10.0.0.1", "10.255.255.255",
		"100.64.0.1", "100.127.255.254", // shared address space
		"127.0.0.1", "127.255.255.254",
		"169.254.169.254", "169.254.0.1",
		"172.16.0.1", "172.31.255.255",
		"192.0.0.1", "192.0.0.8", "192.0.0.9", "192.0.0.170", // IETF protocol assignments
		"192.0.2.1",
		"192.88.99.1", // 6to4 relay anycast
		"192.168.1.1",
		"198.18.0.1", "198.19.255.255",
		"198.51.100.1",
		"203.0.113.1",
		"224.0.0.1", "239.255.255.250", // multicast
		"240.0.0.1", "255.255.255.255",
		// IPv6 Special-Purpose Address Registry
		"::", "::1",
		"::7f00:1", "::808:808", // IPv4-compatible ::/96, whatever it embeds
		"::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", // IPv4-mapped: the embedded v4 decides
		"64:ff9b::7f00:1", "64:ff9b::a00:1", "64:ff9b::a9fe:a9fe", // NAT64: the embedded v4 decides
		"64:ff9b:1::808:808",                              // local-use NAT64 (RFC 8215): refused
		"100::1",                                          // discard-only
		"100:0:0:1::1",                                    // dummy prefix (RFC 9780)
		"2001::1", "2001:0:4136:e378:8000:63bf:3fff:fdd2", // Teredo
		"2001:1::1", "2001:2::1", "2001:3::1", "2001:10::1", "2001:20::1", "2001:30::1", // IETF protocol assignments
		"2001:db8::1",                                  // documentation
		"2002::1", "2002:7f00:1::1", "2002:808:808::1", // 6to4
		"3fff::1",                  // documentation (RFC 9637)
		"5f00::1",                  // SRv6 SIDs (RFC 9602)
		"fc00::1", "fd00:ec2::254", // unique-local, AWS IMDS
		"fe80::1", "fe80::1%eth0", // link-local, with a zone
		"fec0::1",            // deprecated site-local
		"ff02::1", "ff0e::1", // multicast
		"4000::1", "8000::1", "e000::1", // outside 2000::/3, unallocated
	}
	public := []string{
		"8.8.8.8", "1.1.1.1", "20.42.0.1", "104.18.0.1", "192.0.1.1", "192.31.196.1", "198.20.0.1", "223.255.255.254",
		"::ffff:8.8.8.8",   // IPv4-mapped public
		"64:ff9b::808:808", // NAT64 of 8.8.8.8 on an IPv6-only host
		"2606:4700::1", "2001:4860:4860::8888", "2a00:1450:4001::1", "2620:4f:8000::1", "2400:cb00::1",
	}
	for _, s := range internal {
		if !IsInternalAddr(netip.MustParseAddr(s)) {
			t.Errorf("IsInternalAddr(%s) = false, want true", s)
		}
	}
	for _, s := range public {
		if IsInternalAddr(netip.MustParseAddr(s)) {
			t.Errorf("IsInternalAddr(%s) = true, want false", s)
		}
	}
	if !IsInternalAddr(netip.Addr{}) {
		t.Error("the zero Addr must count as internal")
	}
	for _, h := range []string{"[::7f00:1]", "[2002:7f00:1::1]", "192.88.99.1", "localhost", "x.internal"} {
		if !IsInternalHost(h) {
			t.Errorf("IsInternalHost(%s) = false", h)
		}
	}
}
