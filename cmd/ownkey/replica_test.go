package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ownkey/ownkey/sqlstore/sqltest"
)

// replicaBound is how long another replica may keep honouring a revoked or
// replaced key: the issue asks for about a second; before the change feed it
// was the 30 s cache TTL.
const replicaBound = 2 * time.Second

// call sends a JSON request to a running ownkey and returns status and body.
func call(t *testing.T, base, method, path, key string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		j, _ := json.Marshal(body)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, base+path, rd)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-use-byok", "true")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// until polls cond until it holds and returns how long that took; it fails
// the test once replicaBound has passed.
func until(t *testing.T, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > replicaBound {
			t.Fatalf("%s: still not so after %v", what, replicaBound)
		}
		time.Sleep(2 * time.Millisecond)
	}
	return time.Since(start)
}

// twoReplicas starts two ownkey servers on one fresh PostgreSQL database
// with the same master key, and returns them with the database URL and the
// environment a CLI command needs.
func twoReplicas(t *testing.T, extra map[string]string) (a, b *ownkeyProc, env map[string]string) {
	t.Helper()
	dsn := sqltest.NewPostgresDSN(t) // skips without OWNKEY_TEST_POSTGRES_URL
	mk := make([]byte, 32)
	_, _ = rand.Read(mk)
	env = map[string]string{"OWNKEY_DATABASE_URL": dsn, "OWNKEY_MASTER_KEY": "v1:" + base64.StdEncoding.EncodeToString(mk),
		// The accounts createUser makes are metered: credit to chat with.
		"OWNKEY_STARTING_CREDIT_USD": "100"}
	for k, v := range extra {
		env[k] = v
	}
	withDir := func() map[string]string {
		e := map[string]string{"OWNKEY_DATA_DIR": t.TempDir()}
		for k, v := range env {
			e[k] = v
		}
		return e
	}
	a = mustStartOwnkey(t, withDir())
	b = mustStartOwnkey(t, withDir())
	if a.AdminKey == "" {
		t.Fatal("the first replica printed no admin key")
	}
	return a, b, env
}

// createUser makes an account through replica a and returns its id and key.
func createUser(t *testing.T, a *ownkeyProc, name string) (int64, string) {
	t.Helper()
	st, body := call(t, a.URL(), "POST", "/api/admin/accounts", a.AdminKey, map[string]any{"name": name})
	if st != http.StatusCreated {
		t.Fatalf("create account: %d %s", st, body)
	}
	var out struct {
		Account struct{ ID int64 }
		APIKey  struct{ Key string } `json:"api_key"`
	}
	_ = json.Unmarshal(body, &out)
	return out.Account.ID, out.APIKey.Key
}

// newOwnKey creates another API key of the caller's account on replica a.
func newOwnKey(t *testing.T, a *ownkeyProc, key string) (int64, string) {
	t.Helper()
	st, body := call(t, a.URL(), "POST", "/api/user/api-keys", key, map[string]any{"name": "trial"})
	if st != http.StatusCreated {
		t.Fatalf("create API key: %d %s", st, body)
	}
	var out struct {
		ID  int64
		Key string
	}
	_ = json.Unmarshal(body, &out)
	return out.ID, out.Key
}

func authenticates(t *testing.T, p *ownkeyProc, key string) bool {
	st, _ := call(t, p.URL(), "GET", "/api/user/me", key, nil)
	return st == http.StatusOK
}

func summary(ds []time.Duration) string {
	slices.Sort(ds)
	ms := func(d time.Duration) string {
		return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64) + " ms"
	}
	return "n=" + strconv.Itoa(len(ds)) + " median=" + ms(ds[len(ds)/2]) + " max=" + ms(ds[len(ds)-1])
}

// TestRevocationReachesOtherReplica: an API key revoked through replica A,
// or by the CLI, stops authenticating on replica B (which has it cached)
// within about a second, not the 30 s cache TTL.
func TestRevocationReachesOtherReplica(t *testing.T) {
	a, b, env := twoReplicas(t, nil)
	acct, owner := createUser(t, a, "tenant")

	const trials = 20
	var viaAPI []time.Duration
	for range trials {
		id, key := newOwnKey(t, a, owner)
		if !authenticates(t, b, key) { // now cached on B
			t.Fatal("new key refused on replica B")
		}
		if st, body := call(t, a.URL(), "DELETE", "/api/user/api-keys/"+itoa(id), owner, nil); st != http.StatusOK {
			t.Fatalf("revoke on A: %d %s", st, body)
		}
		viaAPI = append(viaAPI, until(t, "key revoked on A refused on B", func() bool { return !authenticates(t, b, key) }))
	}
	t.Logf("revocation through replica A's API, delay until replica B refuses: %s", summary(viaAPI))

	var viaCLI []time.Duration
	for range 5 {
		id, key := newOwnKey(t, a, owner)
		if !authenticates(t, b, key) || !authenticates(t, a, key) {
			t.Fatal("new key refused")
		}
		if out, err := runOwnkey(t, env, "apikeys", "revoke", "--account", itoa(acct), "--key", itoa(id)); err != nil {
			t.Fatalf("apikeys revoke: %v\n%s", err, out)
		}
		viaCLI = append(viaCLI, until(t, "key revoked by the CLI refused on B", func() bool { return !authenticates(t, b, key) }))
		until(t, "key revoked by the CLI refused on A", func() bool { return !authenticates(t, a, key) })
	}
	t.Logf("revocation by the CLI, delay until replica B refuses (after the CLI exited): %s", summary(viaCLI))
}

// TestProviderKeyChangeReachesOtherReplica: a provider key replaced or
// deleted through replica A stops being used by replica B within about a
// second.
func TestProviderKeyChangeReachesOtherReplica(t *testing.T) {
	var mu sync.Mutex
	var seen string // Authorization of the last upstream request
	upstream := newFakeOpenAI(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		mu.Lock()
		seen = r.Header.Get("Authorization")
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, completionJSON)
	})
	a, b, _ := twoReplicas(t, map[string]string{"OWNKEY_GROQ_BASE_URL": upstream.srv.URL + "/openai/v1"})
	_, key := createUser(t, a, "tenant")
	chatOnB := func() (int, string) {
		st, _ := call(t, b.URL(), "POST", "/v1/chat/completions", key,
			map[string]any{"model": "groq/llama-3.3-70b-versatile", "messages": []any{map[string]any{"role": "user", "content": "hi"}}})
		mu.Lock()
		defer mu.Unlock()
		return st, seen
	}
	put := func(k string) {
		if st, body := call(t, a.URL(), "POST", "/api/user/provider-keys", key, map[string]any{"provider": "groq", "key": k}); st != http.StatusOK {
			t.Fatalf("store groq key on A: %d %s", st, body)
		}
	}

	var replaced []time.Duration
	for i := range 10 {
		old, next := "gsk_replica_old_"+strconv.Itoa(i)+"_0123456789", "gsk_replica_new_"+strconv.Itoa(i)+"_0123456789"
		put(old)
		until(t, "B uses the stored key", func() bool { st, auth := chatOnB(); return st == 200 && strings.HasSuffix(auth, old) })
		put(next) // B has old cached
		replaced = append(replaced, until(t, "B uses the replaced key", func() bool {
			st, auth := chatOnB()
			return st == 200 && strings.HasSuffix(auth, next)
		}))
	}
	t.Logf("provider key replaced on A, delay until B uses the new one: %s", summary(replaced))

	if st, _ := chatOnB(); st != 200 {
		t.Fatalf("chat on B: %d", st)
	}
	if st, body := call(t, a.URL(), "DELETE", "/api/user/provider-keys?provider=groq", key, nil); st != http.StatusOK {
		t.Fatalf("delete on A: %d %s", st, body)
	}
	d := until(t, "B stops using the deleted key", func() bool { st, _ := chatOnB(); return st != 200 })
	t.Logf("provider key deleted on A, delay until B refuses: %v", d)
}

// TestCLIRevocationReachesServerOnSQLite: on SQLite the CLI and the server
// share a file; the server notices the CLI's commit (PRAGMA data_version)
// and drops its caches within the poll interval.
func TestCLIRevocationReachesServerOnSQLite(t *testing.T) {
	env := map[string]string{"OWNKEY_DATA_DIR": t.TempDir()}
	p := mustStartOwnkey(t, env)
	acct, owner := createUser(t, p, "tenant")
	id, key := newOwnKey(t, p, owner)
	if !authenticates(t, p, key) {
		t.Fatal("new key refused")
	}
	if out, err := runOwnkey(t, env, "apikeys", "revoke", "--account", itoa(acct), "--key", itoa(id)); err != nil {
		t.Fatalf("apikeys revoke: %v\n%s", err, out)
	}
	d := until(t, "key revoked by the CLI refused by the server", func() bool { return !authenticates(t, p, key) })
	t.Logf("SQLite: revocation by the CLI, delay until the server refuses: %v", d)
}
