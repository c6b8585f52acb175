package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// The dashboard in a real browser: headless Chromium driven over the
// DevTools protocol (chromedp). Where no Chromium is installed the tests
// skip, unless OWNKEY_REQUIRE_BROWSER=1 (as .ci/run sets), which makes a
// missing browser a failure. Screenshots of every page land in
// browser-artifacts/ beside this file (git-ignored).

// chromiumPath is the browser the tests drive: OWNKEY_CHROMIUM, else
// Debian's chromium.
func chromiumPath() string {
	if p := os.Getenv("OWNKEY_CHROMIUM"); p != "" {
		return p
	}
	return "/usr/bin/chromium"
}

// browser is one headless Chromium with one tab, and what it received.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string
	dir  string // screenshots

	mu        sync.Mutex
	responses map[string]int // URL path → responses whose bodies were read
	bodies    bytes.Buffer   // every response body read, and every page's HTML
	pending   sync.WaitGroup
}

func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	path := chromiumPath()
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("OWNKEY_REQUIRE_BROWSER") == "1" {
			t.Fatalf("no Chromium at %s, and OWNKEY_REQUIRE_BROWSER=1: install it (apt-get install chromium)", path)
		}
		t.Skipf("browser tests skipped: no Chromium at %s (apt-get install chromium, or set OWNKEY_CHROMIUM); CI sets OWNKEY_REQUIRE_BROWSER=1 to fail instead", path)
	}
	dir := filepath.Join("browser-artifacts", t.Name())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1200, 900),
	)
	ctx, cancelCtx := chromedp.NewContext(actx)
	// Bounds the whole test: a hang fails it rather than the package.
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	b := &browser{t: t, ctx: ctx, base: base, dir: dir, responses: map[string]int{}}
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
		b.pending.Wait()
	})
	// Start the browser, then read the body of every response it gets: what
	// the server sent, whatever the page did with it.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	responses := chromedp.Events(ctx, network.ResponseReceived)
	finished := chromedp.Events(ctx, network.LoadingFinished)
	urls := sync.Map{}
	b.pending.Add(2)
	go func() {
		defer b.pending.Done()
		for ev, err := range responses {
			if err != nil {
				return
			}
			urls.Store(ev.RequestID, ev.Response.URL)
		}
	}()
	go func() {
		defer b.pending.Done()
		for ev, err := range finished {
			if err != nil {
				return
			}
			res, err := chromedp.Call(ctx, network.GetResponseBody, network.GetResponseBodyParams{RequestID: ev.RequestID})
			if err != nil {
				continue // a redirect, or a page gone already (its HTML is kept by page())
			}
			u, _ := urls.Load(ev.RequestID)
			b.mu.Lock()
			if s, ok := u.(string); ok {
				b.responses[pathOf(s)]++
			}
			b.bodies.Write(res.Body)
			b.bodies.WriteByte('\n')
			b.mu.Unlock()
		}
	}()
	return b
}

func pathOf(u string) string {
	u = u[strings.Index(u, "//")+2:]
	if i := strings.IndexByte(u, '/'); i >= 0 {
		u = u[i:]
	}
	if i := strings.IndexByte(u, '?'); i >= 0 {
		u = u[:i]
	}
	return u
}

func (b *browser) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.shot("failure")
		b.t.Fatalf("browser: %v", err)
	}
}

func evalJS[T any](b *browser, expr string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// waitFor waits until expr is true in the page (the page's script works
// asynchronously), at most 15 s.
func (b *browser) waitFor(what, expr string) {
	b.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](expr))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			b.shot("failure")
			html, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body.innerText`))
			b.t.Fatalf("waiting for %s (%s): %v\npage text:\n%s", what, expr, err, html)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// setValue sets a field's value as a paste would (no key events).
func (b *browser) setValue(id, value string) {
	b.t.Helper()
	j, _ := json.Marshal(value)
	evalJS[chromedp.Void](b, fmt.Sprintf(`document.getElementById(%q).value = %s`, id, j))
}

// text is an element's text.
func (b *browser) text(css string) string {
	b.t.Helper()
	return evalJS[string](b, fmt.Sprintf(`(document.querySelector(%q) || {}).textContent || ""`, css))
}

// open loads a page of the dashboard and keeps its HTML.
func (b *browser) open(path string) {
	b.t.Helper()
	b.do(chromedp.Navigate(b.base + path))
	b.keepHTML()
}

// keepHTML keeps the page's current DOM, for the check that no stored key
// reached the browser.
func (b *browser) keepHTML() {
	b.t.Helper()
	html := evalJS[string](b, `document.documentElement.outerHTML`)
	b.mu.Lock()
	b.bodies.WriteString(html)
	b.mu.Unlock()
}

// shot saves a screenshot of the whole page as an artifact.
func (b *browser) shot(name string) { b.capture(name, chromedp.FullScreenshot(100)) }

// view saves a screenshot of what the window shows, scrolled to css.
func (b *browser) view(name, css string) {
	b.t.Helper()
	evalJS[chromedp.Void](b, fmt.Sprintf(`document.querySelector(%q).scrollIntoView({block: "center"})`, css))
	b.capture(name, chromedp.CaptureScreenshot())
}

func (b *browser) capture(name string, a chromedp.Action[[]byte]) {
	png, err := chromedp.Run(b.ctx, a)
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(b.dir, name+".png"), png, 0o644); err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
	}
}

// fakeOpenAIForBrowser is an OpenAI upstream that accepts one key: its key
// check (GET /models) answers 200 for it and OpenAI's 401 for any other;
// chat answers with usage, or without when the prompt asks for none.
func fakeOpenAIForBrowser(t *testing.T, goodKey string) *fakeOpenAI {
	return newFakeOpenAI(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get("Authorization") != "Bearer "+goodKey {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":{"message":"Incorrect API key provided.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`)
			return
		}
		switch {
		case strings.HasSuffix(r.URL.Path, "/models"):
			io.WriteString(w, `{"object":"list","data":[{"id":"gpt-4o-mini","object":"model","created":1700000000,"owned_by":"openai"}]}`)
		case bytes.Contains(body, []byte("no usage")):
			io.WriteString(w, `{"id":"chatcmpl-2","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Hello there, from a provider that reports no usage"},"finish_reason":"stop"}]}`)
		default:
			io.WriteString(w, `{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Hello"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1200,"completion_tokens":300,"total_tokens":1500}}`)
		}
	})
}

const (
	canaryOpenAI2  = "sk-canary-OPENAI2-Hd7Tq2Xm9Lw4Rv6Nz3Kc8Bj1"
	canaryOpenAIOK = "sk-canary-OPENAIOK-Wz5Lr8Qm2Tx7Nv4Kc9Hb3Pj6"
	// canaryPlatformGroq is the operator's groq key, set on the admin page.
	canaryPlatformGroq = "gsk_canaryPLATFORM-Jq4Wx8Rz2Lm6Tv9Nc3Kb7"
)

// TestBrowserDashboard drives the dashboard as a person would: sign in,
// add, replace and remove an OpenAI key, paste AWS JSON with a field
// missing and then whole, test keys against a fake OpenAI, look at the
// usage page after some requests, be refused the admin pages, use them as
// the admin; and checks that no stored key ever reached the browser.
func TestBrowserDashboard(t *testing.T) {
	up := fakeOpenAIForBrowser(t, canaryOpenAIOK)
	g := newTestGateway(t, map[string]string{"OWNKEY_OPENAI_BASE_URL": up.srv.URL + "/v1", "OWNKEY_DISABLED_PROVIDERS": "together"})
	aliceID, alice := g.createAccount("alice")
	b := newBrowser(t, g.srv.URL)
	last4 := func(s string) string { return s[len(s)-4:] }
	status := func(provider string) string { return b.text("#row-" + provider + " .status") }

	// Sign in: a wrong key is refused beside the field, which keeps it.
	b.open("/byok")
	b.waitFor("the sign-in page", `location.pathname === "/signin"`)
	b.shot("01-signin")
	const wrong = "sk-ownkey-NotAKeyOfThisServer0123456789abcdef"
	b.do(chromedp.SendKeys(chromedp.ID("api_key"), wrong+"\r"))
	b.waitFor("the sign-in error", `!document.getElementById("api_key-error").hidden`)
	if msg := b.text("#api_key-error"); !strings.Contains(msg, "not valid") {
		t.Fatalf("sign-in error: %q", msg)
	}
	if v := evalJS[string](b, `document.getElementById("api_key").value`); v != wrong {
		t.Fatalf("the typed key was lost: %q", v)
	}
	b.shot("02-signin-error")
	b.setValue("api_key", "")
	b.do(chromedp.SendKeys(chromedp.ID("api_key"), alice+"\r"))
	b.waitFor("the BYOK page", `location.pathname === "/byok" && !!document.getElementById("row-openai")`)
	b.keepHTML()
	if h := b.text("h1"); h != "Bring Your Own Key (BYOK)" {
		t.Fatalf("heading %q", h)
	}
	if s := status("openai"); s != "Not configured" {
		t.Fatalf("openai before: %q", s)
	}
	if s := status("together"); s != "Disabled" {
		t.Fatalf("a disabled provider: %q", s)
	}
	if n := evalJS[int](b, `document.querySelectorAll("li.keyrow").length`); n != 30 {
		t.Fatalf("%d provider rows, want 26 model and 4 web-search ones", n)
	}
	b.shot("03-byok")
	b.view("03-byok-top", "h1")

	// Add an OpenAI key.
	b.do(chromedp.SendKeys(chromedp.ID("user-key-openai"), canaryOpenAI), chromedp.Click(chromedp.CSS("#row-openai button.save")))
	b.waitFor("openai configured", fmt.Sprintf(`document.querySelector("#row-openai .status").textContent === "Configured ····%s"`, last4(canaryOpenAI)))
	if v := evalJS[string](b, `document.getElementById("user-key-openai").value`); v != "" {
		t.Fatal("a saved key stays in the field")
	}
	if b.text("#row-openai button.save") != "Replace" {
		t.Fatal("the button does not offer to replace the key")
	}
	b.view("04-openai-saved", "#row-openai")

	// Replace it.
	b.do(chromedp.SendKeys(chromedp.ID("user-key-openai"), canaryOpenAI2), chromedp.Click(chromedp.CSS("#row-openai button.save")))
	b.waitFor("openai replaced", fmt.Sprintf(`document.querySelector("#row-openai .status").textContent === "Configured ····%s"`, last4(canaryOpenAI2)))

	// Remove it, after confirming.
	b.do(chromedp.Click(chromedp.CSS("#row-openai button.remove")))
	b.waitFor("the confirmation", `!document.querySelector("#row-openai .confirm").hidden`)
	if s := status("openai"); !strings.HasSuffix(s, last4(canaryOpenAI2)) {
		t.Fatal("removed before the confirmation")
	}
	b.view("05-openai-confirm-remove", "#row-openai")
	b.do(chromedp.Click(chromedp.CSS("#row-openai .confirm-yes")))
	b.waitFor("openai removed", `document.querySelector("#row-openai .status").textContent === "Not configured"`)

	// AWS JSON with secretAccessKey missing: the API's message, which names
	// the field, beside it; the JSON stays as typed.
	partial := `{"accessKeyId":"AKIACANARYACCESSKEY1","region":"us-east-1"}`
	b.setValue("user-key-aws", partial) // pasted
	b.do(chromedp.Click(chromedp.CSS("#row-aws button.save")))
	b.waitFor("the AWS error", `!document.getElementById("user-err-aws").hidden`)
	if msg := b.text("#user-err-aws"); !strings.Contains(msg, "secretAccessKey") {
		t.Fatalf("AWS error: %q", msg)
	}
	if v := evalJS[string](b, `document.getElementById("user-key-aws").value`); v != partial {
		t.Fatalf("the typed JSON was lost: %q", v)
	}
	if evalJS[string](b, `document.getElementById("user-key-aws").getAttribute("aria-invalid")`) != "true" {
		t.Fatal("the field is not marked invalid")
	}
	b.view("06-aws-missing-field", "#row-aws")
	whole := `{"accessKeyId":"AKIACANARYACCESSKEY1","secretAccessKey":"` + canaryAWSSecret + `","region":"us-east-1"}`
	b.setValue("user-key-aws", whole)
	b.do(chromedp.Click(chromedp.CSS("#row-aws button.save")))
	b.waitFor("aws configured", fmt.Sprintf(`document.querySelector("#row-aws .status").textContent === "Configured ····%s"`, last4(canaryAWSSecret)))
	if !evalJS[bool](b, `document.getElementById("user-err-aws").hidden`) {
		t.Fatal("the old error is still shown")
	}

	// Test keys against the fake OpenAI: one it refuses, one it accepts.
	b.do(chromedp.SendKeys(chromedp.ID("user-key-openai"), canaryOpenAI), chromedp.Click(chromedp.CSS("#row-openai button.test")))
	b.waitFor("the refusal", `/refused/.test(document.querySelector("#row-openai .result").textContent)`)
	if r := b.text("#row-openai .result"); !strings.Contains(r, "HTTP 401") || !strings.Contains(r, "Incorrect API key") {
		t.Fatalf("refused key: %q", r)
	}
	b.setValue("user-key-openai", "")
	b.do(chromedp.SendKeys(chromedp.ID("user-key-openai"), canaryOpenAIOK), chromedp.Click(chromedp.CSS("#row-openai button.test")))
	b.waitFor("the acceptance", `/accepted/.test(document.querySelector("#row-openai .result").textContent)`)
	if s := status("openai"); s != "Not configured" {
		t.Fatalf("a tested key was stored: %q", s)
	}
	b.view("07-openai-test-ok", "#row-openai")
	b.do(chromedp.Click(chromedp.CSS("#row-openai button.save")))
	b.waitFor("openai saved", fmt.Sprintf(`document.querySelector("#row-openai .status").textContent === "Configured ····%s"`, last4(canaryOpenAIOK)))

	// The curl example shows this instance.
	if c := b.text("#curl-example"); !strings.Contains(c, "curl -X POST "+g.srv.URL+"/api/v1/chat/completions") || !strings.Contains(c, "x-byok-provider: openai") {
		t.Fatalf("curl example: %s", c)
	}

	// Requests, then the usage page: the chart and the rows.
	for _, content := range []string{"hello", "no usage please"} {
		r := g.do("POST", "/api/v1/chat/completions", alice, map[string]any{"model": "gpt-4o-mini",
			"messages": []any{map[string]any{"role": "user", "content": content}}})
		if r.Status != 200 {
			t.Fatalf("chat: %d %s", r.Status, r.Body)
		}
	}
	g.usageRecords(t, aliceID, 2)
	b.open("/usage")
	b.waitFor("the usage page", `!!document.getElementById("spend-chart")`)
	if n := evalJS[int](b, `document.querySelectorAll("#spend-chart rect.seg").length`); n != 1 {
		t.Fatalf("%d chart segments, want one (today, openai)", n)
	}
	if title := b.text("#spend-chart rect.seg title"); !strings.Contains(title, "OpenAI: $") || !strings.Contains(title, "(2 requests)") {
		t.Fatalf("segment title %q", title)
	}
	if n := evalJS[int](b, `document.querySelectorAll("#recent tbody tr").length`); n != 2 {
		t.Fatalf("%d recent rows, want 2", n)
	}
	recent := b.text("#recent tbody")
	for _, want := range []string{"openai", "gpt-4o-mini", "reported", "estimated", "1,200", "300"} {
		if !strings.Contains(recent, want) {
			t.Errorf("recent requests lack %q: %s", want, recent)
		}
	}
	if m := b.text("#per-model tbody"); !strings.Contains(m, "gpt-4o-mini") {
		t.Fatalf("per model: %s", m)
	}
	if href := evalJS[string](b, `document.querySelector("a.export").getAttribute("href")`); !strings.HasPrefix(href, "/api/v1/usage/export?format=csv") {
		t.Fatalf("export link %q", href)
	}
	b.shot("08-usage")

	// A user is refused the admin pages.
	b.open("/admin/accounts")
	if h := b.text("h1"); h != "Not allowed" {
		t.Fatalf("admin page as a user: %q", h)
	}
	if evalJS[bool](b, `!!document.querySelector('nav a[href="/admin/accounts"]')`) {
		t.Fatal("a user's nav links the admin pages")
	}
	b.shot("09-admin-refused")

	// Phone width: the BYOK page fits, nothing scrolls sideways.
	b.do(chromedp.EmulateViewport(390, 844))
	b.open("/byok")
	if evalJS[bool](b, `document.documentElement.scrollWidth > window.innerWidth + 1`) {
		t.Errorf("the BYOK page is wider than a phone: %v px", evalJS[int](b, `document.documentElement.scrollWidth`))
	}
	b.view("10-byok-phone", "#row-aws")
	b.open("/usage")
	b.shot("11-usage-phone")
	b.do(chromedp.EmulateViewport(1200, 900))

	// Sign out, and in as the admin.
	b.open("/byok")
	b.do(chromedp.Click(chromedp.CSS("form.signout button")))
	b.waitFor("signed out", `location.pathname === "/signin"`)
	b.do(chromedp.SendKeys(chromedp.ID("api_key"), g.adminKey+"\r"))
	b.waitFor("signed in as the admin", `location.pathname === "/byok"`)
	b.open("/admin/accounts")
	if rows := b.text("#accounts tbody"); !strings.Contains(rows, "alice") {
		t.Fatalf("accounts: %s", rows)
	}
	b.do(chromedp.SendKeys(chromedp.ID("acct-name"), "dave"), chromedp.Click(chromedp.CSS("#create-account button[type=submit]")))
	b.waitFor("the new key", `!document.getElementById("created-account").hidden`)
	if k := b.text("#created-account-key"); !strings.HasPrefix(k, "sk-ownkey-") {
		t.Fatalf("created key %q", k)
	}
	b.shot("12-admin-accounts")

	// Credit alice: a bad amount is refused beside its field, then $5.
	b.open(fmt.Sprintf("/admin/accounts/%d", aliceID))
	before := b.text("#account-balance")
	b.do(chromedp.SendKeys(chromedp.ID("adj-amount"), "12.3456789012"), chromedp.SendKeys(chromedp.ID("adj-reason"), "browser test"),
		chromedp.Click(chromedp.CSS("#adjust button[type=submit]")))
	b.waitFor("the amount error", `!document.getElementById("adj-amount-error").hidden`)
	if msg := b.text("#adj-amount-error"); !strings.Contains(msg, "amount_usd") {
		t.Fatalf("amount error: %q", msg)
	}
	if v := evalJS[string](b, `document.getElementById("adj-reason").value`); v != "browser test" {
		t.Fatalf("the reason was lost: %q", v)
	}
	b.setValue("adj-amount", "5")
	b.do(chromedp.Click(chromedp.CSS("#adjust button[type=submit]")))
	b.waitFor("the new balance", fmt.Sprintf(`document.getElementById("account-balance").textContent !== %q`, before))
	if got, api := b.text("#account-balance"), g.balance(t, alice); got != shownUSD(api) {
		t.Fatalf("balance shown %q, the API says %q", got, api)
	}
	b.shot("13-admin-account")
	b.open("/admin/providers")
	if s := b.text("#providers tbody"); !strings.Contains(s, "disabled") {
		t.Fatalf("providers: %s", s)
	}
	// A platform key, through the same row as a user's.
	b.do(chromedp.SendKeys(chromedp.ID("platform-key-groq"), canaryPlatformGroq), chromedp.Click(chromedp.CSS("#row-groq button.save")))
	b.waitFor("the platform key", fmt.Sprintf(`document.querySelector("#row-groq .status").textContent === "Configured ····%s"`, last4(canaryPlatformGroq)))
	b.shot("14-admin-providers")
	b.open("/admin/prices?provider=openai&q=gpt-4o")
	if n := evalJS[int](b, `document.querySelectorAll("#price-results tbody tr").length`); n == 0 {
		t.Fatal("the price lookup found nothing")
	}
	b.shot("15-admin-prices")

	// No stored key reached the browser: not in any response the browser
	// received (bodies read through DevTools), not in any page's DOM.
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, path := range []string{"/byok", "/usage", "/assets/app.js", "/api/user/provider-keys", "/api/user/provider-keys/validate", "/api/admin/platform-keys/groq"} {
		if b.responses[path] == 0 {
			t.Errorf("no response body of %s was read: the check below would see nothing", path)
		}
	}
	for _, c := range []string{canaryOpenAI, canaryOpenAI2, canaryOpenAIOK, canaryAWSSecret, canaryPlatformGroq} {
		if p := findPiece(b.bodies.Bytes(), c); p != "" {
			t.Errorf("a stored key's piece %q reached the browser", p)
		}
	}
}

// shownUSD is how the pages write the API's nine-decimal dollars:
// "104.990000000" as "$104.99".
func shownUSD(s string) string {
	whole, frac, _ := strings.Cut(s, ".")
	frac = strings.TrimRight(frac, "0")
	for len(frac) < 2 {
		frac += "0"
	}
	return "$" + whole + "." + frac
}
