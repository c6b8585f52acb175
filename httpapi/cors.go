package httpapi

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/dialect/openai"
	"github.com/ownkey/ownkey/dialect/responses"
)

// CORS lets a web page of another origin call the API from a browser with
// an ownkey API key in its Authorization header (a chat front-end served
// from its own site). It is off unless the operator lists origins
// (OWNKEY_CORS_ORIGINS): then the server is wrapped in corsPolicy.handler,
// and a server without it does no CORS work at all per request.
//
// Credentials in the CORS sense (cookies) are never allowed: the API is
// called with a key in a header, and the dashboard's session cookie must
// not work from another origin (it is SameSite=Strict as well). So no
// response carries Access-Control-Allow-Credentials, and "*" is as safe as
// an allow-list against cookie-riding; the list only limits which pages
// may read the answers.

// corsMaxAge is how long a browser may cache a preflight's answer, in
// seconds (Chromium caps it at 7200, Firefox at 86400).
const corsMaxAge = "7200"

// corsExposed are the response headers a page's script may read besides the
// safelisted ones: the request id, Retry-After, and what a request cost
// (the dialects' cost headers) or how its tokens were counted.
var corsExposed = strings.Join([]string{
	"X-Request-ID", "Retry-After",
	openai.HeaderCost, openai.HeaderUpstreamCost, openai.HeaderMarkupRate, openai.HeaderIsBYOK, openai.HeaderIsEstimated,
	responses.HeaderCost, responses.HeaderUpstreamCost, tokenCountHeader,
}, ", ")

// ParseCORSOrigins reads the allow-list: origins separated by commas
// (https://app.example.com, http://localhost:3000), or * for any. Each is
// a scheme, host and optional port as a browser sends it in Origin; a
// trailing slash is dropped, a default port (:443 for https, :80 for http)
// removed, scheme and host lower-cased. Empty means CORS is off.
func ParseCORSOrigins(s string) ([]string, error) {
	var out []string
	for _, o := range strings.Split(s, ",") {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		if o == "*" {
			out = append(out, o)
			continue
		}
		norm, ok := normalOrigin(strings.TrimSuffix(o, "/"))
		if !ok {
			return nil, ownkey.Errorf(ownkey.EINVALID, "%q is not an origin: write scheme://host[:port] (https://app.example.com), or * for any", o)
		}
		out = append(out, norm)
	}
	return out, nil
}

// normalOrigin is o as a browser's Origin header writes it, if o is an
// http(s) origin: no path, query, fragment or user.
func normalOrigin(o string) (string, bool) {
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" || strings.HasSuffix(o, "?") {
		return "", false
	}
	host := strings.ToLower(u.Host)
	if port := u.Port(); port == "443" && u.Scheme == "https" || port == "80" && u.Scheme == "http" {
		host = strings.TrimSuffix(host, ":"+port)
	}
	return u.Scheme + "://" + host, true
}

// corsPolicy is the allow-list in force.
type corsPolicy struct {
	any     bool
	origins map[string]bool
}

func newCORSPolicy(origins []string) *corsPolicy {
	if len(origins) == 0 {
		return nil
	}
	p := &corsPolicy{origins: make(map[string]bool, len(origins))}
	for _, o := range origins {
		if o == "*" {
			p.any = true
		}
		p.origins[o] = true
	}
	return p
}

// allowOrigin is the Access-Control-Allow-Origin value for a request from
// origin, "" when it is not allowed.
func (p *corsPolicy) allowOrigin(origin string) string {
	if p.any {
		return "*"
	}
	if p.origins[origin] {
		return origin
	}
	// An Origin with an upper-case host or a default port still names an
	// allowed origin; browsers do not send those, but a client may.
	if norm, ok := normalOrigin(origin); ok && p.origins[norm] {
		return origin
	}
	return ""
}

// handler answers preflights and marks the answers to allowed origins.
// allowed lists the methods the server serves at a path (Server.allowed).
func (p *corsPolicy) handler(next http.Handler, allowed func(*http.Request) []string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		allow := p.allowOrigin(origin)
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Add("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers")
			p.preflight(w, r, allow, allowed(r))
			return
		}
		if !p.any {
			h.Add("Vary", "Origin")
		}
		if allow != "" {
			h.Set("Access-Control-Allow-Origin", allow)
			h.Set("Access-Control-Expose-Headers", corsExposed)
		}
		next.ServeHTTP(w, r)
	})
}

// preflight answers a browser's OPTIONS preflight: 204 with what the path
// allows when the origin is allowed, else an error the browser reports.
func (p *corsPolicy) preflight(w http.ResponseWriter, r *http.Request, allow string, methods []string) {
	switch {
	case allow == "":
		Error(w, r, &ownkey.Error{Code: ownkey.EFORBIDDEN, Reason: "cors_origin_not_allowed",
			Message: "this origin may not call the API from a browser: the operator lists the allowed ones in OWNKEY_CORS_ORIGINS"})
		return
	case len(methods) == 0:
		unknownURL(w, r)
		return
	}
	requested := r.Header.Get("Access-Control-Request-Headers")
	if !headerList(requested) {
		Error(w, r, ownkey.FieldError("Access-Control-Request-Headers", "Access-Control-Request-Headers is not a list of header names"))
		return
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", allow)
	h.Set("Access-Control-Allow-Methods", strings.Join(methods, ", "))
	if requested != "" {
		// Any header may be sent: no cookie rides along (no
		// Allow-Credentials), and what a request carries is checked by
		// the endpoint itself. SDKs send headers of their own
		// (x-stainless-*), which a fixed list would refuse.
		h.Set("Access-Control-Allow-Headers", requested)
	}
	h.Set("Access-Control-Max-Age", corsMaxAge)
	w.WriteHeader(http.StatusNoContent)
}

// headerList reports whether s is a comma-separated list of header names
// (RFC 9110 tokens), as Access-Control-Request-Headers is.
func headerList(s string) bool {
	if len(s) > 4096 {
		return false
	}
	for _, name := range strings.Split(s, ",") {
		name = strings.Trim(name, " \t") // optional whitespace: SP and HTAB only, not CR or LF
		if name == "" {
			return s == "" // no header asked for; else an empty name
		}
		for i := 0; i < len(name); i++ {
			c := name[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
				return false
			}
		}
	}
	return true
}
