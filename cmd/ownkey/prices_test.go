package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/internal/fixtures"
	"github.com/ownkey/ownkey/sqlstore/sqltest"
)

// modelEntryJSON returns the raw JSON of model id in a /v1/models answer,
// so that numbers are checked as written.
func modelEntryJSON(t *testing.T, r *response, id string) string {
	t.Helper()
	var list struct {
		Data []json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(r.Body, &list); err != nil {
		t.Fatalf("models: %d %s", r.Status, r.Body)
	}
	for _, e := range list.Data {
		var m struct{ ID string }
		_ = json.Unmarshal(e, &m)
		if m.ID == id {
			var b bytes.Buffer
			_ = json.Compact(&b, e)
			return b.String()
		}
	}
	t.Fatalf("%s is not listed: %s", id, r.Body)
	return ""
}

// TestModelsDetailed: ?detailed=true adds each model's prices at cost, per
// million tokens in USD written exactly, and the markup; without it the
// list is as it was.
func TestModelsDetailed(t *testing.T) {
	up := newFakeOpenAI(t, func(w http.ResponseWriter, r *http.Request, body []byte) { io.WriteString(w, completionJSON) })
	g, key, _ := chatGateway(t, up.srv.URL, map[string]string{"OWNKEY_BYOK_MARKUP": "0.075"})

	plain := g.do("GET", "/v1/models", key, nil)
	if got := modelEntryJSON(t, plain, "llama-3.3-70b-versatile"); got != `{"id":"llama-3.3-70b-versatile","object":"model","created":0,"owned_by":"groq"}` {
		t.Fatalf("plain entry: %s", got)
	}
	detailed := g.do("GET", "/api/v1/models?detailed=true", key, nil)
	for id, want := range map[string]string{
		"llama-3.3-70b-versatile": `{"id":"llama-3.3-70b-versatile","object":"model","created":0,"owned_by":"groq",` +
			`"pricing":{"prompt":0.59,"completion":0.79,"currency":"USD","unit":"per_million_tokens","markup":0.075}}`,
		"groq/openai/gpt-oss-20b": `{"id":"groq/openai/gpt-oss-20b","object":"model","created":0,"owned_by":"groq",` +
			`"pricing":{"prompt":0.075,"completion":0.3,"input_cache_read":0.0375,"currency":"USD","unit":"per_million_tokens","markup":0.075}}`,
	} {
		if got := modelEntryJSON(t, detailed, id); got != want {
			t.Errorf("%s:\n got %s\nwant %s", id, got, want)
		}
	}
	if strings.Contains(string(plain.Body), "pricing") {
		t.Fatal("pricing without ?detailed=true")
	}
}

// TestAdminPrices: the operator's prices over the admin API: set, shown,
// reaching routing, refused when malformed, removed.
func TestAdminPrices(t *testing.T) {
	t.Cleanup(func() { ownkey.SetActiveModels(nil) })
	up := newFakeOpenAI(t, func(w http.ResponseWriter, r *http.Request, body []byte) { io.WriteString(w, completionJSON) })
	g, key, _ := chatGateway(t, up.srv.URL, nil)

	r := g.do("PUT", "/api/admin/prices/groq/llama-3.3-70b-versatile", g.adminKey,
		map[string]any{"input": "0.5", "output": 1, "cached_input": 0.25})
	if r.Status != 200 || strings.TrimSpace(string(r.Body)) != `{"provider":"groq","model":"llama-3.3-70b-versatile",`+
		`"canonical_id":"llama-3.3-70b-instruct","source":"admin","pricing":{"prompt":0.5,"completion":1,"input_cache_read":0.25,`+
		`"currency":"USD","unit":"per_million_tokens","markup":0.05}}` {
		t.Fatalf("put: %d %s", r.Status, r.Body)
	}
	if got := modelEntryJSON(t, g.do("GET", "/v1/models?detailed=true", key, nil), "llama-3.3-70b-versatile"); !strings.Contains(got,
		`"pricing":{"prompt":0.5,"completion":1,"input_cache_read":0.25,`) {
		t.Fatalf("listed after the put: %s", got)
	}

	// A model the catalog lacks, with a slash in its id: it joins the
	// catalog, and auto-mapping reaches it.
	if r := g.do("PUT", "/api/admin/prices/groq/acme/new-model", g.adminKey, map[string]any{"input": 1, "output": 2}); r.Status != 200 {
		t.Fatalf("put a new model: %d %s", r.Status, r.Body)
	}
	req, _ := http.NewRequest("POST", g.srv.URL+"/v1/chat/completions",
		strings.NewReader(`{"model":"acme/new-model","messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("x-use-byok", "true")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if r := readResponse(t, res); r.Status != 200 || !strings.Contains(up.last(t).Body, `"model":"acme/new-model"`) {
		t.Fatalf("chat with the new model: %d %s; upstream got %s", r.Status, r.Body, up.last(t).Body)
	}

	for _, c := range []struct {
		name, path string
		body       any
		status     int
		param      string
	}{
		{"negative", "/api/admin/prices/groq/m", map[string]any{"input": -1, "output": 1}, 400, ""},
		{"finer than a nano-dollar", "/api/admin/prices/groq/m", map[string]any{"input": "0.0000000001", "output": 1}, 400, ""},
		{"not a number", "/api/admin/prices/groq/m", map[string]any{"input": "cheap", "output": 1}, 400, ""},
		{"no output price", "/api/admin/prices/groq/m", map[string]any{"input": 1}, 400, "input"},
		{"unknown provider", "/api/admin/prices/nope/m", map[string]any{"input": 1, "output": 1}, 400, "provider"},
		{"web search provider", "/api/admin/prices/tavily/m", map[string]any{"input": 1, "output": 1}, 400, "provider"},
		{"unknown field", "/api/admin/prices/groq/m", map[string]any{"input": 1, "output": 1, "prompt": 1}, 400, "prompt"},
		{"canonical not canonical", "/api/admin/prices/groq/m", map[string]any{"input": 1, "output": 1, "canonical": "Big-Model"}, 400, "canonical"},
	} {
		r := g.do("PUT", c.path, g.adminKey, c.body)
		if r.Status != c.status {
			t.Errorf("%s: %d %s", c.name, r.Status, r.Body)
			continue
		}
		if _, _, _, param := errorOf(t, r); c.param != "" && param != c.param {
			t.Errorf("%s: param %q: %s", c.name, param, r.Body)
		}
	}
	// Users may not set prices.
	if r := g.do("PUT", "/api/admin/prices/groq/m", key, map[string]any{"input": 0, "output": 0}); r.Status != 403 {
		t.Fatalf("user put: %d %s", r.Status, r.Body)
	}

	if r := g.do("DELETE", "/api/admin/prices/groq/llama-3.3-70b-versatile", g.adminKey, nil); r.Status != 200 {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	if got := modelEntryJSON(t, g.do("GET", "/v1/models?detailed=true", key, nil), "llama-3.3-70b-versatile"); !strings.Contains(got,
		`"pricing":{"prompt":0.59,"completion":0.79,`) {
		t.Fatalf("listed after the delete (the built-in price again): %s", got)
	}
	if r := g.do("DELETE", "/api/admin/prices/groq/llama-3.3-70b-versatile", g.adminKey, nil); r.Status != 404 {
		t.Fatalf("second delete: %d %s", r.Status, r.Body)
	}
}

// TestPricesReachOtherReplica: a price set through one server is shown by
// another sharing the database within a few seconds (PostgreSQL: the
// change feed's NOTIFY; SQLite: its watch on the file).
func TestPricesReachOtherReplica(t *testing.T) {
	t.Cleanup(func() { ownkey.SetActiveModels(nil) })
	sqltest.EachDSN(t, func(t *testing.T, dsn string) {
		// Both replicas hold the same master key, as replicas must.
		env := map[string]string{"OWNKEY_MASTER_KEY": "v1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))}
		if strings.HasPrefix(dsn, "postgres") {
			env["OWNKEY_DATABASE_URL"] = dsn
		}
		g1 := newTestGateway(t, env)
		// The other replica: the same database, a data directory of its own.
		c2 := *g1.cfg
		c2.DataDir = t.TempDir()
		replica, err := newApp(t.Context(), &c2, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(replica.Close)
		if r := g1.do("PUT", "/api/admin/prices/groq/llama-3.1-8b-instant", g1.adminKey, map[string]any{"input": 3, "output": 4}); r.Status != 200 {
			t.Fatalf("put: %d %s", r.Status, r.Body)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			e, _ := replica.prices.Catalog().Lookup("groq", "llama-3.1-8b-instant")
			if e.Prices.Input == ownkey.PriceOf(3_000_000_000) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the other replica still has %+v", e.Prices)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// TestPricesCLI runs the prices command as an operator would: import
// LiteLLM's table from a file, set and list a price, delete it.
func TestPricesCLI(t *testing.T) {
	table := fixtures.DataFile(t, "litellm-model-prices.json")
	bin := filepath.Join(t.TempDir(), "ownkey")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	dir := t.TempDir()
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "OWNKEY_DATA_DIR="+dir, "OWNKEY_DATABASE_URL=", "OWNKEY_LOG_LEVEL=error")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("ownkey %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	if out := run("prices", "import", "--format", "litellm", table); !strings.Contains(out, "imported 1356 prices from the litellm table (2984 models in it)") {
		t.Fatalf("import: %s", out)
	}
	if out := run("prices", "set", "groq", "llama-3.1-8b-instant", "--input", "0.06", "--output", "0.09"); !strings.Contains(out,
		"input $0.06, output $0.09 per million tokens") {
		t.Fatalf("set: %s", out)
	}
	out := run("prices", "list", "--provider", "groq", "--json")
	var rows []struct {
		Model  string                     `json:"model"`
		Source string                     `json:"source"`
		Prices map[string]json.RawMessage `json:"usd_per_million_tokens"`
	}
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("list: %v\n%s", err, out)
	}
	sources := map[string]string{}
	for _, r := range rows {
		sources[r.Model] = r.Source + " " + string(r.Prices["input"])
	}
	for model, want := range map[string]string{"llama-3.1-8b-instant": "admin 0.06", "openai/gpt-oss-20b": "import:litellm 0.075",
		"moonshotai/kimi-k2-instruct": "builtin 1"} {
		if sources[model] != want {
			t.Errorf("%s: %q, want %q", model, sources[model], want)
		}
	}
	run("prices", "delete", "groq", "llama-3.1-8b-instant")
	if out := run("prices", "list", "--provider", "groq"); !strings.Contains(out, "llama-3.1-8b-instant") || strings.Contains(out, "admin") {
		t.Fatalf("list after delete: %s", out)
	}
}
