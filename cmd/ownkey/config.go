package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/httpapi"
	"github.com/ownkey/ownkey/jsonvalid"
	"github.com/ownkey/ownkey/sqlstore"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// config is everything the commands read from flags and the environment.
// Flags win over environment variables, which win over defaults.
type config struct {
	Addr          string
	DataDir       string
	DatabaseURL   string
	MasterKey     string // OWNKEY_MASTER_KEY: a keyring, never logged
	MasterKeyFile string
	LogLevel      string
	LogFormat     string
	AccessLog     bool
	// accessLogJSON is the writer the JSON log handler writes to, where
	// the access lines go straight (httpapi.Config.AccessLogJSON); nil
	// for the text format. Set by serve, not from the environment.
	accessLogJSON io.Writer
	AllowPrivate  bool
	Disabled      map[string]bool
	MaxBodyBytes  int64
	// DatabaseMaxConns caps the PostgreSQL pool (OWNKEY_DATABASE_MAX_CONNS).
	DatabaseMaxConns int
	// UsageWriteTimeout is how long a usage batch may wait on the store
	// before it is spilled to disk (OWNKEY_USAGE_WRITE_TIMEOUT).
	UsageWriteTimeout time.Duration
	// MaxJSONDepth bounds JSON nesting from clients and providers (OWNKEY_MAX_JSON_DEPTH).
	MaxJSONDepth int
	// SpendResync is how often the spend limits read what every replica
	// spent from the ledger (OWNKEY_SPEND_RESYNC_INTERVAL).
	SpendResync time.Duration
	// StartingCredit is the balance new metered accounts start with
	// (OWNKEY_STARTING_CREDIT_USD).
	StartingCredit ownkey.NanoUSD

	UpstreamDialTimeout   time.Duration
	UpstreamHeaderTimeout time.Duration
	// StreamIdleTimeout ends a stream whose provider sends nothing for
	// this long.
	StreamIdleTimeout time.Duration
	ShutdownTimeout   time.Duration
	GCHeapFloor       int64 // OWNKEY_GC_HEAP_FLOOR: internal/heapfloor
	// Limits bound connections, requests in flight, body and write times
	// and body memory; zero fields take httpapi's defaults.
	Limits httpapi.Limits
	// BYOKMarkup is the rate taken on the at-cost price of a BYOK request
	// (OWNKEY_BYOK_MARKUP, an exact decimal fraction; default 0.05).
	BYOKMarkup ownkey.PPM
	// PlatformMargin is billed on top of the at-cost price of requests
	// served with a platform key (OWNKEY_PLATFORM_MARGIN, default 0).
	PlatformMargin ownkey.PPM
	// WebSearchFee is charged per web search on top of what the search
	// provider bills the key's owner (OWNKEY_WEB_SEARCH_FEE_USD, exact
	// dollars; default 0: BYOK search carries no markup).
	WebSearchFee ownkey.NanoUSD
	// WebSearchTimeout bounds one web search (OWNKEY_WEB_SEARCH_TIMEOUT).
	WebSearchTimeout time.Duration
	// SessionLifetime is how long a dashboard sign-in lasts
	// (OWNKEY_SESSION_LIFETIME); SecureCookies marks its cookie Secure
	// behind a TLS-terminating proxy (OWNKEY_SECURE_COOKIES); PublicURL is
	// the address the dashboard's examples show (OWNKEY_PUBLIC_URL).
	SessionLifetime time.Duration
	SecureCookies   bool
	PublicURL       string
	// CORSOrigins are the origins whose pages may call the API from a
	// browser (OWNKEY_CORS_ORIGINS); none: CORS off.
	CORSOrigins []string

	// MetricsToken, if set, is the bearer token /metrics requires
	// (OWNKEY_METRICS_TOKEN); MetricsAddr, if set, serves /metrics on a
	// listener of its own instead of the API's (OWNKEY_METRICS_ADDR).
	MetricsToken string
	MetricsAddr  string
	// Tracing is the tracer provider when traces are exported
	// (OTEL_EXPORTER_OTLP_ENDPOINT; telemetry.FromEnv), nil when off.
	Tracing *sdktrace.TracerProvider
}

// readObservability reads the metrics settings (OWNKEY_METRICS_TOKEN,
// OWNKEY_METRICS_ADDR). The OpenTelemetry variables are read by
// telemetry.FromEnv and the SDK.
func (c *config) readObservability() error {
	c.MetricsToken, _ = env("OWNKEY_METRICS_TOKEN")
	if c.MetricsToken != "" && len(c.MetricsToken) < 16 {
		return fmt.Errorf("OWNKEY_METRICS_TOKEN is %d characters long: use at least 16 (e.g. openssl rand -hex 16)", len(c.MetricsToken))
	}
	addr, _ := env("OWNKEY_METRICS_ADDR")
	c.MetricsAddr = strings.TrimSpace(addr)
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			return fmt.Errorf("OWNKEY_METRICS_ADDR=%q is not a listen address such as 127.0.0.1:9090: %w", c.MetricsAddr, err)
		}
	}
	return nil
}

// envRate reads a rate written as an exact decimal fraction (0.05 for 5%),
// as ownkey.ParseRate reads it.
func envRate(name string) (ownkey.PPM, error) {
	v := envDefault(name)
	r, err := ownkey.ParseRate(v)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, cliError(err))
	}
	return r, nil
}

// envOr reads a setting, else its default in the table.
func envOr(name string) string { return envDefault(name) }

func envBool(name string) bool {
	v := envDefault(name)
	b, err := strconv.ParseBool(v)
	if err != nil {
		fatalf("%s=%q is not a boolean (true/false)", name, v)
	}
	return b
}

func envDuration(name string) time.Duration {
	v := envDefault(name)
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		fatalf("%s=%q is not a positive duration such as 30s or 10m", name, v)
	}
	return d
}

// envCount reads a positive integer (a count or a byte size); def is for
// a setting whose default is derived (Shown in the table).
func envCount(name string, def ...int64) int64 {
	v, ok := env(name)
	if !ok {
		if len(def) > 0 {
			return def[0]
		}
		v = settingByName[name].Default
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		fatalf("%s=%q is not a positive whole number", name, v)
	}
	return n
}

// envBytesOrZero reads a whole number of bytes, zero allowed (it turns the
// setting off).
func envBytesOrZero(name string) int64 {
	v := envDefault(name)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		fatalf("%s=%q is not a whole number of bytes (0 turns it off)", name, v)
	}
	return n
}

// envUSD reads an exact decimal amount of dollars (no float).
func envUSD(name string) ownkey.NanoUSD {
	v := envDefault(name)
	n, err := ownkey.ParseUSD(name, v)
	if err != nil {
		fatalf("%s=%q is not an amount of dollars such as 5 or 0.25 (at most 9 decimals)", name, v)
	}
	return n
}

// readServe reads the settings only serve uses (Serve in the table).
func (c *config) readServe() error {
	c.AccessLog = envBool("OWNKEY_ACCESS_LOG")
	c.UpstreamDialTimeout = envDuration("OWNKEY_UPSTREAM_CONNECT_TIMEOUT")
	c.UpstreamHeaderTimeout = envDuration("OWNKEY_UPSTREAM_TIMEOUT")
	c.StreamIdleTimeout = envDuration("OWNKEY_UPSTREAM_IDLE_TIMEOUT")
	c.ShutdownTimeout = envDuration("OWNKEY_SHUTDOWN_TIMEOUT")
	c.UsageWriteTimeout = envDuration("OWNKEY_USAGE_WRITE_TIMEOUT")
	c.SpendResync = envDuration("OWNKEY_SPEND_RESYNC_INTERVAL")
	c.MaxBodyBytes = envCount("OWNKEY_MAX_BODY_BYTES")
	c.GCHeapFloor = envBytesOrZero("OWNKEY_GC_HEAP_FLOOR")
	c.SessionLifetime = envDuration("OWNKEY_SESSION_LIFETIME")
	c.SecureCookies = envBool("OWNKEY_SECURE_COOKIES")
	public, _ := env("OWNKEY_PUBLIC_URL")
	c.PublicURL = strings.TrimRight(public, "/")
	if c.PublicURL != "" {
		if err := absoluteHTTPURL(c.PublicURL); err != nil {
			return fmt.Errorf("OWNKEY_PUBLIC_URL: %w", err)
		}
	}
	origins, _ := env("OWNKEY_CORS_ORIGINS")
	var err error
	if c.CORSOrigins, err = httpapi.ParseCORSOrigins(origins); err != nil {
		return fmt.Errorf("OWNKEY_CORS_ORIGINS: %w", err)
	}
	if err := c.readLimits(); err != nil {
		return err
	}
	if c.BYOKMarkup, err = envRate("OWNKEY_BYOK_MARKUP"); err != nil {
		return err
	}
	if c.PlatformMargin, err = envRate("OWNKEY_PLATFORM_MARGIN"); err != nil {
		return err
	}
	c.WebSearchFee = envUSD("OWNKEY_WEB_SEARCH_FEE_USD")
	c.WebSearchTimeout = envDuration("OWNKEY_WEB_SEARCH_TIMEOUT")
	depth := envCount("OWNKEY_MAX_JSON_DEPTH")
	if depth > jsonvalid.MaxDepthCeiling {
		return fmt.Errorf("OWNKEY_MAX_JSON_DEPTH=%d is deeper than %d, the most any JSON parser here accepts", depth, jsonvalid.MaxDepthCeiling)
	}
	c.MaxJSONDepth = int(depth)
	return nil
}

// absoluteHTTPURL refuses what is not an absolute http(s) URL with a host
// (a bare host name, a relative path, another scheme). The error does not
// quote the value, which may carry a password.
func absoluteHTTPURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return fmt.Errorf("not a URL")
	case u.Scheme != "http" && u.Scheme != "https", u.Host == "":
		return fmt.Errorf("not an absolute http(s) URL (such as https://llm.example.com)")
	case u.User != nil:
		return fmt.Errorf("must not carry a user name or password")
	}
	return nil
}

// readLimits reads the serving limits (after MaxBodyBytes, which sizes the
// default body memory).
func (c *config) readLimits() error {
	c.Limits = httpapi.Limits{
		MaxConnections:        envCount("OWNKEY_MAX_CONNECTIONS"),
		MaxInFlight:           envCount("OWNKEY_MAX_IN_FLIGHT"),
		MaxInFlightPerAccount: envCount("OWNKEY_MAX_IN_FLIGHT_PER_ACCOUNT"),
		BodyReadTimeout:       envDuration("OWNKEY_BODY_READ_TIMEOUT"),
		BodyMinRate:           envCount("OWNKEY_BODY_MIN_RATE"),
		WriteTimeout:          envDuration("OWNKEY_WRITE_TIMEOUT"),
		MaxBodyMemory:         envCount("OWNKEY_MAX_BODY_MEMORY", httpapi.DefaultBodyMemoryFactor*c.MaxBodyBytes),
	}
	if least := httpapi.MinBodyMemory(c.MaxBodyBytes); c.Limits.MaxBodyMemory < least {
		return fmt.Errorf("OWNKEY_MAX_BODY_MEMORY=%d is too small for OWNKEY_MAX_BODY_BYTES=%d: a body of the largest size allowed could never be read (at least %d)",
			c.Limits.MaxBodyMemory, c.MaxBodyBytes, least)
	}
	return nil
}

// storageFlags registers the flags every command that opens the database
// shares, so that the CLI works against the same data as the server, and
// reads the settings every such command uses.
func storageFlags(fs *flag.FlagSet, c *config) {
	fs.StringVar(&c.DataDir, "data-dir", envOr("OWNKEY_DATA_DIR"),
		"directory for the SQLite database and the master key file (env OWNKEY_DATA_DIR)")
	fs.StringVar(&c.DatabaseURL, "database-url", envOr("OWNKEY_DATABASE_URL"),
		"postgres://… to use PostgreSQL; default: SQLite at <data-dir>/ownkey.db (env OWNKEY_DATABASE_URL)")
	c.LogLevel = envOr("OWNKEY_LOG_LEVEL")
	c.LogFormat = envOr("OWNKEY_LOG_FORMAT")
	c.AllowPrivate = envBool("OWNKEY_ALLOW_PRIVATE_UPSTREAMS")
	c.DatabaseMaxConns = int(envCount("OWNKEY_DATABASE_MAX_CONNS"))
	c.StartingCredit = envUSD("OWNKEY_STARTING_CREDIT_USD")
	c.Disabled = map[string]bool{}
	v, _ := env("OWNKEY_DISABLED_PROVIDERS")
	for _, id := range strings.Split(v, ",") {
		if id = strings.TrimSpace(id); id != "" {
			c.Disabled[id] = true
		}
	}
}

// keyFlags registers the master key's flag and setting, for the commands
// that open sealed keys (serve, platform-keys, rotate-master-key).
func keyFlags(fs *flag.FlagSet, c *config) {
	fs.StringVar(&c.MasterKeyFile, "master-key-file", envOr("OWNKEY_MASTER_KEY_FILE"),
		"master keyring file; default <data-dir>/master.key, ignored when OWNKEY_MASTER_KEY is set (env OWNKEY_MASTER_KEY_FILE)")
	c.MasterKey, _ = env("OWNKEY_MASTER_KEY")
}

// resolve fills derived defaults after flags are parsed.
func (c *config) resolve() {
	if c.DatabaseURL == "" {
		c.DatabaseURL = filepath.Join(c.DataDir, "ownkey.db")
	}
	if c.MasterKeyFile == "" {
		c.MasterKeyFile = filepath.Join(c.DataDir, "master.key")
	}
}

// check refuses settings that would otherwise be taken silently for
// something else: a database URL of a scheme ownkey does not speak (which
// would have become a SQLite file named after it), a log level or format
// it does not know, an unknown disabled provider.
func (c *config) check() error {
	if _, _, err := sqlstore.ResolveDSN(c.DatabaseURL); err != nil {
		return fmt.Errorf("OWNKEY_DATABASE_URL (--database-url): %w", err)
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return fmt.Errorf("OWNKEY_LOG_LEVEL=%q is not one of debug, info, warn, error", c.LogLevel)
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		return fmt.Errorf("OWNKEY_LOG_FORMAT=%q is not json or text", c.LogFormat)
	}
	for id := range c.Disabled {
		if _, ok := ownkey.LookupProvider(id); !ok {
			return fmt.Errorf("OWNKEY_DISABLED_PROVIDERS names unknown provider %q", id)
		}
	}
	return nil
}

func (c *config) usesSQLite() bool {
	dialect, _, err := sqlstore.ResolveDSN(c.DatabaseURL)
	return err == nil && dialect == "sqlite"
}

// baseURLs reads the operator's base URL overrides
// (OWNKEY_<PROVIDER>_BASE_URL); provider.NewFamilies checks them.
func baseURLs() ownkey.BaseURLs {
	return ownkey.BaseURLsFromEnv(func(name string) string {
		v, _ := env(name)
		return v
	})
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "ownkey: "+format+"\n", args...)
	os.Exit(1)
}
