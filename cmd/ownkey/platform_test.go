package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/ownkey/ownkey"
)

const platformGroqKey = "gsk_platform_groq_key_9876543210"

// platformGateway is a test gateway whose groq base URL points at upstream,
// with the platform's groq key stored and an account "dev" without keys.
func platformGateway(t *testing.T, upstream string, env map[string]string) (*testGateway, string, int64) {
	t.Helper()
	all := map[string]string{"OWNKEY_GROQ_BASE_URL": upstream + "/openai/v1"}
	for k, v := range env {
		all[k] = v
	}
	g := newTestGateway(t, all)
	if r := g.do("PUT", "/api/admin/platform-keys/groq", g.adminKey, map[string]any{"key": platformGroqKey}); r.Status != 200 {
		t.Fatalf("store the platform's groq key: %d %s", r.Status, r.Body)
	}
	id, key := g.createAccount("dev")
	return g, key, id
}

// jsonReply answers every request with body as JSON.
func jsonReply(body string) func(w http.ResponseWriter, r *http.Request, _ []byte) {
	return func(w http.ResponseWriter, r *http.Request, _ []byte) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, body)
	}
}

// plainSDK is the official OpenAI SDK as a new user configures it: base URL
// and key, no extra header.
func plainSDK(g *testGateway, key string) openai.Client {
	return openai.NewClient(option.WithBaseURL(g.srv.URL+"/v1/"), option.WithAPIKey(key), option.WithMaxRetries(0))
}

// TestSDKWithoutHeaders: base URL + key are enough. An account without a
// key is served with the platform's; once it stores its own, with its own;
// a model neither serves is a 400 the SDK reports, naming the key to add.
func TestSDKWithoutHeaders(t *testing.T) {
	up := newFakeOpenAI(t, jsonReply(completionJSON))
	g, key, id := platformGateway(t, up.srv.URL, nil)
	client := plainSDK(g, key)
	ask := func(model string) (*openai.ChatCompletion, error) {
		return client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
			Model:    model,
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Say hello")},
		})
	}

	resp, err := ask("llama-3.3-70b-versatile")
	if err != nil {
		t.Fatal(err)
	}
	if resp.Choices[0].Message.Content != "Hello from groq" || resp.Usage.PromptTokens != 21 {
		t.Fatalf("response: %+v", resp)
	}
	if got := up.last(t).Header.Get("Authorization"); got != "Bearer "+platformGroqKey {
		t.Fatalf("upstream got %q, want the platform's key", got)
	}

	if r := g.do("POST", "/api/user/provider-keys", key, map[string]any{"provider": "groq", "key": groqKey}); r.Status != 200 {
		t.Fatalf("store own key: %d %s", r.Status, r.Body)
	}
	if _, err := ask("llama-3.3-70b-versatile"); err != nil {
		t.Fatal(err)
	}
	if got := up.last(t).Header.Get("Authorization"); got != "Bearer "+groqKey {
		t.Fatalf("upstream got %q, want the account's own key", got)
	}

	_, err = ask("gpt-4o-mini")
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Code != "no_provider_for_model" ||
		!strings.Contains(apiErr.Message, "OpenAI") || !strings.Contains(apiErr.Message, "BYOK page") ||
		!strings.Contains(apiErr.Message, "ownkey platform-keys set openai") {
		t.Fatalf("no key for the model: %v", err)
	}
	recs := g.usageRecords(t, id, 2)
	for _, r := range recs {
		if r.Provider != "groq" || r.Status != 200 {
			t.Fatalf("usage record %+v", r)
		}
	}
}

// TestBYOKSwitchOverHTTP: the header and the body field force one kind of
// key, and neither falls back to the other.
func TestBYOKSwitchOverHTTP(t *testing.T) {
	up := newFakeOpenAI(t, jsonReply(completionJSON))
	g, key, _ := platformGateway(t, up.srv.URL, nil)
	// The account holds its own cerebras key only (cerebras also serves
	// llama models; its base URL is not overridden: never reached here).
	if r := g.do("POST", "/api/user/provider-keys", key, map[string]any{"provider": "cerebras", "key": "csk-own-cerebras-key-0001"}); r.Status != 200 {
		t.Fatalf("store own key: %d %s", r.Status, r.Body)
	}
	post := func(body string, headers ...string) *response {
		return g.send("POST", "/api/v1/chat/completions", key, body, headers...)
	}
	msgs := `"messages":[{"role":"user","content":"x"}]`
	groq := `{"model":"groq/llama-3.3-70b-versatile",` + msgs
	for _, c := range []struct {
		name, body string
		headers    []string
		status     int
		code       string
	}{
		// The groq/ prefix names the key missing, as a forced provider does.
		{"own forced: no own groq key, no fallback", groq + `}`, []string{"x-use-byok", "true"}, 400, "byok_no_key_for_provider"},
		{"own forced in the body", groq + `,"byok":{"enabled":true}}`, nil, 400, "byok_no_key_for_provider"},
		{"own forced, provider forced", `{"model":"m",` + msgs + `}`, []string{"x-use-byok", "true", "x-byok-provider", "groq"}, 400, "byok_no_key_for_provider"},
		{"platform forced", groq + `}`, []string{"x-use-byok", "false"}, 200, ""},
		{"platform forced in the body", groq + `,"byok":{"enabled":false}}`, nil, 200, ""},
		{"platform forced: never the account's key", `{"model":"m",` + msgs + `}`, []string{"x-use-byok", "false", "x-byok-provider", "cerebras"}, 400, "platform_no_key_for_provider"},
		{"auto: the platform's for groq", groq + `}`, nil, 200, ""},
	} {
		r := post(c.body, c.headers...)
		if r.Status != c.status {
			t.Errorf("%s: %d %s", c.name, r.Status, r.Body)
			continue
		}
		if c.code != "" {
			if _, _, code, _ := errorOf(t, r); code != c.code {
				t.Errorf("%s: code %q: %s", c.name, code, r.Body)
			}
		} else if got := up.last(t).Header.Get("Authorization"); got != "Bearer "+platformGroqKey {
			t.Errorf("%s: upstream got %q", c.name, got)
		}
	}
}

// TestPlatformKeysNeverVisibleToUsers: the admin API manages the platform's
// keys and shows their last four characters only; a user sees none of it
// (not on the BYOK page, not as its key), cannot reach the admin API, and
// /v1/models lists the models of providers reachable by either key.
func TestPlatformKeysNeverVisibleToUsers(t *testing.T) {
	g, key, _ := platformGateway(t, "http://127.0.0.1:1", nil)

	list := g.do("GET", "/api/admin/platform-keys", g.adminKey, nil)
	if list.Status != 200 || strings.Contains(string(list.Body), platformGroqKey) {
		t.Fatalf("admin list: %d %s", list.Status, list.Body)
	}
	var keys struct{ Keys []map[string]any }
	if err := json.Unmarshal(list.Body, &keys); err != nil || len(keys.Keys) != len(ownkey.Catalog) {
		t.Fatalf("admin list: %v %s", err, list.Body)
	}
	for _, k := range keys.Keys {
		if k["provider"] == "groq" && (k["status"] != "configured" || k["key_suffix"] != platformGroqKey[len(platformGroqKey)-4:]) {
			t.Fatalf("groq row: %v", k)
		}
	}
	one := g.do("GET", "/api/admin/platform-keys/groq", g.adminKey, nil).json(t)
	if one["status"] != "configured" || one["key_suffix"] != "3210" {
		t.Fatalf("admin get: %v", one)
	}
	if r := g.do("GET", "/api/admin/platform-keys/sk-proj-pastedkey", g.adminKey, nil); r.Status != 400 || strings.Contains(string(r.Body), "pastedkey") {
		t.Fatalf("unknown provider: %d %s", r.Status, r.Body)
	}
	// Refused like a user's key, and nothing stored.
	if r := g.do("PUT", "/api/admin/platform-keys/openai", g.adminKey, map[string]any{"key": " sk-padded-key-0000"}); r.Status != 400 {
		t.Fatalf("bad key accepted: %d %s", r.Status, r.Body)
	}
	// Users: no admin API, and nothing of the platform's key anywhere.
	for _, r := range []*response{
		g.do("GET", "/api/admin/platform-keys", key, nil),
		g.do("PUT", "/api/admin/platform-keys/openai", key, map[string]any{"key": "sk-user-trying-00000000"}),
		g.do("DELETE", "/api/admin/platform-keys/groq", key, nil),
	} {
		if r.Status != 403 {
			t.Fatalf("user on the admin API: %d %s", r.Status, r.Body)
		}
	}
	mine := g.do("GET", "/api/user/provider-keys", key, nil)
	if mine.Status != 200 || strings.Contains(string(mine.Body), "3210") || strings.Contains(string(mine.Body), `"configured"`) {
		t.Fatalf("the user's BYOK page shows the platform's key: %s", mine.Body)
	}
	if r := g.do("DELETE", "/api/user/provider-keys?provider=groq", key, nil); r.Status != 404 {
		t.Fatalf("user deleted the platform's key: %d %s", r.Status, r.Body)
	}

	models := func(headers ...string) map[string]string {
		r := g.send("GET", "/v1/models", key, "", headers...)
		var m struct {
			Data []struct {
				ID      string
				OwnedBy string `json:"owned_by"`
			}
		}
		if err := json.Unmarshal(r.Body, &m); err != nil || r.Status != 200 {
			t.Fatalf("models: %d %s", r.Status, r.Body)
		}
		out := map[string]string{}
		for _, e := range m.Data {
			out[e.ID] = e.OwnedBy
		}
		return out
	}
	if r := g.do("POST", "/api/user/provider-keys", key, map[string]any{"provider": "cerebras", "key": "csk-own-cerebras-key-0001"}); r.Status != 200 {
		t.Fatal(r.Status)
	}
	either := models()
	// Plain ids go where auto-mapping sends them: the account's own key
	// first (cerebras serves llama-3.3-70b), the platform's for the rest.
	if either["groq/llama-3.3-70b-versatile"] != "groq" || either["llama-3.3-70b-versatile"] != "groq" ||
		either["cerebras/llama-3.3-70b"] != "cerebras" || either["llama-3.3-70b"] != "cerebras" {
		t.Fatalf("models by either key: %v", either)
	}
	own := models("x-use-byok", "true")
	platform := models("x-use-byok", "false")
	for id, by := range own {
		if by != "cerebras" {
			t.Fatalf("x-use-byok: true lists %s of %s", id, by)
		}
	}
	for id, by := range platform {
		if by != "groq" {
			t.Fatalf("x-use-byok: false lists %s of %s", id, by)
		}
	}
	if len(own) == 0 || len(platform) == 0 || len(either) != len(own)+len(platform) {
		t.Fatalf("models: %d own, %d platform, %d either", len(own), len(platform), len(either))
	}

	if r := g.do("DELETE", "/api/admin/platform-keys/groq", g.adminKey, nil); r.Status != 200 {
		t.Fatalf("admin delete: %d %s", r.Status, r.Body)
	}
	if r := g.do("DELETE", "/api/admin/platform-keys/groq", g.adminKey, nil); r.Status != 404 {
		t.Fatalf("second delete: %d %s", r.Status, r.Body)
	}
	if _, ok := models()["groq/llama-3.3-70b-versatile"]; ok {
		t.Fatal("models still list the deleted platform key's provider")
	}
}

// TestPlatformKeyNeverLeaks: a platform key that its provider refuses and
// echoes, with debug logging on, appears in no log line, no response and no
// database file, through the admin API, the chat path and the CLI.
func TestPlatformKeyNeverLeaks(t *testing.T) {
	echo := newFakeOpenAI(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", r.Header.Get("Authorization"))
		w.WriteHeader(401)
		io.WriteString(w, `{"error":{"message":"Incorrect API key provided: `+r.Header.Get("Authorization")+`","type":"invalid_request_error","code":"invalid_api_key"}}`)
	})
	const canary = "gsk_canaryPLATFORM-Zq8Xw3Lm7Tv2Nb6Kc4Hj9P"
	g := newTestGateway(t, map[string]string{"OWNKEY_GROQ_BASE_URL": echo.srv.URL + "/openai/v1"})
	if r := g.do("PUT", "/api/admin/platform-keys/groq", g.adminKey, map[string]any{"key": canary}); r.Status != 200 {
		t.Fatalf("put: %d %s", r.Status, r.Body)
	}
	// Refused puts carrying it.
	for _, bad := range []string{`{"key":" ` + canary + `"}`, `{"key":"` + canary + `","x":1}`, `{"key":"` + canary, `{"key":{"apiKey":"` + canary + `"}}`} {
		if r := g.do("PUT", "/api/admin/platform-keys/groq", g.adminKey, bad); r.Status < 400 {
			t.Fatalf("bad put accepted: %s", bad)
		}
	}
	_, key := g.createAccount("alice")
	for _, stream := range []bool{false, true} {
		r := g.do("POST", "/api/v1/chat/completions", key, map[string]any{"model": "llama-3.3-70b-versatile", "stream": stream,
			"messages": []any{map[string]any{"role": "user", "content": "hi"}}})
		if r.Status != 401 {
			t.Fatalf("chat through the echoing provider: %d %s", r.Status, r.Body)
		}
	}
	if got := echo.last(t).Header.Get("Authorization"); got != "Bearer "+canary {
		t.Fatal("the platform key did not reach its provider")
	}
	g.do("GET", "/api/admin/platform-keys", g.adminKey, nil)
	g.do("GET", "/api/admin/platform-keys/groq", g.adminKey, nil)
	g.do("GET", "/v1/models", key, nil)
	g.do("GET", "/api/user/provider-keys", key, nil)
	cli := platformKeysCLI(t, g, "", "list")
	cli += platformKeysCLI(t, g, "", "list", "--json")

	c, err := g.app.vault.PlatformCredential(t.Context(), "groq")
	if err != nil {
		t.Fatal(err)
	}
	g.logs.Write([]byte(sprintAll(c)))
	g.app.vault.Close() // flush last-used writes before reading the files
	haystacks := map[string][]byte{"logs": []byte(g.logs.String()), "responses": g.transcript.Bytes(), "cli": []byte(cli)}
	for p, b := range g.rawFiles("master.key") {
		haystacks[p] = b
	}
	for name, hay := range haystacks {
		if leak := findPiece(hay, canary); leak != "" {
			t.Errorf("%s contains %q, a piece of the platform's key", name, leak)
		}
	}
	rec, err := g.app.store.PlatformCredential(t.Context(), "groq")
	if err != nil || rec.Suffix != canary[len(canary)-4:] || bytes.Contains(rec.Sealed, []byte(canary)) {
		t.Fatalf("stored: suffix %q, err %v", rec.Suffix, err)
	}
}

// platformKeysCLI runs ownkey platform-keys against g's data directory with
// stdin, and returns what it printed.
func platformKeysCLI(t *testing.T, g *testGateway, stdin string, args ...string) string {
	t.Helper()
	out, err := runPlatformKeysCLI(g, stdin, args...)
	if err != nil {
		t.Fatalf("platform-keys %v: %v\n%s", args, err, out)
	}
	return out
}

func runPlatformKeysCLI(g *testGateway, stdin string, args ...string) (string, error) {
	var out, errOut bytes.Buffer
	err := platformKeys(append(args, "--data-dir", g.cfg.DataDir), strings.NewReader(stdin), &out, &errOut)
	return out.String() + errOut.String(), err
}

// TestPlatformKeysCLI: set reads the key from stdin (never from the command
// line), list shows the last four characters, delete removes it, and a
// running server follows each change.
func TestPlatformKeysCLI(t *testing.T) {
	up := newFakeOpenAI(t, jsonReply(completionJSON))
	g := newTestGateway(t, map[string]string{"OWNKEY_GROQ_BASE_URL": up.srv.URL + "/openai/v1"})
	_, key := g.createAccount("dev")
	chat := func() int {
		return g.do("POST", "/api/v1/chat/completions", key, map[string]any{"model": "llama-3.3-70b-versatile",
			"messages": []any{map[string]any{"role": "user", "content": "hi"}}}).Status
	}
	if s := chat(); s != 400 {
		t.Fatalf("before: %d", s)
	}

	// The key on the command line is refused, and not repeated.
	out, err := runPlatformKeysCLI(g, "", "set", "groq", platformGroqKey)
	if err == nil || strings.Contains(err.Error()+out, "9876") || !strings.Contains(err.Error(), "stdin") {
		t.Fatalf("key in argv: %v %s", err, out)
	}
	if out, err := runPlatformKeysCLI(g, "", "set", platformGroqKey); err == nil || strings.Contains(err.Error()+out, "9876") {
		t.Fatalf("key as the provider: %v %s", err, out)
	}
	if out, err := runPlatformKeysCLI(g, "", "set", "--check", "groq", platformGroqKey); err == nil || strings.Contains(err.Error()+out, "9876") {
		t.Fatalf("key in argv after the flags: %v %s", err, out)
	}
	if _, err := runPlatformKeysCLI(g, "\n", "set", "groq"); err == nil || !strings.Contains(err.Error(), "no key") {
		t.Fatalf("empty stdin: %v", err)
	}
	if _, err := runPlatformKeysCLI(g, "short\n", "set", "groq"); err == nil || !strings.Contains(err.Error(), "too short") {
		t.Fatalf("a key that is no key: %v", err)
	}

	out = platformKeysCLI(t, g, platformGroqKey+"\n", "set", "groq")
	if !strings.Contains(out, "…3210") || strings.Contains(out, platformGroqKey) {
		t.Fatalf("set: %s", out)
	}
	// The server follows the CLI's commit (SQLite: polled every second),
	// not only its cache TTL.
	until(t, "the server uses the CLI's key", func() bool { return chat() == 200 })
	if got := up.last(t).Header.Get("Authorization"); got != "Bearer "+platformGroqKey {
		t.Fatalf("upstream got %q", got)
	}
	list := platformKeysCLI(t, g, "", "list")
	if !strings.Contains(list, "groq") || !strings.Contains(list, "…3210") || strings.Contains(list, platformGroqKey) {
		t.Fatalf("list: %s", list)
	}
	// JSON credentials come whole from stdin too.
	azure := `{"endpoint":"https://example.openai.azure.com","apiKey":"azure-platform-key-000000abcd","deploymentName":"gpt4o","apiVersion":"2024-10-21"}`
	platformKeysCLI(t, g, azure, "set", "azure")
	if js := platformKeysCLI(t, g, "", "list", "--json"); !strings.Contains(js, `"azure"`) || !strings.Contains(js, `"abcd"`) || strings.Contains(js, "azure-platform-key") {
		t.Fatalf("list --json: %s", js)
	}
	if _, err := runPlatformKeysCLI(g, "not json", "set", "azure"); err == nil || !strings.Contains(err.Error(), "JSON object") {
		t.Fatalf("azure without JSON: %v", err)
	}

	platformKeysCLI(t, g, "", "delete", "groq")
	until(t, "the server drops the deleted key", func() bool { return chat() == 400 })
	if _, err := runPlatformKeysCLI(g, "", "delete", "groq"); err == nil {
		t.Fatal("second delete succeeded")
	}
}

// TestPlatformKeysCLICheck: with --check the key is stored only if the
// provider accepts it.
func TestPlatformKeysCLICheck(t *testing.T) {
	up := newFakeOpenAI(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get("Authorization") != "Bearer "+platformGroqKey {
			w.WriteHeader(401)
			io.WriteString(w, `{"error":{"message":"Invalid API Key","type":"invalid_request_error","code":"invalid_api_key"}}`)
			return
		}
		io.WriteString(w, `{"object":"list","data":[]}`)
	})
	g := newTestGateway(t, map[string]string{"OWNKEY_GROQ_BASE_URL": up.srv.URL + "/openai/v1"})
	_, err := runPlatformKeysCLI(g, "gsk_refused_by_the_provider_00", "set", "groq", "--check")
	if err == nil || !strings.Contains(err.Error(), "not stored") || !strings.Contains(err.Error(), "Invalid API Key") {
		t.Fatalf("refused key: %v", err)
	}
	if got := up.last(t); got.Path != "/openai/v1/models" {
		t.Fatalf("checked at %s", got.Path)
	}
	if _, err := g.app.store.PlatformCredential(t.Context(), "groq"); ownkey.ErrorCode(err) != ownkey.ENOTFOUND {
		t.Fatalf("a refused key was stored: %v", err)
	}
	platformKeysCLI(t, g, platformGroqKey, "set", "--check", "groq")
	if _, err := g.app.store.PlatformCredential(t.Context(), "groq"); err != nil {
		t.Fatalf("an accepted key was not stored: %v", err)
	}
}

func TestPlatformMarginConfig(t *testing.T) {
	for v, want := range map[string]ownkey.PPM{"": 0, "0": 0, "0.1": 100_000, "0.025": 25_000} {
		t.Setenv("OWNKEY_PLATFORM_MARGIN", v)
		if got, err := envRate("OWNKEY_PLATFORM_MARGIN"); err != nil || got != want {
			t.Errorf("%q: %d, %v", v, got, err)
		}
	}
	for _, v := range []string{"10%", "-0.1", "0.1234567", "abc"} {
		t.Setenv("OWNKEY_PLATFORM_MARGIN", v)
		if _, err := envRate("OWNKEY_PLATFORM_MARGIN"); err == nil || !strings.Contains(err.Error(), "OWNKEY_PLATFORM_MARGIN") {
			t.Errorf("%q accepted: %v", v, err)
		}
	}
}

// TestModelsDetailedPlatformMargin: /v1/models?detailed=true shows, per
// model, the rate of the key that would serve it: the BYOK markup for the
// account's own, OWNKEY_PLATFORM_MARGIN for the platform's.
func TestModelsDetailedPlatformMargin(t *testing.T) {
	g, key, _ := platformGateway(t, "http://127.0.0.1:1", map[string]string{"OWNKEY_PLATFORM_MARGIN": "0.125"})
	if r := g.do("POST", "/api/user/provider-keys", key, map[string]any{"provider": "cerebras", "key": "csk-own-cerebras-key-0001"}); r.Status != 200 {
		t.Fatal(r.Status)
	}
	r := g.do("GET", "/v1/models?detailed=true", key, nil)
	var m struct {
		Data []struct {
			ID      string
			Pricing struct{ Markup json.Number }
		}
	}
	if err := json.Unmarshal(r.Body, &m); err != nil || r.Status != 200 {
		t.Fatalf("models: %d %s", r.Status, r.Body)
	}
	markups := map[string]string{}
	for _, e := range m.Data {
		markups[e.ID] = e.Pricing.Markup.String()
	}
	for id, want := range map[string]string{
		"groq/llama-3.3-70b-versatile": "0.125", "llama-3.3-70b-versatile": "0.125",
		"cerebras/llama-3.3-70b": "0.05", "llama-3.3-70b": "0.05",
	} {
		if markups[id] != want {
			t.Errorf("%s: markup %q, want %s", id, markups[id], want)
		}
	}
}
