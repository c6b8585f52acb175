package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/egress"
	"github.com/ownkey/ownkey/provider"
)

// repoRoot is the directory holding go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("no go.mod at %s", root)
	}
	return root
}

var ownkeyName = regexp.MustCompile(`"(OWNKEY_[A-Z0-9_]+)"`)

// TestSettingsTableIsComplete holds the settings table to the source: every
// "OWNKEY_…" name written in a Go file of the repository (the readers, and
// any os.Getenv someone adds) is a setting, a provider's base URL override
// or one of otherVariables; in a test file it may also be a test-only
// variable, which must then be in otherVariables too so that it is not
// warned about. And every setting in the table is read somewhere.
func TestSettingsTableIsComplete(t *testing.T) {
	known := map[string]bool{}
	for _, n := range knownVariables() {
		known[n] = true
	}
	used := map[string]bool{}
	root := repoRoot(t)
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") && path != root) {
			return filepath.SkipDir
		}
		// This file writes unknown names on purpose, to test the warning.
		if d.IsDir() || !strings.HasSuffix(path, ".go") || d.Name() == "config_test.go" {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		for _, m := range ownkeyName.FindAllStringSubmatch(string(src), -1) {
			name := m[1]
			if !known[name] {
				t.Errorf("%s reads %s, which is not in the settings table (cmd/ownkey/settings.go) nor otherVariables", rel, name)
			}
			if rel != filepath.Join("cmd", "ownkey", "settings.go") && !strings.HasSuffix(path, "_test.go") {
				used[name] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range settings {
		if s.Name != baseURLSetting && !used[s.Name] {
			t.Errorf("%s is in the settings table but no code reads it", s.Name)
		}
	}
}

// TestHelpIsTheSettingsTable runs ownkey --help and finds every setting of
// the table in it with its default, the three the hand-written help used
// to leave out among them.
func TestHelpIsTheSettingsTable(t *testing.T) {
	out, err := runOwnkey(t, nil, "--help")
	if err != nil {
		t.Fatalf("--help: %v\n%s", err, out)
	}
	for _, name := range []string{"OWNKEY_LOG_FORMAT", "OWNKEY_UPSTREAM_CONNECT_TIMEOUT", "OWNKEY_SHUTDOWN_TIMEOUT", "OWNKEY_CORS_ORIGINS"} {
		if !strings.Contains(out, "  "+name) {
			t.Errorf("--help does not list %s", name)
		}
	}
	flat := strings.Join(strings.Fields(out), " ")
	for _, s := range settings {
		if !strings.Contains(out, "  "+s.Name) {
			t.Errorf("--help does not list %s", s.Name)
		}
		if s.Default != "" && s.Shown == "" && !strings.Contains(flat, "(default "+s.Default+")") {
			t.Errorf("--help does not give %s's default %s", s.Name, s.Default)
		}
	}
	if !strings.Contains(out, "ownkey healthcheck") || !strings.Contains(out, "ownkey version") {
		t.Errorf("--help does not list the healthcheck and version commands:\n%s", out)
	}
	if h, _ := runOwnkey(t, nil, "help"); h != out {
		t.Error("ownkey help and ownkey --help differ")
	}
}

// TestDefaultsComeFromTheTable: a setting left unset is the table's
// default, the value --help shows.
func TestDefaultsComeFromTheTable(t *testing.T) {
	for _, name := range []string{"OWNKEY_SHUTDOWN_TIMEOUT", "OWNKEY_UPSTREAM_CONNECT_TIMEOUT", "OWNKEY_WRITE_TIMEOUT", "OWNKEY_SESSION_LIFETIME"} {
		t.Setenv(name, "")
		want, err := time.ParseDuration(settingByName[name].Default)
		if err != nil {
			t.Fatalf("%s: default %q: %v", name, settingByName[name].Default, err)
		}
		if got := envDuration(name); got != want {
			t.Errorf("%s unset = %v, want the table's %v", name, got, want)
		}
	}
	c := &config{}
	if err := c.readServe(); err != nil {
		t.Fatal(err)
	}
	if c.ShutdownTimeout != 30*time.Second || c.UpstreamDialTimeout != 10*time.Second || c.MaxBodyBytes != 32<<20 ||
		c.BYOKMarkup != ownkey.DefaultBYOKMarkup || c.MaxJSONDepth != 128 || c.CORSOrigins != nil || !c.AccessLog {
		t.Fatalf("defaults: %+v", c)
	}
	t.Setenv("OWNKEY_SHUTDOWN_TIMEOUT", "45s")
	if got := envDuration("OWNKEY_SHUTDOWN_TIMEOUT"); got != 45*time.Second {
		t.Fatalf("OWNKEY_SHUTDOWN_TIMEOUT=45s read as %v", got)
	}
}

func TestReadingAnUnlistedSettingPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("env read a name that is not in the table")
		}
	}()
	env("OWNKEY_NOT_A_SETTING")
}

func TestEditDistanceAndNearest(t *testing.T) {
	for _, c := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"abc", "", 3}, {"kitten", "sitting", 3}, {"OWNKEY_GROK_BASE_URL", "OWNKEY_GROQ_BASE_URL", 1}} {
		if got := editDistance(c.a, c.b); got != c.d {
			t.Errorf("editDistance(%q, %q) = %d, want %d", c.a, c.b, got, c.d)
		}
	}
	got := unknownVariables([]string{
		"OWNKEY_GROK_BASE_URL=https://x", "OWNKEY_LOG_FORMATT=text", "OWNKEY_ADDR=:1", "PATH=/bin",
		"OWNKEY_TEST_POSTGRES_URL=postgres://x", "OWNKEY_SHUTDOWN_TIMOUT=1s",
	})
	want := []unknownVariable{
		{"OWNKEY_GROK_BASE_URL", "OWNKEY_GROQ_BASE_URL"},
		{"OWNKEY_LOG_FORMATT", "OWNKEY_LOG_FORMAT"},
		{"OWNKEY_SHUTDOWN_TIMOUT", "OWNKEY_SHUTDOWN_TIMEOUT"},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("unknownVariables = %v, want %v", got, want)
	}
}

// TestUnknownVariableIsWarnedAtStart starts the server and a CLI command
// with a mistyped variable: each warns, naming the nearest known one, and
// never the value.
func TestUnknownVariableIsWarnedAtStart(t *testing.T) {
	const secretish = "https://value-that-must-not-be-logged.example"
	env := map[string]string{"OWNKEY_DATA_DIR": t.TempDir(), "OWNKEY_GROK_BASE_URL": secretish}
	p := mustStartOwnkey(t, env)
	_ = p.Stop()
	want := "OWNKEY_GROK_BASE_URL is not a setting ownkey knows and is ignored; did you mean OWNKEY_GROQ_BASE_URL?"
	if !strings.Contains(p.Stderr(), want) {
		t.Fatalf("no warning in the server's log:\n%s", p.Stderr())
	}
	if strings.Contains(p.Stderr()+p.Stdout(), secretish) {
		t.Fatal("the warning shows the variable's value")
	}
	out, err := runOwnkey(t, env, "accounts", "list")
	if err != nil || !strings.Contains(out, want) || strings.Contains(out, secretish) {
		t.Fatalf("accounts list: %v\n%s", err, out)
	}
	// A known variable is not warned about.
	env = map[string]string{"OWNKEY_DATA_DIR": env["OWNKEY_DATA_DIR"], "OWNKEY_GROQ_BASE_URL": secretish, "OWNKEY_TEST_POSTGRES_URL": "x"}
	if out, err := runOwnkey(t, env, "accounts", "list"); err != nil || strings.Contains(out, "is not a setting") {
		t.Fatalf("known variables warned about: %v\n%s", err, out)
	}
}

// refusedStart runs `ownkey serve` (or args) in an empty working directory
// with env and returns its output, failing unless it exits with status 1
// having created nothing.
func refusedStart(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	if len(args) == 0 {
		args = []string{"serve"}
	}
	work := t.TempDir()
	data := filepath.Join(work, "data")
	full := map[string]string{"OWNKEY_ADDR": "127.0.0.1:0", "OWNKEY_DATA_DIR": data}
	for k, v := range env {
		full[k] = v
	}
	cmd := exec.Command(ownkeyBinary(t), args...)
	cmd.Env = procEnv(full)
	cmd.Dir = work
	done := make(chan struct{})
	timer := time.AfterFunc(30*time.Second, func() {
		select {
		case <-done:
		default:
			_ = cmd.Process.Kill()
		}
	})
	out, err := cmd.CombinedOutput()
	close(done)
	timer.Stop()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("%v with %v: want exit status 1, got %v\n%s", args, env, err, out)
	}
	entries, _ := os.ReadDir(work)
	if len(entries) > 0 {
		t.Fatalf("%v with %v created %s before refusing", args, env, entries[0].Name())
	}
	return string(out)
}

func TestDatabaseURLOfAnotherSchemeRefusesToStart(t *testing.T) {
	for _, c := range []struct{ url, scheme string }{
		{"mysql://root:hunter2@db.example:3306/ownkey", `"mysql:"`},
		{"mongodb+srv://u:hunter2@cluster/x", `"mongodb+srv:"`},
		{"redis:6379", `"redis:"`},
		{"postgres:hunter2@localhost/db", "postgres://user:password@host:5432/database"},
		{"sqlite:", "sqlite: needs a file path"},
	} {
		for _, args := range [][]string{{"serve"}, {"migrate"}, {"accounts", "list"}} {
			out := refusedStart(t, map[string]string{"OWNKEY_DATABASE_URL": c.url}, args...)
			if !strings.Contains(out, "OWNKEY_DATABASE_URL") || !strings.Contains(out, c.scheme) {
				t.Errorf("%v with %s: %s", args, c.url, out)
			}
			if strings.Contains(out, "hunter2") {
				t.Errorf("%v with %s: the refusal shows the password: %s", args, c.url, out)
			}
		}
	}
	// The flag is checked the same way.
	out := refusedStart(t, nil, "migrate", "--database-url", "mysql://x")
	if !strings.Contains(out, `"mysql:"`) {
		t.Fatalf("--database-url mysql://x: %s", out)
	}
}

func TestSQLiteURLForms(t *testing.T) {
	dir := t.TempDir()
	for _, dsn := range []string{"sqlite:" + filepath.Join(dir, "a.db"), "sqlite://" + filepath.Join(dir, "b.db"), filepath.Join(dir, "c.db")} {
		out, err := runOwnkey(t, map[string]string{"OWNKEY_DATA_DIR": dir, "OWNKEY_DATABASE_URL": dsn}, "migrate")
		if err != nil || !strings.Contains(out, "up to date") {
			t.Fatalf("migrate with %s: %v\n%s", dsn, err, out)
		}
	}
	for _, name := range []string{"a.db", "b.db", "c.db"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if entries, _ := filepath.Glob(filepath.Join(dir, "sqlite*")); len(entries) > 0 {
		t.Fatalf("a file named after the scheme: %v", entries)
	}
}

func TestBadSettingsRefuseToStart(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want []string
	}{
		{map[string]string{"OWNKEY_ANTHROPIC_BASE_URL": "api.anthropic.com"}, []string{"OWNKEY_ANTHROPIC_BASE_URL", "not an absolute http(s) URL", "https://api.anthropic.com"}},
		{map[string]string{"OWNKEY_GROQ_BASE_URL": "ftp://files.example/v1"}, []string{"OWNKEY_GROQ_BASE_URL", "not an absolute http(s) URL"}},
		{map[string]string{"OWNKEY_OPENAI_BASE_URL": "/v1"}, []string{"OWNKEY_OPENAI_BASE_URL", "not an absolute http(s) URL"}},
		{map[string]string{"OWNKEY_OPENAI_BASE_URL": "https://proxy.example/v1?key=hunter2"}, []string{"OWNKEY_OPENAI_BASE_URL", "query"}},
		{map[string]string{"OWNKEY_OPENAI_BASE_URL": "proxy.example/v1?key=hunter2"}, []string{"OWNKEY_OPENAI_BASE_URL", "not an absolute http(s) URL"}},
		{map[string]string{"OWNKEY_OPENAI_BASE_URL": "https://u:hunter2@proxy.example/v1"}, []string{"OWNKEY_OPENAI_BASE_URL", "user name or password"}},
		{map[string]string{"OWNKEY_PUBLIC_URL": "llm.example.com"}, []string{"OWNKEY_PUBLIC_URL", "absolute http(s) URL"}},
		{map[string]string{"OWNKEY_CORS_ORIGINS": "https://app.example.com/path"}, []string{"OWNKEY_CORS_ORIGINS", "not an origin"}},
		{map[string]string{"OWNKEY_LOG_FORMAT": "logfmt"}, []string{"OWNKEY_LOG_FORMAT", "json or text"}},
		{map[string]string{"OWNKEY_DISABLED_PROVIDERS": "grok"}, []string{"OWNKEY_DISABLED_PROVIDERS", `"grok"`}},
	} {
		out := refusedStart(t, c.env)
		for _, w := range c.want {
			if !strings.Contains(out, w) {
				t.Errorf("%v: the refusal does not say %q:\n%s", c.env, w, out)
			}
		}
		if strings.Contains(out, "hunter2") {
			t.Errorf("%v: the refusal shows the password: %s", c.env, out)
		}
	}
}

// TestBaseURLOverridesWithOrWithoutVersion starts the server with an
// Anthropic override ending in /v1 (as OpenAI's base URLs are written):
// the provider is asked at its real paths (/v1/messages, not
// /v1/v1/messages), for the key check and for chat; an OpenAI override
// with its /v1 is used as written. (An override that is the provider's own
// URL without its version, https://api.openai.com, is provider's
// TestOverrideURL: no fake answers at that host.)
func TestBaseURLOverridesWithOrWithoutVersion(t *testing.T) {
	up := newFakeOpenAI(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v1/messages":
			io.WriteString(w, `{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Bonjour"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":10,"output_tokens":3}}`)
		case "/v1/chat/completions":
			io.WriteString(w, completionJSON)
		case "/v1/models":
			io.WriteString(w, `{"object":"list","data":[]}`)
		default:
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"error":{"message":"no such path"}}`)
		}
	})
	p := mustStartOwnkey(t, map[string]string{"OWNKEY_DATA_DIR": t.TempDir(),
		"OWNKEY_ANTHROPIC_BASE_URL": up.srv.URL + "/v1/", "OWNKEY_OPENAI_BASE_URL": up.srv.URL + "/v1"})
	call := func(method, path string, body any) (int, []byte) {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, p.URL()+path, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+p.AdminKey)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		out, _ := io.ReadAll(res.Body)
		return res.StatusCode, out
	}
	for _, k := range []map[string]any{{"provider": "anthropic", "key": "sk-ant-test-0123456789abcdef"}, {"provider": "openai", "key": "sk-test-0123456789abcdef"}} {
		if st, b := call("POST", "/api/user/provider-keys/validate", k); st != 200 || !bytes.Contains(b, []byte(`"valid":true`)) {
			t.Fatalf("validate %v: %d %s", k["provider"], st, b)
		}
		if st, b := call("POST", "/api/user/provider-keys", k); st != 200 {
			t.Fatalf("store %v: %d %s", k["provider"], st, b)
		}
	}
	for _, model := range []string{"claude-sonnet-4-5", "gpt-4o-mini"} {
		st, b := call("POST", "/v1/chat/completions", map[string]any{"model": model, "messages": []any{map[string]any{"role": "user", "content": "hi"}}})
		if st != 200 {
			t.Fatalf("chat with %s: %d %s", model, st, b)
		}
	}
	var paths []string
	up.mu.Lock()
	for _, r := range up.reqs {
		paths = append(paths, r.Path)
	}
	up.mu.Unlock()
	want := []string{"/v1/models", "/v1/models", "/v1/messages", "/v1/chat/completions"}
	if !slices.Equal(paths, want) {
		t.Fatalf("the provider saw %v, want %v", paths, want)
	}
}

// TestReadmeListsEveryProviderBaseURL: the README's table of default base
// URLs is the catalog's, row for row. On a mismatch the test prints the
// table to paste.
func TestReadmeListsEveryProviderBaseURL(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	fams, err := newFamilies(&config{}, egress.New(egress.Options{}), nil)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("| provider | id | default base URL | an override written… | variable |\n|---|---|---|---|---|\n")
	for i := range ownkey.Catalog {
		p := &ownkey.Catalog[i]
		base := "`" + p.BaseURL + "`"
		if p.UserEndpoint {
			base = "the credential's `endpoint`"
		}
		fam, err := fams.Family(p)
		if err != nil {
			t.Fatal(err)
		}
		// What OverrideURL does with the version segment, found by asking
		// it.
		const proxy = "https://proxy.example"
		version := "is used as it is"
		if pv, ok := fam.(provider.PathVersioned); ok {
			if got, err := provider.OverrideURL(p, fam, proxy+pv.PathVersion()+"/"); err == nil && got == proxy {
				version = "ending in `" + pv.PathVersion() + "`: it is dropped (the API's paths start with it)"
			}
		} else if i := strings.LastIndex(p.BaseURL, "/"); i > len("https://") {
			// The default less its last segment, when that is a version.
			v := p.BaseURL[i:]
			if got, err := provider.OverrideURL(p, fam, p.BaseURL[:i]); err == nil && got == p.BaseURL {
				version = "as the default without `" + v + "`: it is added"
			}
		}
		if got, err := provider.OverrideURL(p, fam, proxy+"/x"); !p.UserEndpoint && (err != nil || got != proxy+"/x") {
			t.Fatalf("%s: another server's URL %s/x became %s, %v", p.ID, proxy, got, err)
		}
		b.WriteString("| " + p.Name + " | `" + p.ID + "` | " + base + " | " + version + " | `" + p.BaseURLEnv() + "` |\n")
	}
	if !strings.Contains(string(readme), b.String()) {
		t.Fatalf("README.md's provider base URL table is not the catalog's; it should read:\n\n%s", b.String())
	}
}

// TestReadmeConfigurationListsEverySetting: the README's Configuration
// section names every setting of the table.
func TestReadmeConfigurationListsEverySetting(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(readme), "\n## Configuration\n")
	section, _, _ = strings.Cut(section, "\n## ")
	for _, s := range settings {
		name := s.Name
		if name == baseURLSetting {
			name = "OWNKEY_<ID>_BASE_URL"
		}
		if !strings.Contains(section, "`"+name+"`") {
			t.Errorf("README.md's Configuration section does not list %s", name)
		}
	}
}

func TestVersion(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.99.1", Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
		{Key: "vcs.time", Value: "2026-01-02T03:04:05Z"}, {Key: "vcs.modified", Value: "true"},
	}}
	got := formatVersion("v0.0.0-20260102030405-0123456789ab+dirty", "", bi)
	if !strings.HasPrefix(got, "ownkey v0.0.0-20260102030405-0123456789ab+dirty\ncommit 0123456789abcdef0123456789abcdef01234567 (2026-01-02T03:04:05Z), with uncommitted changes\ngo1.99.1 ") {
		t.Fatalf("formatVersion:\n%s", got)
	}
	// Without VCS information (a container build without .git), the commit
	// given at link time.
	if got := formatVersion("v1.2.3", "abc123", &debug.BuildInfo{GoVersion: "go1.99.1"}); !strings.HasPrefix(got, "ownkey v1.2.3\ncommit abc123\ngo1.99.1 ") {
		t.Fatalf("formatVersion with a link-time commit:\n%s", got)
	}

	// The binary: version and --version print the same, from its build
	// info (go build stamps the main module's version; "dev" otherwise).
	v, err := runOwnkey(t, nil, "version")
	if err != nil || !strings.HasPrefix(v, "ownkey ") {
		t.Fatalf("ownkey version: %v\n%s", err, v)
	}
	if v2, err := runOwnkey(t, nil, "--version"); err != nil || v2 != v {
		t.Fatalf("ownkey --version %q differs from ownkey version %q (%v)", v2, v, err)
	}
	bin := filepath.Join(t.TempDir(), "ownkey")
	if out, err := exec.Command("go", "build", "-ldflags", "-X main.version=v9.8.7 -X main.commit=feedface", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "ownkey v9.8.7\ncommit feedface\n") {
		t.Fatalf("a release build's --version: %v\n%s", err, out)
	}
}

func TestHealthcheckCommand(t *testing.T) {
	p := mustStartOwnkey(t, map[string]string{"OWNKEY_DATA_DIR": t.TempDir()})
	out, err := runOwnkey(t, map[string]string{"OWNKEY_ADDR": p.Addr}, "healthcheck")
	if err != nil || !strings.Contains(out, "/healthz: 200 OK") {
		t.Fatalf("healthcheck of a running server: %v\n%s", err, out)
	}
	// A wildcard listen address is asked on the loopback address.
	_, port, _ := strings.Cut(p.Addr, ":")
	if out, err := runOwnkey(t, map[string]string{"OWNKEY_ADDR": "0.0.0.0:" + port}, "healthcheck"); err != nil {
		t.Fatalf("healthcheck with OWNKEY_ADDR=0.0.0.0:%s: %v\n%s", port, err, out)
	}
	if out, err := runOwnkey(t, nil, "healthcheck", "--url", p.URL()+"/readyz"); err != nil || !strings.Contains(out, "/readyz: 200 OK") {
		t.Fatalf("healthcheck --url …/readyz: %v\n%s", err, out)
	}
	if out, err := runOwnkey(t, nil, "healthcheck", "--url", p.URL()+"/nowhere"); err == nil || !strings.Contains(out, "404") {
		t.Fatalf("healthcheck of a 404: %v\n%s", err, out)
	}
	_ = p.Stop()
	out, err = runOwnkey(t, map[string]string{"OWNKEY_ADDR": p.Addr}, "healthcheck", "--timeout", "2s")
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(out, "did not answer") {
		t.Fatalf("healthcheck of a stopped server: %v\n%s", err, out)
	}
}

// TestSubcommandHelpShowsOwnFlags runs each subcommand's --help: it lists
// the flags that subcommand takes and none of its siblings'.
func TestSubcommandHelpShowsOwnFlags(t *testing.T) {
	for _, c := range []struct {
		args      []string
		has, lack []string
	}{
		{[]string{"accounts", "create"}, []string{"-role", "-unmetered", "-json", "-data-dir"}, []string{"-reason", "-master-key-file"}},
		{[]string{"accounts", "list"}, []string{"-json", "-data-dir"}, []string{"-role", "-unmetered", "-reason"}},
		{[]string{"accounts", "credit"}, []string{"-reason", "-json"}, []string{"-role", "-unmetered"}},
		{[]string{"apikeys", "list"}, []string{"-account", "-json"}, []string{"-name", "-key", "-usd-per-day", "-requests-per-day"}},
		{[]string{"apikeys", "create"}, []string{"-account", "-name", "-usd-per-day", "-requests-per-day"}, []string{"-key "}},
		{[]string{"apikeys", "revoke"}, []string{"-account", "-key"}, []string{"-name", "-usd-per-day", "-json"}},
		{[]string{"apikeys", "set-limits"}, []string{"-account", "-key", "-usd-per-day"}, []string{"-name"}},
		{[]string{"prices", "list"}, []string{"-provider", "-json"}, []string{"-format", "-input", "-canonical", "-max-bytes"}},
		{[]string{"prices", "import"}, []string{"-format", "-max-bytes", "-timeout"}, []string{"-input", "-provider"}},
		{[]string{"prices", "set"}, []string{"-input", "-output", "-canonical"}, []string{"-format", "-provider", "-json"}},
		{[]string{"platform-keys", "list"}, []string{"-json", "-master-key-file"}, []string{"-check", "-model"}},
		{[]string{"platform-keys", "set"}, []string{"-check", "-model"}, []string{"-json"}},
		{[]string{"serve"}, []string{"-addr", "-data-dir", "-master-key-file"}, []string{"-json", "-account"}},
		{[]string{"healthcheck"}, []string{"-url", "-timeout"}, []string{"-data-dir"}},
	} {
		out, _ := runOwnkey(t, nil, append(c.args, "--help")...)
		for _, f := range c.has {
			if !strings.Contains(out, "  "+f) {
				t.Errorf("%v --help lacks %s:\n%s", c.args, f, out)
			}
		}
		for _, f := range c.lack {
			if strings.Contains(out, "  "+f) {
				t.Errorf("%v --help lists %s, another subcommand's:\n%s", c.args, f, out)
			}
		}
	}
}

// TestCLIAccountChecks: a command about an account that does not exist
// says so, and account names are unique, ignoring case.
func TestCLIAccountChecks(t *testing.T) {
	env := map[string]string{"OWNKEY_DATA_DIR": t.TempDir()}
	for _, args := range [][]string{
		{"apikeys", "list", "--account", "99"},
		{"apikeys", "create", "--account", "99"},
		{"apikeys", "revoke", "--account", "99", "--key", "1"},
		{"accounts", "credit", "99", "5", "--reason", "x"},
	} {
		out, err := runOwnkey(t, env, args...)
		if err == nil || !strings.Contains(out, "there is no account 99") {
			t.Errorf("%v: %v\n%s", args, err, out)
		}
	}
	if out, err := runOwnkey(t, env, "apikeys", "list", "--account", "nobody"); err == nil || !strings.Contains(out, `no account is named "nobody"`) {
		t.Errorf("apikeys list --account nobody: %v\n%s", err, out)
	}
	if out, err := runOwnkey(t, env, "accounts", "create", "bob"); err != nil {
		t.Fatalf("create bob: %v\n%s", err, out)
	}
	for _, name := range []string{"bob", "BOB", "Bob"} {
		out, err := runOwnkey(t, env, "accounts", "create", name)
		if err == nil || !strings.Contains(out, "already exists") {
			t.Errorf("a second account named %s: %v\n%s", name, err, out)
		}
	}
	out, err := runOwnkey(t, env, "accounts", "create", "carol")
	if err != nil {
		t.Fatalf("create carol: %v\n%s", err, out)
	}
	if out, err := runOwnkey(t, env, "accounts", "rename", "carol", "BOB"); err == nil || !strings.Contains(out, "already exists") {
		t.Errorf("renaming onto a taken name: %v\n%s", err, out)
	}
	// By name, the key list of an account that exists, even empty of
	// others' keys.
	if out, err := runOwnkey(t, env, "apikeys", "list", "--account", "Bob"); err != nil || !strings.Contains(out, "sk-ownkey-…") {
		t.Errorf("apikeys list --account Bob: %v\n%s", err, out)
	}
}

// The heap floor runs by default, not when turned off, and not when the
// operator set GOGC (theirs stands alone).
func TestStartHeapFloor(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	t.Setenv("GOGC", "")
	if f := startHeapFloor(&config{GCHeapFloor: 0}, log); f != nil {
		f.Stop()
		t.Fatal("OWNKEY_GC_HEAP_FLOOR=0 started a floor")
	}
	f := startHeapFloor(&config{GCHeapFloor: defaultGCHeapFloor}, log)
	if f == nil {
		t.Fatal("the default floor did not start")
	}
	f.Stop()
	t.Setenv("GOGC", "200")
	if f := startHeapFloor(&config{GCHeapFloor: defaultGCHeapFloor}, log); f != nil {
		f.Stop()
		t.Fatal("a floor started although GOGC is set")
	}
}
