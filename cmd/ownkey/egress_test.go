package main

import (
	"net"
	"net/http"
	"net/netip"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/internal/nettest"
)

// ipOrPort matches an IPv4 address, an IPv6 literal or a :port.
var ipOrPort = regexp.MustCompile(`\d+\.\d+\.\d+\.\d+|[0-9a-fA-F]*::[0-9a-fA-F:]*|:\d{2,5}\b`)

// validateAzure asks the key check endpoint about an Azure credential at
// endpoint and returns its error text, which must be there (valid: false)
// and must name no address or port.
func validateAzure(t *testing.T, g *testGateway, key, endpoint string) string {
	t.Helper()
	r := g.do("POST", "/api/user/provider-keys/validate", key, map[string]any{"provider": "azure",
		"key": map[string]any{"endpoint": endpoint, "apiKey": canaryAzure, "deploymentName": "gpt4o", "apiVersion": "2024-10-21"}})
	body := r.json(t)
	msg, _ := body["error"].(string)
	if r.Status != http.StatusOK || body["valid"] != false || msg == "" {
		t.Fatalf("validate %s: %d %s", endpoint, r.Status, r.Body)
	}
	if m := ipOrPort.FindString(msg); m != "" {
		t.Errorf("validate %s: error %q names %q", endpoint, msg, m)
	}
	if strings.Contains(string(r.Body), canaryAzure[:12]) {
		t.Errorf("validate %s: the key came back", endpoint)
	}
	return msg
}

// The key check must not tell a user what an internal name resolves to, nor
// serve as a port scanner (issue 8 finding 12).
func TestValidateUserEndpointSaysNoMore(t *testing.T) {
	t.Run("internal name", func(t *testing.T) {
		// A name that passes the syntactic check when the credential is
		// parsed and resolves to an internal address only at dial time:
		// the machine's own name, which /etc/hosts maps to loopback or a
		// private address on every host this runs on.
		host, err := os.Hostname()
		if err != nil {
			t.Skip("no host name")
		}
		addrs, err := net.LookupHost(host)
		if err != nil || len(addrs) == 0 || ownkey.IsInternalHost(host) {
			t.Skipf("host name %q does not resolve, or is refused by name", host)
		}
		for _, a := range addrs {
			if ip, err := netip.ParseAddr(a); err != nil || !ownkey.IsInternalAddr(ip) {
				t.Skipf("host name %q resolves to %s, not an internal address", host, a)
			}
		}
		g := newTestGateway(t, nil)
		_, key := g.createAccount("alice")
		msg := validateAzure(t, g, key, "https://"+host+":8443")
		if want := "could not reach Azure: the endpoint is not allowed (it points to an internal address)"; msg != want {
			t.Errorf("error = %q, want %q", msg, want)
		}
		for _, a := range addrs {
			if strings.Contains(msg, a) {
				t.Errorf("error %q names the resolved address %s", msg, a)
			}
		}
	})

	t.Run("closed and open-but-wrong ports", func(t *testing.T) {
		g := newTestGateway(t, map[string]string{"OWNKEY_ALLOW_PRIVATE_UPSTREAMS": "true"})
		_, key := g.createAccount("bob")
		babble := nettest.NotHTTP(t, nettest.Babble)
		hangup := nettest.NotHTTP(t, func(c net.Conn) { time.Sleep(10 * time.Millisecond) })
		closed := validateAzure(t, g, key, "http://"+nettest.ClosedAddr(t))
		for _, addr := range []string{babble, hangup} {
			if msg := validateAzure(t, g, key, "http://"+addr); msg != closed {
				t.Errorf("open port %s: error %q differs from a closed port's %q", addr, msg, closed)
			}
		}
		if want := "could not reach Azure: the endpoint is not reachable"; closed != want {
			t.Errorf("error = %q, want %q", closed, want)
		}
		// The operator can still tell why, in the debug log.
		if logs := g.logs.String(); !strings.Contains(logs, "connection refused") || !strings.Contains(logs, "malformed HTTP") {
			t.Errorf("the debug log lacks the causes:\n%s", logs)
		}
	})
}
