package openai

import (
	"strconv"
	"unsafe"

	"github.com/tidwall/gjson"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/jsontext"
	"github.com/ownkey/ownkey/jsonvalid"
)

// Citations of web sources (search-augmented chat), the way OpenAI's own
// search models give them: message.annotations, each
// {"type":"url_citation","url_citation":{"end_index","start_index","title","url"}}
// for a place where the answer cites a source, its indices counted in
// characters of message.content. A non-streaming answer carries them in
// its message; a stream on its finish chunk's delta (the last chunk of the
// content), since only the whole text says what it cites. This holds for
// every family: translated answers are scanned as the writer gets their
// text, relayed ones (an OpenAI-compatible provider) as their chunks pass,
// which are read for it only when the request searched the web.

var _ ownkey.CitingSink = (*Writer)(nil)

// Cite makes the answer cite sources: see ownkey.CitingSink. Call it
// before the answer starts; a Reset or Released writer cites nothing.
func (wr *Writer) Cite(sources []ownkey.WebSource) {
	wr.cite = ownkey.NewCitationScanner(sources)
}

// citeText scans a delta of content: lit is a JSON string literal.
func (wr *Writer) citeText(lit string) {
	if len(lit) < 2 || lit[0] != '"' {
		return
	}
	wr.citeScratch = jsontext.AppendUnescaped(wr.citeScratch[:0], lit[1:len(lit)-1])
	wr.cite.Write(view(wr.citeScratch)) // the scanner keeps nothing of it
}

// view is b as a string without a copy, for a call that does not keep it.
func view(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// citeChunk scans a relayed stream chunk's content and, on the chunk that
// finishes the answer, adds the annotations to its delta. It returns data
// itself when there is nothing to add, else the edited chunk in a buffer of
// the writer's.
func (wr *Writer) citeChunk(data []byte) []byte {
	if len(data) == 0 || data[0] != '{' {
		return data // [DONE], or not a chunk
	}
	// Read in place (gjson.GetBytes would copy what it finds): nothing
	// read is kept past this call.
	choice := gjson.Get(view(data), "choices.0")
	if c := choice.Get("delta.content"); c.Type == gjson.String {
		wr.citeText(c.Raw)
	}
	if fr := choice.Get("finish_reason"); fr.Type != gjson.String || fr.Str == "" {
		return data
	}
	out, ok := wr.annotate(data, choice.Get("delta"))
	if !ok {
		return data
	}
	return out
}

// citeBody scans a relayed chat.completion's content and adds the
// annotations to its message.
func (wr *Writer) citeBody(body []byte) []byte {
	msg := gjson.Get(view(body), "choices.0.message")
	if c := msg.Get("content"); c.Type == gjson.String {
		wr.citeText(c.Raw)
	}
	out, ok := wr.annotate(body, msg)
	if !ok {
		return body
	}
	return out
}

// annotate returns data with the citations found added to obj, an object
// in data (a delta or a message): appended to its annotations array when it
// has one (a provider's own), else as a new annotations member. false when
// obj is not an object ownkey can edit in place.
func (wr *Writer) annotate(data []byte, obj gjson.Result) ([]byte, bool) {
	start, end := obj.Index, obj.Index+len(obj.Raw)
	if !obj.IsObject() || start <= 0 || end > len(data) || data[start] != '{' || data[end-1] != '}' {
		return nil, false
	}
	// gjson reads what it can of broken JSON: only valid JSON is edited
	// (one pass over the finish chunk or the answer, for these requests
	// only).
	if jsonvalid.Check(data, 0) != nil {
		return nil, false
	}
	b := wr.citeBuf[:0]
	if anns := obj.Get("annotations"); anns.IsArray() {
		at := anns.Index + len(anns.Raw) - 1 // its ']'
		if anns.Index <= start || at >= end || data[at] != ']' {
			return nil, false
		}
		b = append(b, data[:at]...)
		items := appendAnnotations(nil, wr.cite.Citations())
		items = items[1 : len(items)-1] // without the brackets
		if len(items) > 0 && nonEmpty(anns) {
			b = append(b, ',')
		}
		b = append(b, items...)
		b = append(b, data[at:]...)
	} else {
		b = append(b, data[:start+1]...)
		b = append(b, `"annotations":`...)
		b = appendAnnotations(b, wr.cite.Citations())
		if nonEmpty(obj) {
			b = append(b, ',')
		}
		b = append(b, data[start+1:]...)
	}
	wr.citeBuf = b
	return b, true
}

func nonEmpty(v gjson.Result) bool {
	found := false
	v.ForEach(func(_, _ gjson.Result) bool { found = true; return false })
	return found
}

// appendAnnotations appends cs as OpenAI's annotations array.
func appendAnnotations(b []byte, cs []ownkey.URLCitation) []byte {
	b = append(b, '[')
	for i, c := range cs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"type":"url_citation","url_citation":{"end_index":`...)
		b = strconv.AppendInt(b, int64(c.End), 10)
		b = append(b, `,"start_index":`...)
		b = strconv.AppendInt(b, int64(c.Start), 10)
		b = append(b, `,"title":`...)
		b = jsontext.AppendString(b, c.Title)
		b = append(b, `,"url":`...)
		b = jsontext.AppendString(b, c.URL)
		b = append(b, `}}`...)
	}
	return append(b, ']')
}
