package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
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
	// feed tells running servers what the command changed.
	feed ownkey.ChangeFeed
}

func openCLI(ctx context.Context, c *config) (*cliEnv, error) {
	log, err := startCLI(c)
	if err != nil {
		return nil, err
	}
	db, err := openStore(ctx, c, log)
	if err != nil {
		return nil, err
	}
	return newCLIEnv(c, db, log), nil
}

// startCLI resolves and checks a command's settings, warns about unknown
// OWNKEY_ variables and returns the command's logger (stderr).
func startCLI(c *config) (*slog.Logger, error) {
	c.resolve()
	if err := c.check(); err != nil {
		return nil, err
	}
	log := newLogger(c, os.Stderr)
	warnUnknownVariables(log.Warn, os.Environ())
	return log, nil
}

func newCLIEnv(c *config, db *sqlstore.DB, log *slog.Logger) *cliEnv {
	// Revocations are published so that running servers apply them at
	// once (PostgreSQL; on SQLite they notice the write to the file).
	feed := db.ChangeFeed(sqlstore.FeedOptions{Logger: log})
	acc := accounts.New(db, accounts.Options{Logger: log, Changes: feed, StartingCredit: c.StartingCredit})
	return &cliEnv{c: c, db: db, st: db, acc: acc, feed: feed}
}

// vault opens the key vault over the command's store with the keyring in
// use (never a new one), telling running servers what it changes.
func (e *cliEnv) vault(ctx context.Context, log *slog.Logger) (*vault.Service, error) {
	kr, _, err := loadKeyring(ctx, e.c, log, nil)
	if err != nil {
		return nil, err
	}
	return vault.NewService(e.st, kr, vault.Options{
		AllowPrivate: e.c.AllowPrivate, Disabled: e.c.Disabled, Logger: log, Changes: e.feed,
	}), nil
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
	if len(args) > 0 && args[0] == "rename" {
		return runRenameAccount(args[1:])
	}
	subs := []string{"create", "list", "credit", "debit"}
	if len(args) == 0 || !slices.Contains(subs, args[0]) {
		fmt.Fprint(os.Stderr, `usage: ownkey accounts create NAME [--role admin|user] [--unmetered] [--json]
       ownkey accounts list [--json]
       ownkey accounts rename ACCOUNT NEW_NAME   (ACCOUNT: id or name)
       ownkey accounts credit ACCOUNT USD --reason TEXT [--json]
       ownkey accounts debit ACCOUNT USD --reason TEXT [--json]
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
	// Each subcommand registers its own flags only, so that its --help
	// lists what it takes.
	role, unmetered, reason := new(string), new(bool), new(string)
	if sub == "create" {
		role = fs.String("role", "user", "role of the new account: admin or user")
		unmetered = fs.Bool("unmetered", false, "the new account is served without a balance (its requests are priced, not charged)")
	}
	if sub == "credit" || sub == "debit" {
		reason = fs.String("reason", "", "why the balance changes (required)")
	}
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
			meteredWord(a.Metered), ownkey.FormatUSD(a.Balance), plain.Reveal())
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
				ownkey.FormatUSD(a.Balance), a.CreatedAt.Format("2006-01-02 15:04:05Z"))
		}
		tw.Flush()
	case "credit", "debit":
		if name == "" || amount == "" {
			return fmt.Errorf("accounts %s needs an account (name or id) and an amount of dollars", sub)
		}
		usd, err := ownkey.ParseUSD("amount", amount)
		if err != nil || usd <= 0 {
			return fmt.Errorf("%q is not a positive amount of dollars such as 12.5 (at most 9 decimals)", amount)
		}
		if sub == "debit" {
			usd = -usd
		}
		a, err := resolveAccount(ctx, e.st, name)
		if err != nil {
			return err
		}
		adj := &ownkey.BalanceAdjustment{AccountID: a.ID, Amount: usd, Reason: *reason, Actor: cliActor()}
		after, err := e.db.AdjustBalance(ctx, adj)
		if err != nil {
			return cliError(err)
		}
		if *asJSON {
			printJSON(os.Stdout, map[string]any{"usd_balance": ownkey.FormatUSD(after), "adjustment": adj})
			return nil
		}
		fmt.Printf("%sed account %d (%s) with $%s: balance $%s (adjustment %d)\n", sub, a.ID, ownkey.EscapeHidden(a.Name),
			ownkey.FormatUSD(max(usd, -usd)), ownkey.FormatUSD(after), adj.ID)
	}
	return nil
}

// runRenameAccount renames an account. It also runs on a database whose
// upgrade to unique account names (migration 0006) stopped because names
// collide: that is how the collisions are resolved, and once none is left
// it finishes the upgrade.
func runRenameAccount(args []string) error {
	c := &config{}
	fs := newFlagSet("accounts rename", `ownkey accounts rename ACCOUNT NEW_NAME: rename an account (ACCOUNT is its id or its name).

Account names are unique, ignoring case. An upgrade that finds two accounts sharing a
name stops and names them; rename all but one of each with this command (by id), and
the upgrade finishes.`)
	storageFlags(fs, c)
	// The two arguments, before the flags or after them.
	var pos []string
	for len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		pos, args = append(pos, args[0]), args[1:]
	}
	_ = fs.Parse(args)
	pos = append(pos, fs.Args()...)
	if len(pos) != 2 {
		return errors.New("usage: ownkey accounts rename ACCOUNT NEW_NAME (ACCOUNT: id or name)")
	}
	account, newName := pos[0], pos[1]
	ctx := context.Background()
	log, err := startCLI(c)
	if err != nil {
		return err
	}
	db, blocked, err := openStoreForRename(ctx, c, log)
	if err != nil {
		return err
	}
	e := newCLIEnv(c, db, log)
	defer e.Close()
	id, err := findAccount(ctx, e.st, account)
	if err != nil {
		return err
	}
	a, err := e.acc.RenameAccount(ctx, id, newName)
	if err != nil {
		return cliError(err)
	}
	fmt.Printf("renamed account %d to %s\n", a.ID, strconv.Quote(ownkey.EscapeHidden(a.Name)))
	if blocked {
		err := db.Migrate(ctx)
		var dup *sqlstore.DuplicateAccountNamesError
		switch {
		case errors.As(err, &dup):
			fmt.Printf("the upgrade is still waiting: %s\n", dup.Error())
		case err != nil:
			return fmt.Errorf("migrating database: %w", err)
		default:
			fmt.Println("account names are unique now: the database upgrade finished")
		}
	}
	return nil
}

// openStoreForRename is openStore, except that a migration refused for
// duplicate account names leaves the database open at the version before
// it (blocked), so that they can be renamed.
func openStoreForRename(ctx context.Context, c *config, log *slog.Logger) (db *sqlstore.DB, blocked bool, err error) {
	db, err = openStore(ctx, c, log)
	var dup *sqlstore.DuplicateAccountNamesError
	if !errors.As(err, &dup) {
		return db, false, err
	}
	db, err = sqlstore.OpenWith(ctx, c.DatabaseURL, sqlstore.Options{MaxConns: c.DatabaseMaxConns})
	if err != nil {
		return nil, false, fmt.Errorf("opening database %s: %w", redactURL(c.DatabaseURL), err)
	}
	// Applies what comes before the refused migration, and stops there.
	if err := db.Migrate(ctx); !errors.As(err, &dup) {
		if err == nil {
			return db, false, nil
		}
		db.Close()
		return nil, false, fmt.Errorf("migrating database: %w", err)
	}
	return db, true, nil
}

// findAccount resolves an account given by id or by name (ignoring case).
// Several accounts may share a name before the upgrade that makes names
// unique: then the id is needed.
func findAccount(ctx context.Context, st ownkey.Store, ref string) (int64, error) {
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil && id > 0 {
		return id, nil
	}
	as, err := st.Accounts(ctx)
	if err != nil {
		return 0, err
	}
	var ids []string
	var id int64
	for _, a := range as {
		if ownkey.NameKey(a.Name) == ownkey.NameKey(ref) {
			id = a.ID
			ids = append(ids, strconv.FormatInt(a.ID, 10))
		}
	}
	switch len(ids) {
	case 0:
		return 0, fmt.Errorf("no account is named %s", strconv.Quote(ownkey.EscapeHidden(ref)))
	case 1:
		return id, nil
	}
	return 0, fmt.Errorf("%d accounts are named %s (ids %s): give the id instead",
		len(ids), strconv.Quote(ownkey.EscapeHidden(ref)), strings.Join(ids, ", "))
}

// resolveAccount is the account ref names (findAccount), which must exist:
// a command about an account that does not exist says so rather than
// answer as if it had nothing (an empty key list).
func resolveAccount(ctx context.Context, st ownkey.Store, ref string) (*ownkey.Account, error) {
	id, err := findAccount(ctx, st, ref)
	if err != nil {
		return nil, err
	}
	a, err := st.Account(ctx, id)
	if ownkey.ErrorCode(err) == ownkey.ENOTFOUND {
		return nil, fmt.Errorf("there is no account %d (ownkey accounts list shows them)", id)
	} else if err != nil {
		return nil, cliError(err)
	}
	return a, nil
}

func meteredWord(metered bool) string {
	if metered {
		return "metered"
	}
	return "unmetered"
}

// cliActor names who changed a balance from the command line.
func cliActor() string {
	if u, err := ownkey.ValidateName("actor", os.Getenv("USER")); err == nil && u != "" && len(u) < 64 {
		return "cli (" + u + ")"
	}
	return "cli"
}

func runAPIKeys(args []string) error {
	sub, args, ok := subcommand(args, []string{"create", "list", "revoke", "set-limits"},
		"usage: ownkey apikeys create --account ID [--name NAME] [--usd-per-day USD] [--requests-per-day N]\n"+
			"       ownkey apikeys list --account ID\n       ownkey apikeys revoke --account ID --key KEY_ID\n"+
			"       ownkey apikeys set-limits --account ID --key KEY_ID [--usd-per-day USD|none] [--requests-per-day N|none]\n")
	if !ok {
		return nil
	}
	c := &config{}
	fs := newFlagSet("apikeys "+sub, map[string]string{
		"create":     "ownkey apikeys create --account ID: create an API key for the account (printed once).",
		"list":       "ownkey apikeys list --account ID: list the account's API keys (last 4 characters only).",
		"revoke":     "ownkey apikeys revoke --account ID --key KEY_ID: revoke an API key; running servers stop accepting it within about a second.",
		"set-limits": "ownkey apikeys set-limits --account ID --key KEY_ID: change an API key's daily limits (none removes one).",
	}[sub])
	// Each subcommand registers its own flags only, so that its --help
	// lists what it takes.
	accountRef := fs.String("account", "", "the account: its id, or its name (required)")
	name, keyID, usdPerDay, requestsPerDay, asJSON := new(string), new(int64), new(string), new(string), new(bool)
	if sub == "create" {
		name = fs.String("name", "default", "name of the new key")
	}
	if sub == "revoke" || sub == "set-limits" {
		keyID = fs.Int64("key", 0, "id of the key (required)")
	}
	if sub == "create" || sub == "set-limits" {
		usdPerDay = fs.String("usd-per-day", "", "daily limit (UTC day) on what the key's requests are charged, in USD, e.g. 5.00; set-limits: none removes it")
		requestsPerDay = fs.String("requests-per-day", "", "daily limit (UTC day) on the key's requests; set-limits: none removes it")
	}
	if sub != "revoke" {
		asJSON = fs.Bool("json", false, "print JSON")
	}
	storageFlags(fs, c)
	_ = fs.Parse(args)
	if *accountRef == "" {
		return errors.New("--account ID is required")
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("apikeys %s takes flags only, got %q", sub, fs.Arg(0))
	}
	var limits ownkey.APIKeyLimitsUpdate
	var err error
	if limits.USDPerDay, err = usdFlag("--usd-per-day", *usdPerDay); err != nil {
		return err
	}
	if limits.RequestsPerDay, err = countFlag("--requests-per-day", *requestsPerDay); err != nil {
		return err
	}
	ctx := context.Background()
	e, err := openCLI(ctx, c)
	if err != nil {
		return err
	}
	defer e.Close()
	acct, err := resolveAccount(ctx, e.st, *accountRef)
	if err != nil {
		return err
	}
	account := &acct.ID
	switch sub {
	case "create":
		plain, key, err := e.acc.CreateAPIKey(ctx, *account, *name, limits.Apply(ownkey.APIKeyLimits{}))
		if err != nil {
			return cliError(err)
		}
		if *asJSON {
			printJSON(os.Stdout, map[string]any{"id": key.ID, "account_id": key.AccountID, "name": key.Name, "limits": key.Limits, "key": plain.Reveal()})
			return nil
		}
		fmt.Printf("created API key %d for account %d (limits: %s)\nAPI key (shown once): %s\n", key.ID, key.AccountID, describeLimits(key.Limits), plain.Reveal())
	case "set-limits":
		if *keyID <= 0 {
			return errors.New("--key KEY_ID is required")
		}
		if !limits.USDPerDay.Set && !limits.RequestsPerDay.Set {
			return errors.New("set-limits needs --usd-per-day or --requests-per-day (a value, or none to remove the limit)")
		}
		key, err := e.acc.SetAPIKeyLimits(ctx, *account, *keyID, limits)
		if err != nil {
			return cliError(err)
		}
		if *asJSON {
			printJSON(os.Stdout, key)
			return nil
		}
		fmt.Printf("API key %d of account %d: limits %s (running servers apply them within about a second)\n", key.ID, key.AccountID, describeLimits(key.Limits))
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
		fmt.Fprintln(tw, "ID\tNAME\tKEY\tCREATED\tLAST USED\tREVOKED\tLIMITS")
		for _, k := range ks {
			// Names stored before they were checked may hold escape
			// sequences: never hand them to the terminal raw.
			fmt.Fprintf(tw, "%d\t%s\t%s…%s\t%s\t%s\t%s\t%s\n", k.ID, ownkey.EscapeHidden(k.Name), ownkey.APIKeyPrefix, k.Last4,
				k.CreatedAt.Format("2006-01-02 15:04:05Z"), fmtTime(k.LastUsedAt), fmtTime(k.RevokedAt), describeLimits(k.Limits))
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
	keyFlags(fs, c)
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
	vs, err := e.vault(ctx, log)
	if err != nil {
		return err
	}
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

// subcommand splits off the subcommand of a command that has several. A
// missing or unknown one prints usage and exits 2; ok is false for -h,
// after usage is printed.
func subcommand(args, subs []string, usage string) (sub string, rest []string, ok bool) {
	if len(args) == 0 || !slices.Contains(subs, args[0]) {
		fmt.Fprint(os.Stderr, usage)
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return "", nil, false
		}
		os.Exit(2)
	}
	return args[0], args[1:], true
}

// leadingArg splits off a positional argument given before the flags
// ("accounts create NAME --role admin").
func leadingArg(args []string) (string, []string) {
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		return args[0], args[1:]
	}
	return "", args
}

// usdFlag reads a USD limit flag: empty leaves the limit as it is, none
// removes it.
func usdFlag(name, v string) (ownkey.Update[ownkey.NanoUSD], error) {
	switch v {
	case "":
		return ownkey.Update[ownkey.NanoUSD]{}, nil
	case "none":
		return ownkey.Update[ownkey.NanoUSD]{Set: true}, nil
	}
	n, err := ownkey.ParseUSD(name, strings.TrimPrefix(v, "$"))
	if err != nil {
		return ownkey.Update[ownkey.NanoUSD]{}, fmt.Errorf("%s %q: a dollar amount such as 5.00 (at most 9 decimals), or none", name, v)
	}
	return ownkey.Update[ownkey.NanoUSD]{Set: true, To: &n}, nil
}

// countFlag is usdFlag for a count.
func countFlag(name, v string) (ownkey.Update[int64], error) {
	switch v {
	case "":
		return ownkey.Update[int64]{}, nil
	case "none":
		return ownkey.Update[int64]{Set: true}, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return ownkey.Update[int64]{}, fmt.Errorf("%s %q: a whole number, 0 or more, or none", name, v)
	}
	return ownkey.Update[int64]{Set: true, To: &n}, nil
}

// describeLimits: "none", or "$5.00/day, 1000 requests/day".
func describeLimits(l ownkey.APIKeyLimits) string {
	var parts []string
	if l.USDPerDay != nil {
		parts = append(parts, ownkey.ShortUSD(*l.USDPerDay)+"/day")
	}
	if l.RequestsPerDay != nil {
		parts = append(parts, strconv.FormatInt(*l.RequestsPerDay, 10)+" requests/day")
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
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
