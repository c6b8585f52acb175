package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/sqlstore"
)

// TestNamesRefuseControlCharacters: a name that could rewrite a terminal
// or pass for another name is a 400 naming the field (finding 15).
func TestNamesRefuseControlCharacters(t *testing.T) {
	g := newTestGateway(t, nil)
	_, key := g.createAccount("dev")
	for _, tc := range []struct {
		path, key string
		body      map[string]any
		param     string
	}{
		{"/api/user/api-keys", key, map[string]any{"name": "evil\x1b[2J\x1b]0;pwned\x07"}, "name"},
		{"/api/user/api-keys", key, map[string]any{"name": "csi\u009b31m"}, "name"},
		{"/api/user/api-keys", key, map[string]any{"name": "prod\u202egnp.exe"}, "name"},
		{"/api/admin/accounts", g.adminKey, map[string]any{"name": "bob\x7f"}, "name"},
		{"/api/admin/accounts", g.adminKey, map[string]any{"name": "bob", "key_name": "ci\u2066x"}, "key_name"},
	} {
		r := g.do("POST", tc.path, tc.key, tc.body)
		if r.Status != 400 {
			t.Errorf("POST %s %q: %d, want 400", tc.path, tc.body, r.Status) // the body may hold a new key
			continue
		}
		if msg, _, _, param := errorOf(t, r); param != tc.param || !strings.Contains(msg, tc.param) {
			t.Errorf("POST %s %q: param %q message %q, want the field %q named", tc.path, tc.body, param, msg, tc.param)
		}
	}
	if r := g.do("POST", "/api/user/api-keys", key, map[string]any{"name": "Zoë's laptop 👨‍👩‍👧"}, true); r.Status != 201 {
		t.Fatalf("ordinary Unicode name refused: %d %s", r.Status, r.Body)
	}
}

// TestCLIListsEscapeStoredNames: names stored before they were checked are
// printed escaped, never raw, by `accounts list` and `apikeys list`.
func TestCLIListsEscapeStoredNames(t *testing.T) {
	g := newTestGateway(t, nil)
	ctx := context.Background()
	const evil = "\x1b]0;pwned\x07\x1b[2J\u009b31m\u202eevil\x7f"
	a := &ownkey.Account{Name: "placeholder", Role: ownkey.RoleUser, CreatedAt: ownkey.Now()}
	_, k, err := ownkey.GenerateAPIKey(0, "placeholder")
	if err != nil {
		t.Fatal(err)
	}
	if err := g.app.store.CreateAccount(ctx, a, k); err != nil {
		t.Fatal(err)
	}
	// Straight into the database, as an older version let through.
	db := g.app.store.(*sqlstore.DB).SQL()
	if _, err := db.ExecContext(ctx, `UPDATE accounts SET name = ? WHERE id = ?`, evil, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `UPDATE api_keys SET name = ? WHERE id = ?`, evil, k.ID); err != nil {
		t.Fatal(err)
	}
	dir := []string{"--data-dir", g.cfg.DataDir}
	list := func(run func([]string) error, args ...string) string {
		return captureStdout(t, func() error { return run(append(args, dir...)) })
	}
	for what, out := range map[string]string{
		"apikeys list":         list(runAPIKeys, "list", "--account", itoa(a.ID)),
		"accounts list":        list(runAccounts, "list"),
		"apikeys list --json":  list(runAPIKeys, "list", "--account", itoa(a.ID), "--json"),
		"accounts list --json": list(runAccounts, "list", "--json"),
	} {
		for _, r := range out {
			if r != '\n' && ownkey.HiddenRune(r) {
				t.Errorf("%s printed a raw U+%04X:\n%q", what, r, out)
				break
			}
		}
		if strings.HasSuffix(what, "--json") {
			// The JSON escapes decode to the very name stored.
			if !strings.Contains(out, `\u001b]0;pwned\u0007\u001b[2J\u009b31m\u202eevil\u007f`) {
				t.Errorf("%s does not show the escaped name:\n%s", what, out)
			}
			// ... and the output is still JSON a script can read (the
			// document's own newlines are not escaped).
			if !json.Valid([]byte(out)) || !strings.HasPrefix(out, "[\n") {
				t.Errorf("%s is not indented JSON:\n%s", what, out)
			}
		} else if !strings.Contains(out, `\x1b]0;pwned\x07\x1b[2J\x9b31m\u202eevil\x7f`) {
			t.Errorf("%s does not show the escaped name:\n%s", what, out)
		}
	}
	// JSON escapes of hidden runes outside the BMP use surrogate pairs.
	var back string
	if err := json.Unmarshal(escapeHiddenJSON([]byte("\"tag\U000e0001\"")), &back); err != nil || back != "tag\U000e0001" {
		t.Errorf("escaped astral rune decodes to %q, %v", back, err)
	}
}
