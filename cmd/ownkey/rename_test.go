package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ownkey/ownkey/sqlstore"
)

func TestUniqueAccountNamesOverTheAPI(t *testing.T) {
	g := newTestGateway(t, nil)
	id, _ := g.createAccount("Dev Team")
	for _, name := range []string{"dev team", "DEV TEAM", "  Dev Team "} {
		r := g.do("POST", "/api/admin/accounts", g.adminKey, map[string]any{"name": name}, true)
		if msg, _, code, param := errorOf(t, r); r.Status != 409 || code != "account_name_taken" || param != "name" ||
			msg != `an account named "`+strings.TrimSpace(name)+`" already exists (names are unique ignoring case)` {
			t.Fatalf("second %q: %d %s", name, r.Status, r.Body)
		}
	}
	// Renamed by an admin; the old name is free again.
	r := g.do("PATCH", "/api/admin/accounts/"+itoa(id), g.adminKey, map[string]any{"name": "Platform"})
	if r.Status != 200 || r.json(t)["name"] != "Platform" {
		t.Fatalf("rename: %d %s", r.Status, r.Body)
	}
	g.createAccount("dev team")
	r = g.do("PATCH", "/api/admin/accounts/"+itoa(id), g.adminKey, map[string]any{"name": "ADMIN"})
	if _, _, code, _ := errorOf(t, r); r.Status != 409 || code != "account_name_taken" {
		t.Fatalf("rename onto the admin's name: %d %s", r.Status, r.Body)
	}
	if r := g.do("PATCH", "/api/admin/accounts/99999", g.adminKey, map[string]any{"name": "x"}); r.Status != 404 {
		t.Fatalf("rename of no account: %d %s", r.Status, r.Body)
	}
	if r := g.do("PATCH", "/api/admin/accounts/"+itoa(id), g.adminKey, map[string]any{"name": ""}); r.Status != 400 {
		t.Fatalf("empty name: %d %s", r.Status, r.Body)
	}
}

// TestUpgradeWithDuplicateNames: an existing database whose accounts share
// names (as before migration 0006) is not upgraded, and the error names
// them; "ownkey accounts rename" works on it, and once no name is shared
// finishes the upgrade.
func TestUpgradeWithDuplicateNames(t *testing.T) {
	dir := t.TempDir()
	args := []string{"--data-dir", dir}
	captureStdout(t, func() error { return runMigrate(args) })
	// Take the database back to before 0006, with names that collide.
	db, err := sql.Open("sqlite", filepath.Join(dir, "ownkey.db"))
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`DROP INDEX accounts_name_key_idx`,
		`ALTER TABLE accounts DROP COLUMN name_key`,
		`ALTER TABLE api_keys DROP COLUMN usd_day_limit_nano`,
		`ALTER TABLE api_keys DROP COLUMN requests_day_limit`,
		`ALTER TABLE provider_credentials DROP COLUMN cap_day_nano`,
		`ALTER TABLE provider_credentials DROP COLUMN cap_month_nano`,
		`DELETE FROM schema_migrations WHERE version = 6`,
		`INSERT INTO accounts (name, role, created_at) VALUES ('bob', 'user', 1), ('Bob', 'admin', 2), ('carol', 'user', 3), ('bob', 'user', 4)`,
	} {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	db.Close()

	err = runMigrate(args)
	var dup *sqlstore.DuplicateAccountNamesError
	if err == nil || !strings.Contains(err.Error(), `accounts named "bob" (id 1), "Bob" (id 2) and "bob" (id 4). `+
		`Rename all but one of each with "ownkey accounts rename ID NEW_NAME"`) {
		t.Fatalf("migrate with duplicate names: %v", err)
	}
	if !errors.As(err, &dup) {
		t.Fatalf("not a DuplicateAccountNamesError: %v", err)
	}
	// The server refuses to start the same way.
	c := &config{DataDir: dir, LogLevel: "error", LogFormat: "json", Disabled: map[string]bool{}}
	c.resolve()
	if _, err := newApp(context.Background(), c, slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil || !strings.Contains(err.Error(), `"Bob" (id 2)`) {
		t.Fatalf("server start with duplicate names: %v", err)
	}

	// A shared name cannot be used to pick an account.
	if err := runAccounts(append([]string{"rename", "BOB", "robert"}, args...)); err == nil ||
		err.Error() != `3 accounts are named "BOB" (ids 1, 2, 4): give the id instead` {
		t.Fatalf("rename by a shared name: %v", err)
	}
	out := captureStdout(t, func() error { return runAccounts(append([]string{"rename", "2", "robert"}, args...)) })
	if !strings.Contains(out, `renamed account 2 to "robert"`) || !strings.Contains(out, `the upgrade is still waiting: `) ||
		!strings.Contains(out, `accounts named "bob" twice (ids 1, 4)`) {
		t.Fatalf("first rename: %s", out)
	}
	// Flags after the arguments work as well as before them.
	out = captureStdout(t, func() error {
		return runAccounts([]string{"rename", "--data-dir", dir, "4", "bobby"})
	})
	if !strings.Contains(out, `renamed account 4 to "bobby"`) || !strings.Contains(out, "the database upgrade finished") {
		t.Fatalf("second rename: %s", out)
	}
	captureStdout(t, func() error { return runMigrate(args) })
	list := captureStdout(t, func() error { return runAccounts(append([]string{"list", "--json"}, args...)) })
	var accounts []struct {
		ID   int64
		Name string
	}
	if err := json.Unmarshal([]byte(list), &accounts); err != nil {
		t.Fatal(err)
	}
	names := []string{}
	for _, a := range accounts {
		names = append(names, a.Name)
	}
	if strings.Join(names, ",") != "bob,robert,carol,bobby" {
		t.Fatalf("accounts after the upgrade: %v", names)
	}
	// By name once it is unique; onto a taken name it is refused.
	captureStdout(t, func() error { return runAccounts(append([]string{"rename", "CAROL", "Caroline"}, args...)) })
	if err := runAccounts(append([]string{"rename", "caroline", "BOBBY"}, args...)); err == nil ||
		!strings.Contains(err.Error(), `an account named "BOBBY" already exists`) {
		t.Fatalf("rename onto a taken name: %v", err)
	}
}

func TestAPIKeyLimitsCLI(t *testing.T) {
	g := newTestGateway(t, nil)
	dir := []string{"--data-dir", g.cfg.DataDir}
	id, _ := g.createAccount("ci")
	out := captureStdout(t, func() error {
		return runAPIKeys(append([]string{"create", "--account", itoa(id), "--name", "nightly", "--usd-per-day", "2.5", "--requests-per-day", "100"}, dir...))
	})
	if !strings.Contains(out, "(limits: $2.50/day, 100 requests/day)") {
		t.Fatalf("create: %s", out)
	}
	keys := g.do("GET", "/api/admin/accounts/"+itoa(id)+"/api-keys", g.adminKey, nil).json(t)["data"].([]any)
	nightly := keys[1].(map[string]any)
	if nightly["name"] != "nightly" || nightly["limits"].(map[string]any)["usd_per_day"] != "2.500000000" {
		t.Fatalf("key over the API: %v", nightly)
	}
	keyID := itoa(int64(nightly["id"].(float64)))
	out = captureStdout(t, func() error {
		return runAPIKeys(append([]string{"set-limits", "--account", itoa(id), "--key", keyID, "--usd-per-day", "none"}, dir...))
	})
	if !strings.Contains(out, "limits 100 requests/day") {
		t.Fatalf("set-limits: %s", out)
	}
	list := captureStdout(t, func() error { return runAPIKeys(append([]string{"list", "--account", itoa(id)}, dir...)) })
	if !strings.Contains(list, "LIMITS") || !strings.Contains(list, "100 requests/day") || !strings.Contains(list, "none") {
		t.Fatalf("list: %s", list)
	}
	for _, bad := range [][]string{
		{"set-limits", "--account", itoa(id), "--key", keyID},
		{"set-limits", "--account", itoa(id), "--key", keyID, "--usd-per-day", "1.0000000001"},
		{"set-limits", "--account", itoa(id), "--key", keyID, "--requests-per-day", "-3"},
		{"create", "--account", itoa(id), "--usd-per-day", "lots"},
	} {
		if err := runAPIKeys(append(bad, dir...)); err == nil {
			t.Errorf("apikeys %v accepted", bad)
		}
	}
}
