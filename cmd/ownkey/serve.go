package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/accounts"
	"github.com/ownkey/ownkey/billing"
	"github.com/ownkey/ownkey/chat"
	"github.com/ownkey/ownkey/dashboard"
	"github.com/ownkey/ownkey/egress"
	"github.com/ownkey/ownkey/httpapi"
	"github.com/ownkey/ownkey/internal/heapfloor"
	"github.com/ownkey/ownkey/prices"
	"github.com/ownkey/ownkey/provider"
	"github.com/ownkey/ownkey/provider/anthropic"
	"github.com/ownkey/ownkey/provider/azure"
	"github.com/ownkey/ownkey/provider/bedrock"
	"github.com/ownkey/ownkey/provider/gemini"
	"github.com/ownkey/ownkey/provider/openaicompat"
	"github.com/ownkey/ownkey/provider/responses"
	"github.com/ownkey/ownkey/spend"
	"github.com/ownkey/ownkey/sqlstore"
	"github.com/ownkey/ownkey/telemetry"
	"github.com/ownkey/ownkey/usage"
	"github.com/ownkey/ownkey/vault"
	"github.com/ownkey/ownkey/websearch"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.opentelemetry.io/otel/trace"
)

func runServe(args []string) error {
	c := &config{}
	fs := newFlagSet("serve", "ownkey serve: run the gateway (HTTP API, BYOK key vault, dashboard).\n"+
		"Every setting is also an environment variable; \"ownkey --help\" lists them all.")
	fs.StringVar(&c.Addr, "addr", envOr("OWNKEY_ADDR"), "listen address (env OWNKEY_ADDR)")
	storageFlags(fs, c)
	keyFlags(fs, c)
	_ = fs.Parse(args)
	if fs.NArg() > 0 {
		return fmt.Errorf("serve takes no arguments, got %q (flags are --addr, --data-dir, --database-url, --master-key-file)", fs.Arg(0))
	}
	c.resolve()
	if err := c.readServe(); err != nil {
		return err
	}
	if err := c.readObservability(); err != nil {
		return err
	}
	if err := c.check(); err != nil {
		return err
	}
	logOut := newLogWriter(os.Stderr, logFlushAfter)
	defer logOut.Close() // after app.Close, which logs
	log := newLogger(c, logOut)
	if c.LogFormat != "text" {
		c.accessLogJSON = logOut
	}
	slog.SetDefault(log)
	warnUnknownVariables(log.Warn, os.Environ())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var err error
	if c.Tracing, err = telemetry.FromEnv(ctx, os.Getenv, version); err != nil {
		return err
	}
	if c.Tracing != nil {
		defer func() {
			// After app.Close: the spans of the requests that drained.
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := c.Tracing.Shutdown(sctx); err != nil {
				log.Warn("flushing the traces at exit failed", "err", err.Error())
			}
		}()
		log.Info("tracing: exporting spans over OTLP/HTTP")
	}

	app, err := newApp(ctx, c, log)
	if err != nil {
		return err
	}
	defer app.Close()
	// After the start's one-off allocations (migrations, the catalog, the
	// templates), which the collector keeps to the runtime's own pace.
	defer startHeapFloor(c, log).Stop()

	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", c.Addr, err)
	}
	// From here on the address bound, a :0 port resolved, so that the
	// banner's and the log's dashboard URL are ones that answer.
	c.Addr = ln.Addr().String()
	if err := bootstrapAdmin(ctx, app, c, os.Stdout); err != nil {
		ln.Close()
		return err
	}
	ln = httpapi.LimitListener(ln, c.Limits.MaxConnections, c.Limits.WriteTimeout)
	srv := &http.Server{
		Handler:           app.server.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("ownkey listening", "addr", ln.Addr().String(), "database", redactURL(c.DatabaseURL),
		"dashboard", dashboardURL(c), "version", version)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	if c.MetricsAddr != "" {
		msrv, _, err := serveMetrics(c.MetricsAddr, app.server, log)
		if err != nil {
			_ = srv.Close()
			return err
		}
		defer msrv.Close()
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Graceful shutdown: fail readiness, stop accepting, let in-flight
	// requests (streams included) finish within the timeout.
	log.Info("shutting down", "timeout", c.ShutdownTimeout.String())
	app.server.Drain()
	sctx, cancel := context.WithTimeout(context.Background(), c.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("shutdown did not finish cleanly", "err", err.Error())
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// serveMetrics serves /metrics alone on addr (OWNKEY_METRICS_ADDR), e.g. an
// address only the monitoring network reaches; the API's listener then
// does not serve it.
func serveMetrics(addr string, api *httpapi.Server, log *slog.Logger) (*http.Server, net.Addr, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("OWNKEY_METRICS_ADDR: listening on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", api.MetricsHandler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	go func() { _ = srv.Serve(ln) }()
	log.Info("metrics listening", "addr", ln.Addr().String())
	return srv, ln.Addr(), nil
}

// app is the wired-up gateway.
type app struct {
	store      ownkey.Store
	usageStore ownkey.UsageStore
	vault      *vault.Service
	accounts   *accounts.Service
	usage      *usage.Recorder
	limits     *spend.Limiter
	ledger     *billing.Ledger
	chat       *chat.Service
	server     *httpapi.Server
	// prices is the price catalog and the ownkey.PriceBook.
	prices *prices.Book
	// stopFeed stops the change feed's listener and waits for it.
	stopFeed func()
}

func newApp(ctx context.Context, c *config, log *slog.Logger) (*app, error) {
	// The provider families first: a mistyped base URL override refuses to
	// start before anything is opened or written.
	clients := egress.New(egress.Options{
		DialTimeout: c.UpstreamDialTimeout, ResponseHeaderTimeout: c.UpstreamHeaderTimeout, AllowPrivate: c.AllowPrivate,
	})
	families, err := newFamilies(c, clients, baseURLs())
	if err != nil {
		return nil, err
	}
	db, err := openStore(ctx, c, log)
	if err != nil {
		return nil, err
	}
	kr, created, err := loadKeyring(ctx, c, log, db)
	if err != nil {
		db.Close()
		return nil, err
	}
	var reload func() (*vault.Keyring, error)
	if c.MasterKey == "" {
		// rotate-master-key may add a version to the file while we serve.
		reload = func() (*vault.Keyring, error) { return vault.LoadKeyFile(c.MasterKeyFile) }
	}
	// The change feed tells the other replicas (and hears from them, and
	// from CLI commands) which cached keys went stale.
	feed := db.ChangeFeed(sqlstore.FeedOptions{Logger: log})
	vs := vault.NewService(db, kr, vault.Options{
		AllowPrivate: c.AllowPrivate, Disabled: c.Disabled, Reload: reload, Logger: log, Changes: feed,
	})
	// Before anything else is written (the first admin account): a replica
	// whose key is not the one the database recorded stops here.
	if err := vs.VerifyKeyring(ctx); err != nil {
		vs.Close()
		db.Close()
		if errors.Is(err, vault.ErrKeyMismatch) {
			return nil, keyMismatchError(c, created, err)
		}
		return nil, err
	}
	// The ledger's journal, like the spill, holds what the database does
	// not have yet: it lives in the data directory, this replica's own.
	led, err := billing.Open(ctx, db, billing.Options{Dir: c.DataDir, Logger: log})
	if err != nil {
		vs.Close()
		db.Close()
		return nil, err
	}
	acc := accounts.New(db, accounts.Options{Logger: log, Changes: feed, StartingCredit: c.StartingCredit})
	// The price catalog: built-in, imported and the operator's prices; the
	// catalog it builds is also the one routing reads, and the price book
	// the ledger charges by.
	book := prices.New(prices.Options{Store: db, Changes: feed, Publish: ownkey.SetActiveModels, Logger: log})
	if err := book.Load(ctx); err != nil {
		_ = led.Close(ctx)
		acc.Close()
		vs.Close()
		db.Close()
		return nil, fmt.Errorf("reading the model prices: %w", err)
	}
	stopFeed := listenForChanges(feed, acc, vs, book)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// The spill holds usage records the database did not take in time: it
	// must be on a persistent volume, on PostgreSQL deployments too.
	rec, err := usage.NewRecorder(db, usage.Options{
		SpillDir: filepath.Join(c.DataDir, "usage-spill"), WriteTimeout: c.UsageWriteTimeout,
		Logger: log, Registerer: reg, Stored: led.Stored,
	})
	if err == nil {
		// Before serving: what a killed predecessor left is settled.
		if err = led.Recover(ctx, rec); err != nil {
			_ = rec.Close(ctx)
		}
	}
	if err != nil {
		_ = led.Close(ctx)
		stopFeed()
		acc.Close()
		vs.Close()
		db.Close()
		return nil, err
	}
	// The spend limits read every replica's spend from the ledger.
	limits := spend.New(db, spend.Options{Resync: c.SpendResync, Logger: log})
	// Web search: the account's own search keys, the operator's fee, a
	// ledger entry per search (/api/web and search-augmented chat).
	search := &websearch.Service{
		Vault: vs, Families: families, Ledger: led, Usage: rec, Limits: limits, Fee: c.WebSearchFee,
		Timeout: c.WebSearchTimeout, MaxJSONDepth: c.MaxJSONDepth, Logger: httpapi.Logger,
	}
	chatSvc := &chat.Service{
		Vault: vs, Platform: vs, Families: families, Usage: rec, Limits: limits, MaxJSONDepth: c.MaxJSONDepth, KeyHealth: vs,
		Prices: book, Markups: ownkey.Markups{BYOK: c.BYOKMarkup, Platform: c.PlatformMargin}, Ledger: led, WebSearch: search,
	}
	// The dashboard's sessions are sealed under a sub-key of the master
	// key: every replica with the key opens them, nothing is stored.
	sessions := dashboard.NewSessions(func() dashboard.Keys { return vs.Keyring() },
		dashboard.SessionOptions{Lifetime: c.SessionLifetime, Secure: c.SecureCookies})
	dash, err := dashboard.New(dashboard.Config{
		Accounts: acc, Vault: vs, Platform: vs, Reports: db, History: db, Balances: led, Prices: book,
		Sessions: sessions, Markup: c.BYOKMarkup, PlatformMargin: c.PlatformMargin, PublicURL: c.PublicURL, Logger: log,
	})
	if err != nil {
		_ = rec.Close(ctx)
		_ = led.Close(ctx)
		limits.Close()
		stopFeed()
		acc.Close()
		vs.Close()
		db.Close()
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	var tracer trace.Tracer // nil: no tracing, at no cost
	if c.Tracing != nil {
		tracer = c.Tracing.Tracer(telemetry.TracerName)
	}
	srv := httpapi.New(httpapi.Config{
		Store: db, Accounts: acc, Vault: vs, Platform: vs, Chat: chatSvc, WebSearch: search, Usage: rec, Balances: led, Logger: log, Registry: reg,
		MetricsToken: c.MetricsToken, MetricsElsewhere: c.MetricsAddr != "", Tracer: tracer,
		Spend: limits, Reports: db,
		Validator:    &provider.Validator{Clients: clients, Families: families, Logger: log},
		MaxBodyBytes: c.MaxBodyBytes, MaxJSONDepth: c.MaxJSONDepth, AccessLog: c.AccessLog, AccessLogJSON: c.accessLogJSON, AllowPrivate: c.AllowPrivate,
		Limits: c.Limits, Prices: book, Markup: c.BYOKMarkup, PlatformMargin: c.PlatformMargin,
		Sessions: sessions, Dashboard: dash, CORSOrigins: c.CORSOrigins,
	})
	return &app{store: db, usageStore: db, vault: vs, accounts: acc, usage: rec, limits: limits, ledger: led, chat: chatSvc,
		server: srv, prices: book, stopFeed: stopFeed}, nil
}

// newFamilies registers every provider wire family: what each provider's
// requests look like, for chat and for the key check. A new family is one
// package and one line here (and its providers in the catalog).
func newFamilies(c *config, clients *egress.Clients, baseURLs ownkey.BaseURLs) (*provider.Families, error) {
	userAgent := "ownkey/" + version
	compat := openaicompat.Adapter{Clients: clients, UserAgent: userAgent, StreamIdleTimeout: c.StreamIdleTimeout}
	search := websearch.Upstream{Clients: clients, UserAgent: userAgent}
	return provider.NewFamilies(baseURLs,
		openaicompat.Family{Adapter: &compat},
		anthropic.Family{Adapter: &anthropic.Adapter{Clients: clients, UserAgent: userAgent, StreamIdleTimeout: c.StreamIdleTimeout}},
		responses.Family{Adapter: &responses.Adapter{Clients: clients, UserAgent: userAgent, StreamIdleTimeout: c.StreamIdleTimeout}},
		azure.NewChat(compat), // openaicompat's pass-through at Azure's URLs
		azure.Responses{Adapter: &responses.Adapter{Clients: clients, UserAgent: userAgent, StreamIdleTimeout: c.StreamIdleTimeout}},
		bedrock.Family{Adapter: &bedrock.Adapter{Clients: clients, UserAgent: userAgent, StreamIdleTimeout: c.StreamIdleTimeout}},
		gemini.Family{Adapter: &gemini.Adapter{Clients: clients, UserAgent: userAgent, StreamIdleTimeout: c.StreamIdleTimeout}},
		websearch.Tavily{Upstream: search},
		websearch.Exa{Upstream: search},
		websearch.Kagi{Upstream: search},
		websearch.Perplexity{Upstream: search},
	)
}

// listenForChanges applies the changes other processes publish to this
// process's caches until the returned function is called. It runs until
// Close rather than until the shutdown signal, so that revocations still
// apply while in-flight requests drain. The price catalog reloads on its
// own goroutine (prices.Book.Run), which the feed only wakes.
func listenForChanges(feed ownkey.ChangeFeed, acc *accounts.Service, vs *vault.Service, book *prices.Book) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		_ = feed.Listen(ctx, func(c ownkey.Change) {
			acc.Changed(c)
			vs.Changed(c)
			book.Changed(c)
		})
	})
	wg.Go(func() { book.Run(ctx) })
	return func() { cancel(); wg.Wait() }
}

// keyMismatchError explains a refused start. A key file this start created
// is removed again: it never sealed anything, and leaving it would only make
// the next start fail the same way instead of the operator copying the
// right one into place.
func keyMismatchError(c *config, created bool, err error) error {
	where := "OWNKEY_MASTER_KEY"
	if c.MasterKey == "" {
		where = "master key file " + c.MasterKeyFile
		if created {
			if rmErr := os.Remove(c.MasterKeyFile); rmErr == nil {
				where += " (just generated, now removed again)"
			}
		}
	}
	return fmt.Errorf("refusing to start: the key in %s is not the master key this database was set up with "+
		"(another replica probably started first on it with its own key); nothing was written. "+
		"Give this replica the same key (copy the other replica's key file, or set OWNKEY_MASTER_KEY): %w", where, err)
}

// Close stops the background writers, storing what they hold, then closes
// the database. Call it after the HTTP server has stopped.
func (a *app) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.usage.Close(ctx); err != nil {
		slog.Error("usage records not all stored at shutdown", "err", err.Error())
	}
	// After the records: a lease goes back once its charges are stored.
	if err := a.ledger.Close(ctx); err != nil {
		slog.Error("closing the billing ledger", "err", err.Error())
	}
	a.limits.Close()
	a.stopFeed()
	a.accounts.Close()
	a.vault.Close()
	a.store.Close()
}

// bootstrapAdmin creates the first admin account on an empty database and
// prints its key once, to the terminal rather than to the log: logs are
// shipped and kept, and a key must never be in them.
func bootstrapAdmin(ctx context.Context, a *app, c *config, out io.Writer) error {
	n, err := a.store.CountAccounts(ctx)
	if err != nil || n > 0 {
		return err
	}
	acct := &ownkey.Account{Name: "admin", Role: ownkey.RoleAdmin}
	plain, _, created, err := a.accounts.CreateFirstAccount(ctx, acct, "bootstrap")
	if err != nil {
		return fmt.Errorf("creating the first admin account: %w", err)
	}
	if !created {
		return nil // another replica bootstrapped first
	}
	fmt.Fprintf(out, `
================================================================
 ownkey: created the first admin account (id %d).
 Its API key is shown ONCE; store it now:

   %s

 Dashboard:  %s  (sign in with this key)
 Try:        curl -H "Authorization: Bearer <key>" %sapi/user/provider-keys
================================================================

`, acct.ID, plain.Reveal(), dashboardURL(c), dashboardURL(c))
	return nil
}

// dashboardURL is where the dashboard answers: OWNKEY_PUBLIC_URL, else
// the listen address, with a wildcard host (":8080", "0.0.0.0:8080")
// written as localhost, which reaches it from the machine it runs on.
func dashboardURL(c *config) string {
	if c.PublicURL != "" {
		return c.PublicURL + "/"
	}
	host, port, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return "http://" + c.Addr + "/"
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	// ownkey itself speaks plain HTTP; behind a TLS proxy, OWNKEY_PUBLIC_URL
	// gives the address people use.
	return "http://" + net.JoinHostPort(host, port) + "/"
}

// defaultGCHeapFloor is the heap the collector may fill before it runs: a
// gateway's live heap is a few MiB, so at GOGC=100 alone it would collect
// every few hundred requests (internal/heapfloor says what that cost).
const defaultGCHeapFloor = 16 << 20

// startHeapFloor starts the collector's heap floor unless it is turned off
// or the operator set GOGC, whose choice then stands alone.
func startHeapFloor(c *config, log *slog.Logger) *heapfloor.Floor {
	if c.GCHeapFloor == 0 {
		return nil
	}
	if v := os.Getenv("GOGC"); v != "" {
		log.Info("GOGC is set, so OWNKEY_GC_HEAP_FLOOR is not applied", slog.String("gogc", v))
		return nil
	}
	return heapfloor.Start(uint64(c.GCHeapFloor))
}
