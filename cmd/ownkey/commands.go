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
	db  interface{ Close() error }
	st  ownkey.Store
	acc *accounts.Service
	// feed tells running servers what the command changed.
	feed ownkey.ChangeFeed
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
	feed := db.ChangeFeed(sqlstore.FeedOptions{Logger: log})
	acc := accounts.New(db, accounts.Options{Logger: log, Changes: feed})
	return &cliEnv{c: c, db: db, st: db, acc: acc, feed: feed}, nil
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
	if len(args) == 0 || (args[0] != "create" && args[0] != "list") {
		fmt.Fprint(os.Stderr, "usage: ownkey accounts create NAME [--role admin|user] [--json]\n       ownkey accounts list [--json]\n")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return nil
		}
		os.Exit(2)
	}
	sub, args := args[0], args[1:]
	c := &config{}
	fs := newFlagSet("accounts "+sub, map[string]string{
		"create": "ownkey accounts create NAME: create an account and its first API key (printed once).",
		"list":   "ownkey accounts list: list accounts.",
	}[sub])
	role := fs.String("role", "user", "role of the new account: admin or user")
	asJSON := fs.Bool("json", false, "print JSON")
	storageFlags(fs, c)
	name, rest := leadingArg(args)
	_ = fs.Parse(rest)
	if name == "" && fs.NArg() > 0 {
		name = fs.Arg(0)
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
		a := &ownkey.Account{Name: name, Role: ownkey.Role(*role)}
		plain, key, err := e.acc.CreateAccount(ctx, a, "default")
		if err != nil {
			return cliError(err)
		}
		if *asJSON {
			printJSON(os.Stdout, map[string]any{"account": a, "api_key": map[string]any{"id": key.ID, "key": plain.Reveal()}})
			return nil
		}
		fmt.Printf("created account %d (%s, %s)\nAPI key (shown once): %s\n", a.ID, a.Name, a.Role, plain.Reveal())
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
		fmt.Fprintln(tw, "ID\tNAME\tROLE\tBALANCE (nano-USD)\tCREATED")
		for _, a := range as {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\n", a.ID, ownkey.EscapeHidden(a.Name), a.Role, a.Balance, a.CreatedAt.Format("2006-01-02 15:04:05Z"))
		}
		tw.Flush()
	}
	return nil
}

func runAPIKeys(args []string) error {
	sub, args, ok := subcommand(args, []string{"create", "list", "revoke"},
		"usage: ownkey apikeys create --account ID [--name NAME]\n       ownkey apikeys list --account ID\n       ownkey apikeys revoke --account ID --key KEY_ID\n")
	if !ok {
		return nil
	}
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
