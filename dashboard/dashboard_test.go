package dashboard

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/vault"
)

// fakeAccounts knows two keys: an admin's and a user's; revoked ones are
// refused as the accounts service refuses them (401).
type fakeAccounts struct {
	ownkey.AccountService // not called by these tests
	principals            map[string]*ownkey.Principal
	revoked               map[string]bool
}

func (f *fakeAccounts) Authenticate(_ context.Context, key string) (*ownkey.Principal, error) {
	if p, ok := f.principals[key]; ok && !f.revoked[key] {
		return p, nil
	}
	return nil, &ownkey.Error{Code: ownkey.EUNAUTHORIZED, Message: "Incorrect API key provided."}
}

func (f *fakeAccounts) Accounts(context.Context) ([]*ownkey.Account, error) {
	var out []*ownkey.Account
	for _, p := range f.principals {
		out = append(out, p.Account)
	}
	return out, nil
}

// fakeVault lists every provider unconfigured but openai, whose key ends
// in "wxyz".
type fakeVault struct{ ownkey.CredentialService }

func (fakeVault) List(context.Context, int64) ([]ownkey.KeyStatus, error) {
	var out []ownkey.KeyStatus
	for i := range ownkey.Catalog {
		st := ownkey.KeyStatus{Provider: &ownkey.Catalog[i], Status: ownkey.StatusNotConfigured}
		if st.Provider.ID == "openai" {
			st.Status, st.Suffix = ownkey.StatusConfigured, "wxyz"
		}
		if st.Provider.ID == "groq" {
			st.Status, st.Suffix = ownkey.StatusConfigured, "9876"
			st.Failure = &ownkey.KeyFailure{At: time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC), Status: 401, Message: "Invalid API Key <b>"}
		}
		out = append(out, st)
	}
	return out, nil
}

const (
	adminKey = "sk-ownkey-AdminKeyForTheDashboardTests0123456789"
	userKey  = "sk-ownkey-UserKeyForTheDashboardTests01234567890"
)

type testDashboard struct {
	*Dashboard
	mux      *http.ServeMux
	clock    *clock
	accounts *fakeAccounts
}

func newTestDashboard(t *testing.T) *testDashboard {
	t.Helper()
	c := &clock{t: time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)}
	acc := &fakeAccounts{principals: map[string]*ownkey.Principal{
		adminKey: {Account: &ownkey.Account{ID: 1, Name: "root", Role: ownkey.RoleAdmin}, APIKey: &ownkey.APIKey{ID: 1}},
		userKey:  {Account: &ownkey.Account{ID: 2, Name: "alice", Role: ownkey.RoleUser}, APIKey: &ownkey.APIKey{ID: 2}},
	}, revoked: map[string]bool{}}
	d, err := New(Config{Accounts: acc, Vault: fakeVault{}, Sessions: newTestSessions(vault.GenerateKeyring(), c, SessionOptions{Lifetime: time.Hour}),
		Markup: 50_000})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	d.Register(mux)
	return &testDashboard{Dashboard: d, mux: mux, clock: c, accounts: acc}
}

func (td *testDashboard) serve(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	td.mux.ServeHTTP(w, r)
	return w
}

// signIn posts the sign-in form and returns the session cookie.
func (td *testDashboard) signIn(t *testing.T, key string) *http.Cookie {
	t.Helper()
	r := httptest.NewRequest("POST", "/signin", strings.NewReader(url.Values{"api_key": {key}, "next": {"/usage"}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Origin", "http://example.com")
	w := td.serve(r)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/usage" {
		t.Fatalf("sign-in: %d %s %s", w.Code, w.Header().Get("Location"), w.Body)
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == CookieName {
			return c
		}
	}
	t.Fatal("no session cookie")
	return nil
}

func (td *testDashboard) get(path string, c *http.Cookie) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", path, nil)
	if c != nil {
		r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	return td.serve(r)
}

func TestSignedInPages(t *testing.T) {
	td := newTestDashboard(t)
	// Without a session: to the sign-in page, which comes back here.
	w := td.get("/byok", nil)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/signin?next=%2Fbyok" {
		t.Fatalf("no session: %d %s", w.Code, w.Header().Get("Location"))
	}
	c := td.signIn(t, userKey)
	w = td.get("/byok", c)
	body := w.Body.String()
	if w.Code != 200 || !strings.Contains(body, "Bring Your Own Key (BYOK)") || !strings.Contains(body, "Configured ····wxyz") {
		t.Fatalf("BYOK page: %d\n%s", w.Code, body)
	}
	// A key its provider refuses says so, escaped; the others do not.
	if !strings.Contains(body, "Groq refused this key (HTTP 401) on 2026-03-14 15:09:26 UTC: Invalid API Key &lt;b&gt;") || strings.Count(body, `class="failing"`) != 1 {
		t.Fatalf("the failing groq key is not shown as such:\n%s", body)
	}
	for h, want := range map[string]string{"Cache-Control": "no-store", "X-Frame-Options": "DENY", "Content-Security-Policy": contentSecurityPolicy} {
		if got := w.Header().Get(h); got != want {
			t.Errorf("%s: %q", h, got)
		}
	}
	// One row per catalog provider, and the curl example shows this
	// instance's URL.
	if n := strings.Count(body, `class="keyrow"`); n != len(ownkey.Catalog) {
		t.Errorf("%d rows, want %d", n, len(ownkey.Catalog))
	}
	if !strings.Contains(body, "curl -X POST http://example.com/api/v1/chat/completions") {
		t.Error("the curl example lacks this instance's URL")
	}
	// "/" sends a signed-in browser to the BYOK page.
	if w := td.get("/", c); w.Header().Get("Location") != "/byok" {
		t.Fatalf("/: %s", w.Header().Get("Location"))
	}
}

func TestSessionExpiryAndRevocationSignOut(t *testing.T) {
	td := newTestDashboard(t)
	c := td.signIn(t, userKey)
	td.clock.t = td.clock.t.Add(time.Hour)
	w := td.get("/byok", c)
	if w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/signin") {
		t.Fatalf("expired session: %d %s", w.Code, w.Header().Get("Location"))
	}
	if cs := w.Result().Cookies(); len(cs) != 1 || cs[0].MaxAge >= 0 {
		t.Fatalf("the expired cookie is not cleared: %v", cs)
	}
	// A live session whose API key is revoked ends too.
	c = td.signIn(t, userKey)
	if w := td.get("/byok", c); w.Code != 200 {
		t.Fatalf("fresh session: %d", w.Code)
	}
	td.accounts.revoked[userKey] = true
	if w := td.get("/byok", c); w.Code != http.StatusSeeOther {
		t.Fatalf("revoked key: %d", w.Code)
	}
}

func TestAdminPagesAreForAdmins(t *testing.T) {
	td := newTestDashboard(t)
	user := td.signIn(t, userKey)
	for _, path := range []string{"/admin", "/admin/accounts", "/admin/accounts/1", "/admin/providers", "/admin/prices?q=gpt"} {
		if w := td.get(path, user); w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "admin accounts only") {
			t.Errorf("%s as a user: %d", path, w.Code)
		}
	}
	if w := td.get("/byok", user); strings.Contains(w.Body.String(), `href="/admin/accounts"`) {
		t.Error("a user's nav links the admin pages")
	}
	admin := td.signIn(t, adminKey)
	if w := td.get("/admin/accounts", admin); w.Code != 200 || !strings.Contains(w.Body.String(), "alice") {
		t.Fatalf("admin: %d %s", w.Code, w.Body)
	}
}

func TestSignInRefusals(t *testing.T) {
	td := newTestDashboard(t)
	post := func(key string, headers ...string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "/signin", strings.NewReader(url.Values{"api_key": {key}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for i := 0; i+1 < len(headers); i += 2 {
			r.Header.Set(headers[i], headers[i+1])
		}
		return td.serve(r)
	}
	// A wrong key: the form again with the error, and the key not written
	// back into the page.
	const wrong = "sk-ownkey-WrongKeyWrongKeyWrongKey0123456789ab"
	w := post(wrong)
	if w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "not valid") || strings.Contains(w.Body.String(), wrong) {
		t.Fatalf("wrong key: %d %s", w.Code, w.Body)
	}
	if len(w.Result().Cookies()) != 0 {
		t.Fatal("a wrong key got a cookie")
	}
	// The script's JSON answer names the field.
	w = post("", "Accept", "application/json")
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `"param":"api_key"`) {
		t.Fatalf("empty key: %d %s", w.Code, w.Body)
	}
	// Another site's form: refused before the key is looked at.
	for _, h := range [][2]string{{"Origin", "https://evil.example"}, {"Sec-Fetch-Site", "cross-site"}, {"Sec-Fetch-Site", "same-site"}} {
		if w := post(userKey, h[0], h[1]); w.Code != http.StatusForbidden || len(w.Result().Cookies()) != 0 {
			t.Errorf("%s: %s: %d", h[0], h[1], w.Code)
		}
	}
	if w := post(userKey, "Origin", "http://example.com", "Sec-Fetch-Site", "same-origin"); w.Code != http.StatusSeeOther {
		t.Errorf("same origin: %d", w.Code)
	}
}

func TestSignOutNeedsTheSessionToken(t *testing.T) {
	td := newTestDashboard(t)
	c := td.signIn(t, userKey)
	sess, _ := td.cfg.Sessions.Open(withCookie(c))
	signOut := func(csrf string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "/signout", strings.NewReader(url.Values{"csrf": {csrf}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
		return td.serve(r)
	}
	if w := signOut("forged"); w.Code != http.StatusForbidden || len(w.Result().Cookies()) != 0 {
		t.Fatalf("sign-out without the token: %d", w.Code)
	}
	w := signOut(sess.CSRF)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/signin" {
		t.Fatalf("sign-out: %d", w.Code)
	}
	if cs := w.Result().Cookies(); len(cs) != 1 || cs[0].Name != CookieName || cs[0].MaxAge >= 0 {
		t.Fatalf("sign-out cookie: %v", cs)
	}
}

func TestAssetsAreEmbedded(t *testing.T) {
	td := newTestDashboard(t)
	for _, name := range []string{"app.js", "app.css"} {
		w := td.get("/assets/"+name+"?v="+td.assetVersion, nil)
		if w.Code != 200 || w.Body.Len() < 1000 || !strings.Contains(w.Header().Get("Cache-Control"), "max-age") {
			t.Fatalf("%s: %d %d %q", name, w.Code, w.Body.Len(), w.Header().Get("Cache-Control"))
		}
		// Nothing the page loads points off this server.
		for _, ref := range []string{"http://", "https://", "//cdn", "@import", "url("} {
			if strings.Contains(w.Body.String(), ref) {
				t.Errorf("%s refers to %q", name, ref)
			}
		}
	}
}

// TestLimits: the sign-in form's body is bounded (maxFormBytes), and so is
// the price lookup's listing (maxPriceRows, the rest counted).
func TestLimits(t *testing.T) {
	td := newTestDashboard(t)
	big := url.Values{"api_key": {userKey}, "pad": {strings.Repeat("x", maxFormBytes)}}.Encode()
	r := httptest.NewRequest("POST", "/signin", strings.NewReader(big))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if w := td.serve(r); w.Code == http.StatusSeeOther || len(w.Result().Cookies()) != 0 {
		t.Fatalf("a sign-in body over %d bytes: %d", maxFormBytes, w.Code)
	}
	// A catalog of 250 priced models, all matching "bulk".
	var entries []ownkey.ModelEntry
	for i := range 250 {
		id := "bulk-model-" + strconv.Itoa(i)
		entries = append(entries, ownkey.ModelEntry{Provider: "groq", Model: id, Maker: "meta", Canonical: id,
			Prices: ownkey.Prices{Input: ownkey.PriceOf(1_000_000_000), Output: ownkey.PriceOf(2_500_000_000)}})
	}
	catalog, err := ownkey.NewModelCatalog(entries)
	if err != nil {
		t.Fatal(err)
	}
	td.cfg.Prices = fakePrices{catalog}
	matches := 250
	admin := td.signIn(t, adminKey)
	w := td.get("/admin/prices?q=bulk", admin)
	if rows := strings.Count(w.Body.String(), "<tr><td>"); rows != maxPriceRows {
		t.Fatalf("%d rows listed, want %d", rows, maxPriceRows)
	}
	if !strings.Contains(w.Body.String(), strconv.Itoa(matches-maxPriceRows)+" more match") {
		t.Fatal("the rows left out are not counted")
	}
}

type fakePrices struct{ c *ownkey.ModelCatalog }

func (f fakePrices) Catalog() *ownkey.ModelCatalog { return f.c }
func (fakePrices) Source(string, string) string    { return "admin" }
