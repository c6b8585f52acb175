package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/sqlstore"
)

// kill -9 mid-stream, for real: ownkey runs as a process, a stream hangs
// half-way at the provider, the process is killed, and the next start on
// the same data directory settles the request from the hold it journaled
// before the upstream call: one ledger row, settlement 'recovered', charged
// the amount held; the killed process's lease goes back, and the balance is
// the credit less that amount.
func TestProcessKilledMidStreamSettlesOnRestart(t *testing.T) {
	upstreamGot := make(chan struct{}, 1)
	release := make(chan struct{})
	defer close(release)
	up := newFakeOpenAI(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, `data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant","content":"Once upon"},"finish_reason":null}]}`+"\n\n")
		w.(http.Flusher).Flush()
		select {
		case upstreamGot <- struct{}{}:
		default:
		}
		// Hangs half-way: the rest never comes.
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	dir := t.TempDir()
	env := map[string]string{
		"OWNKEY_DATA_DIR": dir, "OWNKEY_ALLOW_PRIVATE_UPSTREAMS": "true",
		"OWNKEY_OPENAI_BASE_URL": up.srv.URL + "/v1", "OWNKEY_STARTING_CREDIT_USD": "10",
	}
	p := mustStartOwnkey(t, env)
	g := &testGateway{t: t, srv: &httptest.Server{URL: p.URL()}, adminKey: p.AdminKey}
	accountID, key := g.createAccount("payer")
	if r := g.do("POST", "/api/user/provider-keys", key, map[string]any{"provider": "openai", "key": "sk-test-openai-0123456789abcdef"}); r.Status != 200 {
		t.Fatalf("store key: %d %s", r.Status, r.Body)
	}

	// The stream starts: the client has its first chunk when the process
	// is killed.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := http.DefaultClient.Do(chatPost(ctx, p.URL(), key,
		`{"model":"gpt-4o-mini","stream":true,"max_tokens":500,"messages":[{"role":"user","content":"Tell me a story."}]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("chat: %d %s", res.StatusCode, b)
	}
	requestID := res.Header.Get("X-Request-ID")
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() && !strings.Contains(sc.Text(), "Once upon") {
	}
	<-upstreamGot
	journal, _ := os.ReadFile(filepath.Join(dir, "billing-journal"))
	if !strings.Contains(string(journal), `"request_id":"`+requestID+`"`) {
		t.Fatalf("the hold of %s is not in the journal before the kill:\n%s", requestID, journal)
	}
	p.Kill()

	db, err := sqlstore.Open(context.Background(), filepath.Join(dir, "ownkey.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if recs, _ := db.UsageRecords(context.Background(), accountID, 10); len(recs) != 0 {
		t.Fatalf("a record before the restart: %+v", recs[0])
	}
	killed, err := db.Leases(context.Background(), accountID)
	if err != nil || len(killed) != 1 || killed[0].ReturnedAt != nil {
		t.Fatalf("before the restart: leases %+v, %v; want the killed process's, open", killed, err)
	}

	q := mustStartOwnkey(t, env)
	if !strings.Contains(q.Stderr(), "settled the holds of requests an earlier run did not finish") {
		t.Errorf("the restart did not say it recovered holds:\n%s", q.Stderr())
	}
	recs, err := db.UsageRecords(context.Background(), accountID, 10)
	if err != nil || len(recs) != 1 {
		t.Fatalf("after the restart: %d records, %v; want exactly one", len(recs), err)
	}
	r := recs[0]
	if r.RequestID != requestID || r.Settlement != ownkey.SettlementRecovered || r.Reserved <= 0 || r.Charge.Charged != r.Reserved ||
		r.LeaseID != killed[0].ID || !r.Stream || r.ModelRequested != "gpt-4o-mini" || r.Provider != "openai" {
		t.Fatalf("ledger row %+v; want %s recovered, charged the amount held", r, requestID)
	}
	leases, _ := db.Leases(context.Background(), accountID)
	if len(leases) != 1 || leases[0].ReturnedAt == nil || leases[0].Spent != r.Charge.Charged {
		t.Fatalf("leases after the restart %+v; want the old one returned, spent the charge", leases)
	}
	want := ownkey.FormatUSD(10_000_000_000 - r.Charge.Charged)
	g.srv.URL = q.URL()
	b := g.do("GET", "/api/v1/balance", key, nil)
	var bal struct {
		USD string `json:"usd_balance"`
	}
	if err := json.Unmarshal(b.Body, &bal); err != nil || bal.USD != want {
		t.Fatalf("balance after the restart: %d %s; want %s", b.Status, b.Body, want)
	}
	var unlent int64
	if err := db.SQL().QueryRow(`SELECT balance_nano_usd FROM accounts WHERE id = ?`, accountID).Scan(&unlent); err != nil ||
		ownkey.FormatUSD(ownkey.NanoUSD(unlent)) != want {
		t.Fatalf("accounts.balance_nano_usd = %d, %v; want %s, nothing lent", unlent, err, want)
	}
	t.Logf("recovered %s: held and charged %d n$ (the bound at the model's price; with no price known, the minimum hold)", requestID, r.Reserved)

	// A second restart settles nothing again.
	if err := q.Stop(); err != nil {
		t.Fatal(err)
	}
	mustStartOwnkey(t, env)
	if recs, _ := db.UsageRecords(context.Background(), accountID, 10); len(recs) != 1 {
		t.Fatalf("%d records after a second restart", len(recs))
	}
}
