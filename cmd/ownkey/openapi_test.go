package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ownkey/ownkey/httpapi"
)

// openAPIDoc is the served document, decoded.
type openAPIDoc struct {
	OpenAPI    string                               `json:"openapi"`
	Paths      map[string]map[string]map[string]any `json:"paths"`
	Components struct {
		Schemas         map[string]any `json:"schemas"`
		Responses       map[string]any `json:"responses"`
		SecuritySchemes map[string]any `json:"securitySchemes"`
	} `json:"components"`
	raw map[string]any
}

func fetchOpenAPI(t *testing.T, g *testGateway) *openAPIDoc {
	t.Helper()
	r := g.send("GET", "/openapi.json", "", "")
	if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /openapi.json: %d %s %.200s", r.Status, r.Header.Get("Content-Type"), r.Body)
	}
	var d openAPIDoc
	if err := json.Unmarshal(r.Body, &d); err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal(r.Body, &d.raw)
	if d.OpenAPI != "3.1.0" {
		t.Fatalf("openapi = %q", d.OpenAPI)
	}
	return &d
}

// docPath is an OpenAPI path for a mux pattern, written independently of
// httpapi's own conversion: {name...} → {name}, {$} dropped, a subtree
// ("/assets/") gets {path}.
func docPath(pattern string) (method, path string) {
	method, path, _ = strings.Cut(pattern, " ")
	path = strings.ReplaceAll(path, "{$}", "")
	path = regexp.MustCompile(`\{(\w+)\.\.\.\}`).ReplaceAllString(path, "{$1}")
	if strings.HasSuffix(path, "/") && path != "/" {
		path += "{path}"
	}
	return strings.ToLower(method), path
}

// TestOpenAPICoversEveryRoute holds the document to the live router: every
// pattern the server registered (its own routes and the dashboard's) is an
// operation of the document, described; every operation of the document is
// served (a request to it is neither an unknown URL nor a wrong method);
// every description of httpapi is of a served route unless it is marked
// as another branch's, still to land; and the document is well formed
// ($refs resolve, path parameters declared, operation ids unique).
func TestOpenAPICoversEveryRoute(t *testing.T) {
	g := newTestGateway(t, nil)
	d := fetchOpenAPI(t, g)
	patterns := g.app.server.Patterns()
	if len(patterns) < 40 || !slices.Contains(patterns, "POST /v1/chat/completions") || !slices.Contains(patterns, "GET /byok") {
		t.Fatalf("the server lists %d patterns: %v", len(patterns), patterns)
	}
	for _, p := range patterns {
		method, path := docPath(p)
		op := d.Paths[path][method]
		if op == nil {
			t.Errorf("%s is served but missing from /openapi.json (describe it in httpapi/openapi.go)", p)
			continue
		}
		if op["summary"] == "undocumented" {
			t.Errorf("%s is served but has no description in httpapi/openapi.go", p)
		}
	}
	served, pending := httpapi.OpenAPIOperations()
	for _, p := range served {
		if !slices.Contains(patterns, p) {
			t.Errorf("httpapi/openapi.go describes %s, which the server does not serve", p)
		}
	}
	for _, p := range pending {
		if slices.Contains(patterns, p) {
			t.Logf("%s has landed: its description need not be marked pending", p)
		}
	}

	// Every operation answers at its path (unauthenticated: 401s are
	// fine, an unknown URL or a 405 is not).
	values := map[string]string{"id": "1", "key": "1", "provider": "groq", "model": "meta/llama", "path": "app.js"}
	count := 0
	for path, item := range d.Paths {
		for method := range item {
			count++
			url := regexp.MustCompile(`\{(\w+)\}`).ReplaceAllStringFunc(path, func(m string) string { return values[m[1:len(m)-1]] })
			req, _ := http.NewRequest(strings.ToUpper(method), g.srv.URL+url, strings.NewReader("{}"))
			res, err := noRedirect.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusMethodNotAllowed || strings.Contains(string(b), `"unknown_url"`) {
				t.Errorf("%s %s is in the document but the server answers %d %s", strings.ToUpper(method), url, res.StatusCode, b)
			}
		}
	}
	if count != len(patterns) {
		t.Errorf("the document has %d operations, the server %d routes", count, len(patterns))
	}

	// Well formed.
	ids := map[string]bool{}
	for path, item := range d.Paths {
		declared := regexp.MustCompile(`\{(\w+)\}`).FindAllStringSubmatch(path, -1)
		for method, op := range item {
			id, _ := op["operationId"].(string)
			if id == "" || ids[id] {
				t.Errorf("%s %s: operationId %q missing or repeated", method, path, id)
			}
			ids[id] = true
			var inPath []string
			params, _ := op["parameters"].([]any)
			for _, p := range params {
				if pm := p.(map[string]any); pm["in"] == "path" {
					inPath = append(inPath, pm["name"].(string))
				}
			}
			for _, m := range declared {
				if !slices.Contains(inPath, m[1]) {
					t.Errorf("%s %s: path parameter %s not declared", method, path, m[1])
				}
			}
			if rs, _ := op["responses"].(map[string]any); len(rs) == 0 {
				t.Errorf("%s %s: no responses", method, path)
			}
		}
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok && d.resolve(ref) == nil {
				t.Errorf("$ref %s does not resolve", ref)
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(d.raw)
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// resolve follows a local $ref ("#/components/schemas/Account").
func (d *openAPIDoc) resolve(ref string) map[string]any {
	var cur any = d.raw
	for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[part]
	}
	m, _ := cur.(map[string]any)
	return m
}

// responseSchema is the documented JSON schema of method path's answer
// with status.
func (d *openAPIDoc) responseSchema(t *testing.T, method, path string, status int) map[string]any {
	t.Helper()
	op := d.Paths[path][strings.ToLower(method)]
	if op == nil {
		t.Fatalf("%s %s is not in the document", method, path)
	}
	rs, _ := op["responses"].(map[string]any)
	r, _ := rs[strconv.Itoa(status)].(map[string]any)
	if r == nil {
		t.Fatalf("%s %s answered %d, which the document does not list", method, path, status)
	}
	if ref, ok := r["$ref"].(string); ok {
		r = d.resolve(ref)
	}
	content, _ := r["content"].(map[string]any)
	js, _ := content["application/json"].(map[string]any)
	if js == nil {
		t.Fatalf("%s %s %d: no JSON content documented", method, path, status)
	}
	return js["schema"].(map[string]any)
}

// validate checks v against schema, for the part of JSON Schema the
// document uses: $ref, type (one or a list), properties, required,
// additionalProperties: false, items, enum, anyOf, pattern.
func (d *openAPIDoc) validate(schema map[string]any, v any, at string) []string {
	if ref, ok := schema["$ref"].(string); ok {
		return d.validate(d.resolve(ref), v, at)
	}
	var errs []string
	if alts, ok := schema["anyOf"].([]any); ok {
		for _, s := range alts {
			if len(d.validate(s.(map[string]any), v, at)) == 0 {
				return nil
			}
		}
		return []string{at + ": matches none of anyOf"}
	}
	if t, ok := schema["type"]; ok {
		var types []string
		switch t := t.(type) {
		case string:
			types = []string{t}
		case []any:
			for _, x := range t {
				types = append(types, x.(string))
			}
		}
		if !slices.Contains(types, jsonType(v)) && !(jsonType(v) == "integer" && slices.Contains(types, "number")) {
			return []string{fmt.Sprintf("%s: %s, want %v", at, jsonType(v), types)}
		}
	}
	if e, ok := schema["enum"].([]any); ok && !slices.Contains(e, v) {
		errs = append(errs, fmt.Sprintf("%s: %v is not one of %v", at, v, e))
	}
	if p, ok := schema["pattern"].(string); ok {
		if s, ok := v.(string); ok && !regexp.MustCompile(p).MatchString(s) {
			errs = append(errs, fmt.Sprintf("%s: %q does not match %s", at, s, p))
		}
	}
	switch v := v.(type) {
	case map[string]any:
		props, _ := schema["properties"].(map[string]any)
		for _, r := range asStrings(schema["required"]) {
			if _, ok := v[r]; !ok {
				errs = append(errs, at+": required member "+r+" missing")
			}
		}
		for k, x := range v {
			ps, ok := props[k].(map[string]any)
			if !ok {
				if schema["additionalProperties"] == false {
					errs = append(errs, at+": member "+k+" is not documented")
				}
				continue
			}
			errs = append(errs, d.validate(ps, x, at+"."+k)...)
		}
	case []any:
		if items, ok := schema["items"].(map[string]any); ok {
			for i, x := range v {
				errs = append(errs, d.validate(items, x, at+"["+strconv.Itoa(i)+"]")...)
			}
		}
	}
	return errs
}

func asStrings(v any) []string {
	var out []string
	if l, ok := v.([]any); ok {
		for _, x := range l {
			out = append(out, x.(string))
		}
	}
	return out
}

func jsonType(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case float64:
		if v == float64(int64(v)) {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "unknown"
}

// TestOpenAPISchemasMatchAnswers drives the API and checks each answer
// against the schema the document gives for its path and status: the
// document says what the server really sends (members, types, required
// ones, and nothing undocumented in the closed objects).
func TestOpenAPISchemasMatchAnswers(t *testing.T) {
	up := newFakeOpenAI(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		w.Header().Set("Content-Type", "application/json")
		if strings.Contains(r.Header.Get("Authorization"), "revoked") {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":{"message":"Invalid API Key","type":"invalid_request_error","code":"invalid_api_key"}}`)
			return
		}
		io.WriteString(w, completionJSON)
	})
	g, key, id, _ := searchGateway(t, map[string]string{"OWNKEY_GROQ_BASE_URL": up.srv.URL + "/openai/v1"}, nil, "tavily")
	d := fetchOpenAPI(t, g)
	check := func(method, path, docPath string, key string, body any, wantStatus int) map[string]any {
		t.Helper()
		var r *response
		if body == nil {
			r = g.do(method, path, key, nil, true)
		} else {
			r = g.do(method, path, key, body, true)
		}
		if r.Status != wantStatus {
			t.Fatalf("%s %s: %d %s", method, path, r.Status, r.Body)
		}
		var v any
		if err := json.Unmarshal(r.Body, &v); err != nil {
			t.Fatalf("%s %s: not JSON: %s", method, path, r.Body)
		}
		if errs := d.validate(d.responseSchema(t, method, docPath, r.Status), v, method+" "+docPath); len(errs) > 0 {
			t.Errorf("%s %s %d does not match the document:\n  %s\n%s", method, path, r.Status, strings.Join(errs, "\n  "), r.Body)
		}
		m, _ := v.(map[string]any)
		return m
	}
	admin := g.adminKey
	check("GET", "/healthz", "/healthz", "", nil, 200)
	check("GET", "/readyz", "/readyz", "", nil, 200)
	check("GET", "/api/user/provider-keys", "/api/user/provider-keys", "", nil, 401)
	check("GET", "/api/user/provider-keys", "/api/user/provider-keys", key, nil, 200)
	check("POST", "/api/user/provider-keys", "/api/user/provider-keys", key, map[string]any{"provider": "groq", "key": groqKey, "spend_cap": map[string]any{"usd_per_day": "5"}}, 200)
	check("PATCH", "/api/user/provider-keys", "/api/user/provider-keys", key, map[string]any{"provider": "groq", "spend_cap": map[string]any{"usd_per_month": "50"}}, 200)
	check("POST", "/api/user/provider-keys", "/api/user/provider-keys", key, map[string]any{"provider": "groq"}, 400)
	check("POST", "/api/user/provider-keys/validate", "/api/user/provider-keys/validate", key, map[string]any{"provider": "groq", "key": groqKey}, 200)
	check("GET", "/api/user/me", "/api/user/me", key, nil, 200)
	check("GET", "/api/user/api-keys", "/api/user/api-keys", key, nil, 200)
	created := check("POST", "/api/user/api-keys", "/api/user/api-keys", key, map[string]any{"name": "ci", "limits": map[string]any{"usd_per_day": "5"}}, 201)
	kid := strconv.Itoa(int(created["id"].(float64)))
	check("PATCH", "/api/user/api-keys/"+kid, "/api/user/api-keys/{id}", key, map[string]any{"limits": map[string]any{"requests_per_day": 10}}, 200)
	check("DELETE", "/api/user/api-keys/"+kid, "/api/user/api-keys/{id}", key, nil, 200)
	for _, p := range []string{"/v1/models", "/api/v1/models", "/v1/models?detailed=true"} {
		docP, _, _ := strings.Cut(p, "?")
		check("GET", p, docP, key, nil, 200)
	}
	check("POST", "/v1/chat/completions", "/v1/chat/completions", key,
		map[string]any{"model": "groq/llama-3.3-70b-versatile", "messages": []any{map[string]any{"role": "user", "content": "hi"}}}, 200)
	check("POST", "/v1/responses", "/v1/responses", key, map[string]any{"model": "groq/llama-3.3-70b-versatile", "input": "hi"}, 200)
	check("GET", "/v1/responses/resp_123", "/v1/responses/{rest}", key, nil, 404)
	msg := map[string]any{"model": "groq/llama-3.3-70b-versatile", "max_tokens": 50, "messages": []any{map[string]any{"role": "user", "content": "hi"}}}
	check("POST", "/v1/messages", "/v1/messages", key, msg, 200)
	check("POST", "/v1/messages/count_tokens", "/v1/messages/count_tokens", key, map[string]any{"model": "groq/llama-3.3-70b-versatile", "messages": msg["messages"]}, 200)
	check("POST", "/v1/messages", "/v1/messages", key, map[string]any{"model": "groq/llama-3.3-70b-versatile"}, 400) // in Anthropic's envelope
	check("POST", "/api/web", "/api/web", key, map[string]any{"query": "latest rust release", "provider": "tavily"}, 200)
	g.usageRecords(t, id, 4) // the chat, the response, the message and the search
	check("GET", "/api/v1/usage?group_by=model", "/api/v1/usage", key, nil, 200)
	check("GET", "/api/v1/usage?group_by=nonsense", "/api/v1/usage", key, nil, 400)
	check("GET", "/api/v1/balance", "/api/v1/balance", key, nil, 200)
	check("POST", "/api/check-balance", "/api/check-balance", key, nil, 200)
	// A key shaped like another provider's is stored with a warning; a key
	// the provider refuses is then shown failing.
	if v := check("POST", "/api/user/provider-keys", "/api/user/provider-keys", key, map[string]any{"provider": "groq", "key": "sk-ant-api03-revoked-0123456789abcdef"}, 200); v["warning"] == nil {
		t.Errorf("no warning for an Anthropic-shaped groq key: %v", v)
	}
	check("POST", "/v1/chat/completions", "/v1/chat/completions", key,
		map[string]any{"model": "groq/llama-3.3-70b-versatile", "messages": []any{map[string]any{"role": "user", "content": "hi"}}}, 401)
	list := check("GET", "/api/user/provider-keys", "/api/user/provider-keys", key, nil, 200)
	for _, k := range list["keys"].([]any) {
		if k := k.(map[string]any); k["provider"] == "groq" && (k["failing"] != true || k["failure"] == nil) {
			t.Errorf("the refused key is not shown failing: %v", k)
		}
	}
	check("DELETE", "/api/user/provider-keys?provider=groq", "/api/user/provider-keys", key, nil, 200)

	check("GET", "/api/admin/accounts", "/api/admin/accounts", key, nil, 403)
	check("GET", "/api/admin/accounts", "/api/admin/accounts", admin, nil, 200)
	acct := check("POST", "/api/admin/accounts", "/api/admin/accounts", admin, map[string]any{"name": "doc-user", "metered": false}, 201)
	aid := strconv.Itoa(int(acct["account"].(map[string]any)["id"].(float64)))
	check("GET", "/api/admin/accounts/"+aid, "/api/admin/accounts/{id}", admin, nil, 200)
	check("GET", "/api/admin/accounts/999", "/api/admin/accounts/{id}", admin, nil, 404)
	check("PATCH", "/api/admin/accounts/"+aid, "/api/admin/accounts/{id}", admin, map[string]any{"name": "doc-user-2"}, 200)
	check("PATCH", "/api/admin/accounts/"+aid, "/api/admin/accounts/{id}", admin, map[string]any{"name": "SEARCHER"}, 409)
	check("GET", "/api/admin/accounts/"+aid+"/api-keys", "/api/admin/accounts/{id}/api-keys", admin, nil, 200)
	ak := check("POST", "/api/admin/accounts/"+aid+"/api-keys", "/api/admin/accounts/{id}/api-keys", admin, map[string]any{"name": "x"}, 201)
	akid := strconv.Itoa(int(ak["id"].(float64)))
	check("PATCH", "/api/admin/accounts/"+aid+"/api-keys/"+akid, "/api/admin/accounts/{id}/api-keys/{key}", admin, map[string]any{"limits": map[string]any{"usd_per_day": nil}}, 200)
	check("DELETE", "/api/admin/accounts/"+aid+"/api-keys/"+akid, "/api/admin/accounts/{id}/api-keys/{key}", admin, nil, 200)
	check("POST", "/api/admin/accounts/"+aid+"/credit", "/api/admin/accounts/{id}/credit", admin, map[string]any{"amount_usd": "20", "reason": "top-up"}, 200)
	check("POST", "/api/admin/accounts/"+aid+"/debit", "/api/admin/accounts/{id}/debit", admin, map[string]any{"amount_usd": 1.5, "reason": "fix"}, 200)
	check("PUT", "/api/admin/prices/openrouter/google/gemini-2.5-pro", "/api/admin/prices/{provider}/{model}", admin,
		map[string]any{"input": "1.25", "output": "10", "cached_input": "0.31"}, 200)
	check("DELETE", "/api/admin/prices/openrouter/google/gemini-2.5-pro", "/api/admin/prices/{provider}/{model}", admin, nil, 200)
	check("PUT", "/api/admin/platform-keys/groq", "/api/admin/platform-keys/{provider}", admin, map[string]any{"key": groqKey}, 200)
	check("GET", "/api/admin/platform-keys/groq", "/api/admin/platform-keys/{provider}", admin, nil, 200)
	check("GET", "/api/admin/platform-keys", "/api/admin/platform-keys", admin, nil, 200)
	check("DELETE", "/api/admin/platform-keys/groq", "/api/admin/platform-keys/{provider}", admin, nil, 200)
	check("DELETE", "/api/admin/platform-keys/groq", "/api/admin/platform-keys/{provider}", admin, nil, 404)
	// A wrong method is a 405 in the documented error envelope.
	r := g.send("PUT", "/api/user/me", key, "{}")
	var v any
	_ = json.Unmarshal(r.Body, &v)
	if errs := d.validate(map[string]any{"$ref": "#/components/schemas/Error"}, v, "405"); r.Status != 405 || len(errs) > 0 {
		t.Errorf("PUT /api/user/me: %d %s %v", r.Status, r.Body, errs)
	}

	// The validator itself refuses what the document does not say.
	if errs := d.validate(d.responseSchema(t, "GET", "/api/v1/balance", 200), map[string]any{"usd_balance": "1.5", "extra": 1}, "x"); len(errs) != 2 {
		t.Fatalf("the validator let a wrong balance through: %v", errs)
	}
}
