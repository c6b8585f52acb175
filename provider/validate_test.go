package provider_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/egress"
	"github.com/ownkey/ownkey/internal/nettest"
	"github.com/ownkey/ownkey/provider"
	"github.com/ownkey/ownkey/provider/providertest"
)

// The key checks of each family, request and answer, are tested in the
// family's package (providertest.CheckKeys); these are the Validator's own
// ways, with the test kit's bearer family for every wire.

var groq = providertest.KeyCheck{Provider: "groq", BasePath: "/openai/v1"}

// groqKey is Groq with a key, as a user pastes it.
func groqKey(t *testing.T) (*ownkey.Provider, *ownkey.Credential) {
	t.Helper()
	p := providertest.Catalog(t, "groq")
	c, err := ownkey.ParseCredential(p, []byte(`"gsk_0123456789abcdef"`), false)
	if err != nil {
		t.Fatal(err)
	}
	return p, c
}

func TestValidateKeyNeedsFamilies(t *testing.T) {
	p, c := groqKey(t)
	err := (&provider.Validator{}).ValidateKey(context.Background(), p, c, "")
	if ownkey.ErrorCode(err) != ownkey.EINTERNAL {
		t.Fatalf("err = %v, want EINTERNAL", err)
	}
}

// The check is the family's, authorized by the family, whatever the
// family: here the test kit's, which asks GET {base}/models with a bearer key.
func TestValidateKeySendsTheFamilysCheck(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.JSONReply(http.StatusOK, `{}`))
	v, p, c := groq.Setup(t, up)
	if err := v.ValidateKey(context.Background(), p, c, ""); err != nil {
		t.Fatal(err)
	}
	r := up.Only(t)
	if r.Method != http.MethodGet || r.Path != "/openai/v1/models" || r.Header.Get("Authorization") != "Bearer "+providertest.Key("groq") ||
		r.Header.Get("Accept") != "application/json" || r.Header.Get("User-Agent") != "ownkey" || len(r.Body) != 0 {
		t.Fatalf("upstream got %s %s %v %q", r.Method, r.Path, r.Header, r.Body)
	}
}

func TestValidateKeyOtherStatus(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.JSONReply(http.StatusTooManyRequests,
		`{"error":{"message":"Rate limit reached for requests","type":"rate_limit_error"}}`))
	v, p, c := groq.Setup(t, up)
	err := v.ValidateKey(context.Background(), p, c, "")
	var e *ownkey.Error
	if !errors.As(err, &e) || e.Code != ownkey.EUPSTREAM || e.Status != http.StatusTooManyRequests {
		t.Fatalf("err = %#v, want EUPSTREAM 429", err)
	}
	if e.Message != "Groq answered the key check with HTTP 429: Rate limit reached for requests" {
		t.Errorf("message = %q", e.Message)
	}
}

func TestValidateKeyUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := ln.Addr().String()
	ln.Close()

	p, c := groqKey(t)
	base := "http://" + closedAddr + "/openai/v1"
	v := &provider.Validator{Clients: egress.New(egress.Options{}), Families: providertest.Families(t, ownkey.BaseURLs{"groq": base}),
		Timeout: 2 * time.Second}
	err = v.ValidateKey(context.Background(), p, c, "")
	var e *ownkey.Error
	if !errors.As(err, &e) || e.Code != ownkey.EUNAVAILABLE {
		t.Fatalf("err = %v, want EUNAVAILABLE", err)
	}
	if want := "could not reach Groq: connection refused"; e.Message != want {
		t.Errorf("message = %q, want %q", e.Message, want)
	}
}

func TestValidateKeyTimeout(t *testing.T) {
	release := make(chan struct{})
	up := providertest.NewUpstream(t, func(http.ResponseWriter, *http.Request) { <-release })
	t.Cleanup(func() { close(release) }) // before up.Close, which waits for handlers

	v, p, c := groq.Setup(t, up)
	v.Timeout = 100 * time.Millisecond
	err := v.ValidateKey(context.Background(), p, c, "")
	var e *ownkey.Error
	if !errors.As(err, &e) || e.Code != ownkey.EUNAVAILABLE {
		t.Fatalf("err = %v, want EUNAVAILABLE", err)
	}
	if !strings.HasSuffix(e.Message, ": no answer within 100ms") {
		t.Errorf("message = %q", e.Message)
	}
}

func TestValidateKeyUnresolvableHost(t *testing.T) {
	p, c := groqKey(t)
	// .invalid never resolves (RFC 2606); without DNS at all this is a
	// resolver failure or a timeout, both EUNAVAILABLE.
	v := &provider.Validator{Families: providertest.Families(t, ownkey.BaseURLs{"groq": "https://api.groq.invalid/openai/v1"}),
		Timeout: 2 * time.Second}
	err := v.ValidateKey(context.Background(), p, c, "")
	if ownkey.ErrorCode(err) != ownkey.EUNAVAILABLE {
		t.Fatalf("err = %v, want EUNAVAILABLE", err)
	}
	if msg := ownkey.ErrorMessage(err); !strings.HasPrefix(msg, "could not reach Groq: ") || strings.Contains(msg, "invalid") {
		t.Errorf("message = %q", msg)
	}
}

func TestValidateKeyNilClientsAreGuarded(t *testing.T) {
	// A Validator built without Clients must still refuse private user
	// endpoints.
	up := providertest.NewUpstream(t, providertest.JSONReply(http.StatusOK, `{}`))
	kc := providertest.KeyCheck{Provider: "azure-responses", Credential: map[string]string{"apiKey": providertest.Key("azure-responses"), "apiVersion": "v1"}}
	v, p, c := kc.Setup(t, up)
	v.Clients = nil
	if err := v.ValidateKey(context.Background(), p, c, ""); ownkey.ErrorCode(err) != ownkey.EUNAVAILABLE {
		t.Fatalf("err = %v, want EUNAVAILABLE", err)
	}
	if len(up.Requests()) != 0 {
		t.Fatal("a private endpoint was reached")
	}
}

// addrOrPort matches anything that looks like an IP address or a :port.
var addrOrPort = regexp.MustCompile(`\d+\.\d+\.\d+\.\d+|\[?[0-9a-fA-F]*::[0-9a-fA-F:]*\]?|:\d{2,5}\b`)

// A user-supplied endpoint must not turn the key check into a scanner: a
// name that resolves to an internal address is "not allowed" without the
// address, and every network failure - closed port, open port speaking
// something else, silence, TLS, DNS - reads the same, with no address, port
// or resolver detail. The operator gets the cause at debug level.
func TestValidateKeyUserEndpointErrorsSayNoMore(t *testing.T) {
	const apiKey = "canaryAZUREvalidate-Xq3Lm8Tz2Rw7Vn4Kb9Jh"
	p := providertest.Catalog(t, "azure")
	families := providertest.Families(t, nil)
	cred := func(endpoint string) *ownkey.Credential {
		return &ownkey.Credential{Provider: "azure", Endpoint: endpoint, APIKey: ownkey.NewSecret(apiKey),
			Deployment: "gpt-4o-mini", APIVersion: "2024-10-21"}
	}
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	check := func(v *provider.Validator, endpoint string) string {
		t.Helper()
		err := v.ValidateKey(context.Background(), p, cred(endpoint), "")
		if ownkey.ErrorCode(err) != ownkey.EUNAVAILABLE {
			t.Fatalf("%s: err = %v, want EUNAVAILABLE", endpoint, err)
		}
		msg := ownkey.ErrorMessage(err)
		if m := addrOrPort.FindString(msg); m != "" || strings.Contains(msg, "localhost") || strings.Contains(msg, apiKey[:12]) {
			t.Errorf("%s: message %q names an address, port, host or the key", endpoint, msg)
		}
		return msg
	}

	// A host name that resolves to loopback, through the guarded client.
	up := providertest.NewUpstream(t, providertest.JSONReply(http.StatusOK, `{}`))
	port := up.URL[strings.LastIndexByte(up.URL, ':'):]
	guarded := &provider.Validator{Clients: egress.New(egress.Options{}), Families: families, Timeout: 2 * time.Second, Logger: logger}
	if msg := check(guarded, "http://localhost"+port); msg != "could not reach Azure: "+provider.EndpointNotAllowed {
		t.Errorf("internal name: message = %q", msg)
	}
	if len(up.Requests()) != 0 {
		t.Fatal("the internal address was reached")
	}

	// Every other failure, on hosts the clients may reach.
	babble := nettest.NotHTTP(t, nettest.Babble)
	silent := nettest.NotHTTP(t, func(c net.Conn) { time.Sleep(2 * time.Second) })
	tlsBad := httptest.NewTLSServer(http.NotFoundHandler()) // a certificate nobody trusts
	t.Cleanup(tlsBad.Close)
	// Failures are immediate but for silence; the generous timeout is for
	// a loaded machine, the short one for the silent port.
	open := &provider.Validator{Clients: egress.New(egress.Options{AllowPrivate: true}), Families: families, Timeout: 10 * time.Second,
		Logger: logger}
	impatient := &provider.Validator{Clients: open.Clients, Families: families, Timeout: 300 * time.Millisecond, Logger: logger}
	want := "could not reach Azure: " + provider.EndpointUnreachable
	for _, endpoint := range []string{"http://" + nettest.ClosedAddr(t), "http://" + babble, tlsBad.URL, "https://no-such-host.invalid"} {
		if msg := check(open, endpoint); msg != want {
			t.Errorf("%s: message = %q, want %q", endpoint, msg, want)
		}
	}
	if msg := check(impatient, "http://"+silent); msg != want {
		t.Errorf("silent port: message = %q, want %q", msg, want)
	}

	// The operator can tell them apart, without the key.
	for _, cause := range []string{"connection refused", "malformed HTTP", "certificate", "refusing to connect to 127.0.0.1"} {
		if !strings.Contains(logs.String(), cause) {
			t.Errorf("debug log lacks %q:\n%s", cause, logs.String())
		}
	}
	if strings.Contains(logs.String(), apiKey[:12]) {
		t.Error("the key reached the log")
	}
}

// FuzzModelListed: any provider body is read without panicking, and a
// model reported found is one of the list's ids.
func FuzzModelListed(f *testing.F) {
	f.Add([]byte(`{"object":"list","data":[{"id":"gpt-4o-mini"},{"id":"gpt-4o"}]}`), "gpt-4o")
	f.Add([]byte(`[{"id":"meta-llama/Llama-3.3-70B"},{"id":3}]`), "meta-llama/llama-3.3-70b")
	f.Add([]byte(`{"models":[{"name":"models/gemini"}]}`), "gemini")
	f.Add([]byte(`{"data":[{"id":"x"`), "x")
	f.Fuzz(func(t *testing.T, body []byte, model string) {
		listed, found := provider.ModelListed(body, model)
		if found && !listed {
			t.Fatal("found in no list")
		}
		if found && !strings.Contains(strings.ToLower(string(body)), strings.ToLower(strings.TrimPrefix(model, "models/"))) && model != "" {
			// The id is decoded JSON text: it may be escaped in the body.
			if !strings.Contains(string(body), `\`) {
				t.Fatalf("found %q, absent from %q", model, body)
			}
		}
	})
}

func TestModelListed(t *testing.T) {
	for _, c := range []struct {
		body, model   string
		listed, found bool
	}{
		{`{"data":[{"id":"gpt-4o"}]}`, "GPT-4o", true, true},
		{`{"data":[{"id":"gpt-4o"}]}`, "gpt-9", true, false},
		{`[{"id":"models/gemini-2.5-pro"}]`, "gemini-2.5-pro", true, true},
		{`{"data":[]}`, "gpt-4o", false, false},
		{`{"id":"claude-sonnet-4-5"}`, "claude-sonnet-4-5", false, false},
		{`not json`, "x", false, false},
	} {
		if listed, found := provider.ModelListed([]byte(c.body), c.model); listed != c.listed || found != c.found {
			t.Errorf("%s %s: listed %v found %v", c.body, c.model, listed, found)
		}
	}
}
