package provider

// Small pieces the translating families (anthropic, bedrock, gemini,
// responses) share, so that they read and report the same way.

import (
	"fmt"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/jsonvalid"
)

// UnreadableEvent checks a JSON stream event before a translating family
// reads it, with jsonvalid rather than gjson.Valid: gjson's validator
// recurses once per level, and a 16 MiB event of '[' from a hostile
// endpoint would overflow the stack, killing the process. It returns what
// the client is told (as a CodeStreamError) when the event is nested
// deeper than maxDepth allows (ownkey.ChatRequest.MaxJSONDepth) or is not
// JSON, and "" when the event can be read. name is the provider's name.
func UnreadableEvent(name string, data []byte, maxDepth int) string {
	switch jsonvalid.Check(data, maxDepth) {
	case jsonvalid.ErrTooDeep:
		return fmt.Sprintf("%s sent a stream event nested deeper than %d levels", name, jsonvalid.Depth(maxDepth))
	case jsonvalid.ErrSyntax:
		return name + " sent a stream event that is not valid JSON"
	}
	return ""
}

// Reported is u as a translating family reports the usage a provider
// gave: from the provider, or none when it is all zero (the provider gave
// nothing usable, and the gateway may count the tokens itself).
func Reported(u ownkey.Usage) ownkey.Usage {
	if u.IsZero() {
		return ownkey.Usage{}
	}
	u.Source = ownkey.UsageFromProvider
	return u
}
