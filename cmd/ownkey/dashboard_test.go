package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/ownkey/ownkey/dashboard"
)

// webSession is a browser's session with the dashboard, without a browser:
// a cookie jar, and the CSRF token its pages carry.
type webSession struct {
	t      *testing.T
	g      *testGateway
	client *http.Client
	csrf   string
}

var csrfMeta = regexp.MustCompile(`<meta name="csrf-token" content="([^"]*)">`)

// signIn posts the sign-in form with key, as the page does, and reads the
// session's CSRF token from the BYOK page.
func (g *testGateway) signIn(t *testing.T, key string) *webSession {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	s := &webSession{t: t, g: g, client: &http.Client{Jar: jar}}
	res, err := s.client.PostForm(g.srv.URL+"/signin", url.Values{"api_key": {key}, "next": {"/byok"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || res.Request.URL.Path != "/byok" {
		t.Fatalf("sign-in: %d at %s\n%s", res.StatusCode, res.Request.URL, body)
	}
	m := csrfMeta.FindSubmatch(body)
	if m == nil || len(m[1]) < 20 {
		t.Fatalf("no CSRF token on the BYOK page")
	}
	s.csrf = string(m[1])
	return s
}

// page GETs a dashboard page (redirects not followed).
func (s *webSession) page(path string) *response {
	s.t.Helper()
	req, _ := http.NewRequest("GET", s.g.srv.URL+path, nil)
	return s.roundTrip(req)
}

// api calls the JSON API with the session cookie, and csrf in the header
// when it is not empty: what the dashboard's script does.
func (s *webSession) api(method, path, csrf string, body any) *response {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		j, _ := json.Marshal(body)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, s.g.srv.URL+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if csrf != "" {
		req.Header.Set(dashboard.CSRFHeader, csrf)
	}
	return s.roundTrip(req)
}

func (s *webSession) roundTrip(req *http.Request) *response {
	s.t.Helper()
	c := *s.client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := c.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return &response{Status: res.StatusCode, Header: res.Header, Body: b}
}

// TestDashboardSessionDrivesTheAPI: the session cookie authenticates the
// JSON API as the account's key would, and every change must carry the
// session's CSRF token: without it nothing is stored.
func TestDashboardSessionDrivesTheAPI(t *testing.T) {
	g := newTestGateway(t, nil)
	_, alice := g.createAccount("alice")
	_, bob := g.createAccount("bob")
	s := g.signIn(t, alice)

	if r := s.api("GET", "/api/user/me", "", nil); r.Status != 200 || r.json(t)["account"].(map[string]any)["name"] != "alice" {
		t.Fatalf("me with the cookie: %d %s", r.Status, r.Body)
	}
	put := map[string]any{"provider": "groq", "key": "gsk_dashboard_csrf_test_0123456789"}
	for name, csrf := range map[string]string{"no token": "", "a forged token": "AAAAAAAAAAAAAAAAAAAAAA", "another session's": g.signIn(t, bob).csrf} {
		r := s.api("POST", "/api/user/provider-keys", csrf, put)
		if r.Status != http.StatusForbidden {
			t.Fatalf("%s: %d %s", name, r.Status, r.Body)
		}
		if _, _, code, param := errorOf(t, r); code != "csrf_token_invalid" || param != dashboard.CSRFHeader {
			t.Fatalf("%s: code %q param %q", name, code, param)
		}
		if r.Header.Get("WWW-Authenticate") != "" {
			t.Fatalf("%s: a CSRF refusal asks for credentials", name)
		}
	}
	if r := g.do("GET", "/api/user/provider-keys", alice, nil); strings.Contains(string(r.Body), `"key_suffix":"6789"`) {
		t.Fatal("a change without the CSRF token was stored")
	}
	if r := s.api("POST", "/api/user/provider-keys", s.csrf, put); r.Status != 200 || r.json(t)["key_suffix"] != "6789" {
		t.Fatalf("with the token: %d %s", r.Status, r.Body)
	}
	if r := s.api("DELETE", "/api/user/provider-keys?provider=groq", "", nil); r.Status != http.StatusForbidden {
		t.Fatalf("delete without the token: %d", r.Status)
	}
	if r := s.api("DELETE", "/api/user/provider-keys?provider=groq", s.csrf, nil); r.Status != 200 {
		t.Fatalf("delete with the token: %d %s", r.Status, r.Body)
	}
	// Reading needs no token: the usage export is a plain link.
	if r := s.api("GET", "/api/v1/usage/export?format=csv", "", nil); r.Status != 200 || !strings.HasPrefix(string(r.Body), "request_id,") {
		t.Fatalf("export with the cookie: %d %s", r.Status, r.Body)
	}
	// A key in the headers wins over the cookie.
	req, _ := http.NewRequest("GET", g.srv.URL+"/api/user/me", nil)
	req.Header.Set("Authorization", "Bearer "+bob)
	if r := s.roundTrip(req); r.json(t)["account"].(map[string]any)["name"] != "bob" {
		t.Fatalf("header and cookie: %s", r.Body)
	}
	// Without the cookie, nothing: 401 as before.
	if r := g.do("GET", "/api/user/me", "", nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("no key, no cookie: %d", r.Status)
	}
}

func TestDashboardAdminGating(t *testing.T) {
	g := newTestGateway(t, nil)
	_, alice := g.createAccount("alice")
	user := g.signIn(t, alice)
	for _, path := range []string{"/admin/accounts", "/admin/accounts/1", "/admin/providers", "/admin/prices"} {
		if r := user.page(path); r.Status != http.StatusForbidden {
			t.Errorf("%s as a user: %d", path, r.Status)
		}
	}
	if r := user.api("POST", "/api/admin/accounts", user.csrf, map[string]any{"name": "mallory"}); r.Status != http.StatusForbidden {
		t.Fatalf("admin API as a user's session: %d %s", r.Status, r.Body)
	}
	admin := g.signIn(t, g.adminKey)
	for _, path := range []string{"/admin/accounts", "/admin/accounts/2", "/admin/providers", "/admin/prices?provider=openai&q=gpt-4o"} {
		if r := admin.page(path); r.Status != 200 {
			t.Errorf("%s as the admin: %d %s", path, r.Status, r.Body)
		}
	}
	if r := admin.page("/admin/prices?provider=openai&q=gpt-4o-mini"); !strings.Contains(string(r.Body), "<td>gpt-4o-mini</td>") || !strings.Contains(string(r.Body), "builtin") {
		t.Fatalf("price lookup: %s", r.Body)
	}
	r := admin.api("POST", "/api/admin/accounts", admin.csrf, map[string]any{"name": "carol"})
	if r.Status != http.StatusCreated {
		t.Fatalf("admin API through the session: %d %s", r.Status, r.Body)
	}
}

// TestDashboardRevokedKeyEndsSession: revoking the API key a session was
// opened with ends the session, on its pages and on the API.
func TestDashboardRevokedKeyEndsSession(t *testing.T) {
	g := newTestGateway(t, nil)
	id, alice := g.createAccount("alice")
	s := g.signIn(t, alice)
	keys := g.do("GET", "/api/admin/accounts/"+itoa(id)+"/api-keys", g.adminKey, nil).json(t)["data"].([]any)
	keyID := int64(keys[0].(map[string]any)["id"].(float64))
	if r := g.do("DELETE", "/api/admin/accounts/"+itoa(id)+"/api-keys/"+itoa(keyID), g.adminKey, nil); r.Status != 200 {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	if r := s.page("/byok"); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/signin") {
		t.Fatalf("page after revocation: %d %s", r.Status, r.Header.Get("Location"))
	}
	if r := s.api("GET", "/api/user/provider-keys", "", nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("API after revocation: %d", r.Status)
	}
}

// TestDashboardNeverShowsStoredKeys stores canary keys (the account's and
// the platform's) and reads every page, asset and API answer a signed-in
// browser gets: no stored key, nor any 8 characters of one, is in them;
// the last four characters are.
func TestDashboardNeverShowsStoredKeys(t *testing.T) {
	g := newTestGateway(t, map[string]string{"OWNKEY_DISABLED_PROVIDERS": "together"})
	aliceID, alice := g.createAccount("alice")
	aws := map[string]any{"accessKeyId": "AKIACANARYACCESSKEY1", "secretAccessKey": canaryAWSSecret, "region": "eu-west-1", "sessionToken": canaryAWSToken}
	for _, p := range []map[string]any{
		{"provider": "openai", "key": canaryOpenAI},
		{"provider": "groq", "key": canaryGroq},
		{"provider": "aws", "key": aws},
		{"provider": "tavily", "key": canaryTavily},
	} {
		if r := g.do("POST", "/api/user/provider-keys", alice, p); r.Status != 200 {
			t.Fatalf("put %v: %d %s", p["provider"], r.Status, r.Body)
		}
	}
	if r := g.do("PUT", "/api/admin/platform-keys/anthropic", g.adminKey, map[string]any{"key": canaryFoundry}); r.Status != 200 {
		t.Fatalf("platform key: %d %s", r.Status, r.Body)
	}
	var seen bytes.Buffer
	keep := func(r *response) {
		_ = r.Header.Write(&seen)
		seen.Write(r.Body)
	}
	user := g.signIn(t, alice)
	byok := user.page("/byok")
	keep(byok)
	for _, want := range []string{"Configured ····" + canaryOpenAI[len(canaryOpenAI)-4:], "Configured ····" + canaryAWSSecret[len(canaryAWSSecret)-4:],
		"Configured ····" + canaryTavily[len(canaryTavily)-4:], ">Disabled<"} {
		if !strings.Contains(string(byok.Body), want) {
			t.Errorf("the BYOK page lacks %q", want)
		}
	}
	admin := g.signIn(t, g.adminKey)
	providers := admin.page("/admin/providers")
	if !strings.Contains(string(providers.Body), "····"+canaryFoundry[len(canaryFoundry)-4:]) {
		t.Error("the platform key's last four are not shown")
	}
	keep(providers)
	for _, s := range []*webSession{user, admin} {
		for _, path := range []string{"/byok", "/usage", "/assets/app.js", "/assets/app.css"} {
			keep(s.page(path))
		}
		for _, path := range []string{"/api/user/provider-keys", "/api/user/me", "/api/user/api-keys", "/api/v1/usage/export?format=csv"} {
			keep(s.api("GET", path, "", nil))
		}
	}
	for _, path := range []string{"/admin/accounts", "/admin/accounts/" + itoa(aliceID), "/admin/prices?q=gpt"} {
		keep(admin.page(path))
	}
	keep(admin.api("GET", "/api/admin/platform-keys", "", nil))
	// A replaced key: the page shows the new one's last four only.
	if r := user.api("POST", "/api/user/provider-keys", user.csrf, map[string]any{"provider": "openai", "key": canaryOpenAI + "Z9"}); r.Status != 200 {
		t.Fatalf("replace: %d %s", r.Status, r.Body)
	} else {
		keep(r)
	}
	keep(user.page("/byok"))
	for _, c := range []string{canaryOpenAI, canaryGroq, canaryAWSSecret, canaryAWSToken, canaryTavily, canaryFoundry} {
		if p := findPiece(seen.Bytes(), c); p != "" {
			t.Errorf("a stored key's piece %q reached the browser", p)
		}
	}
	if p := findPiece([]byte(g.logs.String()), canaryOpenAI); p != "" {
		t.Errorf("the log holds %q", p)
	}
}

func TestDashboardURL(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1:8080": "http://127.0.0.1:8080/", ":8080": "http://localhost:8080/", "0.0.0.0:9000": "http://localhost:9000/",
		"[::]:8080": "http://localhost:8080/", "[::1]:8080": "http://[::1]:8080/", "gateway.internal:80": "http://gateway.internal:80/",
	} {
		if got := dashboardURL(&config{Addr: addr}); got != want {
			t.Errorf("%s: %s, want %s", addr, got, want)
		}
	}
	if got := dashboardURL(&config{Addr: ":8080", PublicURL: "https://llm.example.com"}); got != "https://llm.example.com/" {
		t.Errorf("public URL: %s", got)
	}
}

// TestBannerDashboardURLAnswers: the URL the first start prints is the
// bound address (a :0 port resolved), and the dashboard answers there.
func TestBannerDashboardURLAnswers(t *testing.T) {
	p := mustStartOwnkey(t, map[string]string{"OWNKEY_DATA_DIR": t.TempDir()})
	want := "Dashboard:  http://" + p.Addr + "/"
	if !strings.Contains(p.Stdout(), want) {
		t.Fatalf("the banner does not say %q:\n%s", want, p.Stdout())
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Get("http://" + p.Addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/signin" {
		t.Fatalf("GET /: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	res, err = http.Get("http://" + p.Addr + "/signin")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), `<label for="api_key">`) {
		t.Fatalf("GET /signin: %d %s", res.StatusCode, body)
	}
}
