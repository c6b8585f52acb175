// Package httpapi is ownkey's HTTP surface: the OpenAI-compatible API, the
// BYOK key management API, the admin API, health and metrics. It speaks
// net/http only; the domain knows nothing of it.
package httpapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/jsonvalid"
	"github.com/ownkey/ownkey/usage"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/trace"
)

// Config is what the server needs from the outside: the services it
// calls, declared in the root package, and its own settings.
type Config struct {
	// Store is pinged by /readyz.
	Store    Pinger
	Accounts ownkey.AccountService
	Vault    ownkey.CredentialService
	// Platform holds the operator's provider keys (admin API; /v1/models
	// lists what they reach); nil: none.
	Platform ownkey.PlatformKeyService
	Chat     ownkey.ChatService
	// WebSearch serves /api/web (websearch.Service); nil answers it 503.
	WebSearch ownkey.WebSearchService
	Validator ownkey.KeyValidator
	// Spend tells the key list what the spend caps count so far; nil
	// shows no spend.
	Spend ownkey.SpendMeter
	// Reports serves /api/v1/usage and its export (the store).
	Reports ownkey.UsageReporter
	// Balances serve the balance endpoints and the admin's credits and
	// debits (billing.Ledger); nil answers them 503.
	Balances ownkey.BalanceService
	Logger   *slog.Logger
	// Registry receives the HTTP and chat metrics and is served on
	// /metrics.
	Registry *prometheus.Registry
	// MetricsToken, if set, is the bearer token /metrics requires
	// (OWNKEY_METRICS_TOKEN).
	MetricsToken string
	// MetricsElsewhere leaves /metrics off this server's routes: the
	// caller serves MetricsHandler on a listener of its own
	// (OWNKEY_METRICS_ADDR).
	MetricsElsewhere bool
	// Tracer, if set, traces each request (one server span; the chat
	// service adds the upstream call as a child); nil traces nothing and
	// costs nothing (package telemetry).
	Tracer trace.Tracer
	// MaxBodyBytes bounds request bodies (chat requests carry images).
	MaxBodyBytes int64
	// MaxJSONDepth bounds the nesting of every JSON body a client sends
	// and of the provider JSON the adapters parse (OWNKEY_MAX_JSON_DEPTH);
	// zero means jsonvalid.DefaultMaxDepth.
	MaxJSONDepth int
	// AccessLog logs one line per request at Info.
	AccessLog bool
	// AccessLogJSON, when set, is where the access lines are written
	// straight, as the JSON lines slog's JSONHandler would write, rather
	// than through Logger: it must be the writer Logger's JSON handler
	// writes to, and take each Write whole (the process's log writer,
	// which is locked), so that the lines interleave whole.
	AccessLogJSON io.Writer
	// Usage is the chat service's usage recorder; /readyz reports its
	// backlog when it has one (usage.Recorder).
	Usage ownkey.UsageRecorder
	// AllowPrivate lets user-supplied endpoints reach private addresses
	// (OWNKEY_ALLOW_PRIVATE_UPSTREAMS; tests use it for local fakes).
	AllowPrivate bool
	// Limits bound connections, requests in flight, body read and write
	// times and body memory (limits.go); zero fields take the defaults.
	Limits Limits
	// Prices is the price catalog (package prices): /v1/models reads it,
	// the admin price endpoints change it. nil: the built-in catalog,
	// read-only.
	Prices ownkey.PriceService
	// Markup is the BYOK markup rate (OWNKEY_BYOK_MARKUP) that
	// /v1/models?detailed=true shows.
	Markup ownkey.PPM
	// PlatformMargin is the rate /v1/models?detailed=true shows for a
	// model a platform key serves (OWNKEY_PLATFORM_MARGIN).
	PlatformMargin ownkey.PPM
	// Sessions, if set, lets a request without an API key header
	// authenticate with the dashboard's session cookie; one that changes
	// something must then carry the session's CSRF token
	// (dashboard.Sessions).
	Sessions Sessions
	// CORSOrigins are the origins whose pages may call the API from a
	// browser (OWNKEY_CORS_ORIGINS, ParseCORSOrigins; "*": any); empty:
	// CORS off (cors.go).
	CORSOrigins []string
	// Dashboard, if set, adds the dashboard's pages to the routes
	// (dashboard.Dashboard): `/` then serves it instead of a 404.
	Dashboard Routes
}

// Sessions resolves the dashboard's session cookie (dashboard.Sessions).
type Sessions interface {
	// SessionKey returns the ownkey API key r's session was opened with
	// and the CSRF token its state changes must carry; ok is false
	// without a valid, unexpired session.
	SessionKey(r *http.Request) (key ownkey.Secret, csrf string, ok bool)
}

// Routes registers handlers of its own on the server's mux. They are
// listed with the server's own routes (Server.Patterns), so each needs its
// entry in the OpenAPI document (openapi.go).
type Routes interface {
	Register(mux Mux)
}

// Pinger is the database as /readyz sees it (ownkey.Store).
type Pinger interface {
	Ping(ctx context.Context) error
}

// Server routes requests. Create with New; serve Handler().
type Server struct {
	cfg     Config
	mux     *routeMux
	handler http.Handler
	// openAPI is the OpenAPI document, built once (openapi.go).
	openAPI []byte
	metrics *httpMetrics
	// chatMetrics are the chat requests' (chatmetrics.go).
	chatMetrics *chatMetrics
	draining    atomic.Bool
	// inflight counts the requests being served (Limits.MaxInFlight),
	// perAccount each account's (int64 id -> *atomic.Int64), bodies the
	// memory held by chat bodies.
	inflight   atomic.Int64
	perAccount sync.Map
	bodies     bodyBudget
}

// New builds the server and its routes.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 32 << 20
	}
	cfg.Limits.setDefaults(cfg.MaxBodyBytes)
	cfg.MaxJSONDepth = jsonvalid.Depth(cfg.MaxJSONDepth)
	s := &Server{cfg: cfg, mux: newRouteMux()}
	s.bodies.max = cfg.Limits.MaxBodyMemory
	s.metrics = newHTTPMetrics(cfg.Registry, func() float64 { return float64(s.inflight.Load()) })
	s.chatMetrics = newChatMetrics(cfg.Registry)
	cfg.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "ownkey_request_body_memory_bytes",
		Help: "Bytes reserved by the chat request bodies in flight (bounded by OWNKEY_MAX_BODY_MEMORY).",
	}, func() float64 { return float64(s.bodies.used.Load()) }))
	s.routes()
	s.openAPI = s.openAPIDocument()
	var h http.Handler = s.mux
	// CORS only when the operator allows origins: off, it costs nothing.
	if cors := newCORSPolicy(cfg.CORSOrigins); cors != nil {
		h = cors.handler(h, s.allowed)
	}
	s.handler = s.observe(h)
	return s
}

// Handler is the root handler with all middleware.
func (s *Server) Handler() http.Handler { return s.handler }

// Drain makes /readyz fail so that load balancers stop sending traffic
// before shutdown.
func (s *Server) Drain() { s.draining.Store(true) }

func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	m.HandleFunc("GET /readyz", s.handleReady)
	if !s.cfg.MetricsElsewhere {
		m.Handle("GET /metrics", s.MetricsHandler())
	}
	m.HandleFunc("GET /openapi.json", s.handleOpenAPI)

	small := int64(64 << 10) // key management bodies are tiny
	user := func(pattern string, limit int64, h http.HandlerFunc) {
		m.Handle(pattern, s.authenticate(limitBody(limit, h)))
	}
	// manage: changes to keys, limits and caps, which a key with limits
	// may not make (see requireUnlimitedKey).
	manage := func(pattern string, h http.HandlerFunc) {
		m.Handle(pattern, s.authenticate(limitBody(small, requireUnlimitedKey(h))))
	}
	admin := func(pattern string, h http.HandlerFunc) {
		m.Handle(pattern, s.authenticate(limitBody(small, requireAdmin(requireUnlimitedKey(h)))))
	}

	user("GET /api/user/provider-keys", small, s.handleListProviderKeys)
	manage("POST /api/user/provider-keys", s.handlePutProviderKey)
	manage("PATCH /api/user/provider-keys", s.handlePatchProviderKey)
	manage("DELETE /api/user/provider-keys", s.handleDeleteProviderKey)
	user("POST /api/user/provider-keys/validate", small, s.handleValidateProviderKey)
	user("GET /api/user/me", small, s.handleMe)
	user("GET /api/user/api-keys", small, s.handleListOwnAPIKeys)
	manage("POST /api/user/api-keys", s.handleCreateOwnAPIKey)
	manage("PATCH /api/user/api-keys/{id}", s.handleUpdateOwnAPIKey)
	manage("DELETE /api/user/api-keys/{id}", s.handleRevokeOwnAPIKey)
	user("GET /api/v1/usage", small, s.handleUsage)
	user("GET /api/v1/usage/export", small, s.handleUsageExport)

	// The OpenAI-compatible API, also under /v1 for SDKs configured with
	// base_url=http://host/v1.
	for _, prefix := range []string{"/api/v1", "/v1"} {
		m.Handle("POST "+prefix+"/chat/completions", s.authenticate(limitBody(s.cfg.MaxBodyBytes, http.HandlerFunc(s.handleChat))))
		m.Handle("POST "+prefix+"/responses", s.authenticate(limitBody(s.cfg.MaxBodyBytes, http.HandlerFunc(s.handleResponses))))
		for _, method := range []string{"GET", "POST", "DELETE"} {
			user(method+" "+prefix+"/responses/{rest...}", small, handleNoStoredResponses)
		}
		user("GET "+prefix+"/models", small, s.handleModels)
		// The Anthropic Messages API (httpapi/messages.go).
		m.Handle("POST "+prefix+"/messages", s.authenticate(limitBody(s.cfg.MaxBodyBytes, http.HandlerFunc(s.handleMessages))))
		m.Handle("POST "+prefix+"/messages/count_tokens", s.authenticate(limitBody(s.cfg.MaxBodyBytes, http.HandlerFunc(s.handleCountTokens))))
	}
	// Web search with the account's own search keys (httpapi/web.go),
	// also under the product's Data API name.
	for _, p := range []string{"/api/web", "/api/v1/web", "/api/v1/data/web/search"} {
		user("POST "+p, small, s.handleWeb)
	}
	user("GET /api/v1/balance", small, s.handleBalance)
	user("POST /api/check-balance", small, s.handleBalance)

	admin("GET /api/admin/accounts", s.handleListAccounts)
	admin("POST /api/admin/accounts", s.handleCreateAccount)
	admin("GET /api/admin/accounts/{id}", s.handleGetAccount)
	admin("PATCH /api/admin/accounts/{id}", s.handleRenameAccount)
	admin("GET /api/admin/accounts/{id}/api-keys", s.handleListAPIKeys)
	admin("POST /api/admin/accounts/{id}/api-keys", s.handleCreateAPIKey)
	admin("PATCH /api/admin/accounts/{id}/api-keys/{key}", s.handleUpdateAPIKey)
	admin("DELETE /api/admin/accounts/{id}/api-keys/{key}", s.handleRevokeAPIKey)
	admin("PUT /api/admin/prices/{provider}/{model...}", s.handlePutPrice)
	admin("DELETE /api/admin/prices/{provider}/{model...}", s.handleDeletePrice)
	admin("GET /api/admin/platform-keys", s.handleListPlatformKeys)
	admin("GET /api/admin/platform-keys/{provider}", s.handleGetPlatformKey)
	admin("PUT /api/admin/platform-keys/{provider}", s.handlePutPlatformKey)
	admin("DELETE /api/admin/platform-keys/{provider}", s.handleDeletePlatformKey)
	admin("POST /api/admin/accounts/{id}/credit", s.handleCredit)
	admin("POST /api/admin/accounts/{id}/debit", s.handleDebit)

	if s.cfg.Dashboard != nil {
		s.cfg.Dashboard.Register(m)
	}
	m.HandleFunc("/", s.notFound)
}

// MetricsHandler serves the metrics in Prometheus' text format, behind the
// bearer token MetricsToken when one is set (compared in constant time; a
// missing or wrong token is a 401).
func (s *Server) MetricsHandler() http.Handler {
	h := promhttp.HandlerFor(s.cfg.Registry, promhttp.HandlerOpts{})
	if s.cfg.MetricsToken == "" {
		return h
	}
	want := sha256.Sum256([]byte(s.cfg.MetricsToken))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := sha256.Sum256([]byte(presentedKey(r)))
		if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="ownkey metrics"`)
			Error(w, r, &ownkey.Error{Code: ownkey.EUNAUTHORIZED, Reason: "metrics_token_required",
				Message: "/metrics requires the metrics token (OWNKEY_METRICS_TOKEN) as Authorization: Bearer <token>"})
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "draining"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.cfg.Store.Ping(ctx); err != nil {
		logger(r).Warn("readiness check failed", "err", err.Error())
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "database unavailable"})
		return
	}
	ready := readiness{Status: "ready"}
	status := http.StatusOK
	if u, ok := s.cfg.Usage.(usageBacklogger); ok {
		b := u.Backlog()
		ready.UsageBacklog = &b
		switch {
		case b.SpillFailing:
			// Usage records can be put nowhere: requests will soon block.
			ready.Status = "usage records cannot be stored"
			status = http.StatusServiceUnavailable
		case b.Degraded():
			// Still serving: records wait on disk for the database.
			ready.Status = "degraded"
		}
	}
	writeJSON(w, status, ready)
}

// readiness is /readyz's answer.
type readiness struct {
	Status       string         `json:"status"`
	UsageBacklog *usage.Backlog `json:"usage_backlog,omitempty"`
}

// usageBacklogger is an ownkey.UsageRecorder that reports what it has not stored
// yet (usage.Recorder).
type usageBacklogger interface {
	Backlog() usage.Backlog
}

// limitBody caps the request body; decodeJSON turns an overrun into 413.
func limitBody(n int64, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > n {
			Error(w, r, &ownkey.Error{Code: ownkey.ETOOLARGE, Reason: "request_too_large",
				Message: "request body is larger than the limit of " + byteCount(n)})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, n)
		h.ServeHTTP(w, r)
	})
}

// requireUnlimitedKey refuses changes to keys, limits and caps to an API
// key that has limits of its own. Limits and spend caps are there for keys
// handed to scripts and apps; if such a key could raise its own limit,
// create a key without one or lift a spend cap (or delete the provider key
// and store it again without), a leaked or runaway one would not be held
// by them. Reading (lists, reports) and chat stay open to it.
func requireUnlimitedKey(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := ownkey.PrincipalFromContext(r.Context()); r.Method != http.MethodGet && p != nil && p.APIKey != nil &&
			(p.APIKey.Limits.USDPerDay != nil || p.APIKey.Limits.RequestsPerDay != nil) {
			Error(w, r, &ownkey.Error{Code: ownkey.EFORBIDDEN, Reason: "limited_api_key",
				Message: "this API key has daily limits, so it cannot change API keys, limits, provider keys or spend caps; use a key without limits"})
			return
		}
		h.ServeHTTP(w, r)
	})
}

func requireAdmin(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := ownkey.PrincipalFromContext(r.Context()); p == nil || !p.Account.IsAdmin() {
			Error(w, r, &ownkey.Error{Code: ownkey.EFORBIDDEN, Reason: "admin_required",
				Message: "this endpoint requires an admin account"})
			return
		}
		h.ServeHTTP(w, r)
	})
}
