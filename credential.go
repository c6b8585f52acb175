package ownkey

import (
	"bytes"
	"context"
	"encoding/json"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Credential is a decrypted provider credential, parsed. Secret parts are
// Secrets; the rest (endpoint, region, deployment) is configuration.
type Credential struct {
	Provider string
	// APIKey is the bare key for api_key providers, and apiKey for Azure.
	APIKey Secret
	// Azure: endpoint, deploymentName, apiVersion.
	Endpoint   string
	Deployment string
	APIVersion string
	// AWS: accessKeyId, secretAccessKey, region, sessionToken.
	AccessKeyID     Secret
	SecretAccessKey Secret
	SessionToken    Secret
	Region          string
	// Caps are the spend caps its owner set on it (see SpendLimiter); the
	// vault reads them with the key.
	Caps SpendCaps
}

// Suffix is the part of the credential shown to its owner: the last four
// characters of its secret.
func (c *Credential) Suffix() string {
	if !c.SecretAccessKey.IsZero() {
		return c.SecretAccessKey.Last4()
	}
	return c.APIKey.Last4()
}

// Plaintext is the canonical form that the vault seals: the bare key, or a
// compact JSON object with the credential's fields.
func (c *Credential) Plaintext() []byte {
	p, _ := LookupProvider(c.Provider)
	if p == nil || p.Format == FormatAPIKey {
		return []byte(c.APIKey.Reveal())
	}
	m := map[string]string{}
	put := func(k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	put("accessKeyId", c.AccessKeyID.Reveal())
	put("secretAccessKey", c.SecretAccessKey.Reveal())
	put("sessionToken", c.SessionToken.Reveal())
	put("region", c.Region)
	put("endpoint", c.Endpoint)
	put("apiKey", c.APIKey.Reveal())
	put("deploymentName", c.Deployment)
	put("apiVersion", c.APIVersion)
	b, _ := json.Marshal(m)
	return b
}

var (
	awsRegionRE  = regexp.MustCompile(`^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d{1,2}$`)
	apiVersionRE = regexp.MustCompile(`^(\d{4}-\d{2}-\d{2}(-preview)?|v1|latest|preview)$`)
	// deploymentRE is what Azure allows in a deployment's name (like its
	// other Cognitive Services resource names): one URL path segment, no
	// escaping needed, never "." or "..".
	deploymentRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
)

// ParseCredential validates what a user pasted for provider p and returns it
// parsed. raw is a bare key for api_key providers; for JSON providers it is a
// JSON object, or a JSON string holding one. Errors are EINVALID and name the
// field (as "key" or "key.<field>") but never echo the value.
func ParseCredential(p *Provider, raw json.RawMessage, allowPrivate bool) (*Credential, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, FieldError("key", "key is required")
	}
	c := &Credential{Provider: p.ID}
	if p.Format == FormatAPIKey {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, FieldError("key", "key must be a string for provider %s", p.ID)
		}
		if err := checkKeyString("key", s); err != nil {
			return nil, err
		}
		c.APIKey = NewSecret(s)
		return c, nil
	}
	fields, err := decodeJSONCredential(raw)
	if err != nil {
		return nil, err
	}
	allowed := map[string]CredentialField{}
	for _, f := range p.Fields {
		allowed[f.Name] = f
	}
	var extra []string
	for k := range fields {
		if _, ok := allowed[k]; !ok {
			extra = append(extra, k)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		return nil, FieldError("key."+extra[0], "unknown field %q in %s credential; expected %s", extra[0], p.ID, fieldList(p.Fields))
	}
	for _, f := range p.Fields {
		v, present := fields[f.Name]
		if !present {
			if f.Required {
				return nil, FieldError("key."+f.Name, "%s credential is missing field %q", p.ID, f.Name)
			}
			continue
		}
		if strings.TrimSpace(v) == "" {
			return nil, FieldError("key."+f.Name, "field %q must not be empty", f.Name)
		}
		if f.Secret {
			if err := checkKeyString("key."+f.Name, v); err != nil {
				return nil, err
			}
		} else if v != strings.TrimSpace(v) {
			return nil, FieldError("key."+f.Name, "field %q has leading or trailing spaces", f.Name)
		}
	}
	c.AccessKeyID = NewSecret(fields["accessKeyId"])
	c.SecretAccessKey = NewSecret(fields["secretAccessKey"])
	c.SessionToken = NewSecret(fields["sessionToken"])
	c.Region = fields["region"]
	c.APIKey = NewSecret(fields["apiKey"])
	c.Deployment = fields["deploymentName"]
	c.APIVersion = fields["apiVersion"]
	if e, ok := fields["endpoint"]; ok {
		if c.Endpoint, err = CheckEndpoint(e, allowPrivate); err != nil {
			return nil, err
		}
		if f := allowed["endpoint"]; f.Origin {
			if err := checkOrigin(c.Endpoint, f.Example); err != nil {
				return nil, err
			}
		}
	}
	if _, ok := fields["region"]; ok && !awsRegionRE.MatchString(c.Region) {
		// The value is quoted to help, unless a secret of the same
		// credential is in it (a key pasted into the wrong field).
		for _, f := range p.Fields {
			if v := fields[f.Name]; f.Secret && v != "" && strings.Contains(c.Region, v) {
				return nil, FieldError("key.region", "region is not an AWS region such as us-east-1")
			}
		}
		return nil, FieldError("key.region", "region %q is not an AWS region such as us-east-1", c.Region)
	}
	if _, ok := fields["accessKeyId"]; ok && !regexp.MustCompile(`^[A-Z0-9]{16,128}$`).MatchString(c.AccessKeyID.Reveal()) {
		return nil, FieldError("key.accessKeyId", "accessKeyId must be 16-128 upper-case letters and digits")
	}
	if _, ok := fields["apiVersion"]; ok && !apiVersionRE.MatchString(c.APIVersion) {
		return nil, FieldError("key.apiVersion", "apiVersion %q must look like 2024-10-21 or 2024-10-21-preview (or v1)", c.APIVersion)
	}
	if _, ok := fields["deploymentName"]; ok && !deploymentRE.MatchString(c.Deployment) {
		return nil, FieldError("key.deploymentName", "deploymentName must be the deployment's name in Azure: 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
	return c, nil
}

// keyShapes are key prefixes that only one provider's keys have (OpenAI's
// project keys serve both of OpenAI's APIs). A bare "sk-" is not among
// them: many providers use it.
var keyShapes = []struct {
	prefix    string
	providers []string
}{
	{"sk-ant-", []string{"anthropic"}},
	{"sk-or-", []string{"openrouter"}},
	{"sk-proj-", []string{"openai", "openai-responses"}},
	{"gsk_", []string{"groq"}},
	{"nvapi-", []string{"nvidia"}},
	{"AIza", []string{"google"}},
	{"pplx-", []string{"perplexity"}},
	{"tvly-", []string{"tavily"}},
}

// KeyShapeWarning says, for a key stored for p, when its shape clearly
// belongs to another provider (an sk-ant- key saved as groq): the key is
// stored all the same (shapes change, and the user may know better), but
// the user is told why the provider may refuse it. Empty when the key
// looks like p's or like nobody's in particular. It quotes the key's
// prefix only, never the key.
func KeyShapeWarning(p *Provider, c *Credential) string {
	if c == nil || c.APIKey.IsZero() || p.Format != FormatAPIKey {
		return ""
	}
	key := c.APIKey.Reveal()
	for _, shape := range keyShapes {
		if !strings.HasPrefix(key, shape.prefix) || slices.Contains(shape.providers, p.ID) {
			continue
		}
		owner := shape.providers[0]
		if o, ok := LookupProvider(owner); ok {
			owner = o.Name + " (" + o.ID + ")"
		}
		return "this key starts with " + shape.prefix + ", as keys of " + owner + " do, not like a " + p.Name +
			" key; it was stored for " + p.ID + ", but " + p.Name + " will probably refuse it. Check that you chose the right provider."
	}
	return ""
}

// ParseStoredCredential rebuilds a Credential from the vault's plaintext. The
// input was validated when it was stored, so only shape is checked.
func ParseStoredCredential(providerID string, plaintext []byte) (*Credential, error) {
	p, ok := LookupProvider(providerID)
	if !ok {
		return nil, Errorf(EINTERNAL, "unknown provider %q", providerID)
	}
	c := &Credential{Provider: providerID}
	if p.Format == FormatAPIKey {
		c.APIKey = NewSecret(string(plaintext))
		return c, nil
	}
	var m map[string]string
	if err := json.Unmarshal(plaintext, &m); err != nil {
		return nil, Errorf(EINTERNAL, "stored %s credential is not valid JSON", providerID)
	}
	c.AccessKeyID = NewSecret(m["accessKeyId"])
	c.SecretAccessKey = NewSecret(m["secretAccessKey"])
	c.SessionToken = NewSecret(m["sessionToken"])
	c.Region = m["region"]
	c.Endpoint = m["endpoint"]
	c.APIKey = NewSecret(m["apiKey"])
	c.Deployment = m["deploymentName"]
	c.APIVersion = m["apiVersion"]
	return c, nil
}

func decodeJSONCredential(raw json.RawMessage) (map[string]string, error) {
	// A JSON string holding the object is accepted too: that is what a form
	// field or a shell-quoted curl body usually produces.
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, FieldError("key", "key must be a JSON object")
		}
		raw = json.RawMessage(strings.TrimSpace(s))
		if len(raw) == 0 || raw[0] != '{' {
			return nil, FieldError("key", "key must be a JSON object (or a string holding one) for this provider")
		}
	}
	if raw[0] != '{' {
		return nil, FieldError("key", "key must be a JSON object (or a string holding one) for this provider")
	}
	// Members are kept raw, so that a nested value is refused as "not a
	// string" without being decoded: encoding/json's validator is
	// iterative, so no nesting reaches a recursive decoder here, and the
	// whole body was depth-checked by the HTTP layer already.
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil {
		return nil, FieldError("key", "key is not valid JSON")
	}
	out := make(map[string]string, len(members))
	for k, v := range members {
		var s string
		if len(v) == 0 || v[0] != '"' || json.Unmarshal(v, &s) != nil {
			return nil, FieldError("key."+k, "field %q must be a string", k)
		}
		out[k] = s
	}
	return out, nil
}

func checkKeyString(param, s string) error {
	switch {
	case strings.TrimSpace(s) == "":
		return FieldError(param, "%s must not be empty", param)
	case s != strings.TrimSpace(s):
		return FieldError(param, "%s has leading or trailing whitespace", param)
	case len(s) < 8:
		return FieldError(param, "%s is too short to be a provider key", param)
	case len(s) > 4096:
		return FieldError(param, "%s is longer than 4096 characters", param)
	case strings.ContainsFunc(s, func(r rune) bool { return r < 0x21 || r == 0x7f }):
		return FieldError(param, "%s contains spaces or control characters", param)
	}
	return nil
}

func fieldList(fs []CredentialField) string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.Name
	}
	return strings.Join(names, ", ")
}

// CheckEndpoint validates a user-supplied upstream address and returns it
// normalised (no trailing slash). It must be https, and must not point at
// loopback, private, link-local or metadata addresses unless allowPrivate is
// set — in which case plain http is accepted for exactly those addresses, so
// that tests can use local fakes. Host names are checked again at dial time.
//
// The host must be a DNS name (letters, digits, '-', '_', '.') or an IP
// address, with a port from 1 to 65535 if any: anything else could not be
// dialled, and would only fail on every request.
func CheckEndpoint(raw string, allowPrivate bool) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", FieldError("key.endpoint", "endpoint must be an absolute https:// URL")
	}
	// A bare "?" or "#" parses as no query or fragment, but would stay in
	// the URL the paths are appended to.
	if u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.ContainsAny(raw, "?#") {
		return "", FieldError("key.endpoint", "endpoint must not contain credentials, a query or a fragment")
	}
	host := u.Hostname()
	if !validHost(host) || !validPort(u) {
		return "", FieldError("key.endpoint", "endpoint host must be a DNS name or an IP address, with a port from 1 to 65535 if any")
	}
	internal := IsInternalHost(host)
	if internal && !allowPrivate {
		return "", FieldError("key.endpoint", "endpoint host %q is a loopback, private, link-local or metadata address", host)
	}
	if u.Scheme == "http" && !internal {
		return "", FieldError("key.endpoint", "endpoint must use https")
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// validHost: an IP address, or a DNS name of at most 253 characters made of
// letters, digits, '-', '_' and '.', with no empty label (a final dot
// aside).
func validHost(host string) bool {
	if _, err := netip.ParseAddr(host); err == nil {
		return true
	}
	name := strings.TrimSuffix(host, ".")
	if name == "" || len(name) > 253 {
		return false
	}
	for label := range strings.SplitSeq(name, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// validPort: no port, or a number from 1 to 65535 (url.Parse accepts
// "host:" and any run of digits).
func validPort(u *url.URL) bool {
	port := u.Port()
	if port == "" {
		return !strings.HasSuffix(u.Host, ":")
	}
	n, err := strconv.Atoi(port)
	return err == nil && n >= 1 && n <= 65535
}

// checkOrigin refuses an endpoint (as CheckEndpoint returned it) with a
// path: for providers whose API paths ownkey appends to the resource's
// address (Azure OpenAI: /openai/deployments/…, /openai/v1/…).
func checkOrigin(endpoint, example string) error {
	if u, err := url.Parse(endpoint); err != nil || u.Path != "" || u.RawPath != "" {
		return FieldError("key.endpoint", "endpoint must be the resource's address alone, such as %s, without a path: ownkey adds the API's path (/openai/…) itself", example)
	}
	return nil
}

// CredentialRecord is a credential as stored: sealed by the vault, bound to
// its owner and provider. Only Suffix is in clear.
type CredentialRecord struct {
	AccountID  int64
	Provider   string
	KeyVersion uint32 // master key version that wraps the data key
	Sealed     []byte // vault envelope: wrapped data key + ciphertext
	Suffix     string
	CreatedAt  time.Time
	UpdatedAt  time.Time
	LastUsedAt *time.Time
	// Caps are the spend caps as stored. PutCredential applies CapsUpdate
	// to them in the same transaction (a new key starts with none, a
	// replaced one keeps its caps unless CapsUpdate changes them).
	Caps       SpendCaps
	CapsUpdate SpendCapsUpdate
	// Failure is set while the provider refuses the key (see KeyHealth);
	// storing a key clears it.
	Failure *KeyFailure
}

// KeyFailure is why a stored key is shown as failing: its provider refused
// it (401 or 403) on a chat request, at At, with Status and the provider's
// Message (secrets scrubbed). It lasts until the key is replaced or a later
// request with it succeeds.
type KeyFailure struct {
	At      time.Time `json:"failed_at"`
	Status  int       `json:"upstream_status"`
	Message string    `json:"message"`
}

// MaxKeyFailureMessage bounds the provider's message kept with a failing
// key, in bytes.
const MaxKeyFailureMessage = 500

// KeyStatus is how the BYOK page shows one provider to one account.
type KeyStatus struct {
	Provider   *Provider  `json:"-"`
	Status     string     `json:"status"` // not_configured | configured | disabled
	Suffix     string     `json:"key_suffix,omitempty"`
	CreatedAt  *time.Time `json:"created_at"`
	UpdatedAt  *time.Time `json:"updated_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	// Caps are the stored key's spend caps (configured keys only).
	Caps SpendCaps `json:"-"`
	// Failure is set while the key's provider refuses it.
	Failure *KeyFailure `json:"-"`
	// Warning, on the answer to storing a key, says what looks wrong
	// with it (KeyShapeWarning).
	Warning string `json:"-"`
}

// Statuses of a provider for an account.
const (
	StatusNotConfigured = "not_configured"
	StatusConfigured    = "configured"
	StatusDisabled      = "disabled"
)

// KeyValidator checks a credential against its provider with a cheap
// authenticated call, without storing it. It returns nil when the provider
// accepted the credential, an EUPSTREAM error with the provider's message when
// it refused it, and EUNAVAILABLE when the provider could not be reached.
type KeyValidator interface {
	ValidateKey(ctx context.Context, p *Provider, c *Credential, model string) error
}

// A KeyCheckCoster is a KeyValidator that knows which checks cost the key's
// owner money: a provider with no free authenticated call is checked with
// its cheapest paid one (a one-result search), and the user is told so.
type KeyCheckCoster interface {
	// KeyCheckCost says what checking a key of p costs its owner; "" for
	// a free check.
	KeyCheckCost(p *Provider) string
}
