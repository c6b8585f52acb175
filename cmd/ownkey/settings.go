package main

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/dashboard"
	"github.com/ownkey/ownkey/httpapi"
	"github.com/ownkey/ownkey/jsonvalid"
	"github.com/ownkey/ownkey/provider"
	"github.com/ownkey/ownkey/spend"
	"github.com/ownkey/ownkey/sqlstore"
	"github.com/ownkey/ownkey/usage"
	"github.com/ownkey/ownkey/websearch"
)

// setting is one environment variable ownkey reads. settings is the one
// table of them: every reader below looks its name up there (and panics on
// a name that is not, so a new variable cannot be read without being
// listed), --help is printed from it, the start warns about an OWNKEY_*
// variable that is not in it, and TestSettingsTableIsComplete checks that
// every OWNKEY_ name in the source is.
type setting struct {
	Name string
	// Flag is the command-line flag that sets it too (and wins), if any.
	Flag string
	// Default is the value used when the variable is unset or empty, as
	// the reader parses it; "" when there is none or it is derived, in
	// which case Shown says what it is.
	Default string
	Shown   string
	Help    string
	// Serve is true for the settings only `ownkey serve` reads; the others
	// are read by every command that opens the database.
	Serve bool
}

// baseURLSetting stands for the OWNKEY_<PROVIDER>_BASE_URL variables, one
// per catalog provider (ownkey.Provider.BaseURLEnv).
const baseURLSetting = "OWNKEY_<PROVIDER>_BASE_URL"

// dur writes a default duration the way an operator would type it (10m, not
// 10m0s).
func dur(d time.Duration) string {
	s := d.String()
	for _, unit := range []string{"h", "m"} {
		s = strings.Replace(s, unit+"0m0s", unit, 1)
		s = strings.Replace(s, unit+"0s", unit, 1)
	}
	return s
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }

var settings = []setting{
	{Name: "OWNKEY_ADDR", Flag: "addr", Default: "127.0.0.1:8080", Serve: true,
		Help: "listen address"},
	{Name: "OWNKEY_DATA_DIR", Flag: "data-dir", Default: "./ownkey-data",
		Help: "data directory: the SQLite database, the master key file, the usage spill and the billing journal; a persistent volume of each replica's own, on PostgreSQL too"},
	{Name: "OWNKEY_DATABASE_URL", Flag: "database-url", Shown: "SQLite at <data-dir>/ownkey.db",
		Help: "postgres://… or postgresql://… for PostgreSQL (many replicas on one database); sqlite:PATH, file:URI or a file path for SQLite; any other scheme refuses to start"},
	{Name: "OWNKEY_DATABASE_MAX_CONNS", Default: itoa64(sqlstore.DefaultMaxConns),
		Help: "most PostgreSQL connections one process opens; keep replicas × this under the server's max_connections"},
	{Name: "OWNKEY_MASTER_KEY",
		Help: "master keyring (\"v1:<base64 32 bytes>[,v2:…]\"); production should set this (or OWNKEY_MASTER_KEY_FILE) instead of relying on the generated key file"},
	{Name: "OWNKEY_MASTER_KEY_FILE", Flag: "master-key-file", Shown: "<data-dir>/master.key",
		Help: "master keyring file, ignored when OWNKEY_MASTER_KEY is set"},
	{Name: "OWNKEY_ALLOW_PRIVATE_UPSTREAMS", Default: "false",
		Help: "let user-supplied endpoints (Azure) reach loopback and private addresses (tests)"},
	{Name: "OWNKEY_DISABLED_PROVIDERS",
		Help: "comma-separated provider ids that accept no keys and serve no requests"},
	{Name: baseURLSetting, Shown: "the provider's own (README, \"Provider base URLs\")",
		Help: "override a provider's base URL (OWNKEY_GROQ_BASE_URL, OWNKEY_AZURE_ANTHROPIC_FOUNDRY_BASE_URL): an absolute http(s) URL, with or without the API's version segment"},
	{Name: "OWNKEY_LOG_LEVEL", Default: "info",
		Help: "debug, info, warn or error"},
	{Name: "OWNKEY_LOG_FORMAT", Default: "json",
		Help: "json or text"},
	{Name: "OWNKEY_STARTING_CREDIT_USD", Default: "0",
		Help: "balance a new metered account starts with, in dollars; the bootstrap admin is unmetered"},
	{Name: "OWNKEY_ACCESS_LOG", Default: "true", Serve: true,
		Help: "one log line per request (path only, key-shaped segments redacted)"},
	{Name: "OWNKEY_METRICS_TOKEN", Serve: true,
		Help: "bearer token /metrics requires (at least 16 characters); default none: /metrics is open"},
	{Name: "OWNKEY_METRICS_ADDR", Serve: true, Shown: "none: /metrics on the API's listener",
		Help: "serve /metrics alone on this listen address (127.0.0.1:9090) instead of the API's"},
	{Name: "OWNKEY_CORS_ORIGINS", Serve: true, Shown: "none: CORS off",
		Help: "comma-separated origins (https://app.example.com) whose browser pages may call the API, or * for any; answers preflights and sets Access-Control-Allow-Origin, never Allow-Credentials"},
	{Name: "OWNKEY_MAX_BODY_BYTES", Default: itoa64(32 << 20), Serve: true,
		Help: "request body limit in bytes; beyond, 413"},
	{Name: "OWNKEY_BODY_READ_TIMEOUT", Default: dur(httpapi.DefaultBodyReadTimeout), Serve: true,
		Help: "a request body must arrive within this plus 1 s per OWNKEY_BODY_MIN_RATE bytes received; beyond, 408"},
	{Name: "OWNKEY_BODY_MIN_RATE", Default: itoa64(httpapi.DefaultBodyMinRate), Serve: true,
		Help: "minimum body rate in bytes per second"},
	{Name: "OWNKEY_WRITE_TIMEOUT", Default: dur(httpapi.DefaultWriteTimeout), Serve: true,
		Help: "longest a write to a client may block before the connection is closed (the deadline moves once per tenth of it, so a write gets at least nine tenths)"},
	{Name: "OWNKEY_MAX_CONNECTIONS", Default: itoa64(httpapi.DefaultMaxConnections), Serve: true,
		Help: "open client connections; beyond, 503"},
	{Name: "OWNKEY_MAX_IN_FLIGHT", Default: itoa64(httpapi.DefaultMaxInFlight), Serve: true,
		Help: "requests served at once; beyond, 503 with Retry-After"},
	{Name: "OWNKEY_MAX_IN_FLIGHT_PER_ACCOUNT", Default: itoa64(httpapi.DefaultMaxInFlightPerAccount), Serve: true,
		Help: "one account's requests served at once; beyond, 429 with Retry-After"},
	{Name: "OWNKEY_MAX_BODY_MEMORY", Shown: itoa64(httpapi.DefaultBodyMemoryFactor) + " × OWNKEY_MAX_BODY_BYTES", Serve: true,
		Help: "bytes held by chat bodies over 64 KiB in flight; beyond, 503"},
	{Name: "OWNKEY_MAX_JSON_DEPTH", Default: itoa64(jsonvalid.DefaultMaxDepth), Serve: true,
		Help: "deepest JSON nesting accepted from a client or provider, at most " + itoa64(jsonvalid.MaxDepthCeiling)},
	{Name: "OWNKEY_UPSTREAM_CONNECT_TIMEOUT", Default: dur(10 * time.Second), Serve: true,
		Help: "longest a connection to a provider may take to open"},
	{Name: "OWNKEY_UPSTREAM_TIMEOUT", Default: dur(10 * time.Minute), Serve: true,
		Help: "longest wait for a provider's first byte"},
	{Name: "OWNKEY_UPSTREAM_IDLE_TIMEOUT", Default: dur(provider.DefaultStreamIdleTimeout), Serve: true,
		Help: "a stream whose provider sends nothing for this long ends with an upstream_timeout error event"},
	{Name: "OWNKEY_GC_HEAP_FLOOR", Default: itoa64(defaultGCHeapFloor), Serve: true,
		Help: "bytes of heap the Go garbage collector may fill before it runs, whatever the live heap (GOGC applies above it); 0 turns the floor off, and so does setting GOGC"},
	{Name: "OWNKEY_SHUTDOWN_TIMEOUT", Default: dur(30 * time.Second), Serve: true,
		Help: "how long SIGTERM waits for in-flight requests (streams included) to finish"},
	{Name: "OWNKEY_USAGE_WRITE_TIMEOUT", Default: dur(usage.DefaultWriteTimeout), Serve: true,
		Help: "usage records the database has not stored within this time are spilled to the data directory"},
	{Name: "OWNKEY_SPEND_RESYNC_INTERVAL", Default: dur(spend.DefaultResync), Serve: true,
		Help: "how often API key limits and spend caps read what every replica spent (bounds the overshoot)"},
	{Name: "OWNKEY_BYOK_MARKUP", Default: ownkey.FormatDecimal(int64(ownkey.DefaultBYOKMarkup), 6), Serve: true,
		Help: "rate charged on the at-cost price of a request served with the user's own key, an exact decimal fraction (0.05 = 5%)"},
	{Name: "OWNKEY_PLATFORM_MARGIN", Default: "0", Serve: true,
		Help: "margin on the at-cost price of a request served with a platform key, an exact decimal fraction (0.1 = 10%)"},
	{Name: "OWNKEY_WEB_SEARCH_FEE_USD", Default: "0", Serve: true,
		Help: "charged per web search (/api/web, :online chat) on top of what the search provider bills the key's owner, in exact dollars"},
	{Name: "OWNKEY_WEB_SEARCH_TIMEOUT", Default: dur(websearch.DefaultTimeout), Serve: true,
		Help: "longest a web search may take before it fails with 504"},
	{Name: "OWNKEY_SESSION_LIFETIME", Default: dur(dashboard.DefaultSessionLifetime), Serve: true,
		Help: "how long a dashboard sign-in lasts"},
	{Name: "OWNKEY_SECURE_COOKIES", Default: "false", Serve: true,
		Help: "mark the dashboard's cookie Secure, for a server behind a proxy that terminates TLS (a TLS request gets it anyway)"},
	{Name: "OWNKEY_PUBLIC_URL", Serve: true, Shown: "the listen address",
		Help: "this instance's URL as clients reach it (https://llm.example.com), shown by the start banner and the dashboard's examples"},
}

// otherVariables are OWNKEY_ names that are not settings of the shipped
// server but are read by the test suite, CI or a profiling build: they may
// be set in an environment ownkey starts in, and are not warned about.
var otherVariables = []string{
	"OWNKEY_BENCH_PPROF_ADDR", // bench/pprofhook, compiled in by bench/run.sh --profile only
	"OWNKEY_TEST_POSTGRES_URL",
	"OWNKEY_TEST_USAGE_OUTAGE",
	"OWNKEY_TEST_ROTATION_TRIALS",
	"OWNKEY_REQUIRE_FIXTURES",
	"OWNKEY_FIXTURES_DIR",
	"OWNKEY_REQUIRE_BROWSER",
	"OWNKEY_REQUIRE_NODE_SDK",
	"OWNKEY_CHROMIUM",
}

var settingByName = func() map[string]*setting {
	m := make(map[string]*setting, len(settings))
	for i := range settings {
		m[settings[i].Name] = &settings[i]
	}
	return m
}()

// lookupSetting returns the table's entry for name; a base URL override
// variable is the OWNKEY_<PROVIDER>_BASE_URL entry.
func lookupSetting(name string) *setting {
	if s := settingByName[name]; s != nil {
		return s
	}
	if isBaseURLVariable(name) {
		return settingByName[baseURLSetting]
	}
	return nil
}

func isBaseURLVariable(name string) bool {
	for i := range ownkey.Catalog {
		if ownkey.Catalog[i].BaseURLEnv() == name {
			return true
		}
	}
	return false
}

// env reads a setting: its value and whether it is set to something. A
// name missing from the table is a programming error.
func env(name string) (string, bool) {
	s := lookupSetting(name)
	if s == nil {
		panic("ownkey: " + name + " is read but is not in the settings table (cmd/ownkey/settings.go)")
	}
	v, ok := os.LookupEnv(name)
	return v, ok && v != ""
}

// envDefault reads a setting, else its default.
func envDefault(name string) string {
	if v, ok := env(name); ok {
		return v
	}
	return settingByName[name].Default
}

// knownVariables is every OWNKEY_ name ownkey knows: the settings, the
// base URL override of each provider, and otherVariables.
func knownVariables() []string {
	var names []string
	for _, s := range settings {
		if s.Name != baseURLSetting {
			names = append(names, s.Name)
		}
	}
	for i := range ownkey.Catalog {
		names = append(names, ownkey.Catalog[i].BaseURLEnv())
	}
	return append(names, otherVariables...)
}

// unknownVariable is an OWNKEY_ variable in the environment that ownkey
// does not read, with the known name nearest to it.
type unknownVariable struct {
	Name, Nearest string
}

// unknownVariables finds the OWNKEY_ variables of environ (os.Environ's
// form) that are not known: most likely a typo (OWNKEY_GROK_BASE_URL)
// that would otherwise be ignored without a word. Only names are looked
// at, never values, which may be secrets.
func unknownVariables(environ []string) []unknownVariable {
	known := knownVariables()
	var out []unknownVariable
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "OWNKEY_") || slices.Contains(known, name) {
			continue
		}
		best, bestDist := "", -1
		for _, k := range known {
			if d := editDistance(name, k); bestDist < 0 || d < bestDist {
				best, bestDist = k, d
			}
		}
		out = append(out, unknownVariable{Name: name, Nearest: best})
	}
	slices.SortFunc(out, func(a, b unknownVariable) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// warnUnknownVariables writes one warning per unknown OWNKEY_ variable.
func warnUnknownVariables(warn func(msg string, args ...any), environ []string) {
	for _, u := range unknownVariables(environ) {
		warn(fmt.Sprintf("%s is not a setting ownkey knows and is ignored; did you mean %s?", u.Name, u.Nearest),
			"variable", u.Name, "nearest", u.Nearest)
	}
}

// editDistance is the Levenshtein distance between a and b, in bytes
// (the names are ASCII).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// environmentHelp is the Environment part of --help, from the table.
func environmentHelp() string {
	var b strings.Builder
	b.WriteString("Environment (flags, where a setting has one, win over it):\n")
	const indent = 35
	for _, s := range settings {
		name := s.Name
		if s.Flag != "" {
			name += " (--" + s.Flag + ")"
		}
		text := s.Help
		switch {
		case s.Shown != "":
			text += " (default: " + s.Shown + ")"
		case s.Default != "":
			text += " (default " + s.Default + ")"
		}
		if s.Serve {
			text += " [serve]"
		}
		line := "  " + name
		if len(line) < indent-1 {
			line += strings.Repeat(" ", indent-len(line))
		} else {
			b.WriteString(line + "\n")
			line = strings.Repeat(" ", indent)
		}
		b.WriteString(wrap(line, text, indent, 100))
	}
	return b.String()
}

// wrap appends text to the first line's prefix, breaking it into lines of
// at most width characters, the following ones indented.
func wrap(prefix, text string, indent, width int) string {
	var b strings.Builder
	line := prefix
	n := len([]rune(line))
	start := n
	for _, word := range strings.Fields(text) {
		w := len([]rune(word))
		if n > start && n+1+w > width {
			b.WriteString(line + "\n")
			line, n = strings.Repeat(" ", indent), indent
			start = n
		}
		if n > start {
			line += " "
			n++
		}
		line += word
		n += w
	}
	b.WriteString(line + "\n")
	return b.String()
}
