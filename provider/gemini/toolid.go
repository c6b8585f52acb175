package gemini

import (
	"strconv"
	"strings"
)

// Gemini sends function calls without ids, and Gemini 3 attaches to them a
// thought signature that must come back with the call in the next request,
// or the request is refused. OpenAI clients keep exactly one thing of a
// tool call across turns, and send it back unchanged: its id. So the id
// carries the signature (see the package comment):
//
//	call_<response id>_<index>[__thought__<signature>]
//
// the separator LiteLLM and other gateways use, so that a conversation
// moved between them keeps its signatures.
const signatureSeparator = "__thought__"

// skipSignature is Google's documented placeholder for a function call of
// a Gemini 3 conversation whose signature is not known: the request skips
// the signature check instead of being refused.
const skipSignature = "skip_thought_signature_validator"

// toolCallID is the id of the index-th function call of the answer
// responseID (0, 1, … in the answer), carrying sig when Gemini gave one:
// the same answer always gives the same ids.
func toolCallID(responseID string, index int, sig string) string {
	b := make([]byte, 0, len("call_")+len(responseID)+4+len(signatureSeparator)+len(sig))
	b = append(append(b, "call_"...), responseID...)
	b = strconv.AppendInt(append(b, '_'), int64(index), 10)
	if sig != "" {
		b = append(append(b, signatureSeparator...), sig...)
	}
	return string(b)
}

// splitToolCallID takes the thought signature out of a tool call id made
// by toolCallID; an id without one (a client's own, another provider's)
// has none.
func splitToolCallID(id string) (base, sig string) {
	if base, sig, ok := strings.Cut(id, signatureSeparator); ok && isSignature(sig) {
		return base, sig
	}
	return id, ""
}

// isSignature reports whether s can be a thought signature: base64, in the
// standard or URL alphabet, which is all Gemini accepts in the field.
func isSignature(s string) bool {
	if s == "" || len(s) > maxSignature {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// maxSignature bounds the signature carried in an id. Real ones are a few
// hundred bytes to a few KiB; the bound only keeps a hostile answer from
// making ids of megabytes.
const maxSignature = 64 << 10
