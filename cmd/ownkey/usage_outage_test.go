package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ownkey/ownkey/sqlstore"
	"github.com/ownkey/ownkey/sqlstore/sqltest"
)

// With the usage table locked, chat keeps serving (the records wait in the
// spill file), /readyz stays 200 but says it is degraded and shows the
// backlog, and once the lock goes every request's record is stored exactly
// once.
func TestChatServesDuringUsageOutage(t *testing.T) {
	outage := sqltest.UsageOutage(t)
	up := newFakeOpenAI(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, completionJSON)
	})
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			env := map[string]string{"OWNKEY_USAGE_WRITE_TIMEOUT": "200ms"}
			if backend == "postgres" {
				env["OWNKEY_DATABASE_URL"] = sqltest.NewPostgresDSN(t)
			}
			g, key, accountID := chatGateway(t, up.srv.URL, env)
			// The account is metered: this replica takes a lease of its
			// balance with its first request, and serves it from the lease
			// while the database is locked (an account it holds no lease
			// of would get 503: money is not lent without the database).
			mustChat(t, g.chatRequest(key))
			release := sqltest.LockUsageTable(t, g.cfg.DatabaseURL)

			const clients = 4
			var sent, served atomic.Int64
			var failures sync.Map
			end := time.Now().Add(outage)
			var wg sync.WaitGroup
			for range clients {
				wg.Go(func() {
					client := &http.Client{Timeout: 30 * time.Second}
					for time.Now().Before(end) {
						sent.Add(1)
						res, err := sendChat(client, g.chatRequest(key))
						if err != nil {
							failures.Store(err.Error(), true)
							continue
						}
						if res.StatusCode != 200 {
							failures.Store(res.Status, true)
							continue
						}
						served.Add(1)
					}
				})
			}
			wg.Wait()

			// Still locked: ready, but degraded, with records on disk.
			r := g.do("GET", "/readyz", "", nil)
			var ready struct {
				Status  string `json:"status"`
				Backlog struct {
					Queued  int64 `json:"queued"`
					Spilled int64 `json:"spilled"`
				} `json:"usage_backlog"`
			}
			if err := json.Unmarshal(r.Body, &ready); err != nil || r.Status != 200 ||
				ready.Status != "degraded" || ready.Backlog.Spilled == 0 {
				t.Errorf("/readyz during the outage: %d %s; want 200, degraded, spilled records", r.Status, r.Body)
			}
			release()

			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			var stored int
			for {
				if err := g.app.usage.Flush(ctx); err != nil {
					t.Fatal(err)
				}
				recs, err := g.app.usageStore.UsageRecords(ctx, accountID, int(sent.Load())+100)
				if err != nil {
					t.Fatal(err)
				}
				ids := map[string]bool{}
				for _, rec := range recs {
					ids[rec.RequestID] = true
				}
				if len(ids) != len(recs) {
					t.Fatalf("%d usage records but %d request ids", len(recs), len(ids))
				}
				stored = len(recs) - 1 // the first request's, before the outage
				if int64(stored) >= served.Load() || ctx.Err() != nil {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			t.Logf("%s, usage table locked %v: %d of %d chat requests served, %d usage records stored, %d lost",
				backend, outage, served.Load(), sent.Load(), stored, served.Load()-int64(stored))
			failures.Range(func(k, _ any) bool { t.Errorf("chat request failed during the outage: %v", k); return true })
			if served.Load() != sent.Load() || int64(stored) != served.Load() {
				t.Fatalf("served %d of %d requests and stored %d records; want all served and one record each",
					served.Load(), sent.Load(), stored)
			}
		})
	}
}

// When the usage records can be put neither in the database nor in the
// spill file, /readyz fails so that traffic goes elsewhere before Record
// blocks requests, and recovers once the database answers.
func TestReadyFailsWhenUsageCannotBeSpilled(t *testing.T) {
	up := newFakeOpenAI(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, completionJSON)
	})
	g, key, accountID := chatGateway(t, up.srv.URL, map[string]string{"OWNKEY_USAGE_WRITE_TIMEOUT": "100ms"})
	mustChat(t, g.chatRequest(key)) // a lease for the metered account, before the outage
	release := sqltest.LockUsageTable(t, g.cfg.DatabaseURL)
	// The spill directory is replaced by a file: nothing can be created in it.
	spillDir := g.cfg.DataDir + "/usage-spill"
	if err := os.RemoveAll(spillDir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(spillDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	mustChat(t, g.chatRequest(key))
	for {
		r := g.do("GET", "/readyz", "", nil)
		if r.Status == 503 {
			if !strings.Contains(string(r.Body), `"spill_failing":true`) {
				t.Fatalf("/readyz 503 without the reason: %s", r.Body)
			}
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	release()
	g.usageRecords(t, accountID, 2) // the first request's and the outage's
	for g.do("GET", "/readyz", "", nil).Status != 200 {
		time.Sleep(20 * time.Millisecond)
	}
}

// Usage records spilled during an outage survive the process being killed:
// the next start on the same data directory replays them into the database.
func TestProcessReplaysSpilledUsageAfterKill(t *testing.T) {
	up := newFakeOpenAI(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, completionJSON)
	})
	dir := t.TempDir()
	env := map[string]string{
		"OWNKEY_DATA_DIR": dir, "OWNKEY_ALLOW_PRIVATE_UPSTREAMS": "true",
		"OWNKEY_GROQ_BASE_URL": up.srv.URL + "/openai/v1", "OWNKEY_USAGE_WRITE_TIMEOUT": "100ms",
	}
	p := mustStartOwnkey(t, env)
	g := &testGateway{t: t, srv: &httptest.Server{URL: p.URL()}}
	if r := g.do("POST", "/api/user/provider-keys", p.AdminKey, map[string]any{"provider": "groq", "key": groqKey}); r.Status != 200 {
		t.Fatalf("store groq key: %d %s", r.Status, r.Body)
	}
	dbPath := filepath.Join(dir, "ownkey.db")
	release := sqltest.LockUsageTable(t, dbPath)
	const requests = 20
	for range requests {
		mustChat(t, g.chatRequest(p.AdminKey))
	}
	waitBacklog := func(want string) {
		t.Helper()
		deadline := time.Now().Add(time.Minute)
		for {
			r := g.do("GET", "/readyz", "", nil)
			if strings.Contains(string(r.Body), want) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("/readyz never said %s; last: %d %s", want, r.Status, r.Body)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitBacklog(`"queued":0,"spilled":20`)
	p.Kill()
	release()

	q := mustStartOwnkey(t, env)
	g.srv.URL = q.URL()
	waitBacklog(`"status":"ready"`)
	db, err := sqlstore.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var stored, distinct int
	if err := db.SQL().QueryRow("SELECT count(*), count(DISTINCT request_id) FROM usage_records").Scan(&stored, &distinct); err != nil {
		t.Fatal(err)
	}
	if stored != requests || distinct != requests {
		t.Fatalf("after the restart %d usage records (%d distinct) are stored; want the %d spilled before the kill", stored, distinct, requests)
	}
}
