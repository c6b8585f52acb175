package httpapi

import (
	"strings"

	"github.com/ownkey/ownkey"
)

// redactedSegment replaces a path segment that looks like a secret.
const redactedSegment = "[redacted]"

// secretPrefixes start the keys people are likely to paste into a URL by
// mistake: ownkey's own and the providers' (OpenAI and most compatible ones
// sk-, Anthropic sk-ant-, Groq gsk_, AWS access key ids, xAI, Tavily,
// Perplexity, Google, Hugging Face, Replicate, GitHub).
var secretPrefixes = []string{
	ownkey.APIKeyPrefix, "sk-", "sk_", "gsk_", "AKIA", "ASIA", "xai-", "tvly-", "pplx-", "AIza", "hf_", "r8_", "ghp_", "github_pat_",
}

// minSecretLen is the shortest segment judged at all: no real key is shorter,
// and it keeps the common path (short route words) to a length check.
const minSecretLen = 16

// minSecretRun is how long an unbroken run of letters and digits must be, in
// a segment that mixes both, to count as a token: key bodies and hex keys
// (Azure's) have one; dashed names such as gpt-4o-mini-2024-07-18 do not.
const minSecretRun = 20

// redactPath returns p with every segment that looks like a secret replaced
// by [redacted], for the access log and error messages: a client that puts a
// key in the URL (GET /v1/sk-ownkey-…) must not have it written down. It
// runs on every request, so it is a plain scan that allocates only when
// something is redacted.
func redactPath(p string) string {
	var b []byte // built only once a segment is redacted
	start := 0
	for i := 0; i <= len(p); i++ {
		if i < len(p) && p[i] != '/' {
			continue
		}
		seg := p[start:i]
		if looksSecret(seg) {
			if b == nil {
				b = make([]byte, 0, len(p))
				b = append(b, p[:start]...)
			}
			b = append(b, redactedSegment...)
		} else if b != nil {
			b = append(b, seg...)
		}
		if b != nil && i < len(p) {
			b = append(b, '/')
		}
		start = i + 1
	}
	if b == nil {
		return p
	}
	return string(b)
}

// looksSecret reports whether s (a path segment, a method) looks like a key:
// it starts with a known key prefix, holds an ownkey key anywhere, or is a
// long token of letters and digits mixed.
func looksSecret(s string) bool {
	if len(s) < minSecretLen {
		return false
	}
	for _, pre := range secretPrefixes {
		if strings.HasPrefix(s, pre) {
			return true
		}
	}
	if strings.Contains(s, ownkey.APIKeyPrefix) {
		return true
	}
	run, longest := 0, 0
	letters, digits := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits = true
			run++
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			letters = true
			run++
		default:
			run = 0
		}
		longest = max(longest, run)
	}
	return letters && digits && longest >= minSecretRun
}

// safeMethod is r.Method for the log and error messages: any token is a
// valid method, a key included.
func safeMethod(m string) string {
	if looksSecret(m) {
		return redactedSegment
	}
	return m
}
