package main

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/egress"
	"github.com/ownkey/ownkey/prices"
	"github.com/ownkey/ownkey/sqlstore"
)

const pricesUsage = `usage: ownkey prices import --format litellm|openrouter FILE|URL [--max-bytes N] [--timeout D] [--json]
       ownkey prices set PROVIDER MODEL --input USD --output USD [--cached-input USD] [--cache-write USD] [--reasoning USD] [--canonical ID]
       ownkey prices delete PROVIDER MODEL
       ownkey prices list [--provider ID] [--json]
Prices are USD per million tokens. Precedence per model: set > the newest import > built-in.
`

// runPrices manages the price catalog. Changes reach running servers
// through the change feed (PostgreSQL) or their watch on the database file
// (SQLite), within about a second.
func runPrices(args []string) error {
	sub, args, ok := subcommand(args, []string{"import", "set", "delete", "list"}, pricesUsage)
	if !ok {
		return nil
	}
	c := &config{}
	fs := newFlagSet("prices "+sub, map[string]string{
		"import": "ownkey prices import --format litellm|openrouter FILE|URL: replace the prices of that table's last import\n" +
			"(LiteLLM's model_prices_and_context_window.json, or OpenRouter's GET /api/v1/models answer).",
		"set":    "ownkey prices set PROVIDER MODEL --input USD --output USD: set the operator's price of a model (USD per million tokens).",
		"delete": "ownkey prices delete PROVIDER MODEL: remove the operator's price; the imported or built-in one applies again.",
		"list":   "ownkey prices list: the price catalog in force, with where each price came from.",
	}[sub])
	// Each subcommand registers its own flags only, so that its --help
	// lists what it takes.
	format, maxBytes, timeout := new(string), new(int64), new(time.Duration)
	var amounts [ownkey.PriceKinds]string
	canonical, provider, asJSON := new(string), new(string), new(bool)
	switch sub {
	case "import":
		format = fs.String("format", "", "litellm or openrouter (required)")
		maxBytes = fs.Int64("max-bytes", 64<<20, "the largest table accepted, in bytes")
		timeout = fs.Duration("timeout", time.Minute, "how long fetching a URL may take")
		asJSON = fs.Bool("json", false, "print JSON")
	case "set":
		for i, name := range []string{"input", "cached-input", "cache-write", "output", "reasoning"} {
			fs.StringVar(&amounts[i], name, "", "USD per million tokens of "+name+" tokens")
		}
		canonical = fs.String("canonical", "", "the model's canonical id across providers (optional)")
	case "list":
		provider = fs.String("provider", "", "only this provider's models")
		asJSON = fs.Bool("json", false, "print JSON")
	}
	storageFlags(fs, c)
	positional := parseInterspersed(fs, args)

	want := map[string]int{"import": 1, "set": 2, "delete": 2, "list": 0}[sub]
	if len(positional) != want {
		return fmt.Errorf("prices %s takes %d argument(s), got %d\n%s", sub, want, len(positional), pricesUsage)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	e, err := openCLI(ctx, c)
	if err != nil {
		return err
	}
	defer e.Close()
	log := newLogger(c, os.Stderr)
	db := e.st.(*sqlstore.DB)
	book := prices.New(prices.Options{Store: db, Changes: db.ChangeFeed(sqlstore.FeedOptions{Logger: log}), Logger: log})
	if err := book.Load(ctx); err != nil {
		return err
	}
	switch sub {
	case "import":
		source, err := prices.Source(*format)
		if err != nil {
			return cliError(err)
		}
		client := egress.New(egress.Options{ResponseHeaderTimeout: *timeout}).Trusted
		data, err := prices.Read(ctx, client, positional[0], *maxBytes, *timeout)
		if err != nil {
			return err
		}
		rows, report, err := prices.Parse(*format, data)
		if err != nil {
			return cliError(err)
		}
		if err := book.Import(ctx, source, rows); err != nil {
			return cliError(err)
		}
		if *asJSON {
			printJSON(os.Stdout, report)
			return nil
		}
		printReport(report)
	case "set":
		var p ownkey.Prices
		for i, a := range amounts {
			if a == "" {
				continue
			}
			n, inexact, err := ownkey.ParseDecimal(a, 9)
			if err != nil || inexact || n < 0 {
				return fmt.Errorf("%q is not a non-negative USD amount with at most 9 decimals", a)
			}
			*p.Kinds()[i] = ownkey.PriceOf(ownkey.NanoUSD(n))
		}
		entry, err := book.SetPrice(ctx, positional[0], positional[1], *canonical, p)
		if err != nil {
			return cliError(err)
		}
		fmt.Printf("set the price of %s at %s (canonical id %s): %s\n", ownkey.EscapeHidden(entry.Model), entry.Provider,
			ownkey.EscapeHidden(entry.Canonical), formatPrices(entry.Prices))
	case "delete":
		if err := book.DeletePrice(ctx, positional[0], positional[1]); err != nil {
			return cliError(err)
		}
		fmt.Printf("removed the operator's price of %s at %s\n", ownkey.EscapeHidden(positional[1]), positional[0])
	case "list":
		var list []prices.Entry
		for _, en := range book.Entries() {
			if *provider == "" || en.Provider == *provider {
				list = append(list, en)
			}
		}
		if *asJSON {
			type row struct {
				Provider  string         `json:"provider"`
				Model     string         `json:"model"`
				Canonical string         `json:"canonical_id"`
				Source    string         `json:"source"`
				Prices    map[string]any `json:"usd_per_million_tokens"`
			}
			rows := []row{}
			for _, en := range list {
				rows = append(rows, row{en.Provider, en.Model, en.Canonical, en.Source, priceMap(en.Prices)})
			}
			printJSON(os.Stdout, rows)
			return nil
		}
		tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "PROVIDER\tMODEL\tINPUT\tCACHED\tCACHE WRITE\tOUTPUT\tREASONING\tSOURCE")
		for _, en := range list {
			k := en.Prices.Kinds()
			source := en.Source
			if source == prices.SourceBuiltin {
				if taken, _, ok := ownkey.BuiltinPriceSource(en.Provider); ok {
					source += " (" + taken + ")"
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", en.Provider, ownkey.EscapeHidden(en.Model),
				usdText(*k[0]), usdText(*k[1]), usdText(*k[2]), usdText(*k[3]), usdText(*k[4]), source)
		}
		tw.Flush()
	}
	return nil
}

// parseInterspersed parses flags that may come before, between or after
// the positional arguments ("prices set groq m --input 1", "prices import
// --format litellm FILE"), and returns the positional ones.
func parseInterspersed(fs *flag.FlagSet, args []string) []string {
	var positional []string
	for {
		_ = fs.Parse(args)
		if fs.NArg() == 0 {
			return positional
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func usdText(p ownkey.Price) string {
	if !p.Known {
		return "-"
	}
	return "$" + ownkey.FormatDecimal(int64(p.PerMTok), 9)
}

func formatPrices(p ownkey.Prices) string {
	s := ""
	for i, name := range []string{"input", "cached input", "cache write", "output", "reasoning"} {
		if k := p.Kinds()[i]; k.Known {
			if s != "" {
				s += ", "
			}
			s += name + " " + usdText(*k)
		}
	}
	return s + " per million tokens"
}

// priceMap is p for JSON: exact decimal numbers, unknown kinds left out.
func priceMap(p ownkey.Prices) map[string]any {
	m := map[string]any{}
	for i, name := range []string{"input", "cached_input", "cache_write", "output", "reasoning"} {
		if k := p.Kinds()[i]; k.Known {
			m[name] = jsonNumber(ownkey.FormatDecimal(int64(k.PerMTok), 9))
		}
	}
	return m
}

// jsonNumber is a number written as its exact decimal text.
type jsonNumber string

func (n jsonNumber) MarshalJSON() ([]byte, error) { return []byte(n), nil }

func printReport(r prices.Report) {
	fmt.Printf("imported %d prices from the %s table (%d models in it)\n", r.Imported, r.Format, r.Entries)
	for _, p := range slices.Sorted(maps.Keys(r.PerProvider)) {
		fmt.Printf("  %-24s %d\n", p, r.PerProvider[p])
	}
	fmt.Printf("left out: %d of providers ownkey does not have, %d not chat models, %d regional/tier/fine-tune prices, "+
		"%d without an input or output price, %d unreadable, %d listed twice\n",
		r.SkippedProvider, r.SkippedMode, r.SkippedVariant, r.SkippedUnpriced, r.SkippedInvalid, r.Duplicates)
	if r.RoundedUp > 0 {
		fmt.Printf("%d prices were finer than a nano-dollar per million tokens and were rounded up to it\n", r.RoundedUp)
	}
}
