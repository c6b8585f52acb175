package responses

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider/openaichat"
)

// The Responses API request: the members ownkey sends (see the package
// comment for where each comes from).
type responsesRequest struct {
	Model             string          `json:"model"`
	Input             []inputItem     `json:"input"`
	Stream            bool            `json:"stream,omitempty"`
	Store             bool            `json:"store"` // always false: see the package comment
	MaxOutputTokens   *int64          `json:"max_output_tokens,omitempty"`
	Temperature       *float64        `json:"temperature,omitempty"`
	TopP              *float64        `json:"top_p,omitempty"`
	Tools             []tool          `json:"tools,omitempty"`
	ToolChoice        any             `json:"tool_choice,omitempty"` // a mode string or a namedTool
	ParallelToolCalls *bool           `json:"parallel_tool_calls,omitempty"`
	Text              *textConfig     `json:"text,omitempty"`
	Reasoning         *reasoning      `json:"reasoning,omitempty"`
	SafetyIdentifier  string          `json:"safety_identifier,omitempty"`
	User              string          `json:"user,omitempty"`
	PromptCacheKey    *string         `json:"prompt_cache_key,omitempty"`
	PromptCacheRet    *string         `json:"prompt_cache_retention,omitempty"`
	ServiceTier       *string         `json:"service_tier,omitempty"`
	Metadata          json.RawMessage `json:"metadata,omitempty"`
}

// inputItem is every input item kind in one struct; each kind sets only
// its own members. A message has a role and content (no type: the "easy"
// message form, which takes every role); function_call and
// function_call_output items have a type and a call_id.
type inputItem struct {
	Type      string `json:"type,omitempty"`
	Role      string `json:"role,omitempty"`
	Content   []part `json:"content,omitempty"`
	CallID    string `json:"call_id,omitempty"`
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments,omitempty"`
	// Output is a function_call_output's result: always sent, even
	// empty, as the API requires it.
	Output *string `json:"output,omitempty"`
}

// part is a content part of an input message: input_text, input_image,
// input_file, and output_text for the assistant's own earlier answers.
type part struct {
	Type     string `json:"type"`
	Text     string `json:"text,omitempty"`
	ImageURL string `json:"image_url,omitempty"`
	Detail   string `json:"detail,omitempty"`
	FileData string `json:"file_data,omitempty"`
	FileID   string `json:"file_id,omitempty"`
	Filename string `json:"filename,omitempty"`
}

// tool is a function tool, flattened: the Responses API has no nested
// function object.
type tool struct {
	Type        string          `json:"type"`
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters"`
	Strict      bool            `json:"strict"`
}

type namedTool struct {
	Type string `json:"type"`
	Name string `json:"name"`
}

type textConfig struct {
	Format    *textFormat `json:"format,omitempty"`
	Verbosity *string     `json:"verbosity,omitempty"`
}

// textFormat is response_format, flattened: json_schema's name, schema and
// strict sit beside its type.
type textFormat struct {
	Type        string          `json:"type"`
	Name        string          `json:"name,omitempty"`
	Description string          `json:"description,omitempty"`
	Schema      json.RawMessage `json:"schema,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
}

type reasoning struct {
	Effort  *string `json:"effort,omitempty"`
	Summary *string `json:"summary,omitempty"`
}

// defaultSchemaName names a json_schema response_format that has no name:
// the Responses API requires one.
const defaultSchemaName = "response"

// emptyParameters is the parameters of a function tool that takes none.
var emptyParameters = json.RawMessage(`{"type":"object","properties":{}}`)

// translateRequest turns the client's OpenAI request into a Responses
// request body. Every error is an EINVALID naming the field at fault.
func translateRequest(req *ownkey.ChatRequest) ([]byte, error) {
	in, err := openaichat.Decode(req.Body)
	if err != nil {
		return nil, err
	}
	if err := checkUnsupported(in); err != nil {
		return nil, err
	}
	out := responsesRequest{Model: req.Model, Stream: req.Stream, Store: false,
		Temperature: in.Temperature, TopP: in.TopP, ParallelToolCalls: in.ParallelToolCalls,
		SafetyIdentifier: in.SafetyIdentifier, User: in.User, PromptCacheKey: in.PromptCacheKey,
		PromptCacheRet: in.PromptCacheRetention, ServiceTier: in.ServiceTier}
	if openaichat.Present(in.Metadata) {
		out.Metadata = in.Metadata
	}
	if out.Input, err = translateMessages(in.Messages); err != nil {
		return nil, err
	}
	if len(out.Input) == 0 {
		return nil, ownkey.FieldError("messages", "messages needs at least one message with content")
	}
	switch {
	case in.MaxCompletionTokens != nil:
		out.MaxOutputTokens = in.MaxCompletionTokens
		if *in.MaxCompletionTokens < 1 {
			return nil, ownkey.FieldError("max_completion_tokens", "max_completion_tokens must be at least 1")
		}
	case in.MaxTokens != nil:
		out.MaxOutputTokens = in.MaxTokens
		if *in.MaxTokens < 1 {
			return nil, ownkey.FieldError("max_tokens", "max_tokens must be at least 1")
		}
	}
	if out.Tools, err = translateTools(in.Tools); err != nil {
		return nil, err
	}
	if out.ToolChoice, err = translateToolChoice(in); err != nil {
		return nil, err
	}
	format, err := translateResponseFormat(in.ResponseFormat)
	if err != nil {
		return nil, err
	}
	if format != nil || in.Verbosity != nil {
		out.Text = &textConfig{Format: format, Verbosity: in.Verbosity}
	}
	if out.Reasoning, err = translateReasoning(in); err != nil {
		return nil, err
	}

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&out); err != nil {
		// Only a value the decoder accepted is here; a failure is ours.
		return nil, ownkey.Errorf(ownkey.EINTERNAL, "encoding the Responses request: %v", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// checkUnsupported applies the rejection policy of the package comment.
func checkUnsupported(in *openaichat.Request) error {
	if stops, err := in.StopSequences(); err != nil || len(stops) > 0 {
		// Empty stop strings stop nothing, and some clients send them.
		return ownkey.FieldError("stop", "stop sequences are not supported by the Responses API")
	}
	switch {
	case in.N != nil && *in.N != 1:
		return ownkey.FieldError("n", "n must be 1: the Responses API returns one answer per request")
	case in.Logprobs != nil && *in.Logprobs:
		return ownkey.FieldError("logprobs", "logprobs are not available through ownkey's Responses API adapter")
	case in.TopLogprobs != nil && *in.TopLogprobs > 0:
		return ownkey.FieldError("top_logprobs", "logprobs are not available through ownkey's Responses API adapter")
	case len(in.LogitBias) > 0:
		return ownkey.FieldError("logit_bias", "logit_bias is not supported by the Responses API")
	case openaichat.Present(in.Audio) || slices.Contains(in.Modalities, "audio"):
		return ownkey.FieldError("modalities", "audio output is not supported by the Responses API")
	case openaichat.Present(in.Functions) || openaichat.Present(in.FunctionCall):
		return ownkey.FieldError("functions", "the legacy functions and function_call fields are not supported; use tools and tool_choice")
	case openaichat.Present(in.WebSearchOptions):
		return ownkey.FieldError("web_search_options", "web_search_options is not supported by ownkey's Responses API adapter")
	}
	return nil
}

// translateMessages turns the conversation into input items, in order.
func translateMessages(msgs []openaichat.Message) ([]inputItem, error) {
	var items []inputItem
	for i := range msgs {
		m := &msgs[i]
		at := fmt.Sprintf("messages[%d]", i)
		if openaichat.Present(m.FunctionCall) {
			return nil, ownkey.FieldError(at+".function_call", "the legacy function_call is not supported; use tool_calls")
		}
		var err error
		switch m.Role {
		case "system", "developer":
			var text string
			if text, err = plainText(m, at); err == nil && text != "" {
				items = append(items, inputItem{Role: m.Role, Content: []part{{Type: "input_text", Text: text}}})
			}
		case "user":
			var parts []part
			if parts, err = userParts(m, at); err == nil && len(parts) > 0 {
				items = append(items, inputItem{Role: "user", Content: parts})
			}
		case "assistant":
			items, err = appendAssistant(items, m, at)
		case "tool":
			if m.ToolCallID == "" {
				return nil, ownkey.FieldError(at+".tool_call_id", "a tool message needs the tool_call_id it answers")
			}
			var text string
			if text, err = plainText(m, at); err == nil {
				items = append(items, inputItem{Type: "function_call_output", CallID: m.ToolCallID, Output: &text})
			}
		default:
			return nil, openaichat.RoleError(at, m.Role)
		}
		if err != nil {
			return nil, err
		}
	}
	return items, nil
}

// plainText reads content that may hold only text (system, developer and
// tool messages): a string, or text parts joined.
func plainText(m *openaichat.Message, at string) (string, error) {
	text, parts, err := m.TextParts(at)
	if err != nil || text != "" {
		return text, err
	}
	var b strings.Builder
	for _, p := range parts {
		b.WriteString(p.Text)
	}
	return b.String(), nil
}

func userParts(m *openaichat.Message, at string) ([]part, error) {
	text, parts, err := m.Parts(at)
	if err != nil {
		return nil, err
	}
	if text != "" {
		return []part{{Type: "input_text", Text: text}}, nil
	}
	var out []part
	for j, p := range parts {
		pat := fmt.Sprintf("%s.content[%d]", at, j)
		switch p.Type {
		case "text":
			if p.Text != "" {
				out = append(out, part{Type: "input_text", Text: p.Text})
			}
		case "image_url":
			if p.ImageURL == nil || p.ImageURL.URL == "" {
				return nil, ownkey.FieldError(pat+".image_url.url", "image_url.url is required")
			}
			detail := p.ImageURL.Detail
			switch detail {
			case "":
				detail = "auto" // the API requires one
			case "auto", "low", "high":
			default:
				return nil, ownkey.FieldError(pat+".image_url.detail", "image_url.detail must be auto, low or high")
			}
			out = append(out, part{Type: "input_image", ImageURL: p.ImageURL.URL, Detail: detail})
		case "file":
			fp, err := filePart(&p, j, pat)
			if err != nil {
				return nil, err
			}
			out = append(out, fp)
		case "input_audio":
			return nil, ownkey.FieldError(pat, "audio input is not supported by ownkey's Responses API adapter")
		default:
			return nil, ownkey.FieldError(pat+".type", "unsupported content part type %q", p.Type)
		}
	}
	return out, nil
}

// filePart is a file part as input_file: an uploaded file's id, or the
// file's data URL with a file name (the API wants one; a PDF without a
// name gets part-N.pdf, as the Vercel AI SDK names it).
func filePart(p *openaichat.ContentPart, j int, at string) (part, error) {
	f := p.File
	switch {
	case f == nil || f.FileData == "" && f.FileID == "":
		return part{}, ownkey.FieldError(at+".file.file_data", "file needs file_data or file_id")
	case f.FileID != "":
		return part{Type: "input_file", FileID: f.FileID}, nil
	}
	mediaType, _, ok := openaichat.ParseDataURL(f.FileData)
	if !ok {
		return part{}, ownkey.FieldError(at+".file.file_data", "file_data must be a base64 data: URL, like data:application/pdf;base64,<data>")
	}
	name := f.Filename
	if name == "" {
		name = fmt.Sprintf("part-%d", j)
		if mediaType == "application/pdf" {
			name += ".pdf"
		}
	}
	return part{Type: "input_file", FileData: f.FileData, Filename: name}, nil
}

// appendAssistant appends an assistant message: its text as an assistant
// message, then one function_call item per tool call, as the model
// produced them.
func appendAssistant(items []inputItem, m *openaichat.Message, at string) ([]inputItem, error) {
	text, parts, err := m.Parts(at)
	if err != nil {
		return nil, err
	}
	for j, p := range parts {
		switch p.Type {
		case "text":
			text += p.Text
		case "refusal":
			text += p.Refusal
		default:
			return nil, ownkey.FieldError(fmt.Sprintf("%s.content[%d].type", at, j), "assistant content parts must be text or refusal, not %q", p.Type)
		}
	}
	if text == "" && m.Refusal != nil {
		text = *m.Refusal
	}
	if text != "" {
		items = append(items, inputItem{Role: "assistant", Content: []part{{Type: "output_text", Text: text}}})
	}
	for j, tc := range m.ToolCalls {
		tat := fmt.Sprintf("%s.tool_calls[%d]", at, j)
		if tc.ID == "" {
			return nil, ownkey.FieldError(tat+".id", "a tool call needs its id")
		}
		if tc.Function.Name == "" {
			return nil, ownkey.FieldError(tat+".function.name", "a tool call needs its function name")
		}
		args := tc.Function.Arguments
		if strings.TrimSpace(args) == "" {
			args = "{}"
		}
		items = append(items, inputItem{Type: "function_call", CallID: tc.ID, Name: tc.Function.Name, Arguments: args})
	}
	return items, nil
}

// translateTools flattens function tools; strict is always sent (false
// unless the client asked for it), as the API's own SDKs do.
func translateTools(tools []openaichat.Tool) ([]tool, error) {
	var out []tool
	for i, t := range tools {
		params, err := t.FunctionParameters(fmt.Sprintf("tools[%d]", i))
		if err != nil {
			return nil, err
		}
		if params == nil {
			params = emptyParameters
		}
		strict := t.Function.Strict != nil && *t.Function.Strict
		out = append(out, tool{Type: "function", Name: t.Function.Name, Description: t.Function.Description, Parameters: params, Strict: strict})
	}
	return out, nil
}

// translateToolChoice: the modes as they are, a named function as
// {"type":"function","name":…}.
func translateToolChoice(in *openaichat.Request) (any, error) {
	c, err := in.ParseToolChoice()
	if c == nil || err != nil {
		return nil, err
	}
	if len(in.Tools) == 0 {
		// The API rejects a tool_choice without tools; OpenAI clients
		// send one by default.
		return nil, nil
	}
	if c.Mode == openaichat.ToolChoiceFunction {
		return namedTool{Type: "function", Name: c.Function}, nil
	}
	return c.Mode, nil
}

// translateResponseFormat maps response_format to text.format: text as
// nothing (the default), json_object as it is, json_schema flattened.
func translateResponseFormat(rf *openaichat.ResponseFormat) (*textFormat, error) {
	if rf == nil {
		return nil, nil
	}
	switch rf.Type {
	case "", "text":
		return nil, nil
	case "json_object":
		return &textFormat{Type: "json_object"}, nil
	case "json_schema":
	default:
		return nil, ownkey.FieldError("response_format.type", "response_format type must be text, json_object or json_schema")
	}
	js := rf.JSONSchema
	if js == nil || !openaichat.Present(js.Schema) {
		return nil, ownkey.FieldError("response_format.json_schema.schema", "json_schema needs a schema")
	}
	if s := bytes.TrimSpace(js.Schema); s[0] != '{' {
		return nil, ownkey.FieldError("response_format.json_schema.schema", "the schema must be a JSON Schema object")
	}
	name := js.Name
	if name == "" {
		name = defaultSchemaName
	}
	return &textFormat{Type: "json_schema", Name: name, Description: js.Description, Schema: js.Schema, Strict: js.Strict}, nil
}

// translateReasoning sets reasoning.effort from reasoning_effort (or the
// effort of an OpenRouter-style reasoning object) and reasoning.summary
// from that object's summary: summaries are what comes back as
// reasoning_content, and are only produced when asked for.
func translateReasoning(in *openaichat.Request) (*reasoning, error) {
	var r reasoning
	if raw := bytes.TrimSpace(in.Reasoning); openaichat.Present(raw) {
		var obj struct {
			Effort  *string `json:"effort"`
			Summary *string `json:"summary"`
		}
		if raw[0] != '{' || json.Unmarshal(raw, &obj) != nil {
			return nil, ownkey.FieldError("reasoning", `reasoning must be an object such as {"effort":"low","summary":"auto"}`)
		}
		r.Effort, r.Summary = obj.Effort, obj.Summary
	}
	if e := in.ReasoningEffort; e != nil {
		if r.Effort != nil && *r.Effort != *e {
			return nil, ownkey.FieldError("reasoning_effort", "reasoning_effort and reasoning.effort disagree")
		}
		r.Effort = e
	}
	if r.Effort == nil && r.Summary == nil {
		return nil, nil
	}
	return &r, nil
}
