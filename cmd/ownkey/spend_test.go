package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/sqlstore"
	"github.com/ownkey/ownkey/sqlstore/sqltest"
)

// eachBackend runs fn on a gateway over SQLite and, when
// OWNKEY_TEST_POSTGRES_URL is set, over PostgreSQL.
func eachBackend(t *testing.T, fn func(t *testing.T, env map[string]string)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, map[string]string{}) })
	t.Run("postgres", func(t *testing.T) {
		fn(t, map[string]string{"OWNKEY_DATABASE_URL": sqltest.NewPostgresDSN(t)})
	})
}

// dollarPerMTok prices every model at $1 per million input tokens and $4
// per million output tokens: completionJSON's 21 prompt and 4 completion
// tokens cost 21×1000 + 4×4000 = 37,000 n$ at cost, and 1,850 n$ (5%)
// charged.
type dollarPerMTok struct{}

func (dollarPerMTok) Quote(provider, served, _ string) ownkey.Quote {
	p := ownkey.Prices{Input: ownkey.PriceOf(1_000_000_000), Output: ownkey.PriceOf(4_000_000_000)}
	return ownkey.Quote{Provider: provider, Model: served, Basis: ownkey.PriceCatalog, AtCost: p, MarkupBase: p}
}

// pricedGateway is chatGateway with every request priced (dollarPerMTok,
// 5% markup), as billing prices them.
func pricedGateway(t *testing.T, env map[string]string) (*testGateway, string, int64) {
	up := newFakeOpenAI(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, completionJSON)
	})
	g, key, id := chatGateway(t, up.srv.URL, env)
	g.app.chat.Prices, g.app.chat.Markups = dollarPerMTok{}, ownkey.Markups{BYOK: ownkey.DefaultBYOKMarkup}
	return g, key, id
}

func (g *testGateway) chatStatus(t *testing.T, key string) *response {
	t.Helper()
	res, err := http.DefaultClient.Do(g.chatRequest(key))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return &response{Status: res.StatusCode, Header: res.Header, Body: b}
}

// wantLimited checks a refusal: 429, OpenAI's rate limit envelope with the
// reason as code, the message, and a Retry-After of the seconds until the
// limit resets.
func wantLimited(t *testing.T, r *response, reason, message string, resetsAt time.Time) {
	t.Helper()
	msg, typ, code, _ := errorOf(t, r)
	if r.Status != 429 || typ != "rate_limit_error" || code != reason || msg != message {
		t.Fatalf("refusal:\n got %d %s %s %q\nwant 429 rate_limit_error %s %q", r.Status, typ, code, msg, reason, message)
	}
	secs, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if left := time.Until(resetsAt); err != nil || secs < int(left/time.Second)-5 || secs > int(left/time.Second)+5 {
		t.Fatalf("Retry-After %q; want about %v", r.Header.Get("Retry-After"), left)
	}
}

func tomorrowUTC() time.Time { return ownkey.UTCDay(time.Now()).AddDate(0, 0, 1) }

func TestAPIKeyDailyLimits(t *testing.T) {
	eachBackend(t, func(t *testing.T, env map[string]string) {
		g, key, id := pricedGateway(t, env)
		// A key with limits, made by an unlimited one.
		r := g.do("POST", "/api/user/api-keys", key, map[string]any{"name": "script",
			"limits": map[string]any{"usd_per_day": "0.000003", "requests_per_day": 3}}, true)
		if r.Status != 201 {
			t.Fatalf("create limited key: %d %s", r.Status, r.Body)
		}
		var created struct {
			ID     int64
			Key    string
			Limits json.RawMessage
		}
		_ = json.Unmarshal(r.Body, &created)
		if string(created.Limits) != `{"usd_per_day":"0.000003000","requests_per_day":3}` {
			t.Fatalf("limits shown as %s", created.Limits)
		}
		// 1,850 n$ charged per request: two fit under $0.000003, the third
		// is refused.
		for i := range 2 {
			if r := g.chatStatus(t, created.Key); r.Status != 200 {
				t.Fatalf("request %d: %d %s", i+1, r.Status, r.Body)
			}
		}
		reset := tomorrowUTC()
		wantLimited(t, g.chatStatus(t, created.Key), "api_key_usd_limit_reached",
			"this API key's limit of $0.000003 per day (UTC) is reached ($0.0000037 charged today); it resets at "+
				reset.Format(time.RFC3339)+" (midnight UTC)", reset)
		// Other keys of the account are not limited by it.
		if r := g.chatStatus(t, key); r.Status != 200 {
			t.Fatalf("unlimited key: %d %s", r.Status, r.Body)
		}
		// The limited key cannot lift its own limits; an unlimited key can.
		patch := map[string]any{"limits": map[string]any{"usd_per_day": nil}}
		r = g.do("PATCH", "/api/user/api-keys/"+itoa(created.ID), created.Key, patch)
		if _, _, code, _ := errorOf(t, r); r.Status != 403 || code != "limited_api_key" {
			t.Fatalf("limited key patching itself: %d %s", r.Status, r.Body)
		}
		for _, path := range []string{"/api/user/api-keys", "/api/user/provider-keys"} {
			r := g.do("POST", path, created.Key, map[string]any{"name": "escape", "provider": "groq", "key": groqKey})
			if _, _, code, _ := errorOf(t, r); r.Status != 403 || code != "limited_api_key" {
				t.Fatalf("limited key POST %s: %d %s", path, r.Status, r.Body)
			}
		}
		r = g.do("PATCH", "/api/user/api-keys/"+itoa(created.ID), key, patch)
		if r.Status != 200 || !strings.Contains(string(r.Body), `"limits":{"usd_per_day":null,"requests_per_day":3}`) {
			t.Fatalf("patch limits: %d %s", r.Status, r.Body)
		}
		// Applies at once: the third request of the day passes, the fourth
		// meets the requests limit.
		if r := g.chatStatus(t, created.Key); r.Status != 200 {
			t.Fatalf("after lifting the USD limit: %d %s", r.Status, r.Body)
		}
		wantLimited(t, g.chatStatus(t, created.Key), "api_key_request_limit_reached",
			"this API key's limit of 3 requests per day (UTC) is reached; it resets at "+reset.Format(time.RFC3339)+" (midnight UTC)", reset)
		// Refused requests reached no provider and have no usage record:
		// 2 + 1 by the limited key, 1 by the other.
		g.usageRecords(t, id, 4)

		// Limits are checked as they are parsed, naming the field.
		for _, tc := range []struct {
			limits any
			param  string
		}{
			{map[string]any{"usd_per_day": "-1"}, "limits.usd_per_day"},
			{map[string]any{"usd_per_day": 1.0000000001}, "limits.usd_per_day"},
			{map[string]any{"requests_per_day": 1.5}, "limits.requests_per_day"},
			{map[string]any{"usd_per_dya": "1"}, "limits.usd_per_dya"},
			{"5", "limits"},
		} {
			r := g.do("PATCH", "/api/user/api-keys/"+itoa(created.ID), key, map[string]any{"limits": tc.limits})
			if _, _, _, param := errorOf(t, r); r.Status != 400 || param != tc.param {
				t.Errorf("limits %v: %d %s; want 400 naming %s", tc.limits, r.Status, r.Body, tc.param)
			}
		}
		if r := g.do("PATCH", "/api/user/api-keys/999999", key, patch); r.Status != 404 {
			t.Fatalf("patching an unknown key: %d %s", r.Status, r.Body)
		}
		// The admin API sets them too.
		r = g.do("PATCH", "/api/admin/accounts/"+itoa(id)+"/api-keys/"+itoa(created.ID), g.adminKey,
			map[string]any{"limits": map[string]any{"requests_per_day": nil, "usd_per_day": 10}})
		if r.Status != 200 || !strings.Contains(string(r.Body), `"limits":{"usd_per_day":"10.000000000","requests_per_day":null}`) {
			t.Fatalf("admin patch: %d %s", r.Status, r.Body)
		}
		if r := g.chatStatus(t, created.Key); r.Status != 200 {
			t.Fatalf("after the admin's change: %d %s", r.Status, r.Body)
		}
	})
}

// storeLedgerRow writes a ledger entry the way another replica's recorder
// would: a usage record with its money.
func storeLedgerRow(t *testing.T, g *testGateway, rec *ownkey.UsageRecord, atCost, charged ownkey.NanoUSD, byok bool) {
	t.Helper()
	ctx := context.Background()
	if err := g.app.usageStore.InsertUsage(ctx, []*ownkey.UsageRecord{rec}); err != nil {
		t.Fatal(err)
	}
	db := g.app.store.(*sqlstore.DB)
	q := `UPDATE usage_records SET at_cost_nano = ?, charged_nano = ?, markup_ppm = 50000, is_byok = ?, price_basis = 'catalog' WHERE request_id = ?`
	if db.Dialect() == "postgres" {
		q = `UPDATE usage_records SET at_cost_nano = $1, charged_nano = $2, markup_ppm = 50000, is_byok = $3, price_basis = 'catalog' WHERE request_id = $4`
	}
	if _, err := db.SQL().ExecContext(ctx, q, int64(atCost), int64(charged), byok, rec.RequestID); err != nil {
		t.Fatal(err)
	}
}

// TestLimitsSeeAnotherReplicasSpend: what other replicas spent reaches the
// limits through the ledger, at the first use of a key and at each re-read.
func TestLimitsSeeAnotherReplicasSpend(t *testing.T) {
	eachBackend(t, func(t *testing.T, env map[string]string) {
		env["OWNKEY_SPEND_RESYNC_INTERVAL"] = "20ms"
		g, key, id := pricedGateway(t, env)
		r := g.do("POST", "/api/user/api-keys", key, map[string]any{"name": "shared",
			"limits": map[string]any{"usd_per_day": "1"}}, true)
		var k struct {
			ID  int64
			Key string
		}
		_ = json.Unmarshal(r.Body, &k)
		if r := g.chatStatus(t, k.Key); r.Status != 200 {
			t.Fatalf("first request: %d %s", r.Status, r.Body)
		}
		// Another replica charged the key $1 today, and spent $2 at cost
		// through the account's groq key.
		storeLedgerRow(t, g, &ownkey.UsageRecord{RequestID: "other-replica-1", AccountID: id, APIKeyID: k.ID, Provider: "groq",
			ModelRequested: "llama-3.3-70b-versatile", ModelServed: "llama-3.3-70b-versatile", Status: 200,
			Usage: ownkey.Usage{Source: ownkey.UsageFromProvider, PromptTokens: 1}, CreatedAt: time.Now()}, 2_000_000_000, 1_000_000_000, true)
		// Refused once this replica has read the ledger again (a request
		// marks the tally in use; the next tick reads it).
		var last *response
		until(t, "another replica's spend refuses the key", func() bool {
			last = g.chatStatus(t, k.Key)
			return last.Status == 429
		})
		if _, _, code, _ := errorOf(t, last); code != "api_key_usd_limit_reached" {
			t.Fatalf("refusal: %s", last.Body)
		}
		// A cap set now is checked against what the ledger holds: the $2
		// other replicas spent through the key.
		r = g.do("PATCH", "/api/user/provider-keys", key, map[string]any{"provider": "groq", "spend_cap": map[string]any{"usd_per_month": "2"}})
		if r.Status != 200 {
			t.Fatalf("set cap: %d %s", r.Status, r.Body)
		}
		if _, _, code, _ := errorOf(t, g.chatStatus(t, key)); code != "byok_spend_cap_reached" {
			t.Fatal("a cap below the ledger's spend let a request through")
		}
	})
}

func TestBYOKSpendCaps(t *testing.T) {
	eachBackend(t, func(t *testing.T, env map[string]string) {
		g, key, _ := pricedGateway(t, env)
		// Store the key again with a daily cap of $0.00005: each request
		// costs 37,000 n$ at cost, so two fit and the third is refused.
		r := g.do("POST", "/api/user/provider-keys", key, map[string]any{"provider": "groq", "key": groqKey,
			"spend_cap": map[string]any{"usd_per_day": "0.00005"}})
		if r.Status != 200 || !strings.Contains(string(r.Body), `"spend_cap":{"usd_per_day":"0.000050000","usd_per_month":null}`) {
			t.Fatalf("store key with cap: %d %s", r.Status, r.Body)
		}
		for i := range 2 {
			if r := g.chatStatus(t, key); r.Status != 200 {
				t.Fatalf("request %d: %d %s", i+1, r.Status, r.Body)
			}
		}
		reset := tomorrowUTC()
		wantLimited(t, g.chatStatus(t, key), "byok_spend_cap_reached",
			"the daily spend cap of $0.00005 on your Groq (groq) key is reached ($0.000074 at cost today, UTC); it resets at "+
				reset.Format(time.RFC3339)+"; raise or remove it with PATCH /api/user/provider-keys", reset)

		// The key list shows the spend against the cap, for stored keys
		// only.
		groq := providerKey(t, g, key, "groq")
		if string(groq["spend_cap"]) != `{"usd_per_day":"0.000050000","usd_per_month":null}` ||
			string(groq["spend"]) != `{"usd_today":"0.000074000","usd_this_month":"0.000074000"}` {
			t.Fatalf("groq in the key list: cap %s, spend %s", groq["spend_cap"], groq["spend"])
		}
		if openai := providerKey(t, g, key, "openai"); openai["spend_cap"] != nil || openai["spend"] != nil {
			t.Fatalf("openai (no key) shows %s %s", openai["spend_cap"], openai["spend"])
		}

		// Raised without sending the key again: admitted; a monthly cap
		// under the month's spend refuses again.
		r = g.do("PATCH", "/api/user/provider-keys", key, map[string]any{"provider": "groq", "spend_cap": map[string]any{"usd_per_day": "1"}})
		if r.Status != 200 || !strings.Contains(string(r.Body), `"spend":{"usd_today":"0.000074000","usd_this_month":"0.000074000"}`) {
			t.Fatalf("raise cap: %d %s", r.Status, r.Body)
		}
		if r := g.chatStatus(t, key); r.Status != 200 {
			t.Fatalf("after raising the cap: %d %s", r.Status, r.Body)
		}
		r = g.do("PATCH", "/api/user/provider-keys", key, map[string]any{"provider": "groq", "spend_cap": map[string]any{"usd_per_month": "0.0001"}})
		if r.Status != 200 {
			t.Fatalf("month cap: %d %s", r.Status, r.Body)
		}
		monthEnd := ownkey.UTCMonth(time.Now()).AddDate(0, 1, 0)
		wantLimited(t, g.chatStatus(t, key), "byok_spend_cap_reached",
			"the monthly spend cap of $0.0001 on your Groq (groq) key is reached ($0.000111 at cost this month, UTC); it resets at "+
				monthEnd.Format(time.RFC3339)+"; raise or remove it with PATCH /api/user/provider-keys", monthEnd)
		// Replacing the key keeps its caps.
		if r := g.do("POST", "/api/user/provider-keys", key, map[string]any{"provider": "groq", "key": groqKey}); r.Status != 200 ||
			!strings.Contains(string(r.Body), `"spend_cap":{"usd_per_day":"1.000000000","usd_per_month":"0.000100000"}`) {
			t.Fatalf("replace key: %d %s", r.Status, r.Body)
		}
		if r := g.chatStatus(t, key); r.Status != 429 {
			t.Fatalf("replacing the key lifted the cap: %d", r.Status)
		}

		// Errors name the field; no key, no cap.
		for _, tc := range []struct {
			body   map[string]any
			status int
			param  string
		}{
			{map[string]any{"provider": "groq", "spend_cap": map[string]any{"usd_per_day": "-1"}}, 400, "spend_cap.usd_per_day"},
			{map[string]any{"provider": "groq", "spend_cap": map[string]any{"usd_per_week": "1"}}, 400, "spend_cap.usd_per_week"},
			{map[string]any{"provider": "groq", "spend_cap": map[string]any{"usd_per_month": "1e3"}}, 400, "spend_cap.usd_per_month"},
			{map[string]any{"provider": "groq"}, 400, "spend_cap"},
			{map[string]any{"spend_cap": map[string]any{}}, 400, "provider"},
			{map[string]any{"provider": "openai", "spend_cap": map[string]any{"usd_per_day": "1"}}, 404, ""},
		} {
			r := g.do("PATCH", "/api/user/provider-keys", key, tc.body)
			if _, _, _, param := errorOf(t, r); r.Status != tc.status || param != tc.param {
				t.Errorf("PATCH %v: %d %s; want %d naming %q", tc.body, r.Status, r.Body, tc.status, tc.param)
			}
		}
	})
}

// providerKey is one provider's entry of the key list, its members raw.
func providerKey(t *testing.T, g *testGateway, key, provider string) map[string]json.RawMessage {
	t.Helper()
	r := g.do("GET", "/api/user/provider-keys", key, nil)
	var list struct{ Keys []map[string]json.RawMessage }
	if err := json.Unmarshal(r.Body, &list); err != nil || r.Status != 200 {
		t.Fatalf("key list: %d %s", r.Status, r.Body)
	}
	for _, k := range list.Keys {
		if string(k["provider"]) == strconv.Quote(provider) {
			return k
		}
	}
	t.Fatalf("%s not in the key list", provider)
	return nil
}
