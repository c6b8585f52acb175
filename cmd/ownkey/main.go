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
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/sqlstore"
	"github.com/ownkey/ownkey/vault"
)

// commandsText is the commands part of --help; the environment part is
// printed from the settings table (settings.go).
const commandsText = `ownkey — a self-hostable, bring-your-own-key LLM API gateway.

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
  ownkey apikeys set-limits --account ID --key KEY_ID [--usd-per-day USD|none] [--requests-per-day N|none]
  ownkey prices import --format litellm|openrouter FILE|URL
  ownkey prices set PROVIDER MODEL --input USD --output USD [--cached-input USD] [--cache-write USD] [--reasoning USD]
  ownkey prices delete PROVIDER MODEL
  ownkey prices list [--provider ID]
  ownkey platform-keys set PROVIDER [--check]   (key from stdin or a hidden prompt)
  ownkey platform-keys list
  ownkey platform-keys delete PROVIDER
  ownkey rotate-master-key [--prune]
  ownkey healthcheck [--url URL]   GET /healthz of a running server; exit 0 if it answers 200
  ownkey version                   the version and commit this binary was built from (also --version)

Every command that opens the database takes --data-dir and --database-url (or
OWNKEY_DATA_DIR, OWNKEY_DATABASE_URL) and works against the same database as a
running server. Run "ownkey COMMAND --help" for a command's flags.

`

// usageText is the whole of --help.
func usageText() string { return commandsText + environmentHelp() }

// version is the module version this binary was built as: the build
// info's (go build in a git checkout stamps a pseudo-version from the
// commit, go install module@v1.2.3 the tag), unless -ldflags "-X
// main.version=…" set it. commit is the VCS commit when the build info
// has none (a container build without .git: -X main.commit=…).
var (
	version = "dev"
	commit  = ""
)

func init() {
	if bi, ok := debug.ReadBuildInfo(); ok && version == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		version = bi.Main.Version
	}
}

// versionText is what `ownkey version` prints.
func versionText() string {
	bi, _ := debug.ReadBuildInfo()
	return formatVersion(version, commit, bi)
}

// formatVersion writes the version, then the VCS commit, its time and
// whether the tree had uncommitted changes as the build info records them
// (else the commit given at link time), then the Go version and platform.
func formatVersion(version, commit string, bi *debug.BuildInfo) string {
	s := "ownkey " + version
	var at, modified string
	goVersion := runtime.Version()
	if bi != nil {
		goVersion = bi.GoVersion
		for _, kv := range bi.Settings {
			switch kv.Key {
			case "vcs.revision":
				commit = kv.Value
			case "vcs.time":
				at = kv.Value
			case "vcs.modified":
				modified = kv.Value
			}
		}
	}
	if commit != "" {
		s += "\ncommit " + commit
		if at != "" {
			s += " (" + at + ")"
		}
		if modified == "true" {
			s += ", with uncommitted changes"
		}
	}
	return s + "\n" + goVersion + " " + runtime.GOOS + "/" + runtime.GOARCH
}

func main() {
	args := os.Args[1:]
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	} else if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
		fmt.Print(usageText())
		return
	} else if len(args) > 0 && (args[0] == "--version" || args[0] == "-version") {
		fmt.Println(versionText())
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
	case "healthcheck":
		err = runHealthcheck(args)
	case "version":
		fmt.Println(versionText())
	case "help":
		fmt.Print(usageText())
	default:
		fmt.Fprintf(os.Stderr, "ownkey: unknown command %q\n\n%s", cmd, usageText())
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
