package openaicompat

import (
	"cmp"
	"fmt"
	"net/http"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/jsonvalid"
	"github.com/ownkey/ownkey/provider"
)

// The translation of an OpenAI answer for a client that speaks another
// dialect: every chunk (or the whole answer) is read with gjson and told
// to the client's sink as what it is, a start, text, reasoning, tool-call
// fragments and an end. Only the first choice is translated: a neutral
// answer has one. Off the OpenAI client's path, so plainer than inspect.

// maxToolIndex bounds the tool-call index a provider may use.
const maxToolIndex = 1 << 14

type translation struct {
	started bool
	finish  string
	usage   ownkey.Usage
}

func (x *exchange) translateEvent(data []byte, out *provider.Answer) provider.Step {
	if string(data) == "[DONE]" {
		return x.translatedEnd(out)
	}
	name := x.req.Provider.Name
	// jsonvalid first: gjson's validator recurses per level, and what is
	// passed on must be JSON (text goes to the client as the literal it is).
	switch jsonvalid.Check(data, x.req.MaxJSONDepth) {
	case jsonvalid.ErrTooDeep:
		return x.translatedFail(out, fmt.Sprintf("%s sent a stream event nested deeper than %d levels", name, jsonvalid.Depth(x.req.MaxJSONDepth)))
	case jsonvalid.ErrSyntax:
		return x.translatedFail(out, name+" sent a stream event that is not valid JSON")
	}
	root := gjson.Parse(view(data))
	if !root.IsObject() {
		return provider.StepMore
	}
	if e := root.Get("error"); e.Exists() && e.Type != gjson.Null {
		return x.streamError(out, data, e)
	}
	if x.dropEmpty && !root.Get("choices.0").Exists() && !root.Get("usage").IsObject() {
		// Adapter.DropEmptyChunks: nothing to tell, and its empty id
		// and model must not start the answer.
		return provider.StepMore
	}
	if err := x.translateStart(root, out); err != nil {
		return provider.StepGone
	}
	x.translateUsage(root)
	choice := root.Get("choices.0")
	if f := choice.Get("finish_reason"); f.Type == gjson.String && f.Str != "" {
		x.translated.finish = strings.Clone(f.Str)
	}
	if err := x.translateMessage(choice.Get("delta"), out, true); err != nil {
		return provider.StepGone
	}
	return provider.StepMore
}

// translatedEOF: a stream that closes after its finish reason is complete.
func (x *exchange) translatedEOF(out *provider.Answer) provider.Step {
	if x.translated.finish == "" {
		return provider.StepMore
	}
	return x.translatedEnd(out)
}

func (x *exchange) translatedEnd(out *provider.Answer) provider.Step {
	if !x.translated.started {
		return provider.StepMore // nothing to end: truncated
	}
	if out.End(cmp.Or(x.translated.finish, "stop"), x.translated.usage) != nil {
		return provider.StepGone
	}
	return provider.StepEnd
}

func (x *exchange) translatedFail(out *provider.Answer, message string) provider.Step {
	if out.Fail(provider.CodeStreamError, "upstream_error", message) != nil {
		return provider.StepGone
	}
	return provider.StepEnd
}

// streamError passes on the provider's mid-stream error, less any echo of
// the key.
func (x *exchange) streamError(out *provider.Answer, data []byte, e gjson.Result) provider.Step {
	c := x.req.Credential
	msg := provider.UpstreamMessage(data, c, x.req.MaxJSONDepth)
	if msg == "" {
		msg = x.req.Provider.Name + " reported an error in the stream"
	}
	typ := "upstream_error"
	if t := e.Get("type"); t.Type == gjson.String && t.Str != "" {
		typ = provider.SafeToken(t.Str, c)
	}
	if out.Fail(provider.CodeStreamError, typ, msg) != nil {
		return provider.StepGone
	}
	return provider.StepEnd
}

// translateStart opens the answer with the first chunk's id, model and
// created.
func (x *exchange) translateStart(root gjson.Result, out *provider.Answer) error {
	if x.translated.started {
		return nil
	}
	x.translated.started = true
	created := ownkey.Now().Unix()
	if c := root.Get("created"); c.Type == gjson.Number {
		created = c.Int()
	}
	id := root.Get("id").Str
	if id == "" {
		id = "chatcmpl-" + x.req.RequestID
	}
	return out.Start(id, cmp.Or(root.Get("model").Str, x.req.Model), created)
}

// translateUsage keeps the last non-zero usage.
func (x *exchange) translateUsage(root gjson.Result) {
	if u := root.Get("usage"); u.IsObject() {
		if pu := ParseUsage([]byte(u.Raw)); !pu.IsZero() {
			x.translated.usage = pu
			x.res.Usage = pu
		}
	}
}

// translateMessage tells out what a delta (stream) or message (whole
// answer) holds: content (a refusal counts as content), reasoning, tool
// calls.
func (x *exchange) translateMessage(m gjson.Result, out *provider.Answer, stream bool) error {
	if c := m.Get("content"); isText(c) {
		if err := out.Text(c.Raw); err != nil {
			return err
		}
	}
	if r := m.Get("refusal"); isText(r) {
		if err := out.Text(r.Raw); err != nil {
			return err
		}
	}
	r := m.Get("reasoning_content")
	if !isText(r) {
		r = m.Get("reasoning")
	}
	if isText(r) {
		if err := out.Reasoning(r.Raw); err != nil {
			return err
		}
	}
	var err error
	i := 0
	m.Get("tool_calls").ForEach(func(_, tc gjson.Result) bool {
		index := i
		if n := tc.Get("index"); stream && n.Type == gjson.Number {
			index = int(n.Int())
		}
		i++
		if index < 0 || index >= maxToolIndex {
			return true
		}
		args := tc.Get("function.arguments")
		id, name := tc.Get("id"), tc.Get("function.name")
		switch {
		case id.Type == gjson.String || name.Type == gjson.String:
			lit := `""`
			if args.Type == gjson.String {
				lit = args.Raw
			}
			err = out.ToolCall(index, id.Str, name.Str, lit)
		case isText(args):
			err = out.ToolArgs(index, args.Raw)
		}
		return err == nil
	})
	return err
}

// isText reports whether v is a non-empty JSON string.
func isText(v gjson.Result) bool { return v.Type == gjson.String && len(v.Raw) > 2 }

// translateBody translates a whole answer.
func (x *exchange) translateBody(body []byte, out *provider.Answer) error {
	name := x.req.Provider.Name
	if jsonvalid.Check(body, x.req.MaxJSONDepth) != nil {
		return ownkey.Errorf(ownkey.EUPSTREAM, "%s answered with something other than a chat completion", name)
	}
	root := gjson.Parse(view(body))
	choice := root.Get("choices.0")
	if !choice.Exists() {
		if e := root.Get("error"); e.Exists() && e.Type != gjson.Null {
			return upstreamError(x.req, http.StatusBadGateway, body)
		}
		return ownkey.Errorf(ownkey.EUPSTREAM, "%s answered with something other than a chat completion", name)
	}
	x.translateUsage(root)
	if err := x.translateStart(root, out); err != nil {
		return err
	}
	if err := x.translateMessage(choice.Get("message"), out, false); err != nil {
		return err
	}
	return out.End(cmp.Or(choice.Get("finish_reason").Str, "stop"), x.translated.usage)
}
