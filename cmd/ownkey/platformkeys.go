package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/egress"
	"github.com/ownkey/ownkey/provider"
	"golang.org/x/term"
)

const platformKeysUsage = `usage: ownkey platform-keys set PROVIDER [--check [--model MODEL]]   (the key is read from stdin, or a hidden prompt)
       ownkey platform-keys list [--json]
       ownkey platform-keys delete PROVIDER
`

// maxSecretBytes bounds what set reads from stdin: far above any provider
// credential, far below trouble.
const maxSecretBytes = 64 << 10

func runPlatformKeys(args []string) error {
	return platformKeys(args, os.Stdin, os.Stdout, os.Stderr)
}

// platformKeys manages the platform's own provider keys, which requests use
// when the BYOK switch lets them (x-use-byok: false, or no own key). Like
// every command it works against the database a running server uses; the
// servers drop their cached copy when they hear of the change.
//
// set never takes the key from the command line, where the shell history
// and the process list would keep it: it reads it from stdin (a pipe or a
// file) or, on a terminal, from a prompt that does not echo.
func platformKeys(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	subs := map[string]string{
		"set":    "ownkey platform-keys set PROVIDER: store the platform's key for a provider (read from stdin or a hidden prompt, never from the command line), replacing any previous one.",
		"list":   "ownkey platform-keys list: the providers the platform holds a key for (last 4 characters only).",
		"delete": "ownkey platform-keys delete PROVIDER: remove the platform's key for a provider.",
	}
	sub, args, ok := subcommand(args, []string{"set", "list", "delete"}, platformKeysUsage)
	if !ok {
		return nil
	}
	c := &config{}
	fs := newFlagSet("platform-keys "+sub, subs[sub])
	fs.SetOutput(stderr)
	// Each subcommand registers its own flags only, so that its --help
	// lists what it takes.
	asJSON, check, model := new(bool), new(bool), new(string)
	switch sub {
	case "list":
		asJSON = fs.Bool("json", false, "print JSON")
	case "set":
		check = fs.Bool("check", false, "check the key with the provider first, and store it only if the provider accepts it")
		model = fs.String("model", "", "with --check: the model to check the key with, for providers whose check needs one")
	}
	storageFlags(fs, c)
	keyFlags(fs, c)
	name, rest := leadingArg(args)
	_ = fs.Parse(rest)
	extra := fs.Args()
	if name == "" && len(extra) > 0 {
		// Flags first: the provider, then maybe more flags.
		name = extra[0]
		_ = fs.Parse(extra[1:])
		extra = fs.Args()
	}
	if sub != "list" {
		if name == "" {
			return fmt.Errorf("platform-keys %s needs a PROVIDER", sub)
		}
		if len(extra) > 0 {
			// Not echoed: it may well be the key.
			return errors.New("platform-keys " + sub + " takes one PROVIDER and no other argument; the key is read from stdin or a prompt, never from the command line (where the shell history and the process list would keep it)")
		}
		if _, ok := ownkey.LookupProvider(name); !ok {
			return errors.New("unknown provider; see the ids in the README's provider table or `ownkey platform-keys list --json`")
		}
	}

	ctx := context.Background()
	e, err := openCLI(ctx, c)
	if err != nil {
		return err
	}
	defer e.Close()
	vs, err := e.vault(ctx, newLogger(c, stderr))
	if err != nil {
		return err
	}
	defer vs.Close()
	// As the server does at start, before anything is sealed.
	if err := vs.VerifyKeyring(ctx); err != nil {
		return err
	}

	switch sub {
	case "set":
		p, _ := ownkey.LookupProvider(name)
		secret, err := readSecret(stdin, stderr, "Enter the platform's "+p.Name+" key (input hidden): ")
		if err != nil {
			return err
		}
		defer clear(secret)
		raw, err := credentialJSON(p, secret)
		if err != nil {
			return err
		}
		defer clear(raw)
		if *check {
			if err := checkPlatformKey(ctx, c, p, raw, *model); err != nil {
				return err
			}
		}
		st, err := vs.PutPlatform(ctx, p.ID, raw)
		if err != nil {
			return cliError(err)
		}
		fmt.Fprintf(stdout, "stored the platform's %s key (…%s); running servers use it within about a second\n", p.ID, st.Suffix)
	case "delete":
		if err := vs.DeletePlatform(ctx, name); err != nil {
			return cliError(err)
		}
		fmt.Fprintf(stdout, "deleted the platform's %s key\n", name)
	case "list":
		sts, err := vs.ListPlatform(ctx)
		if err != nil {
			return cliError(err)
		}
		type row struct {
			Provider   string     `json:"provider"`
			Status     string     `json:"status"`
			Suffix     string     `json:"key_suffix"`
			UpdatedAt  *time.Time `json:"updated_at"`
			LastUsedAt *time.Time `json:"last_used_at"`
		}
		rows := []row{}
		for _, st := range sts {
			if st.Status == ownkey.StatusNotConfigured {
				continue
			}
			rows = append(rows, row{st.Provider.ID, st.Status, st.Suffix, st.UpdatedAt, st.LastUsedAt})
		}
		if *asJSON {
			printJSON(stdout, rows)
			return nil
		}
		if len(rows) == 0 {
			fmt.Fprintln(stdout, "the platform holds no provider key; add one with: ownkey platform-keys set PROVIDER")
			return nil
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "PROVIDER\tSTATUS\tKEY\tUPDATED\tLAST USED")
		for _, r := range rows {
			fmt.Fprintf(tw, "%s\t%s\t…%s\t%s\t%s\n", r.Provider, r.Status, r.Suffix, fmtTime(r.UpdatedAt), fmtTime(r.LastUsedAt))
		}
		tw.Flush()
	}
	return nil
}

// readSecret reads a secret from a terminal without echo (after prompt,
// on stderr), or else all of stdin, less one final line break.
func readSecret(stdin io.Reader, stderr io.Writer, prompt string) ([]byte, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stderr, prompt)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		return b, err
	}
	b, err := io.ReadAll(io.LimitReader(stdin, maxSecretBytes+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("reading the key from stdin: %w", err)
	case len(b) > maxSecretBytes:
		clear(b)
		return nil, fmt.Errorf("stdin holds more than %d bytes: that is not a provider key", maxSecretBytes)
	}
	b = bytes.TrimSuffix(b, []byte("\n"))
	b = bytes.TrimSuffix(b, []byte("\r"))
	if len(b) == 0 {
		return nil, errors.New("no key: pipe it in (e.g. ownkey platform-keys set openai < key.txt) or run the command on a terminal to be prompted")
	}
	return b, nil
}

// credentialJSON is what the vault takes for p: the bare key as a JSON
// string, or the JSON object of a multi-field credential (AWS, Azure) as
// typed.
func credentialJSON(p *ownkey.Provider, secret []byte) (json.RawMessage, error) {
	if p.Format == ownkey.FormatAPIKey {
		return json.Marshal(string(secret))
	}
	raw := bytes.TrimSpace(secret)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, fmt.Errorf("a %s credential is a JSON object with the fields %s", p.ID, fieldNames(p))
	}
	return bytes.Clone(raw), nil
}

func fieldNames(p *ownkey.Provider) string {
	var b bytes.Buffer
	for i, f := range p.Fields {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(f.Name)
	}
	return b.String()
}

// checkPlatformKey asks the provider whether it accepts the key, the way
// POST /api/user/provider-keys/validate does for a user's.
func checkPlatformKey(ctx context.Context, c *config, p *ownkey.Provider, raw json.RawMessage, model string) error {
	cred, err := ownkey.ParseCredential(p, raw, c.AllowPrivate)
	if err != nil {
		return cliError(err)
	}
	clients := egress.New(egress.Options{AllowPrivate: c.AllowPrivate})
	families, err := newFamilies(c, clients, baseURLs())
	if err != nil {
		return err
	}
	v := &provider.Validator{Clients: clients, Families: families}
	if err := v.ValidateKey(ctx, p, cred, model); err != nil {
		return fmt.Errorf("the provider did not accept the key, so it was not stored: %s", ownkey.ErrorMessage(err))
	}
	return nil
}
