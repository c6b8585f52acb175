// Package provider holds what every upstream adapter shares: where a
// provider's API lives for a given credential (Endpoint), how a request to it
// is authenticated (Authorize), how upstream error text is made safe to show
// (ScrubSecrets, UpstreamMessage), and the key check run before a credential
// is stored (Validator). The chat and web-search adapters live in
// subpackages, one per wire family, and build on these.
package provider

import (
	"net/url"
	"regexp"
	"strings"

	"github.com/ownkey/ownkey"
)

// regionRE is stricter than what AWS needs but enough for every real region.
// The region is spliced into a host name, so anything else (a dot, a slash)
// could move the request to another host.
var regionRE = regexp.MustCompile(`^[a-z]{2}(-[a-z0-9]+)+$`)

// Endpoint returns the base URL to call for provider p with credential c, with
// no trailing slash, and whether it is user-supplied (guarded), in which case
// the request must go through egress.Clients.Guarded so that its resolved
// address is checked at dial time.
//
// In order: the operator's override for p (trusted, even for Azure); for
// Bedrock the catalog template with {region} set from the credential; for
// providers whose address is part of the credential (Azure, Azure Responses,
// Azure Anthropic Foundry) the credential's endpoint; else the catalog
// default. Callers append the family's path: {base}/chat/completions,
// {base}/v1/messages (Anthropic, and Foundry, whose endpoint already ends in
// /anthropic), {base}/model/{id}/converse, and so on.
func Endpoint(p *ownkey.Provider, c *ownkey.Credential, base ownkey.BaseURLs) (baseURL string, guarded bool, err error) {
	if u, overridden := base.For(p); overridden && strings.TrimSpace(u) != "" {
		return strings.TrimRight(u, "/"), false, nil
	}
	switch {
	case p.UserEndpoint:
		if c == nil || c.Endpoint == "" {
			return "", false, ownkey.FieldError("key.endpoint", "%s credential has no endpoint", p.Name)
		}
		// The endpoint was checked when it was saved; this only guards
		// against a stored value that was never a web address.
		u, perr := url.Parse(c.Endpoint)
		if perr != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return "", false, ownkey.FieldError("key.endpoint", "%s endpoint is not an http(s) URL", p.Name)
		}
		return strings.TrimRight(c.Endpoint, "/"), true, nil
	case p.Wire == ownkey.WireBedrock:
		region, rerr := awsRegion(p, c)
		if rerr != nil {
			return "", false, rerr
		}
		return strings.TrimRight(strings.ReplaceAll(p.BaseURL, "{region}", region), "/"), false, nil
	case p.BaseURL == "":
		return "", false, ownkey.Errorf(ownkey.EINTERNAL, "provider %s has no base URL", p.ID)
	}
	return strings.TrimRight(p.BaseURL, "/"), false, nil
}

func awsRegion(p *ownkey.Provider, c *ownkey.Credential) (string, error) {
	if c == nil || !regionRE.MatchString(c.Region) {
		return "", ownkey.FieldError("key.region", "%s credential needs a region such as us-east-1", p.Name)
	}
	return c.Region, nil
}

// DefaultEndpoint is the base URL most families use, without a trailing
// slash: for a provider whose address is part of the credential
// (UserEndpoint: Azure, Azure Responses, Azure Anthropic Foundry) the
// credential's endpoint, guarded; else the catalog's base URL.
func DefaultEndpoint(p *ownkey.Provider, c *ownkey.Credential) (base string, guarded bool, err error) {
	if p.UserEndpoint {
		if c == nil || c.Endpoint == "" {
			return "", false, ownkey.FieldError("key.endpoint", "%s credential has no endpoint", p.Name)
		}
		// The endpoint was checked when it was saved; this only guards
		// against a stored value that was never a web address.
		u, perr := url.Parse(c.Endpoint)
		if perr != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return "", false, ownkey.FieldError("key.endpoint", "%s endpoint is not an http(s) URL", p.Name)
		}
		return strings.TrimRight(c.Endpoint, "/"), true, nil
	}
	return CatalogEndpoint(p)
}

// CatalogEndpoint is the catalog's base URL for p, without a trailing slash.
func CatalogEndpoint(p *ownkey.Provider) (base string, guarded bool, err error) {
	if p.BaseURL == "" {
		return "", false, ownkey.Errorf(ownkey.EINTERNAL, "provider %s has no base URL", p.ID)
	}
	return strings.TrimRight(p.BaseURL, "/"), false, nil
}

// EscapePathSegment percent-encodes s as one URL path segment, escaping
// everything but letters, digits and -._~ (like JavaScript's
// encodeURIComponent). url.PathEscape leaves ':' alone, but Bedrock model ids
// (…-v1:0) and ARNs (…:inference-profile/…) must arrive with ':' and '/'
// encoded, and SigV4 signs the encoded form. Build the URL string with the
// result and url.Parse it: Go keeps the encoded form in URL.RawPath.
func EscapePathSegment(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if 'a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z' || '0' <= ch && ch <= '9' || ch == '-' || ch == '.' || ch == '_' || ch == '~' {
			b.WriteByte(ch)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[ch>>4])
		b.WriteByte(hex[ch&0xF])
	}
	return b.String()
}
