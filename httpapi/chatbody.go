package httpapi

import (
	"bytes"
	"encoding/json"
	"slices"
	"unsafe"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/jsonvalid"
	"github.com/tidwall/gjson"
)

// chatFields are the members of a chat request that routing reads, found
// by the validating pass itself. Each Result's Index is its value's offset
// in the body (byokKey, webSearchKey: the offset of the member's key), so
// that edits can be made in place without parsing again.
type chatFields struct {
	root                                         gjson.Result
	members                                      int // of the top level
	end                                          int // after the last member's value, or the '{' if none
	model, messages, stream, streamOptions, byok gjson.Result
	includeUsage                                 gjson.Result // stream_options.include_usage
	byokKey                                      int
	// webSearch is the search-augmented chat object (httpapi/online.go),
	// removed before the body goes upstream.
	webSearch    gjson.Result
	webSearchKey int
	// maxTokens is the largest max_tokens or max_completion_tokens given
	// as a positive whole number (0 for none): what billing reserves for
	// the answer. Named twice, the larger counts, so that a provider
	// reading either is covered.
	maxTokens int64
	// hasMaxTokens: max_tokens itself is a positive whole number (the
	// Messages API requires it).
	hasMaxTokens bool
}

// parseChatBody checks that body is a JSON object nested at most maxDepth
// levels and reads its routing members. A member named twice is refused:
// ownkey would route by one and the provider might read the other.
//
// The check is jsonvalid's, iterative: gjson's own validator recurses once
// per level, and a deep enough body overflowed the goroutine stack, which
// kills the process. It is also the only pass over the whole body: it
// reports the top-level members as it passes them, and only the few that
// routing reads are looked at again (a long conversation is checked once
// and never parsed).
func parseChatBody(body []byte, maxDepth int) (chatFields, error) {
	var f chatFields
	var dup string
	err := jsonvalid.CheckMembers(body, maxDepth, func(m jsonvalid.Member) {
		f.members++
		f.end = m.ValueEnd
		if dup != "" {
			return
		}
		var dst *gjson.Result
		switch memberName(body[m.KeyStart:m.KeyEnd]) {
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
			f.byokKey = m.KeyStart
		case "webSearch":
			dst = &f.webSearch
			f.webSearchKey = m.KeyStart
		case "max_tokens", "max_completion_tokens":
			if v := resultAt(body, m.ValueStart, m.ValueEnd); v.Type == gjson.Number && v.Num >= 1 {
				f.maxTokens = max(f.maxTokens, int64(min(v.Num, 1<<53)))
				f.hasMaxTokens = f.hasMaxTokens || memberName(body[m.KeyStart:m.KeyEnd]) == "max_tokens" && v.Num == float64(int64(v.Num))
			}
			return
		default:
			return
		}
		if dst.Exists() {
			dup = memberName(body[m.KeyStart:m.KeyEnd])
			return
		}
		*dst = resultAt(body, m.ValueStart, m.ValueEnd)
	})
	if err != nil {
		return f, bodyJSONError(err, maxDepth)
	}
	start := jsonvalid.SkipSpace(body, 0)
	if body[start] != '{' {
		return f, ownkey.Errorf(ownkey.EINVALID, "request body must be a JSON object")
	}
	f.root = resultAt(body, start, len(body))
	if f.members == 0 {
		f.end = start + 1
	}
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

// memberName is the name of a member whose quoted name is raw. It points
// into raw unless the name has escapes (`"mod\u0065l"` is model too).
func memberName(raw []byte) string {
	if bytes.IndexByte(raw, '\\') < 0 {
		return unsafe.String(unsafe.SliceData(raw[1:]), len(raw)-2)
	}
	return gjson.Parse(string(raw)).Str
}

// resultAt is the JSON value body[start:end] as a gjson.Result whose Index
// is start. gjson.ParseBytes would copy it into a string: the Result points
// into body instead, so nothing read from it may outlive the request's
// buffer or an edit made in place (prepareChat clones the model id, the one
// string it keeps). Parsing an object or array reads only its first byte.
func resultAt(body []byte, start, end int) gjson.Result {
	r := gjson.Parse(unsafe.String(unsafe.SliceData(body[start:]), end-start))
	r.Index = start
	return r
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
	// Members of ownkey's own, which no provider must see (on the
	// stack: this runs for every request).
	var gone [2][2]int
	n := 0
	if fields.byok.Exists() {
		gone[n] = memberSpan(fields.byokKey, fields.byok)
		n++
	}
	if fields.webSearch.Exists() {
		gone[n] = memberSpan(fields.webSearchKey, fields.webSearch)
		n++
	}
	edits = deleteMembers(edits, body, gone[:n])
	if so := fields.streamOptions; forceUsage {
		switch {
		case so.IsObject():
			if iu := fields.includeUsage; iu.Exists() {
				edits = append(edits, replaceValue(iu, "true"))
			} else {
				edits = append(edits, addMember(so.Index, nonEmpty(so), "include_usage", "true"))
			}
		case so.Exists(): // null
			edits = append(edits, replaceValue(so, `{"include_usage":true}`))
		default:
			// Last, not first: an insertion in place moves everything
			// after it, and the body's bulk is the conversation.
			edits = append(edits, appendMember(fields.members, fields.end, "stream_options", `{"include_usage":true}`))
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

// memberSpan is where the member whose key starts at keyAt and whose value
// is v lies: from its key to its value's end.
func memberSpan(keyAt int, v gjson.Result) [2]int {
	return [2]int{keyAt, v.Index + len(v.Raw)}
}

// deleteMembers appends to edits the removal of the members of one object
// that lie at spans, with
// the commas that joined them to the rest: members next to each other go
// as one run, and a run takes the comma after it, or, when it ends the
// object, the comma before it. So any set of members can go and the
// object stays valid JSON.
func deleteMembers(edits []bodyEdit, body []byte, spans [][2]int) []bodyEdit {
	if len(spans) == 0 {
		return edits
	}
	if len(spans) == 2 && spans[1][0] < spans[0][0] {
		spans[0], spans[1] = spans[1], spans[0]
	} else if len(spans) > 2 {
		slices.SortFunc(spans, func(a, b [2]int) int { return a[0] - b[0] })
	}
	run := spans[0]
	flush := func() {
		start, end := run[0], run[1]
		if i := jsonvalid.SkipSpace(body, end); i < len(body) && body[i] == ',' {
			end = i + 1
		} else {
			i := start - 1
			for i >= 0 && jsonvalid.IsSpace(body[i]) {
				i--
			}
			if i >= 0 && body[i] == ',' {
				start = i
			}
		}
		edits = append(edits, bodyEdit{start: start, end: end})
	}
	for _, sp := range spans[1:] {
		// Next to the run: nothing but spaces and one comma between.
		i := jsonvalid.SkipSpace(body, run[1])
		if i < len(body) && body[i] == ',' && jsonvalid.SkipSpace(body, i+1) == sp[0] {
			run[1] = sp[1]
			continue
		}
		flush()
		run = sp
	}
	flush()
	return edits
}

// addMember adds `"name":value` to the object at objAt, which has members
// unless empty.
func addMember(objAt int, members bool, name, value string) bodyEdit {
	at := objAt + 1 // after the '{'
	text := `"` + name + `":` + value
	if members {
		text += ","
	}
	return bodyEdit{start: at, end: at, text: text}
}

// appendMember adds `"name":value` after the last member of the top-level
// object, which has members members and whose last value ends at end (its
// '{' is there when it has none).
func appendMember(members, end int, name, value string) bodyEdit {
	text := `"` + name + `":` + value
	if members > 0 {
		text = "," + text
	}
	return bodyEdit{start: end, end: end, text: text}
}

// nonEmpty reports whether the object or array v has a member or element.
func nonEmpty(v gjson.Result) bool {
	found := false
	v.ForEach(func(_, _ gjson.Result) bool { found = true; return false })
	return found
}

func jsonString(s string) string {
	// A model id is almost always plain printable ASCII that json.Marshal
	// would copy as it is: quote it in one allocation instead of two.
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(s)
			return string(b)
		}
	}
	return "\"" + s + "\""
}
