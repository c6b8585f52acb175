package httpapi

import (
	"net/http"
	"slices"
	"strings"

	"github.com/ownkey/ownkey"
)

// Mux is where routes are registered (the dashboard's Register takes it):
// the server's routeMux, or any *http.ServeMux. An alias of a type literal,
// so that dashboard.Dashboard satisfies Routes without importing httpapi.
type Mux = interface {
	Handle(pattern string, handler http.Handler)
}

// routeMux is the server's ServeMux together with the list of every pattern
// registered on it, in order. The OpenAPI document is built from that list
// (openapi.go) and TestOpenAPICoversEveryRoute reads it, so an endpoint
// cannot be served without being described.
type routeMux struct {
	mux      *http.ServeMux
	patterns []string
}

func newRouteMux() *routeMux { return &routeMux{mux: http.NewServeMux()} }

// Handle registers h for pattern and lists the pattern.
func (m *routeMux) Handle(pattern string, h http.Handler) {
	m.mux.Handle(pattern, h)
	if pattern != "/" { // the catch-all: unknown URLs and wrong methods
		m.patterns = append(m.patterns, pattern)
	}
}

// HandleFunc is Handle for a function.
func (m *routeMux) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	m.Handle(pattern, http.HandlerFunc(h))
}

func (m *routeMux) ServeHTTP(w http.ResponseWriter, r *http.Request) { m.mux.ServeHTTP(w, r) }

// Patterns lists every route pattern the server serves ("GET /healthz",
// "POST /api/v1/chat/completions", the dashboard's pages), in the order
// they were registered.
func (s *Server) Patterns() []string { return slices.Clone(s.mux.patterns) }

// probedMethods are the methods the catch-all tries at a path to build an
// Allow header; HEAD is allowed wherever GET is (ServeMux routes it so).
var probedMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// allowed lists the methods some route serves at r's path. It asks the mux
// itself (a pattern with a wildcard counts), so it cannot disagree with
// the routing. It runs for requests no route took only (and preflights).
func (s *Server) allowed(r *http.Request) []string {
	var methods []string
	probe := r.WithContext(r.Context())
	for _, m := range probedMethods {
		probe.Method = m
		if _, pattern := s.mux.mux.Handler(probe); pattern != "" && pattern != "/" {
			methods = append(methods, m)
		}
	}
	return methods
}

// notFound is the catch-all: a path some route serves with other methods
// is a 405 naming them in Allow (OPTIONS on it: 204 with Allow), any other
// an unknown URL, both in OpenAI's error envelope. Go's ServeMux would send
// a 405 itself, but in plain text, and the catch-all pattern "/" matches
// every method, so the mux never does.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	methods := s.allowed(r)
	if len(methods) == 0 {
		unknownURL(w, r)
		return
	}
	allow := strings.Join(append(methods, http.MethodOptions), ", ")
	w.Header().Set("Allow", allow)
	if r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	Error(w, r, &ownkey.Error{Code: ownkey.EINVALID, Status: http.StatusMethodNotAllowed, Reason: "method_not_allowed",
		Message: "Method " + safeMethod(r.Method) + " is not allowed on " + redactPath(r.URL.Path) + "; allowed: " + allow + "."})
}

func unknownURL(w http.ResponseWriter, r *http.Request) {
	Error(w, r, &ownkey.Error{Code: ownkey.ENOTFOUND, Reason: "unknown_url",
		Message: "Unknown request URL: " + safeMethod(r.Method) + " " + redactPath(r.URL.Path) + "."})
}
