package provider

import (
	"bytes"
	"encoding/json"
	"net/url"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/jsontext"
	"github.com/ownkey/ownkey/jsonvalid"
)

// MaxMessageLen is how many characters of an upstream message are kept.
const MaxMessageLen = 300

// ScrubSecrets replaces every secret part of c found in s (the API key, the
// AWS access key id, secret key and session token) with ownkey.Redacted.
// Providers echo keys back in error bodies ("Incorrect API key provided:
// sk-…"), so any upstream text shown to a client or logged goes through this.
// Besides the plain value it also replaces the JSON-escaped ("\/") and
// URL-encoded forms, since that is how a key with '/' or '+' comes back
// inside a raw body or a URL. Text holding JSON escapes is also matched
// decoded: a key written "\u0073k-…" is a key all the same, and when the
// decoded text holds one, the decoded text, scrubbed, is returned. Text that
// is relayed as JSON goes through ScrubJSON instead, which keeps it JSON.
func ScrubSecrets(s string, c *ownkey.Credential) string {
	forms := secretForms(c)
	if len(forms) == 0 || s == "" {
		return s
	}
	s = replaceForms(s, forms)
	if strings.IndexByte(s, '\\') >= 0 {
		dec := string(jsontext.AppendUnescaped(nil, s))
		if scrubbed := replaceForms(dec, forms); scrubbed != dec {
			return scrubbed
		}
	}
	return s
}

// ScrubJSON is ScrubSecrets for a JSON text relayed as JSON (a mid-stream
// error event): each string is matched on its decoded contents, so that a
// key a provider wrote with \u escapes is caught, and a string that held a
// secret is re-encoded with it replaced. Everything else stays byte for
// byte, and data itself is returned when there is nothing to replace.
// Broken JSON is scrubbed as far as it can be read: the plain forms are
// replaced anywhere, and an unterminated string counts up to the end.
func ScrubJSON(data []byte, c *ownkey.Credential) []byte {
	forms := secretForms(c)
	if len(forms) == 0 || len(data) == 0 {
		return data
	}
	if s := string(data); s != "" {
		if r := replaceForms(s, forms); r != s {
			data = []byte(r)
		}
	}
	if bytes.IndexByte(data, '\\') < 0 {
		return data // every string's contents are its raw bytes
	}
	var out []byte
	last := 0
	for i := 0; i < len(data); {
		q := bytes.IndexByte(data[i:], '"')
		if q < 0 {
			break
		}
		start := i + q + 1
		end, escaped := start, false
		for end < len(data) && data[end] != '"' {
			if data[end] == '\\' {
				escaped = true
				end++
			}
			end++
		}
		end = min(end, len(data))
		if escaped {
			dec := string(jsontext.AppendUnescaped(nil, data[start:end]))
			if scrubbed := replaceForms(dec, forms); scrubbed != dec {
				enc, _ := json.Marshal(scrubbed)
				if end == len(data) {
					enc = enc[:len(enc)-1] // it had no closing quote
				}
				out = append(append(out, data[last:start-1]...), enc...)
				last = min(end+1, len(data))
			}
		}
		i = end + 1
	}
	if out != nil {
		data = append(out, data[last:]...)
	}
	// In broken JSON the quotes may pair out of phase (a member name that
	// lost its closing quote), so an escaped secret can sit where this
	// walk saw no string. Then the text is judged whole, decoded: if a
	// secret is still in it, it comes back decoded with the secret
	// replaced (it was not valid JSON to keep anyway).
	if bytes.IndexByte(data, '\\') >= 0 && !json.Valid(data) {
		if s := ScrubSecrets(string(data), c); s != string(data) {
			return []byte(s)
		}
	}
	return data
}

// secretForms are the texts ScrubSecrets replaces for c, longest first so
// that a secret containing another is replaced whole.
func secretForms(c *ownkey.Credential) []string {
	if c == nil {
		return nil
	}
	var forms []string
	for _, sec := range []ownkey.Secret{c.APIKey, c.SecretAccessKey, c.SessionToken, c.AccessKeyID} {
		v := sec.Reveal()
		if v == "" {
			continue
		}
		forms = append(forms, v, strings.ReplaceAll(v, "/", `\/`), url.QueryEscape(v), url.PathEscape(v))
	}
	sort.Slice(forms, func(i, j int) bool { return len(forms[i]) > len(forms[j]) })
	return forms
}

func replaceForms(s string, forms []string) string {
	for _, f := range forms {
		s = strings.ReplaceAll(s, f, ownkey.Redacted)
	}
	return s
}

// UpstreamMessage extracts a human-readable message from an upstream error
// body and makes it safe to show: secrets of c scrubbed, whitespace and
// control characters collapsed, cut to MaxMessageLen characters. It knows the
// error shapes of the supported providers (OpenAI, Anthropic, Gemini and
// Azure's {"error":{"message"}}; Bedrock's {"message"}; FastAPI's "detail";
// Kagi's {"error":[{"msg"}]}; plain {"error":"…"}). A body it cannot read
// as one of those is used as text; HTML pages (proxies, load balancers) are
// reduced to nothing rather than shown. The result may be empty.
//
// The body is decoded only if it nests at most maxDepth levels
// (jsonvalid.Depth); a deeper one gives no message at all.
func UpstreamMessage(body []byte, c *ownkey.Credential, maxDepth int) string {
	var msg string
	switch jsonvalid.Check(body, maxDepth) {
	case nil:
		var v any
		_ = json.Unmarshal(body, &v)
		// A message is decoded text, scrubbed as such; JSON without
		// one is shown as it came, scrubbed string by string.
		if msg = ScrubSecrets(findMessage(v, 0), c); msg == "" {
			msg = string(ScrubJSON(bytes.TrimSpace(body), c))
		}
	case jsonvalid.ErrTooDeep:
		return ""
	default:
		trimmed := bytes.TrimSpace(body)
		if len(trimmed) > 0 && trimmed[0] != '<' && utf8.Valid(trimmed) {
			msg = ScrubSecrets(string(trimmed), c)
		}
	}
	// Scrubbed before cutting: cutting first could leave a prefix of a
	// key that no longer matches the whole key.
	return truncate(collapseSpace(msg), MaxMessageLen)
}

// findMessage looks for the usual message fields, preferring the outermost.
func findMessage(v any, depth int) string {
	if depth > 4 {
		return ""
	}
	switch t := v.(type) {
	case string:
		return t
	case []any:
		for _, e := range t {
			if m := findMessage(e, depth+1); m != "" {
				return m
			}
		}
	case map[string]any:
		for _, k := range []string{"message", "Message", "msg", "error_description"} {
			if s, ok := t[k].(string); ok && s != "" {
				return s
			}
		}
		for _, k := range []string{"error", "errors", "detail", "Error"} {
			if e, ok := t[k]; ok {
				if m := findMessage(e, depth+1); m != "" {
					return m
				}
			}
		}
	}
	return ""
}

func collapseSpace(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }), " ")
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
