package httpapi

import (
	"encoding/json"
	"slices"
	"unsafe"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/jsonvalid"
	"github.com/ownkey/ownkey/provider"
	"github.com/tidwall/gjson"
)

// chatFields are the members of a chat request that routing reads, found in
// one pass over the body's top level. Each Result's Index is its value's
// offset in the body (byokKey: the offset of byok's key), so that edits can
// be made in place without parsing again.
type chatFields struct {
	root                                         gjson.Result
	model, messages, stream, streamOptions, byok gjson.Result
	includeUsage                                 gjson.Result // stream_options.include_usage
	byokKey                                      int
}

// parseChatBody checks that body is a JSON object nested at most maxDepth
// levels and reads its routing members. A member named twice is refused:
// ownkey would route by one and the provider might read the other.
//
// The check is jsonvalid's, iterative, and comes first: gjson's own
// validator recurses once per level, and a deep enough body overflowed
// the goroutine stack, which kills the process.
func parseChatBody(body []byte, maxDepth int) (chatFields, error) {
	var f chatFields
	if err := jsonvalid.Check(body, maxDepth); err != nil {
		return f, bodyJSONError(err, maxDepth)
	}
	// gjson.ParseBytes would copy the whole body into a string: the
	// Results point into body instead, so nothing read from them may
	// outlive the request's buffer or an edit made in place (prepareChat
	// clones the model id, the one string it keeps).
	root := gjson.Parse(unsafe.String(unsafe.SliceData(body), len(body)))
	if !root.IsObject() {
		return f, ownkey.Errorf(ownkey.EINVALID, "request body must be a JSON object")
	}
	// gjson leaves a parsed document's Index at 0 even after leading
	// space; the member offsets below are relative to it.
	root.Index = provider.SkipJSONSpace(body, 0)
	f.root = root
	var dup string
	root.ForEach(func(key, value gjson.Result) bool {
		var dst *gjson.Result
		switch key.Str {
		case "model":
			dst = &f.model
		case "messages":
			dst = &f.messages
		case "stream":
			dst = &f.stream
		case "stream_options":
			dst = &f.streamOptions
		case "byok":
			dst = &f.byok
			f.byokKey = key.Index
		default:
			return true
		}
		if dst.Exists() {
			dup = key.Str
			return false
		}
		*dst = value
		return true
	})
	if dup != "" {
		return f, ownkey.FieldError(dup, "%s appears more than once in the request body", dup)
	}
	if f.streamOptions.IsObject() {
		// Read as the top level is: a forced include_usage must be the
		// only one, or a provider that keeps the last would not see it.
		f.streamOptions.ForEach(func(key, value gjson.Result) bool {
			if key.Str != "include_usage" {
				return true
			}
			if f.includeUsage.Exists() {
				dup = "stream_options.include_usage"
				return false
			}
			f.includeUsage = value
			return true
		})
		if dup != "" {
			return f, ownkey.FieldError(dup, "%s appears more than once in the request body", dup)
		}
	}
	return f, nil
}

// routedBody is body with the routing edits made: model set to model, the
// byok member removed and, if forceUsage, stream_options.include_usage set
// to true. Each edit is made only when needed, so that a request that needs
// none is forwarded byte for byte, and all of them in one copy.
func routedBody(body []byte, fields chatFields, model string, forceUsage bool) []byte {
	var edits []bodyEdit
	if fields.model.Str != model {
		edits = append(edits, replaceValue(fields.model, jsonString(model)))
	}
	if fields.byok.Exists() {
		edits = append(edits, deleteMember(body, fields.byokKey, fields.byok))
	}
	if so := fields.streamOptions; forceUsage {
		switch {
		case so.IsObject():
			if iu := fields.includeUsage; iu.Exists() {
				edits = append(edits, replaceValue(iu, "true"))
			} else {
				edits = append(edits, addMember(so, "include_usage", "true"))
			}
		case so.Exists(): // null
			edits = append(edits, replaceValue(so, `{"include_usage":true}`))
		default:
			edits = append(edits, addMember(fields.root, "stream_options", `{"include_usage":true}`))
		}
	}
	return applyEdits(body, edits)
}

// bodyEdit replaces body[start:end] with text; start == end inserts.
type bodyEdit struct {
	start, end int
	text       string
}

// applyEdits makes non-overlapping edits to body (none: body itself, byte
// for byte): in place when body's capacity has room for the result (the
// chat path reads bodies with bodyHeadroom spare, so that a large body is
// not held twice), else in one copy.
func applyEdits(body []byte, edits []bodyEdit) []byte {
	if len(edits) == 0 {
		return body
	}
	// By position; at the same position an insertion goes before the edit
	// that replaces what follows it (stream_options added to an object
	// whose first member, byok, is deleted).
	slices.SortStableFunc(edits, func(a, b bodyEdit) int {
		if a.start != b.start {
			return a.start - b.start
		}
		return (a.end - a.start) - (b.end - b.start)
	})
	size := len(body)
	for _, e := range edits {
		size += len(e.text) - (e.end - e.start)
	}
	if size > cap(body) {
		out := make([]byte, 0, size)
		at := 0
		for _, e := range edits {
			out = append(out, body[at:e.start]...)
			out = append(out, e.text...)
			at = e.end
		}
		return append(out, body[at:]...)
	}
	return editInPlace(body, edits, size)
}

// editInPlace makes sorted edits within body's capacity. The stretch after
// edit j moves by the size change of edits 0..j: the stretches moving right
// are moved last to first and those moving left first to last, so that
// none overwrites bytes not moved yet; then the texts are written.
func editInPlace(body []byte, edits []bodyEdit, size int) []byte {
	out := body[:max(len(body), size)]
	stretchEnd := func(j int) int {
		if j+1 < len(edits) {
			return edits[j+1].start
		}
		return len(body)
	}
	shift := size - len(body)
	for j := len(edits) - 1; j >= 0; j-- {
		e := edits[j]
		if shift > 0 {
			copy(out[e.end+shift:], body[e.end:stretchEnd(j)])
		}
		shift -= len(e.text) - (e.end - e.start)
	}
	for j, e := range edits {
		shift += len(e.text) - (e.end - e.start)
		if shift < 0 {
			copy(out[e.end+shift:], body[e.end:stretchEnd(j)])
		}
	}
	shift = 0
	for _, e := range edits {
		copy(out[e.start+shift:], e.text)
		shift += len(e.text) - (e.end - e.start)
	}
	return out[:size]
}

// replaceValue replaces a member's value.
func replaceValue(v gjson.Result, text string) bodyEdit {
	return bodyEdit{start: v.Index, end: v.Index + len(v.Raw), text: text}
}

// deleteMember removes the member whose key starts at keyAt and whose value
// is v, with the comma that joined it to its neighbour.
func deleteMember(body []byte, keyAt int, v gjson.Result) bodyEdit {
	start, end := keyAt, v.Index+len(v.Raw)
	if i := provider.SkipJSONSpace(body, end); i < len(body) && body[i] == ',' {
		return bodyEdit{start: start, end: i + 1}
	}
	i := start - 1
	for i >= 0 && provider.IsJSONSpace(body[i]) {
		i--
	}
	if i >= 0 && body[i] == ',' {
		start = i
	}
	return bodyEdit{start: start, end: end}
}

// addMember adds `"name":value` to the object obj (an empty one too).
func addMember(obj gjson.Result, name, value string) bodyEdit {
	at := obj.Index + 1 // after the '{'
	text := `"` + name + `":` + value
	if nonEmpty(obj) {
		text += ","
	}
	return bodyEdit{start: at, end: at, text: text}
}

// nonEmpty reports whether the object or array v has a member or element.
func nonEmpty(v gjson.Result) bool {
	found := false
	v.ForEach(func(_, _ gjson.Result) bool { found = true; return false })
	return found
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
