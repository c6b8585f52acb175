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
)

// MaxMessageLen is how many characters of an upstream message are kept.
const MaxMessageLen = 300

// ScrubSecrets replaces every secret part of c found in s (the API key, the
// AWS access key id, secret key and session token) with ownkey.Redacted.
// Providers echo keys back in error bodies ("Incorrect API key provided:
// sk-…"), so any upstream text shown to a client or logged goes through this.
// Besides the plain value it also replaces the JSON-escaped ("\/") and
// URL-encoded forms, since that is how a key with '/' or '+' comes back
// inside a raw body or a URL.
func ScrubSecrets(s string, c *ownkey.Credential) string {
	if c == nil || s == "" {
		return s
	}
	var forms []string
	for _, sec := range []ownkey.Secret{c.APIKey, c.SecretAccessKey, c.SessionToken, c.AccessKeyID} {
		v := sec.Reveal()
		if v == "" {
			continue
		}
		forms = append(forms, v, strings.ReplaceAll(v, "/", `\/`), url.QueryEscape(v), url.PathEscape(v))
	}
	// Longest first, so that a secret containing another is replaced whole.
	sort.Slice(forms, func(i, j int) bool { return len(forms[i]) > len(forms[j]) })
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
func UpstreamMessage(body []byte, c *ownkey.Credential) string {
	msg := messageFromJSON(body)
	if msg == "" {
		trimmed := bytes.TrimSpace(body)
		if len(trimmed) > 0 && trimmed[0] != '<' && utf8.Valid(trimmed) {
			msg = string(trimmed)
		}
	}
	// Scrub before cutting: cutting first could leave a prefix of a key
	// that no longer matches the whole key.
	return truncate(collapseSpace(ScrubSecrets(msg, c)), MaxMessageLen)
}

func messageFromJSON(body []byte) string {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return ""
	}
	return findMessage(v, 0)
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
