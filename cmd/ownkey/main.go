// Command ownkey is the BYOK LLM gateway: `ownkey serve` runs it, the other
// subcommands manage accounts, API keys, migrations and the master key
// against the same database, also while the server runs.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"strings"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/sqlstore"
	"github.com/ownkey/ownkey/vault"
)

const usageText = `ownkey — a self-hostable, bring-your-own-key LLM API gateway.

Usage:
  ownkey [serve] [flags]           run the gateway (the default command)
  ownkey migrate [flags]           apply pending database migrations and exit
  ownkey accounts create NAME [--role admin|user] [--unmetered]
  ownkey accounts list
  ownkey accounts rename ACCOUNT NEW_NAME
  ownkey accounts credit NAME|ID USD --reason TEXT
  ownkey accounts debit NAME|ID USD --reason TEXT
  ownkey apikeys create --account ID [--name NAME] [--usd-per-day USD] [--requests-per-day N]
  ownkey apikeys list --account ID
  ownkey apikeys revoke --account ID --key KEY_ID
  ownkey prices import --format litellm|openrouter FILE|URL
  ownkey prices set PROVIDER MODEL --input USD --output USD [--cached-input USD] [--cache-write USD] [--reasoning USD]
  ownkey prices delete PROVIDER MODEL
  ownkey prices list [--provider ID]
  ownkey apikeys set-limits --account ID --key KEY_ID [--usd-per-day USD|none] [--requests-per-day N|none]
  ownkey platform-keys set PROVIDER [--check]   (key from stdin or a hidden prompt)
  ownkey platform-keys list
  ownkey platform-keys delete PROVIDER
  ownkey rotate-master-key [--prune]
  ownkey version

Every command takes --data-dir and --database-url (or OWNKEY_DATA_DIR,
OWNKEY_DATABASE_URL) and works against the same database as a running server.
Run "ownkey COMMAND --help" for a command's flags.

Environment:
  OWNKEY_ADDR                      listen address (default 127.0.0.1:8080)
  OWNKEY_DATA_DIR                  data directory (default ./ownkey-data)
  OWNKEY_DATABASE_URL              postgres://… for PostgreSQL (default: SQLite in the data dir)
  OWNKEY_DATABASE_MAX_CONNS        PostgreSQL connections per process (default 20)
  OWNKEY_MASTER_KEY                master keyring ("v1:<base64 32 bytes>[,v2:…]"); production
                                   should set this (or OWNKEY_MASTER_KEY_FILE) instead of
                                   relying on the generated <data-dir>/master.key
  OWNKEY_MASTER_KEY_FILE           path of the master keyring file
  OWNKEY_ALLOW_PRIVATE_UPSTREAMS   let user-supplied endpoints reach private addresses (tests)
  OWNKEY_DISABLED_PROVIDERS        comma-separated provider ids to disable
  OWNKEY_<PROVIDER>_BASE_URL       override a provider's base URL, e.g. OWNKEY_GROQ_BASE_URL
  OWNKEY_LOG_LEVEL                 debug|info|warn|error (default info)
  OWNKEY_ACCESS_LOG                one log line per request (default true)
  OWNKEY_MAX_BODY_BYTES            request body limit (default 33554432)
  OWNKEY_BODY_READ_TIMEOUT         a request body must arrive within this (default 10s) plus
                                   1 s per OWNKEY_BODY_MIN_RATE bytes received; beyond, 408
  OWNKEY_BODY_MIN_RATE             minimum body rate in bytes per second (default 16384)
  OWNKEY_WRITE_TIMEOUT             longest a write to a client may block (default 60s)
  OWNKEY_MAX_CONNECTIONS           open client connections; beyond, 503 (default 2048)
  OWNKEY_MAX_IN_FLIGHT             requests served at once; beyond, 503 (default 1024)
  OWNKEY_MAX_IN_FLIGHT_PER_ACCOUNT one account's requests at once; beyond, 429 (default 256)
  OWNKEY_MAX_BODY_MEMORY           bytes of chat bodies held at once; beyond, 503
                                   (default 8 × OWNKEY_MAX_BODY_BYTES)
  OWNKEY_MAX_JSON_DEPTH            deepest JSON nesting accepted from a client or provider (default 128, at most 10000)
  OWNKEY_UPSTREAM_TIMEOUT          max wait for a provider's first byte (default 10m)
  OWNKEY_UPSTREAM_IDLE_TIMEOUT     end a stream after this long without a byte (default 10m)
  OWNKEY_PLATFORM_MARGIN           margin on the at-cost price of requests served with a platform key,
                                   an exact decimal fraction (0.1 = 10%; default 0: at cost)
  OWNKEY_USAGE_WRITE_TIMEOUT       spill usage records to the data dir when the database takes
                                   longer than this to store them (default 2s)
  OWNKEY_BYOK_MARKUP               rate charged on the at-cost price of a request served with the
                                   user's own key, as an exact decimal fraction (default 0.05: 5%)
  OWNKEY_STARTING_CREDIT_USD       balance a new metered account starts with, in dollars (default 0);
                                   the bootstrap admin is unmetered and starts with none
  OWNKEY_SPEND_RESYNC_INTERVAL     how often API key limits and spend caps read what every replica
                                   spent from the database (default 10s; bounds the overshoot)
  OWNKEY_WEB_SEARCH_FEE_USD        charged per web search (/api/web, :online chat), in exact dollars,
                                   on top of what the search provider bills the key's owner (default 0)
  OWNKEY_WEB_SEARCH_TIMEOUT        longest a web search may take before it fails with 504 (default 30s)
  OWNKEY_SESSION_LIFETIME          how long a dashboard sign-in lasts (default 12h)
  OWNKEY_SECURE_COOKIES            mark the dashboard's cookie Secure, for a server behind a proxy
                                   that terminates TLS (default false; a TLS request gets it anyway)
  OWNKEY_PUBLIC_URL                this instance's URL as clients reach it, shown in the dashboard's
                                   examples (default: the address the page was loaded from)
`

var version = "dev"

func main() {
	args := os.Args[1:]
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	} else if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
		fmt.Print(usageText)
		return
	}
	var err error
	switch cmd {
	case "serve":
		err = runServe(args)
	case "migrate":
		err = runMigrate(args)
	case "accounts":
		err = runAccounts(args)
	case "apikeys":
		err = runAPIKeys(args)
	case "prices":
		err = runPrices(args)
	case "platform-keys":
		err = runPlatformKeys(args)
	case "rotate-master-key":
		err = runRotate(args)
	case "version":
		fmt.Println("ownkey", version)
	case "help":
		fmt.Print(usageText)
	default:
		fmt.Fprintf(os.Stderr, "ownkey: unknown command %q\n\n%s", cmd, usageText)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ownkey:", err)
		os.Exit(1)
	}
}

// newFlagSet returns a flag set whose -h prints the command's own help.
func newFlagSet(name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ExitOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "%s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

func newLogger(c *config, w io.Writer) *slog.Logger {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.LogLevel)); err != nil {
		fatalf("OWNKEY_LOG_LEVEL=%q is not one of debug, info, warn, error", c.LogLevel)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	if c.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// openStore opens the database and applies pending migrations.
func openStore(ctx context.Context, c *config, log *slog.Logger) (*sqlstore.DB, error) {
	if c.usesSQLite() {
		if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("creating data directory: %w", err)
		}
	}
	db, err := sqlstore.OpenWith(ctx, c.DatabaseURL, sqlstore.Options{MaxConns: c.DatabaseMaxConns})
	if err != nil {
		return nil, fmt.Errorf("opening database %s: %w", redactURL(c.DatabaseURL), err)
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrating database: %w", err)
	}
	log.Debug("database ready", "database", redactURL(c.DatabaseURL), "dialect", db.Dialect())
	return db, nil
}

// loadKeyring reads the master keyring from OWNKEY_MASTER_KEY, or from the
// key file. With a store (the server), a missing key file is created (with a
// loud warning), but only while the store holds nothing a key sealed: a new
// key could not open it, and the missing file must be restored instead.
// Without one (the CLI), a missing file is an error.
func loadKeyring(ctx context.Context, c *config, log *slog.Logger, st ownkey.Store) (kr *vault.Keyring, created bool, err error) {
	if c.MasterKey != "" {
		kr, err := vault.ParseKeyring(c.MasterKey)
		if err != nil {
			return nil, false, fmt.Errorf("OWNKEY_MASTER_KEY: %w", err)
		}
		return kr, false, nil
	}
	kr, err = vault.LoadKeyFile(c.MasterKeyFile)
	if !errors.Is(err, fs.ErrNotExist) {
		if err != nil {
			return nil, false, fmt.Errorf("master key file %s: %w", c.MasterKeyFile, err)
		}
		return kr, false, nil
	}
	if st == nil {
		return nil, false, fmt.Errorf("no master key: set OWNKEY_MASTER_KEY or create %s by starting the server once", c.MasterKeyFile)
	}
	if err := refuseNewKey(ctx, c, st); err != nil {
		return nil, false, err
	}
	kr, created, err = vault.LoadOrCreateKeyFile(c.MasterKeyFile)
	if err != nil {
		return nil, false, fmt.Errorf("master key file %s: %w", c.MasterKeyFile, err)
	}
	if created {
		log.Warn("GENERATED A NEW MASTER KEY: provider keys are encrypted with it and are lost without it. "+
			"Back it up. In production pass the key in with OWNKEY_MASTER_KEY (or OWNKEY_MASTER_KEY_FILE on a secrets volume) instead.",
			"master_key_file", c.MasterKeyFile)
	}
	return kr, created, nil
}

// refuseNewKey fails when the store already holds credentials or master key
// check values: a missing key file then means a lost (or misplaced) key, and
// generating a new one would leave the stored keys unreadable for good.
func refuseNewKey(ctx context.Context, c *config, st ownkey.Store) error {
	checks, err := st.MasterKeyChecks(ctx)
	if err != nil {
		return fmt.Errorf("reading master key checks: %w", err)
	}
	versions, err := st.CredentialKeyVersions(ctx)
	if err != nil {
		return fmt.Errorf("reading master key versions in use: %w", err)
	}
	if len(checks) == 0 && len(versions) == 0 {
		return nil
	}
	return fmt.Errorf("master key file %s is missing, but the database already holds data sealed by a master key "+
		"(%d recorded key version(s), credentials under %d version(s)); refusing to create a new key that could not open it: "+
		"restore %s from your backup, or set OWNKEY_MASTER_KEY (or OWNKEY_MASTER_KEY_FILE) to the key in use",
		c.MasterKeyFile, len(checks), len(versions), c.MasterKeyFile)
}

// redactURL hides a password in a database URL.
func redactURL(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		return u.Redacted()
	}
	return s
}
