package provider

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/ownkey/ownkey"
)

// Family is everything ownkey knows about one wire family, in the family's
// own package: where its API lives, how a request to it is authorized, how
// a key is checked, and its chat adapter. Nothing outside that package
// switches on the wire family; the registry (Families) finds the family of
// a provider.
type Family interface {
	// Authorize adds the credential to an upstream request the way the
	// family's API expects (see ownkey.Authorizer: call it last, with the
	// exact body). The chat service hands the family to the adapter as
	// ChatRequest.Auth.
	ownkey.Authorizer
	// Wire is the family's wire family: the catalog's providers with
	// this Wire are served by it.
	Wire() ownkey.WireFamily
	// Endpoint is the base URL, without a trailing slash, for p with
	// credential c when the operator did not override it (Families
	// checks that first). guarded is true when the address comes from
	// the user's credential: it must be dialled through the guarded
	// client (egress.Clients.Guarded), which refuses internal addresses.
	Endpoint(p *ownkey.Provider, c *ownkey.Credential) (base string, guarded bool, err error)
	// KeyCheck is the cheapest authenticated request proving that c works
	// for p, against base (overridden: base is the operator's override,
	// which stands for every host the family would call). model, when
	// the user named one, is for the families whose check needs one.
	KeyCheck(p *ownkey.Provider, c *ownkey.Credential, base string, overridden bool, model string) (KeyCheck, error)
	// Chat is the family's chat adapter, nil when chat through the family
	// is not supported yet (the chat service answers 501).
	Chat() ownkey.ChatAdapter
}

// An UpstreamModeler is a Family whose credential decides the model id the
// provider must be sent (Azure chat: the deployment). The chat service sends
// UpstreamModel's id, given the routed one, as the request's model.
type UpstreamModeler interface {
	UpstreamModel(c *ownkey.Credential, routed string) string
}

// A BilledKeyCheck is a Family whose KeyCheck costs the key's owner money:
// its provider has no free authenticated call, so the cheapest paid one
// proves the key (a web-search provider's one-result search). The key
// check's answer says so (Validator.KeyCheckCost).
type BilledKeyCheck interface {
	// KeyCheckCost says what the check costs, for the user to read.
	KeyCheckCost() string
}

// A Passthrougher is a Family whose API is also a client dialect
// (Anthropic's Messages). When the client speaks it, the chat service takes
// Passthrough's adapter instead of Chat's: the client's own body goes
// upstream with the routing edits only (ownkey.ChatBody.Routed), and the
// provider's answer comes back as its bytes (ChatSink.RelayEvent,
// RelayBody), read only for accounting. So nothing the translation through
// OpenAI's terms would lose is lost: thinking blocks and their signatures,
// cache_control, citations, server tools, beta features.
type Passthrougher interface {
	// Passthrough returns the adapter that relays a client of dialect d,
	// nil when the family does not speak d.
	Passthrough(d ownkey.Dialect) ownkey.ChatAdapter
}

// A TokenCounter is a Family whose API counts a request's input tokens
// (Anthropic's count_tokens). The chat service asks it only for a client
// of the family's own dialect (see Passthrougher): req.Body is the client's
// body with the routing edits, in that dialect.
type TokenCounter interface {
	CountTokens(ctx context.Context, req *ownkey.ChatRequest) (int64, error)
}

// KeyCheck is one family's key check request and how to read its answer.
// The Validator sends it, authorized by the family, and judges the answer
// the same way for every family.
type KeyCheck struct {
	Method string
	URL    string
	// Body is the JSON request body; nil sends none.
	Body []byte
	// Origin is the address named when URL is not a valid URL.
	Origin string
	// AuthOnly: only 401/403 say anything about the key; any other 4xx
	// means the key got past authentication and the request failed for
	// another reason (Foundry without a model: the deployment name is a
	// guess).
	AuthOnly bool
	// Denied, when set, reads a 403 answer (its headers and body): a
	// non-empty result means the key is valid but lacks a permission the
	// check needs, and says which; the error then says so instead of
	// "rejected the key" (AWS: which IAM action is missing).
	Denied func(header http.Header, body []byte) string
	// Model is the model the user named, for the families whose check
	// can tell whether the provider serves it: a 2xx answer that is a
	// model list ({"data":[{"id":…}]} or a bare array of them) must list
	// it. Empty: the check says nothing of a model.
	Model string
	// NotServed, when set, recognizes an answer that says Model is not
	// served, the key having got past authentication (NotFound, for a
	// check that asks for the model itself).
	NotServed func(status int, header http.Header, body []byte) bool
}

// NotFound is the NotServed of a check that asks for the model itself: a
// 404 means there is no such model (or deployment).
func NotFound(status int, _ http.Header, _ []byte) bool { return status == http.StatusNotFound }

// GetCheck is a key check GET {base}{path}.
func GetCheck(base, path string) KeyCheck {
	return KeyCheck{Method: http.MethodGet, URL: base + path, Origin: base}
}

// PostCheck is a key check POST {base}{path} with the JSON body.
func PostCheck(base, path, body string) KeyCheck {
	return KeyCheck{Method: http.MethodPost, URL: base + path, Body: []byte(body), Origin: base}
}

// Families is the registry of wire families: exactly one per wire family
// the catalog uses. Build it with NewFamilies; it is read-only afterwards.
type Families struct {
	base   ownkey.BaseURLs
	byWire map[ownkey.WireFamily]Family
}

// NewFamilies registers fams, with the operator's base URL overrides. It
// refuses two families for one wire, a family whose wire no catalog
// provider speaks (a typo, or a catalog entry forgotten), and a catalog
// provider whose wire has no family, so that a server never starts unable
// to serve or check the keys of a provider it lists.
func NewFamilies(base ownkey.BaseURLs, fams ...Family) (*Families, error) {
	inCatalog := make(map[ownkey.WireFamily]bool)
	for i := range ownkey.Catalog {
		inCatalog[ownkey.Catalog[i].Wire] = true
	}
	byWire := make(map[ownkey.WireFamily]Family, len(fams))
	for _, f := range fams {
		if f == nil {
			return nil, fmt.Errorf("provider families: a nil family")
		}
		w := f.Wire()
		if _, dup := byWire[w]; dup {
			return nil, fmt.Errorf("provider families: two families for wire %q", w)
		}
		if !inCatalog[w] {
			return nil, fmt.Errorf("provider families: no catalog provider speaks wire %q", w)
		}
		byWire[w] = f
	}
	for i := range ownkey.Catalog {
		if p := &ownkey.Catalog[i]; byWire[p.Wire] == nil {
			return nil, fmt.Errorf("provider families: no family for wire %q (provider %s)", p.Wire, p.ID)
		}
	}
	overrides := make(ownkey.BaseURLs, len(base))
	for i := range ownkey.Catalog {
		p := &ownkey.Catalog[i]
		raw, ok := base[p.ID]
		if !ok || strings.TrimSpace(raw) == "" {
			continue
		}
		u, err := OverrideURL(p, byWire[p.Wire], raw)
		if err != nil {
			return nil, err
		}
		overrides[p.ID] = u
	}
	return &Families{base: overrides, byWire: byWire}, nil
}

// A PathVersioned family's request paths start with its API's version
// segment ({base}/v1/messages): the catalog's base URL stops before it.
type PathVersioned interface {
	PathVersion() string
}

// versionSegment is a path segment naming an API version: v1, v4,
// v1beta, v2alpha.
var versionSegment = regexp.MustCompile(`/v[0-9]+(?:alpha|beta)?[0-9]*$`)

// OverrideURL checks an operator's base URL override for p (its
// OWNKEY_<ID>_BASE_URL) and returns the base URL to use, without a trailing
// slash. It must be an absolute http(s) URL without user, query or
// fragment. It may be written with or without the API's version segment:
//
//   - where fam's paths start with the version (PathVersioned: Anthropic's
//     /v1/messages), a trailing copy of it is removed, so that
//     https://proxy.example/v1 does not become /v1/v1/messages;
//   - where the catalog's base URL ends in it (…/v1: the OpenAI-compatible
//     providers, /openai/v1 for Groq), it is added to an override that is
//     the catalog's URL without it (https://api.openai.com,
//     https://api.groq.com/openai).
//
// Any other override is used as written: what another server (a proxy, a
// gateway, a local model server) serves under its address is its own
// layout, which ownkey cannot guess.
func OverrideURL(p *ownkey.Provider, fam Family, raw string) (string, error) {
	name := p.BaseURLEnv()
	raw = strings.TrimSpace(raw)
	u, err := url.Parse(raw)
	// What the errors quote: the URL without user, password, query or
	// fragment, where a secret could be; nothing when it does not parse.
	shown := ""
	if err == nil {
		v := *u
		v.User, v.RawQuery, v.ForceQuery, v.Fragment, v.RawFragment = nil, "", false, "", ""
		shown = fmt.Sprintf("=%q", v.String())
	}
	switch {
	case err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || u.Opaque != "":
		example := p.BaseURL
		if example == "" || strings.Contains(example, "{") {
			example = "https://llm-proxy.example.com"
		}
		return "", fmt.Errorf("%s%s is not an absolute http(s) URL (such as %s)", name, shown, example)
	case u.User != nil:
		return "", fmt.Errorf("%s must not carry a user name or password", name)
	case u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(raw, "?#"):
		return "", fmt.Errorf("%s%s must not have a query or fragment: ownkey appends the API's paths to it", name, shown)
	}
	base := strings.TrimRight(raw, "/")
	if pv, ok := fam.(PathVersioned); ok {
		if v := pv.PathVersion(); v != "" && strings.HasSuffix(base, v) {
			base = strings.TrimRight(strings.TrimSuffix(base, v), "/")
		}
		return base, nil
	}
	def := strings.TrimRight(p.BaseURL, "/")
	if v := versionSegment.FindString(def); v != "" && base+v == def {
		base += v
	}
	return base, nil
}

// Family returns the family that serves p.
func (f *Families) Family(p *ownkey.Provider) (Family, error) {
	if fam := f.byWire[p.Wire]; fam != nil {
		return fam, nil
	}
	return nil, ownkey.Errorf(ownkey.EINTERNAL, "no provider family for wire %q", p.Wire)
}

// Endpoint returns the base URL to call for provider p with credential c,
// with no trailing slash, and whether it is user-supplied (guarded), in
// which case the request must go through egress.Clients.Guarded so that
// its resolved address is checked at dial time.
//
// The operator's override for p comes first (trusted configuration, even
// for a provider whose address is otherwise the user's); else the family
// says (Family.Endpoint). Callers append the family's path:
// {base}/chat/completions, {base}/v1/messages, and so on.
func (f *Families) Endpoint(p *ownkey.Provider, c *ownkey.Credential) (base string, guarded bool, err error) {
	base, guarded, _, err = f.endpoint(p, c)
	return base, guarded, err
}

func (f *Families) endpoint(p *ownkey.Provider, c *ownkey.Credential) (base string, guarded, overridden bool, err error) {
	if u, ok := f.base.For(p); ok && strings.TrimSpace(u) != "" {
		return strings.TrimRight(u, "/"), false, true, nil
	}
	fam, err := f.Family(p)
	if err != nil {
		return "", false, false, err
	}
	base, guarded, err = fam.Endpoint(p, c)
	return base, guarded, false, err
}

// credentialHeaders are removed before a request is authorized, so that a
// request never carries two credentials, or a header copied from the client's
// own request (its ownkey API key) on to the provider. A family's own header
// need not be listed: the family sets it, replacing any value it had.
var credentialHeaders = []string{
	"Authorization", "X-Api-Key", "Api-Key", "X-Goog-Api-Key",
	"X-Amz-Security-Token", "X-Amz-Date", "X-Amz-Content-Sha256",
}

// StripCredentials removes every credential header from req, the first step
// of every family's Authorize; it fails when there is no credential.
func StripCredentials(req *http.Request, p *ownkey.Provider, c *ownkey.Credential) error {
	if c == nil {
		return ownkey.Errorf(ownkey.EINTERNAL, "no credential for %s", p.ID)
	}
	for _, h := range credentialHeaders {
		req.Header.Del(h)
	}
	return nil
}

// APIKey strips req's credential headers (StripCredentials) and returns c's
// API key, or an EINVALID error when c has none.
func APIKey(req *http.Request, p *ownkey.Provider, c *ownkey.Credential) (string, error) {
	if err := StripCredentials(req, p, c); err != nil {
		return "", err
	}
	if c.APIKey.IsZero() {
		return "", ownkey.FieldError("key", "%s credential has no API key", p.Name)
	}
	return c.APIKey.Reveal(), nil
}

// SetAPIKey authorizes req with c's API key in one header, after scheme
// ("Bearer ", or "" for the key alone): the whole Authorize of most
// families. Keys never go in the URL, where they would end up in logs.
func SetAPIKey(req *http.Request, p *ownkey.Provider, c *ownkey.Credential, header, scheme string) error {
	key, err := APIKey(req, p, c)
	if err != nil {
		return err
	}
	req.Header.Set(header, scheme+key)
	return nil
}

// Bearer authorizes with Authorization: Bearer <key>, the scheme of OpenAI
// and most APIs modelled on it. Families embed it.
type Bearer struct{}

// Authorize implements ownkey.Authorizer.
func (Bearer) Authorize(_ context.Context, req *http.Request, p *ownkey.Provider, c *ownkey.Credential, _ []byte) error {
	return SetAPIKey(req, p, c, "Authorization", "Bearer ")
}
