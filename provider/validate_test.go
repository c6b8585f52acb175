package provider

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/egress"
	"github.com/ownkey/ownkey/internal/nettest"
)

// received is one request as the fake upstream saw it.
type received struct {
	method, path, query string // path is the escaped form, as sent
	header              http.Header
	body                []byte
	requestURI, host    string
}

type fakeUpstream struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []received
	// answer writes the response; nil means 200 {}.
	answer func(w http.ResponseWriter, r received)
}

func newFakeUpstream(t *testing.T) *fakeUpstream {
	t.Helper()
	f := &fakeUpstream{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec := received{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Clone(), body, r.RequestURI, r.Host}
		f.mu.Lock()
		f.reqs = append(f.reqs, rec)
		answer := f.answer
		f.mu.Unlock()
		if answer == nil {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{}`)
			return
		}
		answer(w, rec)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeUpstream) only(t *testing.T) received {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.reqs) != 1 {
		t.Fatalf("upstream saw %d requests, want 1", len(f.reqs))
	}
	return f.reqs[0]
}

func (f *fakeUpstream) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.reqs)
}

var (
	awsJSON = map[string]string{
		"accessKeyId":     "AKIAIOSFODNN7EXAMPLE",
		"secretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"region":          "us-east-1",
		"sessionToken":    "FwoGZXIvYXdzEXAMPLETOKEN",
	}
	awsCreds = aws.Credentials{AccessKeyID: awsJSON["accessKeyId"], SecretAccessKey: awsJSON["secretAccessKey"], SessionToken: awsJSON["sessionToken"]}
)

// familyCase is one provider's key check as the upstream must see it.
type familyCase struct {
	name     string
	provider string
	// basePath is appended to the fake's URL: for operator overrides, the
	// catalog's path; for Azure, part of the user's endpoint.
	basePath   string
	apiVersion string // Azure only
	model      string
	method     string
	path       string
	query      string
	headers    map[string]string // credential headers, exactly; "" value = any
	body       string            // JSON, compared as values
}

func (fc familyCase) key() string { return "key-" + fc.provider + "-0123456789abcdef" }

// setup returns the validator and credential pointing fc's provider at f.
func (fc familyCase) setup(t *testing.T, f *fakeUpstream) (*Validator, *ownkey.Provider, *ownkey.Credential) {
	t.Helper()
	p := mustProvider(t, fc.provider)
	v := &Validator{Clients: egress.New(egress.Options{AllowPrivate: true}), BaseURLs: ownkey.BaseURLs{}, Timeout: 5 * time.Second}
	var c *ownkey.Credential
	switch {
	case p.Wire == ownkey.WireBedrock:
		c = mustCredential(t, fc.provider, awsJSON)
		v.BaseURLs[p.ID] = f.URL + fc.basePath
	case p.UserEndpoint:
		raw := map[string]string{"endpoint": f.URL + fc.basePath, "apiKey": fc.key()}
		if p.ID == "azure" {
			raw["deploymentName"] = "gpt-4o-mini"
		}
		if p.ID != "azure-anthropic-foundry" {
			raw["apiVersion"] = fc.apiVersion
		}
		c = mustCredential(t, fc.provider, raw)
	default:
		c = mustCredential(t, fc.provider, fc.key())
		v.BaseURLs[p.ID] = f.URL + fc.basePath
	}
	return v, p, c
}

const bedrockModel = "anthropic.claude-3-haiku-20240307-v1:0"

func familyCases() []familyCase {
	bearer := func(id string) map[string]string {
		return map[string]string{"Authorization": "Bearer key-" + id + "-0123456789abcdef"}
	}
	k := func(id string) string { return "key-" + id + "-0123456789abcdef" }
	sigv4 := map[string]string{"Authorization": ""}
	return []familyCase{
		{name: "openai", provider: "openai", basePath: "/v1", method: "GET", path: "/v1/models", headers: bearer("openai")},
		{name: "openai-responses", provider: "openai-responses", basePath: "/v1", method: "GET", path: "/v1/models", headers: bearer("openai-responses")},
		{name: "groq", provider: "groq", basePath: "/openai/v1", method: "GET", path: "/openai/v1/models", headers: bearer("groq")},
		{name: "openrouter uses its authenticated /key", provider: "openrouter", basePath: "/api/v1", method: "GET", path: "/api/v1/key", headers: bearer("openrouter")},
		{name: "anthropic", provider: "anthropic", method: "GET", path: "/v1/models",
			headers: map[string]string{"X-Api-Key": k("anthropic")}},
		{name: "foundry with model", provider: "azure-anthropic-foundry", basePath: "/anthropic/", model: "claude-sonnet-4-5",
			method: "POST", path: "/anthropic/v1/messages",
			headers: map[string]string{"X-Api-Key": k("azure-anthropic-foundry"), "Api-Key": k("azure-anthropic-foundry")},
			body:    `{"model":"claude-sonnet-4-5","max_tokens":1,"messages":[{"role":"user","content":"ping"}]}`},
		{name: "azure dated version", provider: "azure", apiVersion: "2024-10-21", method: "GET", path: "/openai/models",
			query: "api-version=2024-10-21", headers: map[string]string{"Api-Key": k("azure")}},
		{name: "azure v1", provider: "azure", apiVersion: "v1", method: "GET", path: "/openai/v1/models",
			query: "api-version=v1", headers: map[string]string{"Api-Key": k("azure")}},
		{name: "azure-responses", provider: "azure-responses", apiVersion: "2025-04-01-preview", method: "GET", path: "/openai/models",
			query: "api-version=2025-04-01-preview", headers: map[string]string{"Api-Key": k("azure-responses")}},
		{name: "gemini", provider: "google", method: "GET", path: "/v1beta/models", query: "pageSize=1",
			headers: map[string]string{"X-Goog-Api-Key": k("google")}},
		{name: "bedrock with model", provider: "aws", model: bedrockModel, method: "POST",
			path: "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse", headers: sigv4,
			body: `{"messages":[{"role":"user","content":[{"text":"ping"}]}],"inferenceConfig":{"maxTokens":1}}`},
		{name: "bedrock control plane", provider: "aws", method: "GET", path: "/foundation-models", headers: sigv4},
		{name: "tavily", provider: "tavily", method: "POST", path: "/search", headers: bearer("tavily"),
			body: `{"query":"ownkey key check","max_results":1}`},
		{name: "exa", provider: "exa", method: "POST", path: "/search", headers: map[string]string{"X-Api-Key": k("exa")},
			body: `{"query":"ownkey key check","numResults":1}`},
		{name: "kagi", provider: "kagi", basePath: "/api", method: "GET", path: "/api/v0/search", query: "q=ownkey&limit=1",
			headers: map[string]string{"Authorization": "Bot " + k("kagi")}},
		{name: "perplexity", provider: "perplexity", method: "POST", path: "/search", headers: bearer("perplexity"),
			body: `{"query":"ownkey key check","max_results":1}`},
	}
}

func TestValidateKeyRequests(t *testing.T) {
	for _, fc := range familyCases() {
		t.Run(fc.name, func(t *testing.T) {
			f := newFakeUpstream(t)
			v, p, c := fc.setup(t, f)
			if err := v.ValidateKey(context.Background(), p, c, fc.model); err != nil {
				t.Fatalf("ValidateKey: %v", err)
			}
			r := f.only(t)
			if r.method != fc.method || r.path != fc.path || r.query != fc.query {
				t.Errorf("got %s %s?%s, want %s %s?%s", r.method, r.path, r.query, fc.method, fc.path, fc.query)
			}
			for _, h := range credHeaderNames {
				want, expected := fc.headers[h]
				got := r.header.Get(h)
				switch {
				case !expected && got != "":
					t.Errorf("unexpected %s: %q", h, got)
				case expected && want != "" && got != want:
					t.Errorf("%s = %q, want %q", h, got, want)
				case expected && got == "":
					t.Errorf("missing %s", h)
				}
			}
			if p.Wire == ownkey.WireAnthropic && r.header.Get("Anthropic-Version") != AnthropicVersion {
				t.Errorf("anthropic-version = %q", r.header.Get("Anthropic-Version"))
			}
			assertJSONEqual(t, r.body, fc.body)
			if fc.body != "" && r.header.Get("Content-Type") != "application/json" {
				t.Errorf("Content-Type = %q", r.header.Get("Content-Type"))
			}
			if p.Wire == ownkey.WireBedrock {
				verifySigV4(t, r)
			}
		})
	}
}

func assertJSONEqual(t *testing.T, got []byte, want string) {
	t.Helper()
	if want == "" {
		if len(got) != 0 {
			t.Errorf("unexpected body %s", got)
		}
		return
	}
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("body %q is not JSON: %v", got, err)
	}
	_ = json.Unmarshal([]byte(want), &w)
	if !reflect.DeepEqual(g, w) {
		t.Errorf("body = %s, want %s", got, want)
	}
}

// verifySigV4 re-signs the request exactly as it arrived, as AWS does, and
// compares signatures: it fails if the path, query, a signed header or the
// body changed between signing and sending.
func verifySigV4(t *testing.T, r received) {
	t.Helper()
	auth := r.header.Get("Authorization")
	m := regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/(\d{8})/us-east-1/bedrock/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=[0-9a-f]{64}$`).FindStringSubmatch(auth)
	if m == nil {
		t.Fatalf("Authorization = %q", auth)
	}
	if r.header.Get("X-Amz-Security-Token") != awsCreds.SessionToken {
		t.Errorf("X-Amz-Security-Token = %q", r.header.Get("X-Amz-Security-Token"))
	}
	signedAt, err := time.Parse("20060102T150405Z", r.header.Get("X-Amz-Date"))
	if err != nil {
		t.Fatalf("X-Amz-Date: %v", err)
	}
	again, _ := http.NewRequest(r.method, "http://"+r.host+r.requestURI, bytes.NewReader(r.body))
	for _, h := range strings.Split(m[2], ";") {
		if h != "host" && h != "content-length" {
			again.Header[http.CanonicalHeaderKey(h)] = r.header.Values(h)
		}
	}
	sum := sha256.Sum256(r.body)
	if err := sigV4.SignHTTP(context.Background(), awsCreds, again, hex.EncodeToString(sum[:]), "bedrock", "us-east-1", signedAt); err != nil {
		t.Fatal(err)
	}
	if got := again.Header.Get("Authorization"); got != auth {
		t.Errorf("signature does not verify:\n sent %s\n want %s", auth, got)
	}
}

func TestValidateKeyRejectedKeyIsScrubbed(t *testing.T) {
	for _, fc := range familyCases() {
		t.Run(fc.name, func(t *testing.T) {
			f := newFakeUpstream(t)
			// The worst upstream: it echoes every credential header it got.
			f.answer = func(w http.ResponseWriter, r received) {
				var echoed []string
				for _, h := range append(credHeaderNames, "X-Amz-Security-Token") {
					if v := r.header.Get(h); v != "" {
						echoed = append(echoed, h+"="+v)
					}
				}
				msg, _ := json.Marshal("Invalid credentials: " + strings.Join(echoed, " "))
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = io.WriteString(w, `{"error":{"message":`+string(msg)+`}}`)
			}
			v, p, c := fc.setup(t, f)
			err := v.ValidateKey(context.Background(), p, c, fc.model)
			var e *ownkey.Error
			if !errors.As(err, &e) || e.Code != ownkey.EUPSTREAM || e.Status != http.StatusUnauthorized {
				t.Fatalf("err = %#v, want EUPSTREAM 401", err)
			}
			if !strings.HasPrefix(e.Message, p.Name+" rejected the key: Invalid credentials: ") {
				t.Errorf("message = %q", e.Message)
			}
			if !strings.Contains(e.Message, ownkey.Redacted) {
				t.Errorf("message %q shows no redaction, so the echo was lost", e.Message)
			}
			for _, secret := range []string{fc.key(), awsJSON["accessKeyId"], awsJSON["secretAccessKey"], awsJSON["sessionToken"]} {
				if strings.Contains(e.Message, secret) || strings.Contains(err.Error(), secret) {
					t.Errorf("message leaks a secret: %q", e.Message)
				}
			}
		})
	}
}

func TestValidateKeyOtherStatus(t *testing.T) {
	f := newFakeUpstream(t)
	f.answer = func(w http.ResponseWriter, _ received) {
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = io.WriteString(w, `{"error":{"message":"Rate limit reached for requests","type":"rate_limit_error"}}`)
	}
	fc := familyCases()[2] // groq
	v, p, c := fc.setup(t, f)
	err := v.ValidateKey(context.Background(), p, c, "")
	var e *ownkey.Error
	if !errors.As(err, &e) || e.Code != ownkey.EUPSTREAM || e.Status != http.StatusTooManyRequests {
		t.Fatalf("err = %#v, want EUPSTREAM 429", err)
	}
	if e.Message != "Groq answered the key check with HTTP 429: Rate limit reached for requests" {
		t.Errorf("message = %q", e.Message)
	}
}

func TestValidateKeyFoundryWithoutModel(t *testing.T) {
	tests := []struct {
		status   int
		wantCode string
	}{
		{http.StatusOK, ""},
		{http.StatusNotFound, ""},   // unknown deployment: the key got past auth
		{http.StatusBadRequest, ""}, // likewise
		{http.StatusUnauthorized, ownkey.EUPSTREAM},
		{http.StatusForbidden, ownkey.EUPSTREAM},
		{http.StatusInternalServerError, ownkey.EUPSTREAM}, // says nothing about the key
	}
	for _, tt := range tests {
		f := newFakeUpstream(t)
		f.answer = func(w http.ResponseWriter, _ received) {
			w.WriteHeader(tt.status)
			_, _ = io.WriteString(w, `{"error":{"code":"DeploymentNotFound","message":"nope"}}`)
		}
		fc := familyCase{provider: "azure-anthropic-foundry", basePath: "/anthropic"}
		v, p, c := fc.setup(t, f)
		err := v.ValidateKey(context.Background(), p, c, "")
		if got := ownkey.ErrorCode(err); got != tt.wantCode {
			t.Errorf("status %d: code %q (%v), want %q", tt.status, got, err, tt.wantCode)
		}
		var body struct{ Model string }
		_ = json.Unmarshal(f.only(t).body, &body)
		if body.Model == "" {
			t.Errorf("status %d: no model in the check request", tt.status)
		}
	}

	// With a model the user named, a 404 is a real answer.
	f := newFakeUpstream(t)
	f.answer = func(w http.ResponseWriter, _ received) { w.WriteHeader(http.StatusNotFound) }
	fc := familyCase{provider: "azure-anthropic-foundry", basePath: "/anthropic"}
	v, p, c := fc.setup(t, f)
	var e *ownkey.Error
	if err := v.ValidateKey(context.Background(), p, c, "claude-typo"); !errors.As(err, &e) || e.Status != http.StatusNotFound {
		t.Fatalf("err = %v, want EUPSTREAM 404", err)
	}
	if e.Message != "Azure Anthropic answered the key check with HTTP 404: Not Found" {
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

	p := mustProvider(t, "groq")
	c := mustCredential(t, "groq", "gsk_0123456789abcdef")
	base := "http://" + closedAddr + "/openai/v1"
	v := &Validator{Clients: egress.New(egress.Options{}), BaseURLs: ownkey.BaseURLs{"groq": base}, Timeout: 2 * time.Second}
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
	f := newFakeUpstream(t)
	f.answer = func(w http.ResponseWriter, _ received) { <-release }
	t.Cleanup(func() { close(release) }) // before f.Close, which waits for handlers

	fc := familyCases()[2] // groq
	v, p, c := fc.setup(t, f)
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
	p := mustProvider(t, "groq")
	c := mustCredential(t, "groq", "gsk_0123456789abcdef")
	// .invalid never resolves (RFC 2606); without DNS at all this is a
	// resolver failure or a timeout, both EUNAVAILABLE.
	v := &Validator{BaseURLs: ownkey.BaseURLs{"groq": "https://api.groq.invalid/openai/v1"}, Timeout: 2 * time.Second}
	err := v.ValidateKey(context.Background(), p, c, "")
	if ownkey.ErrorCode(err) != ownkey.EUNAVAILABLE {
		t.Fatalf("err = %v, want EUNAVAILABLE", err)
	}
	if msg := ownkey.ErrorMessage(err); !strings.HasPrefix(msg, "could not reach Groq: ") || strings.Contains(msg, "invalid") {
		t.Errorf("message = %q", msg)
	}
}

func TestValidateKeyAzureGuardedEndpoint(t *testing.T) {
	fc := familyCase{provider: "azure", apiVersion: "2024-10-21"}

	f := newFakeUpstream(t)
	v, p, c := fc.setup(t, f)
	v.Clients = egress.New(egress.Options{AllowPrivate: false})
	err := v.ValidateKey(context.Background(), p, c, "")
	var e *ownkey.Error
	if !errors.As(err, &e) || e.Code != ownkey.EUNAVAILABLE {
		t.Fatalf("err = %v, want EUNAVAILABLE", err)
	}
	if e.Message != "could not reach Azure: "+EndpointNotAllowed {
		t.Errorf("message = %q", e.Message)
	}
	if n := f.count(); n != 0 {
		t.Fatalf("a private endpoint was reached %d times", n)
	}

	v.Clients = egress.New(egress.Options{AllowPrivate: true})
	if err := v.ValidateKey(context.Background(), p, c, ""); err != nil {
		t.Fatalf("with AllowPrivate: %v", err)
	}
	if r := f.only(t); r.path != "/openai/models" || r.header.Get("Api-Key") != fc.key() {
		t.Fatalf("got %s with api-key %q", r.path, r.header.Get("Api-Key"))
	}
}

func TestValidateKeyNilClientsAreGuarded(t *testing.T) {
	// A Validator built without Clients must still refuse private user
	// endpoints.
	f := newFakeUpstream(t)
	fc := familyCase{provider: "azure-responses", apiVersion: "v1"}
	v, p, c := fc.setup(t, f)
	v.Clients = nil
	if err := v.ValidateKey(context.Background(), p, c, ""); ownkey.ErrorCode(err) != ownkey.EUNAVAILABLE {
		t.Fatalf("err = %v, want EUNAVAILABLE", err)
	}
	if f.count() != 0 {
		t.Fatal("a private endpoint was reached")
	}
}

func TestBedrockControlPlaneURL(t *testing.T) {
	p := mustProvider(t, "aws")
	c := &ownkey.Credential{Region: "ap-southeast-2"}
	v := &Validator{}
	base, _, err := Endpoint(p, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	chk, err := v.keyCheck(p, c, base, "")
	if err != nil {
		t.Fatal(err)
	}
	if chk.method != http.MethodGet || chk.url != "https://bedrock.ap-southeast-2.amazonaws.com/foundation-models" {
		t.Fatalf("check = %s %s", chk.method, chk.url)
	}
	chk, _ = v.keyCheck(p, c, base, bedrockModel)
	if chk.url != "https://bedrock-runtime.ap-southeast-2.amazonaws.com/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse" {
		t.Fatalf("runtime check = %s", chk.url)
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
	p := mustProvider(t, "azure")
	cred := func(endpoint string) *ownkey.Credential {
		return &ownkey.Credential{Provider: "azure", Endpoint: endpoint, APIKey: ownkey.NewSecret(apiKey),
			Deployment: "gpt-4o-mini", APIVersion: "2024-10-21"}
	}
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	check := func(v *Validator, endpoint string) string {
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
	up := newFakeUpstream(t)
	port := up.URL[strings.LastIndexByte(up.URL, ':'):]
	guarded := &Validator{Clients: egress.New(egress.Options{}), Timeout: 2 * time.Second, Logger: logger}
	if msg := check(guarded, "http://localhost"+port); msg != "could not reach Azure: "+EndpointNotAllowed {
		t.Errorf("internal name: message = %q", msg)
	}
	if up.count() != 0 {
		t.Fatal("the internal address was reached")
	}

	// Every other failure, on hosts the clients may reach.
	babble := nettest.NotHTTP(t, nettest.Babble)
	silent := nettest.NotHTTP(t, func(c net.Conn) { time.Sleep(2 * time.Second) })
	tlsBad := httptest.NewTLSServer(http.NotFoundHandler()) // a certificate nobody trusts
	t.Cleanup(tlsBad.Close)
	// Failures are immediate but for silence; the generous timeout is for
	// a loaded machine, the short one for the silent port.
	open := &Validator{Clients: egress.New(egress.Options{AllowPrivate: true}), Timeout: 10 * time.Second, Logger: logger}
	impatient := &Validator{Clients: open.Clients, Timeout: 300 * time.Millisecond, Logger: logger}
	want := "could not reach Azure: " + EndpointUnreachable
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
