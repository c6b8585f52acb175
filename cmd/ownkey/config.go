package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/httpapi"
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
	c.MetricsToken = os.Getenv("OWNKEY_METRICS_TOKEN")
	if c.MetricsToken != "" && len(c.MetricsToken) < 16 {
		return fmt.Errorf("OWNKEY_METRICS_TOKEN is %d characters long: use at least 16 (e.g. openssl rand -hex 16)", len(c.MetricsToken))
	}
	c.MetricsAddr = strings.TrimSpace(os.Getenv("OWNKEY_METRICS_ADDR"))
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			return fmt.Errorf("OWNKEY_METRICS_ADDR=%q is not a listen address such as 127.0.0.1:9090: %w", c.MetricsAddr, err)
		}
	}
	return nil
}

// envRate reads a rate written as an exact decimal fraction (0.05 for 5%),
// as ownkey.ParseRate reads it.
func envRate(name string, def ownkey.PPM) (ownkey.PPM, error) {
	v, ok := os.LookupEnv(name)
	if !ok || v == "" {
		return def, nil
	}
	r, err := ownkey.ParseRate(v)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, cliError(err))
	}
	return r, nil
}

// envOr reads an environment variable with a default.
func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

func envBool(name string, def bool) bool {
	v, ok := os.LookupEnv(name)
	if !ok || v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		fatalf("%s=%q is not a boolean (true/false)", name, v)
	}
	return b
}

func envDuration(name string, def time.Duration) time.Duration {
	v, ok := os.LookupEnv(name)
	if !ok || v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		fatalf("%s=%q is not a positive duration such as 30s or 10m", name, v)
	}
	return d
}

// envCount reads a positive integer (a count or a byte size).
func envCount(name string, def int64) int64 {
	v, ok := os.LookupEnv(name)
	if !ok || v == "" {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		fatalf("%s=%q is not a positive whole number", name, v)
	}
	return n
}

// envUSD reads an exact decimal amount of dollars (no float).
func envUSD(name string, def ownkey.NanoUSD) ownkey.NanoUSD {
	v, ok := os.LookupEnv(name)
	if !ok || v == "" {
		return def
	}
	n, err := ownkey.ParseUSD(name, v)
	if err != nil {
		fatalf("%s=%q is not an amount of dollars such as 5 or 0.25 (at most 9 decimals)", name, v)
	}
	return n
}

// readLimits reads the serving limits (after MaxBodyBytes, which sizes the
// default body memory).
func (c *config) readLimits() error {
	c.Limits = httpapi.Limits{
		MaxConnections:        envCount("OWNKEY_MAX_CONNECTIONS", httpapi.DefaultMaxConnections),
		MaxInFlight:           envCount("OWNKEY_MAX_IN_FLIGHT", httpapi.DefaultMaxInFlight),
		MaxInFlightPerAccount: envCount("OWNKEY_MAX_IN_FLIGHT_PER_ACCOUNT", httpapi.DefaultMaxInFlightPerAccount),
		BodyReadTimeout:       envDuration("OWNKEY_BODY_READ_TIMEOUT", httpapi.DefaultBodyReadTimeout),
		BodyMinRate:           envCount("OWNKEY_BODY_MIN_RATE", httpapi.DefaultBodyMinRate),
		WriteTimeout:          envDuration("OWNKEY_WRITE_TIMEOUT", httpapi.DefaultWriteTimeout),
		MaxBodyMemory:         envCount("OWNKEY_MAX_BODY_MEMORY", httpapi.DefaultBodyMemoryFactor*c.MaxBodyBytes),
	}
	if least := httpapi.MinBodyMemory(c.MaxBodyBytes); c.Limits.MaxBodyMemory < least {
		return fmt.Errorf("OWNKEY_MAX_BODY_MEMORY=%d is too small for OWNKEY_MAX_BODY_BYTES=%d: a body of the largest size allowed could never be read (at least %d)",
			c.Limits.MaxBodyMemory, c.MaxBodyBytes, least)
	}
	return nil
}

// storageFlags registers the flags every command that opens the database
// shares, so that the CLI works against the same data as the server.
func storageFlags(fs *flag.FlagSet, c *config) {
	fs.StringVar(&c.DataDir, "data-dir", envOr("OWNKEY_DATA_DIR", "./ownkey-data"),
		"directory for the SQLite database and the master key file (env OWNKEY_DATA_DIR)")
	fs.StringVar(&c.DatabaseURL, "database-url", envOr("OWNKEY_DATABASE_URL", ""),
		"postgres://… to use PostgreSQL; default: SQLite at <data-dir>/ownkey.db (env OWNKEY_DATABASE_URL)")
	fs.StringVar(&c.MasterKeyFile, "master-key-file", envOr("OWNKEY_MASTER_KEY_FILE", ""),
		"master keyring file; default <data-dir>/master.key, ignored when OWNKEY_MASTER_KEY is set (env OWNKEY_MASTER_KEY_FILE)")
	c.MasterKey = os.Getenv("OWNKEY_MASTER_KEY")
	c.LogLevel = envOr("OWNKEY_LOG_LEVEL", "info")
	c.LogFormat = envOr("OWNKEY_LOG_FORMAT", "json")
	c.AllowPrivate = envBool("OWNKEY_ALLOW_PRIVATE_UPSTREAMS", false)
	c.DatabaseMaxConns = int(envCount("OWNKEY_DATABASE_MAX_CONNS", sqlstore.DefaultMaxConns))
	c.StartingCredit = envUSD("OWNKEY_STARTING_CREDIT_USD", 0)
	c.Disabled = map[string]bool{}
	for _, id := range strings.Split(os.Getenv("OWNKEY_DISABLED_PROVIDERS"), ",") {
		if id = strings.TrimSpace(id); id != "" {
			c.Disabled[id] = true
		}
	}
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

func (c *config) usesSQLite() bool {
	return !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://")
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "ownkey: "+format+"\n", args...)
	os.Exit(1)
}
