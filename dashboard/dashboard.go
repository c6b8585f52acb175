// Package dashboard is ownkey's web dashboard: sign-in with an ownkey API
// key, the BYOK page (the account's provider keys), the usage page and the
// admin pages. Pages are rendered on the server with html/template from
// the root package's services; what they change they change through the
// JSON API (httpapi), called by a small embedded script with the session
// cookie and its CSRF token, so that every rule and error message is the
// API's own. Everything the pages load (script, style, no fonts or
// images: the system's fonts, monogram badges) is embedded and served from
// here: a page makes no request to anything but this server.
package dashboard

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/ownkey/ownkey"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Config is what the dashboard reads from: the root package's services,
// the same ones the JSON API calls.
type Config struct {
	Accounts ownkey.AccountService
	Vault    ownkey.CredentialService
	// Platform is the operator's provider keys (admin pages); nil: none.
	Platform ownkey.PlatformKeyService
	Reports  ownkey.UsageReporter
	History  ownkey.UsageHistory
	// Balances give the balances shown; nil: none shown.
	Balances ownkey.BalanceService
	// Prices is the price catalog for the admin's lookup; nil: the
	// catalog in force, without sources.
	Prices   PriceCatalog
	Sessions *Sessions
	// Markup is the BYOK markup (OWNKEY_BYOK_MARKUP) the FAQ states;
	// PlatformMargin the rate on platform-key requests.
	Markup         ownkey.PPM
	PlatformMargin ownkey.PPM
	// PublicURL is this instance's address as clients reach it, for the
	// curl example (OWNKEY_PUBLIC_URL); empty: the scheme and Host of the
	// page's own request.
	PublicURL string
	Logger    *slog.Logger
}

// PriceCatalog is the price catalog as the admin's lookup reads it
// (prices.Book).
type PriceCatalog interface {
	Catalog() *ownkey.ModelCatalog
	// Source says where an entry's price came from ("builtin", "admin",
	// "import:litellm", …; "" for none).
	Source(provider, model string) string
}

// Dashboard serves the pages. Create with New; Register adds its routes.
type Dashboard struct {
	cfg   Config
	pages map[string]*template.Template
	// assetVersion tags the asset URLs so that a new build's script and
	// style are fetched again.
	assetVersion string
}

// New parses the embedded templates (a broken template fails here, at
// start, not on a request).
func New(cfg Config) (*Dashboard, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	d := &Dashboard{cfg: cfg, pages: map[string]*template.Template{}}
	funcs := template.FuncMap{"usd": usd, "count": count, "when": when, "hue": hue, "monogram": monogram, "dict": dict}
	// The layout and the partials (_name.html) are shared by every page.
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/_*.html")
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(name, "templates/"), ".html")
		if base == "layout" || strings.HasPrefix(base, "_") {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(templateFS, name)
		if err != nil {
			return nil, err
		}
		d.pages[base] = t
	}
	d.assetVersion = assetVersion()
	return d, nil
}

// Mux is where routes are registered: an *http.ServeMux, or httpapi's
// mux, which also lists them for its OpenAPI document. An alias of a type
// literal, so that Register satisfies httpapi.Routes without either
// package importing the other.
type Mux = interface {
	Handle(pattern string, handler http.Handler)
}

// Register adds the dashboard's routes to mux (httpapi.Routes).
func (d *Dashboard) Register(mux Mux) {
	mux.Handle("GET /{$}", d.secure(http.HandlerFunc(d.handleRoot)))
	mux.Handle("GET /signin", d.secure(http.HandlerFunc(d.handleSignInPage)))
	mux.Handle("POST /signin", d.secure(d.sameOrigin(http.HandlerFunc(d.handleSignIn))))
	mux.Handle("POST /signout", d.secure(d.sameOrigin(http.HandlerFunc(d.handleSignOut))))
	mux.Handle("GET /byok", d.secure(d.signedIn(d.handleBYOK)))
	mux.Handle("GET /usage", d.secure(d.signedIn(d.handleUsage)))
	mux.Handle("GET /admin", d.secure(d.signedIn(d.admin(func(w http.ResponseWriter, r *http.Request, v *viewer) {
		http.Redirect(w, r, "/admin/accounts", http.StatusSeeOther)
	}))))
	mux.Handle("GET /admin/accounts", d.secure(d.signedIn(d.admin(d.handleAccounts))))
	mux.Handle("GET /admin/accounts/{id}", d.secure(d.signedIn(d.admin(d.handleAccount))))
	mux.Handle("GET /admin/providers", d.secure(d.signedIn(d.admin(d.handleProviders))))
	mux.Handle("GET /admin/prices", d.secure(d.signedIn(d.admin(d.handlePrices))))
	mux.Handle("GET /assets/", d.assets())
}

// contentSecurityPolicy allows this server's own script and style only:
// no inline script or style (the CSRF token reaches the script through a
// meta tag), no framing, forms posted here only.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// secure sets the headers every page carries.
func (d *Dashboard) secure(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", contentSecurityPolicy)
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("X-Content-Type-Options", "nosniff")
		// Not no-referrer: under it a browser sends "Origin: null" with a
		// form post, and sameOrigin could not tell the dashboard's own.
		hd.Set("Referrer-Policy", "same-origin")
		// Pages carry the CSRF token and key suffixes: never kept by a
		// cache.
		hd.Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}

// sameOrigin refuses a form post another site's page made: its Origin (or
// Sec-Fetch-Site) says so. This is what protects the sign-in form, which
// has no session yet (an attacker's page could otherwise sign the victim
// in to the attacker's account); sign-out also checks the session's CSRF
// token.
func (d *Dashboard) sameOrigin(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
			d.forbidden(w, r, "This form was sent from another site's page; it is accepted from the dashboard only.")
			return
		}
		if o := r.Header.Get("Origin"); o != "" && o != d.origin(r) {
			d.forbidden(w, r, "This form was sent from another site's page; it is accepted from the dashboard only.")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// origin is the scheme and host the request was made to, as a browser
// states it in Origin.
func (d *Dashboard) origin(r *http.Request) string {
	scheme := "http"
	if d.cfg.Sessions.Secure(r) {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// baseURL is this instance's URL for the curl example.
func (d *Dashboard) baseURL(r *http.Request) string {
	if d.cfg.PublicURL != "" {
		return strings.TrimRight(d.cfg.PublicURL, "/")
	}
	return d.origin(r)
}

// viewer is the signed-in caller of a page.
type viewer struct {
	Principal *ownkey.Principal
	Session   *Session
}

type pageHandler func(w http.ResponseWriter, r *http.Request, v *viewer)

// signedIn opens the request's session and authenticates its API key
// again (a revoked key ends the session); without one it sends the
// browser to the sign-in page, which returns here.
func (d *Dashboard) signedIn(h pageHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, ok := d.cfg.Sessions.Open(r)
		var p *ownkey.Principal
		if ok {
			var err error
			if p, err = d.cfg.Accounts.Authenticate(r.Context(), sess.Key.Reveal()); err != nil {
				if ownkey.StatusOf(err) != http.StatusUnauthorized {
					d.fail(w, r, err)
					return
				}
				ok = false
			}
		}
		if !ok {
			if _, err := r.Cookie(CookieName); err == nil {
				d.cfg.Sessions.Clear(w, r) // expired, or its key revoked
			}
			http.Redirect(w, r, "/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		h(w, r, &viewer{Principal: p, Session: sess})
	})
}

// admin lets admin accounts through; anyone else gets a 403 page.
func (d *Dashboard) admin(h pageHandler) pageHandler {
	return func(w http.ResponseWriter, r *http.Request, v *viewer) {
		if !v.Principal.Account.IsAdmin() {
			d.forbidden(w, r, "The admin pages are for admin accounts only; this account is not one.")
			return
		}
		h(w, r, v)
	}
}

// common is what every page's layout shows.
type common struct {
	Title        string
	Active       string // the nav entry of this page
	Account      *ownkey.Account
	CSRF         string
	AssetVersion string
}

func (d *Dashboard) common(v *viewer, title, active string) common {
	c := common{Title: title, Active: active, AssetVersion: d.assetVersion}
	if v != nil {
		c.Account, c.CSRF = v.Principal.Account, v.Session.CSRF
	}
	return c
}

// render writes a page; a template error is logged (the page is half
// written by then).
func (d *Dashboard) render(w http.ResponseWriter, r *http.Request, status int, page string, data any) {
	var buf bytes.Buffer
	if err := d.pages[page].ExecuteTemplate(&buf, "layout.html", data); err != nil {
		d.cfg.Logger.Error("dashboard: rendering a page", "page", page, "err", err.Error())
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

type messagePage struct {
	common
	Heading, Message string
}

func (d *Dashboard) forbidden(w http.ResponseWriter, r *http.Request, msg string) {
	var v *viewer
	if sess, ok := d.cfg.Sessions.Open(r); ok {
		if p, err := d.cfg.Accounts.Authenticate(r.Context(), sess.Key.Reveal()); err == nil {
			v = &viewer{Principal: p, Session: sess}
		}
	}
	d.render(w, r, http.StatusForbidden, "message", messagePage{common: d.common(v, "Not allowed", ""),
		Heading: "Not allowed", Message: msg})
}

// fail shows an error page: the error's own message for a domain error
// (it never holds a secret), else only that something failed.
func (d *Dashboard) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := ownkey.StatusOf(err)
	msg := "Something went wrong on the server; the log has the details."
	if status < 500 {
		msg = ownkey.ErrorMessage(err)
	} else {
		d.cfg.Logger.Error("dashboard: serving a page", "path", r.URL.Path, "err", err.Error())
	}
	d.render(w, r, status, "message", messagePage{common: d.common(nil, "Error", ""), Heading: "Error", Message: msg})
}

func (d *Dashboard) handleRoot(w http.ResponseWriter, r *http.Request) {
	target := "/signin"
	if _, ok := d.cfg.Sessions.Open(r); ok {
		target = "/byok"
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

type signInPage struct {
	common
	Next  string
	Error string
}

// safeNext is where to go after signing in: a path of this site only,
// never another site (an open redirect).
func safeNext(next string) string {
	if next == "" || next[0] != '/' || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
		strings.ContainsAny(next, "\r\n\t") {
		return "/byok"
	}
	return next
}

func (d *Dashboard) handleSignInPage(w http.ResponseWriter, r *http.Request) {
	d.render(w, r, http.StatusOK, "signin", signInPage{common: d.common(nil, "Sign in", ""),
		Next: safeNext(r.URL.Query().Get("next"))})
}

// maxFormBytes bounds the dashboard's own form bodies (sign-in, sign-out).
const maxFormBytes = 16 << 10

// handleSignIn checks the API key and starts a session. The page's script
// posts the form with Accept: application/json and shows an error beside
// the field without a reload (the field keeps what was typed); without the
// script the form posts as usual and an error page is rendered (the key
// is not written back into it).
func (d *Dashboard) handleSignIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	wantsJSON := strings.Contains(r.Header.Get("Accept"), "application/json")
	next := safeNext(r.PostFormValue("next"))
	key := strings.TrimSpace(r.PostFormValue("api_key"))
	var err error
	if key == "" {
		err = ownkey.FieldError("api_key", "Paste your ownkey API key (it starts with %s).", ownkey.APIKeyPrefix)
	} else if _, err = d.cfg.Accounts.Authenticate(r.Context(), key); err == nil {
		_, err = d.cfg.Sessions.Issue(w, r, ownkey.NewSecret(key))
	}
	if err != nil {
		status, msg := ownkey.StatusOf(err), ownkey.ErrorMessage(err)
		if status >= 500 {
			d.cfg.Logger.Error("dashboard: sign-in", "err", err.Error())
			msg = "The server could not check the key; try again."
		} else if status == http.StatusUnauthorized {
			msg = "This API key is not valid (revoked, or mistyped)."
		}
		if wantsJSON {
			writeJSON(w, status, map[string]any{"error": map[string]string{"message": msg, "param": "api_key"}})
			return
		}
		d.render(w, r, status, "signin", signInPage{common: d.common(nil, "Sign in", ""), Next: next, Error: msg})
		return
	}
	if wantsJSON {
		writeJSON(w, http.StatusOK, map[string]string{"redirect": next})
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (d *Dashboard) handleSignOut(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if sess, ok := d.cfg.Sessions.Open(r); ok && !sess.CheckCSRF(r.PostFormValue("csrf")) {
		d.forbidden(w, r, "The sign-out form was missing this session's token; reload the page and try again.")
		return
	}
	d.cfg.Sessions.Clear(w, r)
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

// dict builds a map for a partial's arguments: dict "Scope" "user" "Row" .
func dict(kv ...any) (map[string]any, error) {
	if len(kv)%2 != 0 {
		return nil, errors.New("dict: an odd number of arguments")
	}
	m := make(map[string]any, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			return nil, errors.New("dict: a key that is not a string")
		}
		m[k] = kv[i+1]
	}
	return m, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// assets serves the embedded script and style.
func (d *Dashboard) assets() http.Handler {
	sub, _ := fs.Sub(staticFS, "static")
	files := http.StripPrefix("/assets/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if r.URL.Query().Get("v") == d.assetVersion {
			w.Header().Set("Cache-Control", "public, max-age=86400")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		files.ServeHTTP(w, r)
	})
}

// assetVersion is a short hash of the embedded assets.
func assetVersion() string {
	var h uint32 = 2166136261
	_ = fs.WalkDir(staticFS, "static", func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(path)
		for _, c := range b {
			h = (h ^ uint32(c)) * 16777619
		}
		return err
	})
	return strconv.FormatUint(uint64(h), 36)
}

// ctx is the request's context (shorthand).
func ctx(r *http.Request) context.Context { return r.Context() }
