package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ownkey/ownkey/httpapi"
)

// syncBuffer collects log output from concurrent handlers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testGateway is the real wiring (newApp) over a temporary data directory,
// with debug logs captured.
type testGateway struct {
	t        testing.TB
	cfg      *config
	app      *app
	srv      *httptest.Server
	logs     *syncBuffer
	adminKey string
	banner   string
	// transcript holds every response (status line, headers, body) that may
	// not carry a secret; responses that legitimately carry a new ownkey API
	// key are kept apart in keyResponses.
	mu           sync.Mutex
	transcript   bytes.Buffer
	keyResponses bytes.Buffer
}

func newTestGateway(t testing.TB, env map[string]string) *testGateway {
	t.Helper()
	return newTestGatewayWith(t, env, nil)
}

// newTestGatewayWith is newTestGateway with configure run on the config
// before the app is built.
func newTestGatewayWith(t testing.TB, env map[string]string, configure func(*config)) *testGateway {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	dir := t.TempDir()
	c := &config{
		DataDir: dir, LogLevel: "debug", LogFormat: "json", AccessLog: true,
		AllowPrivate: env["OWNKEY_ALLOW_PRIVATE_UPSTREAMS"] == "true", Disabled: map[string]bool{},
		MaxBodyBytes: 1 << 20, Addr: "127.0.0.1:0",
	}
	for _, id := range strings.Split(env["OWNKEY_DISABLED_PROVIDERS"], ",") {
		if id != "" {
			c.Disabled[id] = true
		}
	}
	c.DatabaseURL = env["OWNKEY_DATABASE_URL"] // empty: SQLite in dir
	c.MasterKey = env["OWNKEY_MASTER_KEY"]     // empty: the key file in dir
	if v := env["OWNKEY_USAGE_WRITE_TIMEOUT"]; v != "" {
		c.UsageWriteTimeout, _ = time.ParseDuration(v)
	}
	if v := env["OWNKEY_SPEND_RESYNC_INTERVAL"]; v != "" {
		c.SpendResync, _ = time.ParseDuration(v)
	}
	// Accounts the tests create are metered, as in production; they start
	// with credit so that tests about something else are served (a test
	// about balances sets OWNKEY_STARTING_CREDIT_USD).
	c.StartingCredit = 100_000_000_000
	if _, ok := os.LookupEnv("OWNKEY_STARTING_CREDIT_USD"); ok {
		c.StartingCredit = envUSD("OWNKEY_STARTING_CREDIT_USD")
	}
	var err error
	if c.CORSOrigins, err = httpapi.ParseCORSOrigins(env["OWNKEY_CORS_ORIGINS"]); err != nil {
		t.Fatal(err)
	}
	c.resolve()
	if err := c.readLimits(); err != nil {
		t.Fatal(err)
	}
	if c.BYOKMarkup, err = envRate("OWNKEY_BYOK_MARKUP"); err != nil {
		t.Fatal(err)
	}
	if c.PlatformMargin, err = envRate("OWNKEY_PLATFORM_MARGIN"); err != nil {
		t.Fatal(err)
	}
	c.WebSearchFee = envUSD("OWNKEY_WEB_SEARCH_FEE_USD")
	c.WebSearchTimeout = envDuration("OWNKEY_WEB_SEARCH_TIMEOUT")
	if configure != nil {
		configure(c)
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	// As serve wires it: the access lines written straight to the log.
	c.accessLogJSON = logs
	ctx := context.Background()
	a, err := newApp(ctx, c, log)
	if err != nil {
		t.Fatalf("newApp: %v", err)
	}
	var banner bytes.Buffer
	if err := bootstrapAdmin(ctx, a, c, &banner); err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	g := &testGateway{t: t, cfg: c, app: a, logs: logs, banner: banner.String()}
	g.srv = httptest.NewServer(a.server.Handler())
	t.Cleanup(func() { g.srv.Close(); a.Close() })
	for _, f := range strings.Fields(g.banner) {
		if strings.HasPrefix(f, "sk-ownkey-") {
			g.adminKey = f
		}
	}
	if g.adminKey == "" {
		t.Fatalf("bootstrap banner has no admin key:\n%s", g.banner)
	}
	return g
}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r *response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("response is not JSON (%d): %s", r.Status, r.Body)
	}
	return m
}

// do sends a request authenticated with key (none if empty). The response
// lands in the transcript unless carriesKey says it is one of the few that
// legitimately return a freshly created ownkey API key.
func (g *testGateway) do(method, path, key string, body any, carriesKey ...bool) *response {
	g.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, g.srv.URL+path, rd)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		g.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	g.mu.Lock()
	dst := &g.transcript
	if len(carriesKey) > 0 && carriesKey[0] {
		dst = &g.keyResponses
	}
	_ = res.Header.Write(dst)
	dst.Write(b)
	dst.WriteByte('\n')
	g.mu.Unlock()
	return &response{Status: res.StatusCode, Header: res.Header, Body: b}
}

// send is a request with a raw body (none if empty) and extra headers given
// as name, value pairs, authenticated with key; it is not kept in the
// transcript.
func (g *testGateway) send(method, path, key, body string, headers ...string) *response {
	g.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, g.srv.URL+path, rd)
	req.Header.Set("Authorization", "Bearer "+key)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		g.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return &response{Status: res.StatusCode, Header: res.Header, Body: b}
}

// createAccount makes an account through the admin API and returns its key.
func (g *testGateway) createAccount(name string) (id int64, key string) {
	g.t.Helper()
	r := g.do("POST", "/api/admin/accounts", g.adminKey, map[string]any{"name": name}, true)
	if r.Status != http.StatusCreated {
		g.t.Fatalf("create account: %d %s", r.Status, r.Body)
	}
	var out struct {
		Account struct{ ID int64 }
		APIKey  struct{ Key string } `json:"api_key"`
	}
	_ = json.Unmarshal(r.Body, &out)
	return out.Account.ID, out.APIKey.Key
}

// rawFiles returns the bytes of every file in the data directory: the
// database, its WAL and shared memory, the key file.
func (g *testGateway) rawFiles(skip ...string) map[string][]byte {
	out := map[string][]byte{}
	_ = filepath.Walk(g.cfg.DataDir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return nil
		}
		for _, s := range skip {
			if filepath.Base(p) == s {
				return nil
			}
		}
		b, _ := os.ReadFile(p)
		out[p] = b
		return nil
	})
	return out
}

// apiError is OpenAI's error envelope as a client decodes it (nil code and
// param mean JSON null).
type apiError struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	} `json:"error"`
}

func errorOf(t *testing.T, r *response) (msg, typ, code, param string) {
	t.Helper()
	var e apiError
	if err := json.Unmarshal(r.Body, &e); err != nil || e.Error.Message == "" {
		t.Fatalf("not an OpenAI error envelope (%d): %s", r.Status, r.Body)
	}
	if e.Error.Code != nil {
		code = *e.Error.Code
	}
	if e.Error.Param != nil {
		param = *e.Error.Param
	}
	return e.Error.Message, e.Error.Type, code, param
}

// sprintAll prints v every way fmt can.
func sprintAll(v any) string {
	return fmt.Sprintf("%v %+v %#v %s %q", v, v, v, v, v)
}
