package usage

import (
	"strings"
	"unsafe"

	"github.com/ownkey/ownkey/jsonvalid"
	"github.com/tidwall/gjson"
)

// promptCount is what the walk over a request found, before a maker's
// profile turns it into tokens.
type promptCount struct {
	text      textCounter // o200k_base tokens of the text the model reads
	messages  int64       // messages
	names     int64       // messages with a name
	toolCalls int64       // tool calls in assistant messages
	tools     int64       // tool definitions
	// props and enums count the properties and enum values of the tools'
	// parameter schemas, when the profile reads schemas (compactTools).
	props, enums int64
	media        int64 // tokens of images, audio and files, in the maker's own count
	// forcedTool: tool_choice makes the model call a tool (required or a
	// named function), which Anthropic prompts differently.
	forcedTool bool
	reasoning  bool // the request asks for reasoning (extended thinking)
	// whole: the body was not a chat request and was counted as text.
	whole bool
	// buf is scratch for decoding media headers.
	buf []byte
}

// view is b as a string, without a copy: the walk reads the body only
// while the caller holds it still.
func view(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// countPrompt walks an OpenAI chat completions request body. A body that is
// not a JSON object with a messages array is counted as text, whole.
func countPrompt(m *modelInfo, p *profile, body []byte) *promptCount {
	c := &promptCount{text: newTextCounter()}
	if len(body) == 0 {
		c.whole = true // nothing, counted as nothing
		return c
	}
	s := view(body)
	// The walk below is gjson's, which recurses per level of nesting: the
	// body must be checked first (the chat path checked it already; this
	// is for any other caller).
	if jsonvalid.Check(body, jsonvalid.DefaultMaxDepth) != nil {
		c.whole = true
		c.text.add(s)
		return c
	}
	root := gjson.Parse(s)
	if msgs := root.Get("messages"); !root.IsObject() || !msgs.IsArray() {
		c.whole = true
		c.text.add(s)
		return c
	}
	root.ForEach(func(key, value gjson.Result) bool {
		switch key.Str {
		case "messages":
			value.ForEach(func(_, msg gjson.Result) bool {
				c.message(m, p, msg)
				return true
			})
		case "tools", "functions":
			value.ForEach(func(_, tool gjson.Result) bool {
				c.tool(p, tool)
				return true
			})
		case "response_format":
			c.json(value.Get("json_schema"))
		case "tool_choice", "function_call":
			c.forcedTool = c.forcedTool || value.IsObject() || value.Str == "required" || value.Str == "any"
		case "reasoning_effort", "reasoning", "thinking":
			c.reasoning = c.reasoning || value.Type != gjson.Null && value.Str != "none"
		}
		return true
	})
	return c
}

func (c *promptCount) message(m *modelInfo, p *profile, msg gjson.Result) {
	c.messages++
	if !msg.IsObject() {
		c.json(msg)
		return
	}
	msg.ForEach(func(key, value gjson.Result) bool {
		switch key.Str {
		case "content":
			c.content(m, p, value)
		case "name":
			c.names++
			c.json(value)
		case "tool_calls":
			value.ForEach(func(_, call gjson.Result) bool {
				c.toolCalls++
				if fn := call.Get("function"); fn.IsObject() {
					c.json(fn.Get("name"))
					c.json(fn.Get("arguments"))
				} else {
					c.json(call)
				}
				return true
			})
		case "function_call": // the deprecated single call
			c.toolCalls++
			c.json(value.Get("name"))
			c.json(value.Get("arguments"))
		default: // role, tool_call_id, refusal, reasoning_content, and what comes next
			c.json(value)
		}
		return true
	})
}

func (c *promptCount) content(m *modelInfo, p *profile, content gjson.Result) {
	if !content.IsArray() {
		c.json(content)
		return
	}
	content.ForEach(func(_, part gjson.Result) bool {
		switch part.Get("type").Str {
		case "text", "input_text", "output_text":
			c.json(part.Get("text"))
		case "refusal":
			c.json(part.Get("refusal"))
		case "image_url", "input_image", "image":
			c.image(m, p, part)
		case "input_audio", "audio":
			audio := part.Get("input_audio")
			data := dataURL{mediaType: "audio/", base64: true, raw: rawString(audio.Get("data"))}
			c.media += audioTokens(data, audio.Get("format").Str)
		case "file", "input_file":
			c.file(m, p, part)
		default:
			c.json(part)
		}
		return true
	})
}

// image prices an image part: {"image_url": {"url", "detail"}} (or the
// URL as a string, or input_image's image_url).
func (c *promptCount) image(m *modelInfo, p *profile, part gjson.Result) {
	u, detail := part.Get("image_url"), ""
	if u.IsObject() {
		detail = u.Get("detail").Str
		u = u.Get("url")
	} else if d := part.Get("detail"); d.Type == gjson.String {
		detail = d.Str
	}
	w, h := 0, 0
	if d := parseDataURL(rawString(u)); strings.HasPrefix(d.mediaType, "image/") {
		if c.buf == nil {
			c.buf = make([]byte, 0, (headLimit+2)/3*4+headLimit/2)
		}
		w, h, _ = imageSize(d.head(c.buf, headLimit))
	}
	c.media += p.image(m, w, h, detail)
}

// file prices a file part: a PDF by its pages, text by its tokens, any
// other file as a PDF; a file without data as one page.
func (c *promptCount) file(m *modelInfo, p *profile, part gjson.Result) {
	f := part.Get("file")
	if !f.IsObject() {
		f = part
	}
	c.json(f.Get("filename"))
	d := parseDataURL(rawString(f.Get("file_data")))
	switch {
	case d.mediaType == "":
		c.media += FilePartTokens
	case strings.HasPrefix(d.mediaType, "text/"), strings.HasSuffix(d.mediaType, "json"), strings.HasSuffix(d.mediaType, "xml"):
		c.dataText(d)
	default:
		c.media += pdfPages(d) * FilePageTokens
	}
}

// dataText counts a text file in a data URL as text.
func (c *promptCount) dataText(d dataURL) {
	if c.text.exhausted() {
		c.text.addLength(int(d.decodedLen()))
		return
	}
	limit := c.text.budget
	b := d.head(make([]byte, 0, min(len(d.raw), limit+limit/2+4)), limit)
	c.text.add(view(b))
	if rest := d.decodedLen() - int64(len(b)); rest > 0 {
		c.text.addLength(int(rest))
	}
}

// tool counts a tool definition: as its JSON text, or, for makers that
// render tools in a syntax of their own (compactTools), as the text of its
// name, description and parameter schema, whose properties and enum values
// the profile adds framing for.
func (c *promptCount) tool(p *profile, tool gjson.Result) {
	c.tools++
	if !p.compactTools {
		c.json(tool)
		return
	}
	fn := tool.Get("function")
	if !fn.IsObject() { // a legacy functions entry, or a tool of another type
		fn = tool
	}
	fn.ForEach(func(key, value gjson.Result) bool {
		switch key.Str {
		case "parameters":
			c.schema(value)
		case "strict":
		default: // name, description, and what comes next
			c.json(value)
		}
		return true
	})
}

// schema counts the text of a JSON schema the way OpenAI renders one for
// the model (as TypeScript types): property names, types, descriptions
// and enum values are text; the keywords that only shape the rendering are
// not; anything else counts as its JSON text.
func (c *promptCount) schema(s gjson.Result) {
	if !s.IsObject() {
		c.json(s)
		return
	}
	s.ForEach(func(key, value gjson.Result) bool {
		switch key.Str {
		case "properties":
			value.ForEach(func(name, prop gjson.Result) bool {
				c.props++
				c.json(name)
				c.schema(prop)
				return true
			})
		case "items", "not", "if", "then", "else", "contains", "propertyNames":
			c.schema(value)
		case "additionalProperties", "unevaluatedProperties":
			if value.IsObject() {
				c.schema(value)
			}
		case "anyOf", "oneOf", "allOf", "prefixItems":
			value.ForEach(func(_, sub gjson.Result) bool {
				c.schema(sub)
				return true
			})
		case "$defs", "definitions", "patternProperties":
			value.ForEach(func(name, sub gjson.Result) bool {
				c.json(name)
				c.schema(sub)
				return true
			})
		case "enum":
			value.ForEach(func(_, item gjson.Result) bool {
				c.enums++
				c.json(item)
				return true
			})
		case "required", "strict", "$schema", "$id", "title":
		default: // type, description, format, default, const, $ref, …
			c.json(value)
		}
		return true
	})
}

// json counts a value's text: a string's contents, nothing for a missing
// value or null, anything else as its JSON text.
func (c *promptCount) json(v gjson.Result) {
	switch v.Type {
	case gjson.Null:
	case gjson.String:
		if c.text.exhausted() {
			c.text.addLength(len(v.Raw) - 2)
			return
		}
		c.text.add(v.Str)
	default:
		c.text.add(v.Raw)
	}
}

// rawString is a JSON string's contents as they stand in the text (still
// escaped), or "" for anything else.
func rawString(v gjson.Result) string {
	if v.Type != gjson.String || len(v.Raw) < 2 {
		return ""
	}
	return v.Raw[1 : len(v.Raw)-1]
}
