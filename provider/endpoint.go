// Package provider holds what every wire family shares: the Family
// interface and its registry (Families: which family serves a provider, and
// where its API lives once the operator's overrides are applied), the
// helpers families build on (DefaultEndpoint, SetAPIKey, Bearer,
// EscapePathSegment), the upstream request step of every chat adapter
// (Send), how upstream error text is made safe to show (ScrubSecrets,
// UpstreamMessage, RetryAfter), and the key check run before a credential is
// stored (Validator), which sends the family's own probe. Each family lives
// in a package of its own (provider/openaicompat, provider/anthropic, …,
// websearch) and nothing here switches on the wire family.
package provider

import (
	"net/url"
	"strings"

	"github.com/ownkey/ownkey"
)

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
	unreserved := func(ch byte) bool {
		return 'a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z' || '0' <= ch && ch <= '9' || ch == '-' || ch == '.' || ch == '_' || ch == '~'
	}
	i := 0
	for i < len(s) && unreserved(s[i]) {
		i++
	}
	if i == len(s) {
		return s // the usual case (an Azure deployment): nothing to escape, no copy
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for ; i < len(s); i++ {
		ch := s[i]
		if unreserved(ch) {
			b.WriteByte(ch)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[ch>>4])
		b.WriteByte(hex[ch&0xF])
	}
	return b.String()
}
