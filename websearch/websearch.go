// Package websearch holds the web-search providers (the catalog's
// KindWebSearch entries) and the search use case. Each provider is one file
// (tavily.go, exa.go, kagi.go, perplexity.go): a provider.Family of its own
// wire (how a request is authorized, where the API lives, the key check;
// no chat) that is also a Searcher: what it accepts of a search request
// (Check) and the search itself (Search), normalized to ownkey.WebResult.
// Service (service.go) is the ownkey.WebSearchService that /api/web and
// search-augmented chat call: provider choice, the account's key, spend
// limits, the operator's fee and the ledger entry. augment.go builds the
// context a search gives a chat.
package websearch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/egress"
	"github.com/ownkey/ownkey/jsonvalid"
	"github.com/ownkey/ownkey/provider"
)

// Searcher is a web-search provider's family as a search engine.
type Searcher interface {
	provider.Family
	// Check refuses, as an EINVALID error naming the field, what the
	// provider cannot do (an option it lacks, a value beyond its limits),
	// before anything is sent. r's Depth is set (DepthStandard when the
	// client gave none).
	Check(r *ownkey.WebSearchRequest) error
	// Search asks the provider and normalizes its answer. Errors are the
	// provider's (EUPSTREAM with its status, message scrubbed of the key,
	// Retry-After), or the round trip's (provider.RoundTripError).
	Search(ctx context.Context, r *SearchRequest) (*SearchResult, error)
}

// SearchRequest is a checked search on its way to one provider.
type SearchRequest struct {
	ownkey.WebSearchRequest
	Provider   *ownkey.Provider
	Credential *ownkey.Credential
	// BaseURL is the provider's resolved base (provider.Families.Endpoint);
	// Guarded says it came from the user and must be dialled through the
	// guarded client (no search provider's does today).
	BaseURL string
	Guarded bool
	// MaxJSONDepth bounds the nesting of the provider's answer
	// (OWNKEY_MAX_JSON_DEPTH; zero means jsonvalid.DefaultMaxDepth).
	MaxJSONDepth int
}

// SearchResult is a provider's answer, normalized.
type SearchResult struct {
	Results []ownkey.WebResult
	// AtCost is what the provider says the search cost (Exa's
	// costDollars.total), rounded up to the nano-dollar; 0 when it says
	// nothing.
	AtCost ownkey.NanoUSD
}

// Limits on what is read from a provider and what a result keeps.
const (
	// MaxAnswerBytes bounds a search answer read whole: ample for 100
	// results with their text (Exa's most), small enough that a hostile
	// or broken upstream cannot make a search hold much.
	MaxAnswerBytes = 8 << 20
	// maxErrorBytes bounds an error answer: enough for any message.
	maxErrorBytes = 64 << 10
	// MaxSnippetChars cuts a result's snippet (and title), in characters:
	// a provider's page text can be long, and a chat's context holds
	// every snippet.
	MaxSnippetChars = 1000
	// maxDomains bounds includeDomains and excludeDomains (each), and
	// maxDomainLen one domain.
	maxDomains   = 20
	maxDomainLen = 253
)

// Upstream is what every search family shares: the catalog's base URL, no
// chat, and the HTTP client that carries its searches. The zero Upstream
// uses egress defaults.
type Upstream struct {
	// Clients carries the searches (Trusted for the catalog's and the
	// operator's addresses, Guarded for a user's); nil uses egress
	// defaults.
	Clients *egress.Clients
	// UserAgent is sent upstream; empty means "ownkey".
	UserAgent string
}

// Endpoint is the catalog's base URL.
func (Upstream) Endpoint(p *ownkey.Provider, c *ownkey.Credential) (string, bool, error) {
	return provider.DefaultEndpoint(p, c)
}

// Chat is nil: a search provider serves no chat.
func (Upstream) Chat() ownkey.ChatAdapter { return nil }

var defaultClients = sync.OnceValue(func() *egress.Clients { return egress.New(egress.Options{}) })

// do sends one search request, authorized by auth, and returns the
// provider's answer: a 2xx body (at most MaxAnswerBytes, valid JSON within
// the depth limit), or the error the caller returns.
func (u Upstream) do(ctx context.Context, auth ownkey.Authorizer, r *SearchRequest, method, path string, body []byte) ([]byte, error) {
	p := r.Provider
	var payload io.Reader
	if body != nil {
		payload = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.BaseURL+path, payload)
	if err != nil {
		// The URL may carry an operator's credentials: not quoted.
		return nil, ownkey.Errorf(ownkey.EINTERNAL, "the %s base URL is not a valid URL", p.Name)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", cmpOr(u.UserAgent, "ownkey"))
	if err := auth.Authorize(ctx, req, p, r.Credential, body); err != nil {
		return nil, err
	}
	clients := u.Clients
	if clients == nil {
		clients = defaultClients()
	}
	resp, err := clients.For(r.Guarded).Do(req)
	if err != nil {
		e, _ := provider.RoundTripError(ctx, p, r.Credential, r.Guarded, err)
		return nil, e
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		// A read cut short still leaves what arrived to quote.
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBytes))
		return nil, upstreamError(r, resp.StatusCode, resp.Header, b)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxAnswerBytes+1))
	if err != nil {
		e, _ := provider.RoundTripError(ctx, p, r.Credential, r.Guarded, err)
		return nil, e
	}
	if len(b) > MaxAnswerBytes {
		return nil, badAnswer(p, fmt.Sprintf("its answer is larger than %d MiB", MaxAnswerBytes>>20))
	}
	switch err := jsonvalid.Check(b, r.MaxJSONDepth); {
	case errors.Is(err, jsonvalid.ErrTooDeep):
		return nil, badAnswer(p, "its answer is nested too deep")
	case err != nil:
		return nil, badAnswer(p, "its answer is not JSON")
	}
	return b, nil
}

// upstreamError is the client's error for a provider's error answer: its
// status (a non-error status is a 502), its own message minus any echo of
// the key, its Retry-After, and a machine code for the statuses a client
// acts on.
func upstreamError(r *SearchRequest, status int, header http.Header, body []byte) *ownkey.Error {
	name := r.Provider.ShortName()
	msg := provider.UpstreamMessage(body, r.Credential, r.MaxJSONDepth)
	if msg == "" {
		msg = http.StatusText(status)
	}
	e := &ownkey.Error{Code: ownkey.EUPSTREAM, Status: status, RetryAfter: provider.RetryAfter(header)}
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		e.Reason, e.Message = "invalid_api_key", name+" rejected the key: "+msg
	case status == http.StatusTooManyRequests:
		e.Reason, e.Message = "rate_limit_exceeded", name+" is rate limiting this key: "+msg
	case status < 400:
		e.Status, e.Message = http.StatusBadGateway, fmt.Sprintf("%s answered HTTP %d: %s", name, status, msg)
	default:
		e.Message = fmt.Sprintf("%s answered HTTP %d: %s", name, status, msg)
	}
	return e
}

// errUnreadable is what a parser says of an answer not in its provider's
// shape.
var errUnreadable = errors.New("its answer could not be read as search results")

// badAnswer is a 2xx answer that cannot be read.
func badAnswer(p *ownkey.Provider, why string) *ownkey.Error {
	return &ownkey.Error{Code: ownkey.EUPSTREAM, Status: http.StatusBadGateway, Reason: "upstream_error",
		Message: p.ShortName() + " answered the search, but " + why}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Checks every provider shares.

// checkMaxResults refuses a result count outside lo..hi (0: the provider's
// default), naming the field the client used.
func checkMaxResults(r *ownkey.WebSearchRequest, name string, lo, hi int) error {
	if r.MaxResults != 0 && (r.MaxResults < lo || r.MaxResults > hi) {
		return ownkey.FieldError("maxResults", "%s returns %d to %d results a search; maxResults is %d", name, lo, hi, r.MaxResults)
	}
	return nil
}

// checkDepth refuses a depth not in allowed.
func checkDepth(r *ownkey.WebSearchRequest, name string, allowed ...string) error {
	for _, d := range allowed {
		if r.Depth == d {
			return nil
		}
	}
	return ownkey.FieldError("depth", "%s searches at depth %s; %q is not one of them", name, strings.Join(allowed, ", "), r.Depth)
}

// refuse is an EINVALID error for an option the provider does not offer.
func refuse(field, name, what string) error {
	return ownkey.FieldError(field, "%s does not support %s; leave %s out or choose another provider", name, what, field)
}

// unsupported refuses, naming the first, the options in the list that r
// sets: those the provider cannot honour.
func unsupported(r *ownkey.WebSearchRequest, name string, domains, dates, images bool) error {
	switch {
	case !domains && len(r.IncludeDomains) > 0:
		return refuse("includeDomains", name, "domain filters")
	case !domains && len(r.ExcludeDomains) > 0:
		return refuse("excludeDomains", name, "domain filters")
	case !dates && r.FromDate != "":
		return refuse("fromDate", name, "date filters")
	case !dates && r.ToDate != "":
		return refuse("toDate", name, "date filters")
	case !images && r.IncludeImages:
		return refuse("includeImages", name, "image results")
	}
	return nil
}

// CheckCommon checks what every search needs, whatever the provider: a
// query (at most MaxQueryChars characters), dates as YYYY-MM-DD in order,
// domains that are host names. It sets an empty depth to DepthStandard and
// lower-cases it.
func CheckCommon(r *ownkey.WebSearchRequest) error {
	q := strings.TrimSpace(r.Query)
	switch {
	case q == "":
		return ownkey.FieldError("query", "query is required: the text to search the web for")
	case !utf8.ValidString(q):
		return ownkey.FieldError("query", "query must be valid UTF-8 text")
	case utf8.RuneCountInString(q) > MaxQueryChars:
		return ownkey.FieldError("query", "query is longer than %d characters", MaxQueryChars)
	}
	r.Query = q
	r.Depth = strings.ToLower(strings.TrimSpace(r.Depth))
	if r.Depth == "" {
		r.Depth = ownkey.DepthStandard
	}
	if r.MaxResults < 0 {
		return ownkey.FieldError("maxResults", "maxResults must be a positive number of results")
	}
	var from, to time.Time
	for _, d := range []struct {
		field string
		v     string
		t     *time.Time
	}{{"fromDate", r.FromDate, &from}, {"toDate", r.ToDate, &to}} {
		if d.v == "" {
			continue
		}
		t, err := time.Parse(time.DateOnly, d.v)
		if err != nil {
			return ownkey.FieldError(d.field, "%s must be a date as YYYY-MM-DD, e.g. 2025-01-31", d.field)
		}
		*d.t = t
	}
	if !from.IsZero() && !to.IsZero() && to.Before(from) {
		return ownkey.FieldError("toDate", "toDate is before fromDate")
	}
	for _, d := range []struct {
		field string
		v     []string
	}{{"includeDomains", r.IncludeDomains}, {"excludeDomains", r.ExcludeDomains}} {
		if len(d.v) > maxDomains {
			return ownkey.FieldError(d.field, "%s holds more than %d domains", d.field, maxDomains)
		}
		for _, dom := range d.v {
			if !isDomain(dom) {
				return ownkey.FieldError(d.field, "%s must hold domain names such as \"example.com\"", d.field)
			}
		}
	}
	return nil
}

// MaxQueryChars bounds a search query: the providers' own limits are
// about this (Tavily's is 400), and a chat's query is cut to it.
const MaxQueryChars = 400

// isDomain accepts a host name, optionally with a path prefix
// ("example.com", "docs.example.com/api"): letters, digits and -._/ only,
// no scheme, no spaces.
func isDomain(s string) bool {
	if s == "" || len(s) > maxDomainLen || strings.Contains(s, "://") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '/') {
			return false
		}
	}
	return s[0] != '/' && s[0] != '.'
}

// Normalizing what providers answer.

// clip makes a provider's text fit for a result: valid UTF-8, whitespace
// runs (newlines included) collapsed to one space, cut to MaxSnippetChars
// characters.
func clip(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= MaxSnippetChars {
		return s
	}
	r := []rune(s)
	return string(r[:MaxSnippetChars-1]) + "…"
}

// publishedAt normalizes a provider's date: RFC 3339 in UTC for a time,
// YYYY-MM-DD for a date alone; "" for what it cannot read.
func publishedAt(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t.Format(time.DateOnly)
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", time.RFC1123Z, time.RFC1123, "01/02/2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			if layout == "01/02/2006" {
				return t.Format(time.DateOnly)
			}
			return t.UTC().Format(time.RFC3339)
		}
	}
	return ""
}

// webURL accepts an http(s) URL a provider gave for a result, "" otherwise:
// a result's URL goes to clients as a link.
func webURL(s string) string {
	s = strings.TrimSpace(s)
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(s) > 4096 {
		return ""
	}
	return s
}

// textResult is a normalized text result, or false when it has no usable
// URL (a result a client cannot open is dropped).
func textResult(title, link, snippet, published string) (ownkey.WebResult, bool) {
	link = webURL(link)
	if link == "" {
		return ownkey.WebResult{}, false
	}
	return ownkey.WebResult{Type: "text", Title: clip(title), URL: link, Snippet: clip(snippet), PublishedAt: publishedAt(published)}, true
}
