package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/accounts"
	"github.com/ownkey/ownkey/sqlstore"
	"github.com/ownkey/ownkey/vault"
)

// cliEnv is the state a management command needs: the store and, for key
// work, the accounts service. Logs go to stderr so stdout stays parseable.
type cliEnv struct {
	c   *config
	db  *sqlstore.DB
	st  ownkey.Store
	acc *accounts.Service
}

func openCLI(ctx context.Context, c *config) (*cliEnv, error) {
	c.resolve()
	log := newLogger(c, os.Stderr)
	db, err := openStore(ctx, c, log)
	if err != nil {
		return nil, err
	}
	// Revocations are published so that running servers apply them at
	// once (PostgreSQL; on SQLite they notice the write to the file).
	acc := accounts.New(db, accounts.Options{Logger: log, Changes: db.ChangeFeed(sqlstore.FeedOptions{Logger: log}),
		StartingCredit: c.StartingCredit})
	return &cliEnv{c: c, db: db, st: db, acc: acc}, nil
}

func (e *cliEnv) Close() {
	e.acc.Close()
	e.db.Close()
}

func printJSON(w io.Writer, v any) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
	_, _ = w.Write(escapeHiddenJSON(b.Bytes()))
}

// escapeHiddenJSON writes the hidden runes (ownkey.HiddenRune) that
// encoding/json leaves raw (DEL, C1 controls, bidi overrides...) as \u
// escapes, so that JSON printed to a terminal cannot act on it either.
// encoding/json already escapes C0 controls inside strings, so a C0 byte
// here is the document's own whitespace (indentation, the final newline)
// and stays; every other hidden rune can only be inside a string, where the
// escape means the same text.
// hiddenInJSON is ownkey.HiddenRune less the C0 controls (see escapeHiddenJSON).
func hiddenInJSON(r rune) bool { return r >= 0x20 && ownkey.HiddenRune(r) }

func escapeHiddenJSON(b []byte) []byte {
	if !bytes.ContainsFunc(b, hiddenInJSON) {
		return b
	}
	out := make([]byte, 0, len(b)+16)
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if hiddenInJSON(r) {
			if r1, r2 := utf16.EncodeRune(r); r1 != utf8.RuneError {
				out = fmt.Appendf(out, `\u%04x\u%04x`, r1, r2)
			} else {
				out = fmt.Appendf(out, `\u%04x`, r)
			}
		} else {
			out = append(out, b[:size]...)
		}
		b = b[size:]
	}
	return out
}

func runMigrate(args []string) error {
	c := &config{}
	fs := newFlagSet("migrate", "ownkey migrate: apply pending database migrations and exit.")
	storageFlags(fs, c)
	_ = fs.Parse(args)
	e, err := openCLI(context.Background(), c)
	if err != nil {
		return err
	}
	defer e.Close()
	fmt.Println("database is up to date")
	return nil
}

func runAccounts(args []string) error {
	subs := []string{"create", "list", "credit", "debit"}
	if len(args) == 0 || !slices.Contains(subs, args[0]) {
		fmt.Fprint(os.Stderr, `usage: ownkey accounts create NAME [--role admin|user] [--unmetered] [--json]
       ownkey accounts list [--json]
       ownkey accounts credit NAME|ID USD --reason TEXT [--json]
       ownkey accounts debit NAME|ID USD --reason TEXT [--json]
`)
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return nil
		}
		os.Exit(2)
	}
	sub, args := args[0], args[1:]
	c := &config{}
	fs := newFlagSet("accounts "+sub, map[string]string{
		"create": "ownkey accounts create NAME: create an account and its first API key (printed once). It is metered\n" +
			"(it pays for its requests from its balance, which starts at OWNKEY_STARTING_CREDIT_USD) unless --unmetered.",
		"list":   "ownkey accounts list: list accounts.",
		"credit": "ownkey accounts credit NAME|ID USD --reason TEXT: add USD (an exact decimal, e.g. 12.5) to the account's balance, as a ledger row.",
		"debit":  "ownkey accounts debit NAME|ID USD --reason TEXT: take USD from the account's balance (it may go below zero), as a ledger row.",
	}[sub])
	role := fs.String("role", "user", "role of the new account: admin or user")
	unmetered := fs.Bool("unmetered", false, "the new account is served without a balance (its requests are priced, not charged)")
	reason := fs.String("reason", "", "why the balance changes (required for credit and debit)")
	asJSON := fs.Bool("json", false, "print JSON")
	storageFlags(fs, c)
	name, rest := leadingArg(args)
	amount, rest := leadingArg(rest)
	_ = fs.Parse(rest)
	positional := fs.Args()
	if name == "" && len(positional) > 0 {
		name, positional = positional[0], positional[1:]
	}
	if amount == "" && len(positional) > 0 {
		amount = positional[0]
	}
	ctx := context.Background()
	e, err := openCLI(ctx, c)
	if err != nil {
		return err
	}
	defer e.Close()
	switch sub {
	case "create":
		if name == "" {
			return errors.New("accounts create needs a NAME")
		}
		a := &ownkey.Account{Name: name, Role: ownkey.Role(*role), Metered: !*unmetered}
		plain, key, err := e.acc.CreateAccount(ctx, a, "default")
		if err != nil {
			return cliError(err)
		}
		if *asJSON {
			printJSON(os.Stdout, map[string]any{"account": a, "api_key": map[string]any{"id": key.ID, "key": plain.Reveal()}})
			return nil
		}
		fmt.Printf("created account %d (%s, %s, %s, balance $%s)\nAPI key (shown once): %s\n", a.ID, a.Name, a.Role,
			meteredWord(a.Metered), ownkey.FormatBalance(a.Balance), plain.Reveal())
	case "list":
		as, err := e.st.Accounts(ctx)
		if err != nil {
			return cliError(err)
		}
		if *asJSON {
			printJSON(os.Stdout, as)
			return nil
		}
		tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tROLE\tBILLING\tBALANCE (USD)\tCREATED")
		for _, a := range as {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", a.ID, ownkey.EscapeHidden(a.Name), a.Role, meteredWord(a.Metered),
				ownkey.FormatBalance(a.Balance), a.CreatedAt.Format("2006-01-02 15:04:05Z"))
		}
		tw.Flush()
	case "credit", "debit":
		if name == "" || amount == "" {
			return fmt.Errorf("accounts %s needs an account (name or id) and an amount of dollars", sub)
		}
		usd, err := ownkey.ParseUSD(amount)
		if err != nil || usd <= 0 {
			return fmt.Errorf("%q is not a positive amount of dollars such as 12.5 (at most 9 decimals)", amount)
		}
		if sub == "debit" {
			usd = -usd
		}
		a, err := findAccount(ctx, e.st, name)
		if err != nil {
			return err
		}
		adj := &ownkey.BalanceAdjustment{AccountID: a.ID, Amount: usd, Reason: *reason, Actor: cliActor()}
		after, err := e.db.AdjustBalance(ctx, adj)
		if err != nil {
			return cliError(err)
		}
		if *asJSON {
			printJSON(os.Stdout, map[string]any{"usd_balance": ownkey.FormatBalance(after), "adjustment": adj})
			return nil
		}
		fmt.Printf("%sed account %d (%s) with $%s: balance $%s (adjustment %d)\n", sub, a.ID, ownkey.EscapeHidden(a.Name),
			ownkey.FormatBalance(max(usd, -usd)), ownkey.FormatBalance(after), adj.ID)
	}
	return nil
}

func meteredWord(metered bool) string {
	if metered {
		return "metered"
	}
	return "unmetered"
}

// findAccount finds an account by id (all digits) or by name; a name that
// several accounts share is refused, naming them.
func findAccount(ctx context.Context, st ownkey.Store, ref string) (*ownkey.Account, error) {
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil && id > 0 {
		a, err := st.Account(ctx, id)
		return a, cliError(err)
	}
	as, err := st.Accounts(ctx)
	if err != nil {
		return nil, cliError(err)
	}
	var found []*ownkey.Account
	for _, a := range as {
		if a.Name == ref {
			found = append(found, a)
		}
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("no account is named %q", ownkey.EscapeHidden(ref))
	case 1:
		return found[0], nil
	}
	ids := make([]string, len(found))
	for i, a := range found {
		ids[i] = strconv.FormatInt(a.ID, 10)
	}
	return nil, fmt.Errorf("%d accounts are named %q (ids %s): give the id", len(found), ownkey.EscapeHidden(ref), strings.Join(ids, ", "))
}

// cliActor names who changed a balance from the command line.
func cliActor() string {
	if u, err := ownkey.ValidateName("actor", os.Getenv("USER")); err == nil && u != "" && len(u) < 64 {
		return "cli (" + u + ")"
	}
	return "cli"
}

func runAPIKeys(args []string) error {
	subs := []string{"create", "list", "revoke"}
	if len(args) == 0 || !slices.Contains(subs, args[0]) {
		fmt.Fprint(os.Stderr, "usage: ownkey apikeys create --account ID [--name NAME]\n       ownkey apikeys list --account ID\n       ownkey apikeys revoke --account ID --key KEY_ID\n")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return nil
		}
		os.Exit(2)
	}
	sub, args := args[0], args[1:]
	c := &config{}
	fs := newFlagSet("apikeys "+sub, "ownkey apikeys "+sub+": manage an account's ownkey API keys.")
	account := fs.Int64("account", 0, "account id (required)")
	name := fs.String("name", "default", "name of the new key")
	keyID := fs.Int64("key", 0, "id of the key to revoke")
	asJSON := fs.Bool("json", false, "print JSON")
	storageFlags(fs, c)
	_ = fs.Parse(args)
	if *account <= 0 {
		return errors.New("--account ID is required")
	}
	ctx := context.Background()
	e, err := openCLI(ctx, c)
	if err != nil {
		return err
	}
	defer e.Close()
	switch sub {
	case "create":
		plain, key, err := e.acc.CreateAPIKey(ctx, *account, *name)
		if err != nil {
			return cliError(err)
		}
		if *asJSON {
			printJSON(os.Stdout, map[string]any{"id": key.ID, "account_id": key.AccountID, "name": key.Name, "key": plain.Reveal()})
			return nil
		}
		fmt.Printf("created API key %d for account %d\nAPI key (shown once): %s\n", key.ID, key.AccountID, plain.Reveal())
	case "list":
		ks, err := e.st.APIKeys(ctx, *account)
		if err != nil {
			return cliError(err)
		}
		if *asJSON {
			printJSON(os.Stdout, ks)
			return nil
		}
		tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tKEY\tCREATED\tLAST USED\tREVOKED")
		for _, k := range ks {
			// Names stored before they were checked may hold escape
			// sequences: never hand them to the terminal raw.
			fmt.Fprintf(tw, "%d\t%s\t%s…%s\t%s\t%s\t%s\n", k.ID, ownkey.EscapeHidden(k.Name), ownkey.APIKeyPrefix, k.Last4,
				k.CreatedAt.Format("2006-01-02 15:04:05Z"), fmtTime(k.LastUsedAt), fmtTime(k.RevokedAt))
		}
		tw.Flush()
	case "revoke":
		if *keyID <= 0 {
			return errors.New("--key KEY_ID is required")
		}
		if err := e.acc.RevokeAPIKey(ctx, *account, *keyID); err != nil {
			return cliError(err)
		}
		fmt.Printf("revoked API key %d of account %d (running servers stop accepting it within about a second)\n", *keyID, *account)
	}
	return nil
}

func runRotate(args []string) error {
	c := &config{}
	fs := newFlagSet("rotate-master-key", `ownkey rotate-master-key: re-wrap every provider credential under a new master key version.

With the key file (no OWNKEY_MASTER_KEY): adds a new version to the file, keeping the
old ones, records it in the database, then re-wraps every credential's data key under
it. A running server re-reads the file when the database names the new version.
Safe to interrupt and re-run; two runs at once take turns.

With OWNKEY_MASTER_KEY: first give every replica a keyring that holds the new
version (e.g. "v1:<old>,v2:<new>") and restart them; then run this command with the
same OWNKEY_MASTER_KEY: it re-wraps everything under the highest version.

--prune only prunes (it does not rotate): it removes from the key file the versions
older than the newest that no credential uses (key file only; for OWNKEY_MASTER_KEY
drop them from the variable yourself).`)
	prune := fs.Bool("prune", false, "do not rotate: remove from the key file the old master key versions no credential uses")
	storageFlags(fs, c)
	_ = fs.Parse(args)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	e, err := openCLI(ctx, c)
	if err != nil {
		return err
	}
	defer e.Close()
	log := newLogger(c, os.Stderr)
	fromFile := c.MasterKey == ""
	if *prune && !fromFile {
		return errors.New("--prune edits the key file; with OWNKEY_MASTER_KEY remove old versions from the variable yourself")
	}
	kr, _, err := loadKeyring(ctx, c, log, nil)
	if err != nil {
		return err
	}
	vs := vault.NewService(e.st, kr, vault.Options{Logger: log})
	defer vs.Close()
	if *prune {
		removed, inUse, err := vs.Prune(ctx, c.MasterKeyFile)
		if err != nil {
			return err
		}
		if len(inUse) > 0 {
			fmt.Printf("kept master key versions %v: credentials still use them (run rotate-master-key first)\n", inUse)
		}
		if len(removed) == 0 {
			fmt.Printf("removed no master key version from %s (%s)\n", c.MasterKeyFile, vs.Keyring())
			return nil
		}
		fmt.Printf("removed master key versions %v from %s (%s)\n", removed, c.MasterKeyFile, vs.Keyring())
		return nil
	}
	progress := func(done, total int) { fmt.Fprintf(os.Stderr, "\rre-wrapped %d/%d", done, total) }
	var n int
	var v uint32
	if fromFile {
		v, n, err = vs.RotateKeyFile(ctx, c.MasterKeyFile, progress)
		if v != 0 {
			fmt.Printf("added master key version %d to %s (older versions kept)\n", v, c.MasterKeyFile)
		}
	} else {
		n, err = vs.Rotate(ctx, progress)
	}
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return fmt.Errorf("rotation stopped after %d credentials (all still readable; run again to finish): %w", n, err)
	}
	fmt.Printf("re-wrapped %d credentials; all now under master key version %d\n", n, vs.Keyring().Active())
	return nil
}

// leadingArg splits off a positional argument given before the flags
// ("accounts create NAME --role admin").
func leadingArg(args []string) (string, []string) {
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		return args[0], args[1:]
	}
	return "", args
}

func cliError(err error) error {
	var e *ownkey.Error
	if errors.As(err, &e) {
		return errors.New(e.Message)
	}
	return err
}

func fmtTime(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format("2006-01-02 15:04:05Z")
}
