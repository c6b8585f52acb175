package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/sqlstore"
	"github.com/ownkey/ownkey/sqlstore/sqltest"
	"github.com/ownkey/ownkey/vault"
)

// Process-level tests of the master key: rotations, prune and first start,
// run as real ownkey processes against real SQLite and PostgreSQL stores.
// They use only what a process outside ownkey sees (the key file, the
// tables, the HTTP API), so they also run against older code.

// keyWorld is one deployment: a data directory (key file, SQLite database)
// and the database URL.
type keyWorld struct {
	dir string
	dsn string
}

func (w keyWorld) keyFile() string { return filepath.Join(w.dir, "master.key") }

func (w keyWorld) env() map[string]string {
	return map[string]string{"OWNKEY_DATA_DIR": w.dir, "OWNKEY_DATABASE_URL": w.dsn}
}

// eachKeyBackend runs fn once on SQLite and once on PostgreSQL (skipped
// without OWNKEY_TEST_POSTGRES_URL); newWorld makes a fresh deployment.
func eachKeyBackend(t *testing.T, fn func(t *testing.T, newWorld func() keyWorld)) {
	t.Run("sqlite", func(t *testing.T) {
		fn(t, func() keyWorld {
			dir := t.TempDir()
			return keyWorld{dir: dir, dsn: filepath.Join(dir, "ownkey.db")}
		})
	})
	t.Run("postgres", func(t *testing.T) {
		if os.Getenv(sqltest.PostgresURLEnv) == "" {
			t.Skip("PostgreSQL tests are off: set " + sqltest.PostgresURLEnv + "=postgres://... to run them")
		}
		fn(t, func() keyWorld { return keyWorld{dir: t.TempDir(), dsn: sqltest.NewPostgresDSN(t)} })
	})
}

func openWorldDB(t *testing.T, w keyWorld) *sqlstore.DB {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, w.dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}

type credRef struct {
	accountID int64
	provider  string
}

// worldVault opens the world's database and a vault service on its key file
// (created if missing), closed when the caller is done.
func worldVault(t *testing.T, w keyWorld, opts vault.Options) (*sqlstore.DB, *vault.Service) {
	t.Helper()
	db := openWorldDB(t, w)
	kr, _, err := vault.LoadOrCreateKeyFile(w.keyFile())
	if err != nil {
		t.Fatal(err)
	}
	opts.Logger = slog.New(slog.DiscardHandler)
	return db, vault.NewService(db, kr, opts)
}

// seedCredentials stores n OpenAI keys, one per new account, through the
// vault as a server would, with the world's key file (created if missing).
func seedCredentials(t *testing.T, w keyWorld, n int) map[credRef]string {
	t.Helper()
	ctx := context.Background()
	db, vs := worldVault(t, w, vault.Options{})
	defer vs.Close()
	if err := vs.VerifyKeyring(ctx); err != nil {
		t.Fatal(err)
	}
	want := map[credRef]string{}
	for i := range n {
		a := &ownkey.Account{Name: "user-" + strconv.Itoa(i), Role: ownkey.RoleUser}
		if err := db.CreateAccount(ctx, a, nil); err != nil {
			t.Fatal(err)
		}
		key := fmt.Sprintf("sk-proj-seeded-%04d-000000000000000000000000", i)
		raw, _ := json.Marshal(key)
		if _, err := vs.Put(ctx, a.ID, "openai", raw); err != nil {
			t.Fatal(err)
		}
		want[credRef{a.ID, "openai"}] = key
	}
	return want
}

// lostCredentials opens every credential in want as a freshly started
// process would (key file as it is now, keyring verified against the
// database first) and returns how many do not come back intact.
func lostCredentials(t *testing.T, w keyWorld, want map[credRef]string) int {
	t.Helper()
	ctx := context.Background()
	_, vs := worldVault(t, w, vault.Options{CacheTTL: -1})
	defer vs.Close()
	if err := vs.VerifyKeyring(ctx); err != nil {
		t.Logf("the keyring does not verify: %v", err)
	}
	lost := 0
	for ref, key := range want {
		c, err := vs.Credential(ctx, ref.accountID, ref.provider)
		if err != nil || c.APIKey.Reveal() != key {
			lost++
		}
	}
	return lost
}

// keyFileVersions lists the versions the key file holds.
func keyFileVersions(t *testing.T, w keyWorld) []uint32 {
	t.Helper()
	if _, err := os.Stat(w.keyFile()); err != nil {
		t.Fatal(err)
	}
	kr, _, err := vault.LoadOrCreateKeyFile(w.keyFile())
	if err != nil {
		t.Fatal(err)
	}
	return kr.Versions()
}

// rowVersions lists the distinct key_version of the stored credentials.
func rowVersions(t *testing.T, db *sqlstore.DB) []uint32 {
	t.Helper()
	rows, err := db.SQL().Query(`SELECT DISTINCT key_version FROM provider_credentials ORDER BY key_version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var vs []uint32
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		vs = append(vs, uint32(v))
	}
	return vs
}

func countRows(t *testing.T, db *sqlstore.DB, table string) int {
	t.Helper()
	var n int
	if err := db.SQL().QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func mustRunOwnkey(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	out, err := runOwnkey(t, env, args...)
	if err != nil {
		t.Fatalf("ownkey %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// putProviderKey stores a provider key through a running server's API.
func putProviderKey(t *testing.T, p *ownkeyProc, apiKey, provider, key string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"provider": provider, "key": key})
	req, _ := http.NewRequest("POST", p.URL()+"/api/user/provider-keys", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+apiKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	_, _ = out.ReadFrom(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("storing a %s key through the server: %d %s", provider, resp.StatusCode, out.String())
	}
}

// TestConcurrentRotationsLoseNothing: two rotate-master-key processes at
// once, several times over, on a store holding 100 credentials. Before the
// rotation lock, each wrote its own new version to the key file (the last
// writer won) and the other re-wrapped rows under a key that then existed
// nowhere.
//
// OWNKEY_TEST_ROTATION_TRIALS sets the trials per back end (default 5).
func TestConcurrentRotationsLoseNothing(t *testing.T) {
	const creds = 100
	trials := 5
	if n, err := strconv.Atoi(os.Getenv("OWNKEY_TEST_ROTATION_TRIALS")); err == nil && n > 0 {
		trials = n
	}
	eachKeyBackend(t, func(t *testing.T, newWorld func() keyWorld) {
		lostTotal, failedTrials := 0, 0
		for trial := range trials {
			w := newWorld()
			want := seedCredentials(t, w, creds)
			var wg sync.WaitGroup
			var outs [2]string
			var errs [2]error
			for i := range 2 {
				wg.Go(func() { outs[i], errs[i] = runOwnkey(t, w.env(), "rotate-master-key") })
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("trial %d: rotation %d failed: %v\n%s", trial, i, err, outs[i])
				}
			}
			lost := lostCredentials(t, w, want)
			if lost > 0 {
				failedTrials++
			}
			lostTotal += lost
			t.Logf("trial %d: %d of %d credentials lost; key file holds %v", trial+1, lost, creds, keyFileVersions(t, w))
		}
		t.Logf("%d trials, %d credentials lost, %d trials lost some", trials, lostTotal, failedTrials)
		if lostTotal != 0 {
			t.Fatalf("%d credentials lost in %d of %d trials of two concurrent rotations", lostTotal, failedTrials, trials)
		}
	})
}

// TestPruneWhileServing: a server that started before a rotation stores a
// key after rotate-master-key and rotate-master-key --prune ran. The key
// must be sealed by a version the key file still holds, and a restart must
// read every key. Before the fix the server sealed it with its cached v1,
// which prune had removed, and the restart refused to start.
func TestPruneWhileServing(t *testing.T) {
	eachKeyBackend(t, func(t *testing.T, newWorld func() keyWorld) {
		w := newWorld()
		p := mustStartOwnkey(t, w.env())
		if p.AdminKey == "" {
			t.Fatal("no admin key printed")
		}
		db := openWorldDB(t, w)
		var adminID int64
		if err := db.SQL().QueryRow(`SELECT id FROM accounts`).Scan(&adminID); err != nil {
			t.Fatal(err)
		}
		want := map[credRef]string{}
		const first, second = "sk-proj-before-rotation-00000000000000000000", "gsk_after_prune_000000000000000000000000"
		putProviderKey(t, p, p.AdminKey, "openai", first)
		want[credRef{adminID, "openai"}] = first

		mustRunOwnkey(t, w.env(), "rotate-master-key")
		out := mustRunOwnkey(t, w.env(), "rotate-master-key", "--prune")
		if got := keyFileVersions(t, w); !slices.Equal(got, []uint32{2}) {
			t.Fatalf("after rotate and prune the key file holds %v, want [2]\n%s", got, out)
		}

		putProviderKey(t, p, p.AdminKey, "groq", second)
		want[credRef{adminID, "groq"}] = second
		inFile := keyFileVersions(t, w)
		for _, v := range rowVersions(t, db) {
			if !slices.Contains(inFile, v) {
				t.Errorf("a row is sealed by master key version %d, which the key file (%v) no longer holds", v, inFile)
			}
		}
		if err := p.Stop(); err != nil {
			t.Fatalf("stop: %v\n%s", err, p.Stderr())
		}
		q := startOwnkey(t, w.env())
		if q.Addr == "" {
			t.Fatalf("restart after prune failed:\n%s", q.Stderr())
		}
		if lost := lostCredentials(t, w, want); lost != 0 {
			t.Fatalf("%d of %d keys unreadable after the restart", lost, len(want))
		}
	})
}

// TestPruneOnlyPrunes: --prune adds no version and keeps every version a
// credential still uses; after a rotation it removes the old ones.
func TestPruneOnlyPrunes(t *testing.T) {
	eachKeyBackend(t, func(t *testing.T, newWorld func() keyWorld) {
		w := newWorld()
		want := seedCredentials(t, w, 20)
		// A key file with v2 whose rotation never re-wrapped anything (as
		// after an interrupted rotation): every row is still under v1.
		kr, _, err := vault.LoadOrCreateKeyFile(w.keyFile())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := kr.AddVersion(); err != nil {
			t.Fatal(err)
		}
		if err := vault.WriteKeyFile(w.keyFile(), kr); err != nil {
			t.Fatal(err)
		}
		db := openWorldDB(t, w)

		out := mustRunOwnkey(t, w.env(), "rotate-master-key", "--prune")
		if got := keyFileVersions(t, w); !slices.Equal(got, []uint32{1, 2}) {
			t.Fatalf("--prune alone changed the key file to %v, want [1 2] (no new version, v1 kept: rows use it)\n%s", got, out)
		}
		if got := rowVersions(t, db); !slices.Equal(got, []uint32{1}) {
			t.Fatalf("--prune alone re-wrapped rows: versions in use %v", got)
		}
		if !strings.Contains(out, "kept master key versions [1]") {
			t.Errorf("--prune did not say it kept v1 because credentials use it:\n%s", out)
		}
		if lost := lostCredentials(t, w, want); lost != 0 {
			t.Fatalf("%d credentials lost by --prune", lost)
		}

		mustRunOwnkey(t, w.env(), "rotate-master-key")
		out = mustRunOwnkey(t, w.env(), "rotate-master-key", "--prune")
		if got := keyFileVersions(t, w); !slices.Equal(got, []uint32{3}) {
			t.Fatalf("prune after rotation left %v, want [3]\n%s", got, out)
		}
		if lost := lostCredentials(t, w, want); lost != 0 {
			t.Fatalf("%d credentials lost by rotate + prune", lost)
		}
	})
}

// TestReplicasBootstrapWithDifferentKeys: two replicas with their own key
// files start at once on one empty PostgreSQL database. Exactly one starts;
// the other refuses, naming its key file, having written nothing.
func TestReplicasBootstrapWithDifferentKeys(t *testing.T) {
	dsn := sqltest.NewPostgresDSN(t)
	worlds := []keyWorld{{dir: t.TempDir(), dsn: dsn}, {dir: t.TempDir(), dsn: dsn}}
	for _, w := range worlds {
		if _, _, err := vault.LoadOrCreateKeyFile(w.keyFile()); err != nil {
			t.Fatal(err)
		}
	}
	procs := make([]*ownkeyProc, len(worlds))
	var wg sync.WaitGroup
	for i, w := range worlds {
		wg.Go(func() { procs[i] = startOwnkey(t, w.env()) })
	}
	wg.Wait()
	var winner, loser int = -1, -1
	for i, p := range procs {
		if p == nil {
			t.FailNow() // startOwnkey failed the test (it timed out)
		}
		if p.Addr != "" {
			winner = i
		} else {
			loser = i
		}
	}
	if winner < 0 || loser < 0 {
		t.Fatalf("want exactly one replica up; listening: %v, %v\nstderr 0:\n%s\nstderr 1:\n%s",
			procs[0].Addr != "", procs[1].Addr != "", procs[0].Stderr(), procs[1].Stderr())
	}
	msg := procs[loser].Stderr()
	if !strings.Contains(msg, "refusing to start") || !strings.Contains(msg, worlds[loser].keyFile()) {
		t.Errorf("the refusing replica's message does not say it refuses and name its key file:\n%s", msg)
	}
	if procs[loser].Stdout() != "" {
		t.Errorf("the refusing replica printed an admin key banner:\n%s", procs[loser].Stdout())
	}
	db := openWorldDB(t, worlds[winner])
	if n := countRows(t, db, "accounts"); n != 1 {
		t.Errorf("%d accounts after the bootstrap race, want 1", n)
	}
	var check []byte
	if err := db.SQL().QueryRow(`SELECT check_value FROM master_key_checks WHERE version = 1`).Scan(&check); err != nil {
		t.Fatal(err)
	}
	kr, _, err := vault.LoadOrCreateKeyFile(worlds[winner].keyFile())
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := kr.Check(1); !bytes.Equal(check, want) || countRows(t, db, "master_key_checks") != 1 {
		t.Error("the database does not hold exactly the winning replica's check value")
	}
	// And the winner's keys work: a key stored through it opens.
	putProviderKey(t, procs[winner], procs[winner].AdminKey, "openai", "sk-proj-winner-000000000000000000000000")
}

// TestMissingKeyFileRefusesToStart: with the key file gone but credentials
// in the database, a start must not generate a new key (which could never
// open them): it refuses and names the missing file.
func TestMissingKeyFileRefusesToStart(t *testing.T) {
	eachKeyBackend(t, func(t *testing.T, newWorld func() keyWorld) {
		w := newWorld()
		p := mustStartOwnkey(t, w.env())
		putProviderKey(t, p, p.AdminKey, "openai", "sk-proj-stored-before-loss-00000000000000")
		if err := p.Stop(); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(w.keyFile(), w.keyFile()+".moved"); err != nil {
			t.Fatal(err)
		}
		q := startOwnkey(t, w.env())
		if q.Addr != "" {
			t.Fatal("started without its key file")
		}
		_ = q.Wait(30 * time.Second)
		msg := q.Stderr()
		if !strings.Contains(msg, w.keyFile()) || !strings.Contains(msg, "missing") {
			t.Errorf("the refusal does not name the missing key file %s:\n%s", w.keyFile(), msg)
		}
		if _, err := os.Stat(w.keyFile()); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("a new key file was created in place of the missing one (stat: %v)", err)
		}
	})
}
