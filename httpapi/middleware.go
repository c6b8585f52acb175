package httpapi

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ownkey/ownkey"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
)

type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inflight prometheus.GaugeFunc
	// series caches each label set's counter and histogram: one map
	// lookup per request instead of two hashed label lookups.
	series sync.Map // seriesKey -> *httpSeries
}

type seriesKey struct {
	route, method string
	status        int
}

type httpSeries struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

// methodLabel bounds the method label: a client can send any token as a
// method, and each would otherwise become a series of its own.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}

// observe counts one finished request. The label sets are bounded: routes
// are the mux's patterns (or "unmatched"), methods are what the mux routes,
// statuses are the ones handlers write.
func (m *httpMetrics) observe(route, method string, status int, d time.Duration) {
	k := seriesKey{route, method, status}
	v, ok := m.series.Load(k)
	if !ok {
		code := strconv.Itoa(status)
		v, _ = m.series.LoadOrStore(k, &httpSeries{
			requests: m.requests.WithLabelValues(route, method, code),
			duration: m.duration.WithLabelValues(route, method, code),
		})
	}
	s := v.(*httpSeries)
	s.requests.Inc()
	s.duration.Observe(d.Seconds())
}

// newHTTPMetrics registers the HTTP metrics; inflight reads the server's own
// count of requests in flight, so that the gauge costs nothing per request.
func newHTTPMetrics(reg *prometheus.Registry, inflight func() float64) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ownkey_http_requests_total",
			Help: "HTTP requests by route pattern, method and status.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ownkey_http_request_duration_seconds",
			Help:    "Time from request to the end of the response, by route pattern and status.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300},
		}, []string{"route", "method", "status"}),
		inflight: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "ownkey_http_requests_in_flight",
			Help: "Requests being served (not counting /healthz and /metrics).",
		}, inflight),
	}
	reg.MustRegister(m.requests, m.duration, m.inflight)
	return m
}

// statusWriter records the status and size of a response. It keeps Flush
// working (streaming), with its error (FlushError), and exposes the original
// writer through Unwrap for http.ResponseController.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// FlushError flushes and reports a failure (a client gone);
// http.ResponseController prefers it to Flush.
func (w *statusWriter) FlushError() error {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *statusWriter) Flush() { _ = w.FlushError() }

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

type ctxKey struct{}

// requestState travels in the request context so that inner handlers can
// hand facts (who is calling) back to the outer access log.
type requestState struct {
	id        string
	logger    *slog.Logger
	principal *ownkey.Principal
	body      minRateBody // r.Body under the body read limits
	// logged is true when the access log line will be written: Error
	// then leaves what it would log to that line (errCode, errMsg).
	logged bool
	// errCode is the code of the error the response carries, as its
	// envelope says it (null there: empty), errKind its domain code;
	// errMsg, for a 5xx, its message, or an internal error's cause.
	errCode, errKind, errMsg string
	// chat is filled by handleChat once the chat service has served the
	// call: what the access line, the metrics and the span say of it.
	chat chatSummary
}

// chatSummary is a chat request as the access log, the metrics and the
// trace see it, kept past the pooled call it came from (in the request's
// state, so that keeping it allocates nothing).
type chatSummary struct {
	served  bool // the chat service was called
	model   string
	stream  bool
	outcome ownkey.ChatOutcome
}

// Request ids are a per-process random prefix and a counter: unique, cheap,
// and not guessable across restarts.
var (
	ridPrefix  = newRIDPrefix()
	ridCounter atomic.Uint64
)

func newRIDPrefix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "req_" + hex.EncodeToString(b)
}

func newRequestID() string {
	return ridPrefix + strconv.FormatUint(ridCounter.Add(1), 36)
}

// carriesKey reports whether a client-chosen header value holds an ownkey
// key, the caller's or any other (a key pasted into the wrong header), which
// must not reach the log.
func carriesKey(r *http.Request, v string) bool {
	if strings.Contains(v, ownkey.APIKeyPrefix) {
		return true
	}
	k := presentedKey(r)
	return len(k) >= 8 && strings.Contains(v, k)
}

// validRequestID accepts a client's X-Request-ID only if it is short and
// plain, so it can't inject into logs.
func validRequestID(s string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_.:", c) >= 0) {
			return false
		}
	}
	return true
}

// observe is the outermost middleware: request id, panic recovery, metrics
// and the access log. It logs the path only, never the query string, with
// key-shaped segments redacted.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		// The id is always ownkey's own, never the client's X-Request-ID:
		// it keys the usage record, and a client that sent one id twice
		// would otherwise have its second request go unrecorded and
		// unbilled. A sane client id is kept in the access log instead.
		rid := newRequestID()
		clientRID := r.Header.Get("X-Request-ID")
		if !validRequestID(clientRID) || carriesKey(r, clientRID) {
			clientRID = ""
		}
		w.Header().Set("X-Request-ID", rid)
		access := s.cfg.AccessLog && s.cfg.Logger.Handler().Enabled(r.Context(), slog.LevelInfo)
		st := &requestState{id: rid, logger: s.cfg.Logger, logged: access}
		var ctx context.Context = &requestContext{Context: r.Context(), st: st}
		var span trace.Span
		if s.cfg.Tracer != nil && traced(r.URL.Path) {
			ctx, span = s.startSpan(ctx, r, rid)
		}
		r = r.WithContext(ctx)
		s.limitBodyRate(w, r, st, start)
		sw := &statusWriter{ResponseWriter: w}
		admitted, counted := s.admit(r)
		defer func() {
			if counted {
				s.done()
			}
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				logger(r).Error("panic serving request", "panic", fmt.Sprint(v))
				if sw.status == 0 {
					Error(sw, r, ownkey.Errorf(ownkey.EINTERNAL, "internal error (request id %s)", rid))
				}
			}
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			route := r.Pattern
			if route == "" || route == "/" {
				route = "unmatched"
			}
			d := time.Since(start)
			s.metrics.observe(route, methodLabel(r.Method), status, d)
			if c := &st.chat; c.served {
				s.chatMetrics.observe(&c.outcome, c.stream, status, d)
			}
			if span != nil {
				endSpan(span, r, route, status, st)
			}
			if access {
				s.accessLog(r, st, status, sw.bytes, d, clientRID)
			}
		}()
		if !admitted {
			Error(sw, r, overloaded)
			return
		}
		next.ServeHTTP(sw, r)
	})
}

// requestContext is a request's context as observe makes it: it carries
// the request's state (ctxKey) and, once authenticate has set it there, the
// principal (ownkey.PrincipalKey), in one context rather than a value
// context and a request copy for each.
type requestContext struct {
	context.Context
	st *requestState
}

func (c *requestContext) Value(key any) any {
	switch key.(type) {
	case ctxKey:
		return c.st
	}
	if key == ownkey.PrincipalKey {
		if p := c.st.principal; p != nil {
			return p
		}
		return c.Context.Value(key)
	}
	return c.Context.Value(key)
}

// stateOf is the state of the request being served, nil outside observe.
func stateOf(r *http.Request) *requestState {
	st, _ := r.Context().Value(ctxKey{}).(*requestState)
	return st
}

// RequestID returns the id of the request being served.
func RequestID(ctx context.Context) string {
	if st, _ := ctx.Value(ctxKey{}).(*requestState); st != nil {
		return st.id
	}
	return ""
}

// Logger returns the logger for the request being served, tagged with its id.
func Logger(ctx context.Context) *slog.Logger {
	st, _ := ctx.Value(ctxKey{}).(*requestState)
	if st == nil {
		return slog.Default()
	}
	return st.logger.With("request_id", st.id)
}

func logger(r *http.Request) *slog.Logger { return Logger(r.Context()) }

// presentedKey finds the caller's ownkey key: Authorization: Bearer, or
// x-api-key, as the product we reproduce accepts both.
func presentedKey(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
			return strings.TrimSpace(h[7:])
		}
		return "\x00malformed" // something other than Bearer: refuse, never echo
	}
	return strings.TrimSpace(r.Header.Get("X-Api-Key"))
}

// authenticate requires a valid ownkey API key and puts the principal in the
// request context. The key is the one in the request's headers, else, on a
// server with the dashboard, the one its session cookie was opened with.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, err := s.callerKey(r)
		var p *ownkey.Principal
		if err == nil {
			p, err = s.cfg.Accounts.Authenticate(r.Context(), key)
		}
		if err != nil {
			if ownkey.ErrorCode(err) != ownkey.EFORBIDDEN { // not the CSRF refusal
				w.Header().Set("WWW-Authenticate", `Bearer realm="ownkey"`)
			}
			Error(w, r, err)
			return
		}
		st, _ := r.Context().Value(ctxKey{}).(*requestState)
		if st != nil {
			st.principal = p // the request context answers ownkey.PrincipalKey with it
		}
		slots := s.accountSlots(p.Account.ID)
		defer slots.Add(-1)
		if slots.Add(1) > s.cfg.Limits.MaxInFlightPerAccount {
			Error(w, r, s.accountBusy())
			return
		}
		if st == nil { // outside observe (a test's handler)
			r = r.WithContext(ownkey.NewContextWithAccount(r.Context(), p.Account, p.APIKey))
		}
		next.ServeHTTP(w, r)
	})
}

// callerKey is the ownkey API key a request presents: in its headers, or
// through the dashboard's session cookie when it has no key header. A
// cookie is sent by the browser whoever made the page that sends the
// request, so a request that changes something must prove it came from
// the dashboard's own page: the session's CSRF token in CSRFHeader (the
// cookie is SameSite=Strict too; the token also covers browsers and
// same-site pages that do not honour that).
func (s *Server) callerKey(r *http.Request) (string, error) {
	key := presentedKey(r)
	if key != "" || s.cfg.Sessions == nil {
		return key, nil
	}
	secret, csrf, ok := s.cfg.Sessions.SessionKey(r)
	if !ok {
		return "", nil // Authenticate says the key is missing
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
	default:
		if got := r.Header.Get(csrfHeader); got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(csrf)) != 1 {
			return "", &ownkey.Error{Code: ownkey.EFORBIDDEN, Reason: "csrf_token_invalid", Param: csrfHeader,
				Message: "this request came with the dashboard's session cookie but without the session's CSRF token in the " +
					csrfHeader + " header; reload the dashboard page, or send the API key in the Authorization header instead"}
		}
	}
	return secret.Reveal(), nil
}

// csrfHeader carries the dashboard session's CSRF token
// (dashboard.CSRFHeader).
const csrfHeader = "X-CSRF-Token"

func byteCount(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}
