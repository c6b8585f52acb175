package prices

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/jsonvalid"
)

// Formats of price tables Parse reads.
const (
	FormatLiteLLM    = "litellm"    // model_prices_and_context_window.json
	FormatOpenRouter = "openrouter" // GET https://openrouter.ai/api/v1/models
)

// Report counts what an import read, kept and left out.
type Report struct {
	Format string `json:"format"`
	// Entries is the number of models in the table.
	Entries int `json:"entries"`
	// Imported is the number of prices kept, one per provider and model
	// (LiteLLM's openai entries count for openai and openai-responses);
	// PerProvider breaks it down.
	Imported    int            `json:"imported"`
	PerProvider map[string]int `json:"per_provider"`
	// Entries left out: of a provider ownkey does not have (or a model
	// that ownkey provider does not serve), not a chat model (embeddings,
	// images, audio, rerank, ...), not a model's standard price (a
	// regional price, a size-class price tier, a fine-tune price), without
	// an input or output price (or a negative one: OpenRouter's
	// variable-price routers), a price or id that could not be read, a
	// model listed twice for one provider (ignoring case; the first in key
	// order is kept).
	SkippedProvider int `json:"skipped_provider"`
	SkippedMode     int `json:"skipped_mode"`
	SkippedVariant  int `json:"skipped_variant"`
	SkippedUnpriced int `json:"skipped_unpriced"`
	SkippedInvalid  int `json:"skipped_invalid"`
	Duplicates      int `json:"duplicates"`
	// RoundedUp counts the prices finer than one nano-dollar per million
	// tokens (10⁻¹⁵ USD per token), rounded up to it.
	RoundedUp int `json:"rounded_up"`
}

// Source is the price source an import of format stores its prices as.
func Source(format string) (ownkey.PriceSource, error) {
	switch format {
	case FormatLiteLLM:
		return ownkey.PriceFromLiteLLM, nil
	case FormatOpenRouter:
		return ownkey.PriceFromOpenRouter, nil
	}
	return "", ownkey.Errorf(ownkey.EINVALID, "unknown price table format %q: litellm or openrouter", format)
}

// Parse reads a price table of the given format into the prices to store.
// The table is JSON from outside: it is checked (depth-limited, strict)
// before it is decoded, and an entry that cannot be read is counted and
// skipped rather than failing the import.
func Parse(format string, data []byte) ([]ownkey.ModelPrice, Report, error) {
	if _, err := Source(format); err != nil {
		return nil, Report{}, err
	}
	if err := jsonvalid.Check(data, jsonvalid.DefaultMaxDepth); err != nil {
		return nil, Report{Format: format}, ownkey.Errorf(ownkey.EINVALID, "the %s price table is not valid JSON: %v", format, err)
	}
	if format == FormatLiteLLM {
		return parseLiteLLM(data)
	}
	return parseOpenRouter(data)
}

// importer collects the prices of one import, one per provider and model.
type importer struct {
	report Report
	source ownkey.PriceSource
	rows   []ownkey.ModelPrice
	seen   map[string]bool
}

func newImporter(format string, source ownkey.PriceSource) *importer {
	return &importer{report: Report{Format: format, PerProvider: map[string]int{}}, source: source, seen: map[string]bool{}}
}

// add keeps a price for model at provider unless one is kept already.
func (im *importer) add(provider, model, canonical string, p ownkey.Prices) {
	if CheckModelID(model) != nil {
		im.report.SkippedInvalid++
		return
	}
	k := entryKey(provider, model)
	if im.seen[k] {
		im.report.Duplicates++
		return
	}
	im.seen[k] = true
	im.rows = append(im.rows, ownkey.ModelPrice{Provider: provider, Model: model, Canonical: canonical, Source: im.source, Prices: p})
	im.report.Imported++
	im.report.PerProvider[provider]++
}

// prices turns a table's per-token USD prices (decimal text: a JSON
// number, or a string holding one; empty or null is not priced) into
// prices per million tokens. ok is false, with the report counted, when
// the entry must be skipped.
func (im *importer) prices(input, cachedInput, cacheWrite, output, reasoning json.RawMessage) (p ownkey.Prices, ok bool) {
	rounded := 0
	for i, raw := range [ownkey.PriceKinds]json.RawMessage{input, cachedInput, cacheWrite, output, reasoning} {
		price, up, err := perToken(raw)
		if err != nil {
			im.report.SkippedInvalid++
			return p, false
		}
		if up {
			rounded++
		}
		*p.Kinds()[i] = price
	}
	if !p.Input.Known || !p.Output.Known || p.Input.PerMTok < 0 || p.Output.PerMTok < 0 {
		im.report.SkippedUnpriced++
		return p, false
	}
	// Tables write 0 for "not priced apart" as often as for "free": a
	// zero (or negative) cache or reasoning price of a paid model is read
	// as not priced apart, so those tokens bill at the input or output
	// rate. An import never makes a paid model's tokens free.
	paid := p.Input.PerMTok > 0 || p.Output.PerMTok > 0
	for _, k := range []*ownkey.Price{&p.CachedInput, &p.CacheWrite, &p.Reasoning} {
		if k.Known && (k.PerMTok < 0 || k.PerMTok == 0 && paid) {
			*k = ownkey.Price{}
		}
	}
	im.report.RoundedUp += rounded
	return p, true
}

// perToken reads one per-token USD price into nano-USD per million tokens:
// × 10¹⁵, exactly. A price finer than that (below 10⁻¹⁵ USD per token) is
// rounded up to the next nano-dollar per million tokens, so that an import
// never prices below the table; up reports it. A negative price is kept
// negative for the caller to judge.
func perToken(raw json.RawMessage) (p ownkey.Price, up bool, err error) {
	text := strings.TrimSpace(string(raw))
	if text == "" || text == "null" {
		return ownkey.Price{}, false, nil
	}
	if text[0] == '"' {
		if err := json.Unmarshal(raw, &text); err != nil {
			return p, false, err
		}
		if text = strings.TrimSpace(text); text == "" {
			return ownkey.Price{}, false, nil
		}
	}
	n, inexact, err := ownkey.ParseDecimal(text, 15)
	if err != nil {
		return p, false, err
	}
	if text[0] == '-' && (n != 0 || inexact) {
		return ownkey.PriceOf(min(ownkey.NanoUSD(n), -1)), false, nil
	}
	if inexact {
		if n == 1<<63-1 {
			return p, false, errors.New("price too large")
		}
		n++
	}
	return ownkey.PriceOf(ownkey.NanoUSD(n)), inexact, nil
}

// finish returns the rows in a stable order.
func (im *importer) finish() ([]ownkey.ModelPrice, Report) {
	slices.SortFunc(im.rows, func(a, b ownkey.ModelPrice) int {
		return cmp.Or(cmp.Compare(a.Provider, b.Provider), cmp.Compare(a.Model, b.Model))
	})
	return im.rows, im.report
}

// sortedKeys is m's keys in order, so that which of two duplicates is kept
// does not depend on map order.
func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// Read returns the price table at location: a URL (http or https), fetched
// with client within timeout, or a file path. Either way at most maxBytes
// are read; a larger table is an error rather than a truncated import.
func Read(ctx context.Context, client *http.Client, location string, maxBytes int64, timeout time.Duration) ([]byte, error) {
	var r io.Reader
	if u, err := url.Parse(location); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, location, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			// The client's error quotes the URL, and a URL may carry a
			// password or a query token: name only its scheme, host and path.
			var uerr *url.Error
			if errors.As(err, &uerr) {
				err = uerr.Err
			}
			return nil, fmt.Errorf("fetching the price table from %s: %w", redactedURL(u), err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("fetching the price table: HTTP %s", resp.Status)
		}
		if resp.ContentLength > maxBytes {
			return nil, fmt.Errorf("the price table (%d bytes) is larger than the limit of %d bytes", resp.ContentLength, maxBytes)
		}
		r = resp.Body
		// The body is read under the same timeout: a server that trickles
		// cannot hold the import forever.
		data, err := readLimited(r, maxBytes)
		if err != nil && ctx.Err() != nil {
			return nil, fmt.Errorf("fetching the price table: no complete answer within %s", timeout)
		}
		return data, err
	}
	f, err := os.Open(location)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readLimited(f, maxBytes)
}

// redactedURL is u without its user info, query and fragment, which may
// hold credentials, for errors and logs.
func redactedURL(u *url.URL) string {
	r := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
	return r.String()
}

func readLimited(r io.Reader, maxBytes int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading the price table: %w", err)
	}
	if int64(len(data)) > maxBytes {
		return nil, fmt.Errorf("the price table is larger than the limit of %d bytes", maxBytes)
	}
	return data, nil
}
