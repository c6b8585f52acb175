package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/dialect/openai"
)

// The translation of a Messages request into OpenAI Chat Completions, for
// every provider that does not speak Messages itself:
//
//	system (string or text blocks)      a system message, first
//	user text, image, document blocks   a user message's parts (text,
//	                                    image_url with a data: or https URL,
//	                                    file with a PDF data: URL; a text
//	                                    document as text)
//	user tool_result blocks             tool messages (tool_call_id), before
//	                                    the user message of the turn's other
//	                                    parts; a result's images join those
//	assistant text, tool_use blocks     an assistant message's content and
//	                                    tool_calls (input as the arguments)
//	assistant thinking blocks           dropped: their signatures mean
//	                                    nothing to another provider
//	tools (custom)                      function tools (input_schema as the
//	                                    parameters; strict kept)
//	tool_choice auto, any, none, tool   auto, required, none, the function;
//	                                    disable_parallel_tool_use →
//	                                    parallel_tool_calls false
//	max_tokens                          max_completion_tokens for OpenAI and
//	                                    Azure, else max_tokens
//	stop_sequences                      stop
//	temperature, top_p                  as they are
//	top_k                               as it is, except to OpenAI-compatible
//	                                    APIs but OpenRouter, which refuse it
//	thinking enabled (budget_tokens)    reasoning_effort: low up to 2048,
//	                                    medium up to 8192, else high
//	output_config.effort                reasoning_effort (max as high)
//	output_config.format json_schema    response_format json_schema
//	stream                              stream, with usage asked for
//	metadata, service_tier,             dropped: hints with no effect on the
//	context_management                  answer's shape
//
// cache_control on text and image blocks (and the system's) is kept where
// the provider reads it (OpenRouter; the families that translate OpenAI's
// request for Claude), and dropped for the other OpenAI-compatible APIs,
// which refuse members they do not know.
//
// What only Anthropic can serve is refused with a 400 naming the field,
// since dropping it would change the answer: server tools (a tool whose
// type is not custom), server tool blocks in the conversation
// (server_tool_use, web_search_tool_result, …), mcp_servers, container,
// image and document sources of type file (Anthropic's Files API),
// document URLs, search_result blocks.

// Target is what the translation needs to know of the provider the request
// goes to.
type Target struct {
	// Provider is the routed provider.
	Provider *ownkey.Provider
	// Model is the model id the provider must be sent.
	Model string
}

// request is the Messages request as the translation reads it.
type request struct {
	MaxTokens     *int64          `json:"max_tokens"`
	Messages      []message       `json:"messages"`
	System        json.RawMessage `json:"system"`
	StopSequences []string        `json:"stop_sequences"`
	Temperature   *float64        `json:"temperature"`
	TopP          *float64        `json:"top_p"`
	TopK          *int64          `json:"top_k"`
	Stream        *bool           `json:"stream"`
	Tools         []tool          `json:"tools"`
	ToolChoice    *toolChoice     `json:"tool_choice"`
	Thinking      *thinking       `json:"thinking"`
	OutputConfig  *outputConfig   `json:"output_config"`
	MCPServers    json.RawMessage `json:"mcp_servers"`
	Container     json.RawMessage `json:"container"`
}

type message struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// contentBlock is a block of a message's content, a tool result's content
// or the system prompt; each type sets its own fields.
type contentBlock struct {
	Type string `json:"type"`
	Text string `json:"text"`
	// Source is read by the types that have one (image, document): other
	// blocks name something else source (search_result's is a string).
	Source       json.RawMessage `json:"source"`
	Title        string          `json:"title"`
	ID           string          `json:"id"`
	Name         string          `json:"name"`
	Input        json.RawMessage `json:"input"`
	ToolUseID    string          `json:"tool_use_id"`
	Content      json.RawMessage `json:"content"`
	CacheControl json.RawMessage `json:"cache_control"`
}

type source struct {
	Type      string          `json:"type"`
	MediaType string          `json:"media_type"`
	Data      string          `json:"data"`
	URL       string          `json:"url"`
	Content   json.RawMessage `json:"content"`
}

type tool struct {
	Type         string          `json:"type"`
	Name         string          `json:"name"`
	Description  string          `json:"description"`
	InputSchema  json.RawMessage `json:"input_schema"`
	Strict       *bool           `json:"strict"`
	CacheControl json.RawMessage `json:"cache_control"`
}

type toolChoice struct {
	Type                   string `json:"type"`
	Name                   string `json:"name"`
	DisableParallelToolUse bool   `json:"disable_parallel_tool_use"`
}

type thinking struct {
	Type         string `json:"type"`
	BudgetTokens int64  `json:"budget_tokens"`
}

type outputConfig struct {
	Effort string `json:"effort"`
	Format *struct {
		Type   string          `json:"type"`
		Schema json.RawMessage `json:"schema"`
	} `json:"format"`
}

// The OpenAI Chat Completions request written.
type chatRequest struct {
	Model               string                 `json:"model"`
	Messages            []openai.ChatMessage   `json:"messages"`
	MaxTokens           *int64                 `json:"max_tokens,omitempty"`
	MaxCompletionTokens *int64                 `json:"max_completion_tokens,omitempty"`
	Temperature         *float64               `json:"temperature,omitempty"`
	TopP                *float64               `json:"top_p,omitempty"`
	TopK                *int64                 `json:"top_k,omitempty"`
	Stop                []string               `json:"stop,omitempty"`
	Tools               []openai.ChatTool      `json:"tools,omitempty"`
	ToolChoice          any                    `json:"tool_choice,omitempty"`
	ParallelToolCalls   *bool                  `json:"parallel_tool_calls,omitempty"`
	ReasoningEffort     string                 `json:"reasoning_effort,omitempty"`
	ResponseFormat      *openai.ResponseFormat `json:"response_format,omitempty"`
	Stream              bool                   `json:"stream,omitempty"`
	StreamOptions       *openai.StreamOptions  `json:"stream_options,omitempty"`
}

type textPart struct {
	Type         string          `json:"type"`
	Text         string          `json:"text"`
	CacheControl json.RawMessage `json:"cache_control,omitempty"`
}

type imagePart struct {
	Type         string          `json:"type"`
	ImageURL     openai.ImageURL `json:"image_url"`
	CacheControl json.RawMessage `json:"cache_control,omitempty"`
}

type filePart struct {
	Type string   `json:"type"`
	File fileData `json:"file"`
}

type fileData struct {
	Filename string `json:"filename,omitempty"`
	FileData string `json:"file_data"`
}

// Translate turns body, a Messages request already checked to be valid
// JSON within the depth limit, into an OpenAI Chat Completions request for
// t (see the table above). Its error is the client's: an EINVALID naming
// the field.
func Translate(body []byte, t Target) ([]byte, error) {
	var in request
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, decodeError(err)
	}
	p := t.Provider
	// The body goes as it is to an OpenAI-compatible API (openaicompat,
	// Azure's chat), which may refuse members of its own it does not
	// know; the translating families read what OpenRouter-style clients
	// send.
	compatible := p.Wire == ownkey.WireOpenAI || p.Wire == ownkey.WireAzure
	x := translator{extensions: !compatible || p.ID == "openrouter"}
	out := chatRequest{Model: t.Model}

	if err := x.system(in.System, &out); err != nil {
		return nil, err
	}
	if len(in.Messages) == 0 {
		return nil, ownkey.FieldError("messages", "messages is required and must be a non-empty array")
	}
	system := len(out.Messages)
	for i := range in.Messages {
		if err := x.message(&in.Messages[i], "messages["+strconv.Itoa(i)+"]", &out); err != nil {
			return nil, err
		}
	}
	if len(out.Messages) == system {
		return nil, ownkey.FieldError("messages", "messages hold no content: every message is empty (or holds only thinking)")
	}

	if in.MaxTokens != nil {
		if p.ID == "openai" || p.Wire == ownkey.WireAzure {
			out.MaxCompletionTokens = in.MaxTokens
		} else {
			out.MaxTokens = in.MaxTokens
		}
	}
	out.Temperature, out.TopP = in.Temperature, in.TopP
	if x.extensions {
		out.TopK = in.TopK
	}
	for _, s := range in.StopSequences {
		if s != "" {
			out.Stop = append(out.Stop, s)
		}
	}
	if err := x.tools(&in, &out); err != nil {
		return nil, err
	}
	if err := reasoning(&in, &out); err != nil {
		return nil, err
	}
	if present(in.MCPServers) && string(bytes.TrimSpace(in.MCPServers)) != "[]" {
		return nil, ownkey.FieldError("mcp_servers", "mcp_servers is run by Anthropic's API; route the request to anthropic to use it")
	}
	if present(in.Container) {
		return nil, ownkey.FieldError("container", "container is Anthropic's code execution container; route the request to anthropic to use it")
	}
	if in.Stream != nil && *in.Stream {
		out.Stream = true
		out.StreamOptions = &openai.StreamOptions{IncludeUsage: true}
	}

	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&out); err != nil {
		return nil, ownkey.Errorf(ownkey.EINVALID, "the request cannot be translated: %v", err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// decodeError names the field encoding/json could not decode.
func decodeError(err error) error {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) && typeErr.Field != "" {
		return ownkey.FieldError(typeErr.Field, "%s has the wrong type: expected %s", typeErr.Field, jsonType(typeErr.Type.String()))
	}
	return ownkey.Errorf(ownkey.EINVALID, "request body is not a valid Messages request")
}

// jsonType names a Go type as the JSON a client sends.
func jsonType(goType string) string {
	switch {
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	case goType == "string":
		return "a string"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "float"):
		return "a number"
	case goType == "bool":
		return "a boolean"
	}
	return "an object"
}

type translator struct {
	// extensions: the provider reads cache_control and top_k.
	extensions bool
}

// cache is a block's cache_control where the provider reads it.
func (x *translator) cache(raw json.RawMessage) json.RawMessage {
	if !x.extensions || !present(raw) {
		return nil
	}
	return raw
}

// blocks reads content: a string (one text block) or an array of blocks.
func blocks(raw json.RawMessage, at string) (string, []contentBlock, bool, error) {
	raw = bytes.TrimSpace(raw)
	if !present(raw) {
		return "", nil, false, ownkey.FieldError(at, "%s is required: a string or an array of content blocks", at)
	}
	switch raw[0] {
	case '"':
		var s string
		err := json.Unmarshal(raw, &s)
		return s, nil, true, err
	case '[':
		var bs []contentBlock
		if err := json.Unmarshal(raw, &bs); err != nil {
			var typeErr *json.UnmarshalTypeError
			if errors.As(err, &typeErr) && typeErr.Field != "" {
				return "", nil, false, ownkey.FieldError(at, "%s: block field %s has the wrong type", at, typeErr.Field)
			}
			return "", nil, false, ownkey.FieldError(at, "%s must be a string or an array of content blocks", at)
		}
		return "", bs, false, nil
	}
	return "", nil, false, ownkey.FieldError(at, "%s must be a string or an array of content blocks", at)
}

// system puts the system prompt first.
func (x *translator) system(raw json.RawMessage, out *chatRequest) error {
	if !present(raw) {
		return nil
	}
	text, bs, isString, err := blocks(raw, "system")
	if err != nil {
		return err
	}
	if isString {
		if text != "" {
			out.Messages = append(out.Messages, openai.ChatMessage{Role: "system", Content: text})
		}
		return nil
	}
	var parts []any
	for j := range bs {
		b := &bs[j]
		if b.Type != "text" {
			return ownkey.FieldError("system["+strconv.Itoa(j)+"].type", "system blocks must be text blocks")
		}
		parts = append(parts, textPart{Type: "text", Text: b.Text, CacheControl: x.cache(b.CacheControl)})
	}
	if len(parts) > 0 {
		out.Messages = append(out.Messages, openai.ChatMessage{Role: "system", Content: content(parts)})
	}
	return nil
}

// content is parts as a message's content: the text alone when it is one
// text part without cache_control (what every OpenAI-compatible API
// takes), else the parts.
func content(parts []any) any {
	if len(parts) == 1 {
		if t, ok := parts[0].(textPart); ok && t.CacheControl == nil {
			return t.Text
		}
	}
	if len(parts) > 1 {
		// Several texts without cache_control: one string, joined as
		// Anthropic reads consecutive text blocks.
		var sb strings.Builder
		for i, p := range parts {
			t, ok := p.(textPart)
			if !ok || t.CacheControl != nil {
				return parts
			}
			if i > 0 {
				sb.WriteString("\n\n")
			}
			sb.WriteString(t.Text)
		}
		return sb.String()
	}
	return parts
}

func (x *translator) message(m *message, at string, out *chatRequest) error {
	text, bs, isString, err := blocks(m.Content, at+".content")
	if err != nil {
		return err
	}
	switch m.Role {
	case "user", "assistant":
	default:
		return ownkey.FieldError(at+".role", "%s.role must be \"user\" or \"assistant\" (the system prompt is the system member)", at)
	}
	if isString {
		out.Messages = append(out.Messages, openai.ChatMessage{Role: m.Role, Content: text})
		return nil
	}
	if m.Role == "assistant" {
		return x.assistant(bs, at, out)
	}
	return x.user(bs, at, out)
}

// user translates a user turn: its tool results first, as tool messages
// (they must follow the assistant's tool calls), then its other parts.
func (x *translator) user(bs []contentBlock, at string, out *chatRequest) error {
	var parts []any
	for j := range bs {
		b := &bs[j]
		bat := at + ".content[" + strconv.Itoa(j) + "]"
		if b.Type == "tool_result" {
			if b.ToolUseID == "" {
				return ownkey.FieldError(bat+".tool_use_id", "%s.tool_use_id is required", bat)
			}
			result, media, err := x.toolResult(b, bat)
			if err != nil {
				return err
			}
			out.Messages = append(out.Messages, openai.ChatMessage{Role: "tool", ToolCallID: b.ToolUseID, Content: result})
			parts = append(parts, media...)
			continue
		}
		p, err := x.part(b, bat)
		if err != nil {
			return err
		}
		if p != nil {
			parts = append(parts, p)
		}
	}
	if len(parts) > 0 {
		out.Messages = append(out.Messages, openai.ChatMessage{Role: "user", Content: content(parts)})
	}
	return nil
}

// toolResult is a tool result's text, and its images and documents, which
// a tool message cannot hold (they follow in the user message).
func (x *translator) toolResult(b *contentBlock, at string) (string, []any, error) {
	if !present(b.Content) {
		return "", nil, nil
	}
	text, bs, isString, err := blocks(b.Content, at+".content")
	if err != nil || isString {
		return text, nil, err
	}
	var sb strings.Builder
	var media []any
	for j := range bs {
		c := &bs[j]
		cat := at + ".content[" + strconv.Itoa(j) + "]"
		if c.Type == "text" {
			if sb.Len() > 0 {
				sb.WriteString("\n")
			}
			sb.WriteString(c.Text)
			continue
		}
		p, err := x.part(c, cat)
		if err != nil {
			return "", nil, err
		}
		if p != nil {
			media = append(media, p)
		}
	}
	return sb.String(), media, nil
}

// part is a user block as an OpenAI content part (nil for none).
func (x *translator) part(b *contentBlock, at string) (any, error) {
	switch b.Type {
	case "text":
		return textPart{Type: "text", Text: b.Text, CacheControl: x.cache(b.CacheControl)}, nil
	case "image":
		url, err := imageSource(b.Source, at)
		if err != nil {
			return nil, err
		}
		return imagePart{Type: "image_url", ImageURL: openai.ImageURL{URL: url}, CacheControl: x.cache(b.CacheControl)}, nil
	case "document":
		return x.document(b, at)
	case "thinking", "redacted_thinking":
		return nil, nil
	case "":
		return nil, ownkey.FieldError(at+".type", "%s.type is required", at)
	}
	return nil, unsupportedBlock(b.Type, at)
}

// unsupportedBlock refuses a block only Anthropic can read.
func unsupportedBlock(typ, at string) error {
	return ownkey.FieldError(at+".type", "content blocks of type %q are served only by Anthropic's API; route the request to anthropic (or azure-anthropic-foundry) to send them", safe(typ))
}

// safe quotes a client's type name only if it looks like one.
func safe(s string) string {
	if len(s) > 64 || strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-')
	}) >= 0 {
		return "(unknown)"
	}
	return s
}

// readSource reads a block's source object.
func readSource(raw json.RawMessage, at string) (*source, error) {
	if !present(raw) {
		return nil, ownkey.FieldError(at+".source", "%s.source is required", at)
	}
	var s source
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, ownkey.FieldError(at+".source", "%s.source must be an object with a type", at)
	}
	return &s, nil
}

// imageSource is an image's URL for OpenAI: a data: URL of base64 data,
// or the https URL.
func imageSource(raw json.RawMessage, at string) (string, error) {
	s, err := readSource(raw, at)
	if err != nil {
		return "", err
	}
	switch s.Type {
	case "base64":
		if s.MediaType == "" || s.Data == "" {
			return "", ownkey.FieldError(at+".source", "%s.source needs media_type and data", at)
		}
		return "data:" + s.MediaType + ";base64," + s.Data, nil
	case "url":
		if s.URL == "" {
			return "", ownkey.FieldError(at+".source.url", "%s.source.url is required", at)
		}
		return s.URL, nil
	}
	return "", ownkey.FieldError(at+".source.type", "%s.source.type must be base64 or url here (file sources are Anthropic's Files API: route the request to anthropic)", at)
}

// document is a document block: a PDF (base64) as a file part, plain text
// or content blocks as text.
func (x *translator) document(b *contentBlock, at string) (any, error) {
	s, err := readSource(b.Source, at)
	if err != nil {
		return nil, err
	}
	switch s.Type {
	case "base64":
		if s.MediaType != "application/pdf" {
			return nil, ownkey.FieldError(at+".source.media_type", "%s.source.media_type must be application/pdf", at)
		}
		name := b.Title
		if name == "" {
			name = "document.pdf"
		}
		return filePart{Type: "file", File: fileData{Filename: name, FileData: "data:application/pdf;base64," + s.Data}}, nil
	case "text":
		return textPart{Type: "text", Text: titled(b.Title, s.Data), CacheControl: x.cache(b.CacheControl)}, nil
	case "content":
		text, bs, isString, err := blocks(s.Content, at+".source.content")
		if err != nil {
			return nil, err
		}
		if !isString {
			var sb strings.Builder
			for j := range bs {
				if bs[j].Type != "text" {
					return nil, ownkey.FieldError(at+".source.content["+strconv.Itoa(j)+"].type", "only text blocks can be translated in a document's content")
				}
				if sb.Len() > 0 {
					sb.WriteString("\n")
				}
				sb.WriteString(bs[j].Text)
			}
			text = sb.String()
		}
		return textPart{Type: "text", Text: titled(b.Title, text), CacheControl: x.cache(b.CacheControl)}, nil
	}
	return nil, ownkey.FieldError(at+".source.type", "%s.source.type must be base64 (a PDF), text or content here (URL and file sources are fetched by Anthropic: route the request to anthropic)", at)
}

func titled(title, text string) string {
	if title == "" {
		return text
	}
	return title + "\n\n" + text
}

// assistant translates an assistant turn: its text and its tool calls.
func (x *translator) assistant(bs []contentBlock, at string, out *chatRequest) error {
	msg := openai.ChatMessage{Role: "assistant"}
	var parts []any
	for j := range bs {
		b := &bs[j]
		bat := at + ".content[" + strconv.Itoa(j) + "]"
		switch b.Type {
		case "text":
			parts = append(parts, textPart{Type: "text", Text: b.Text, CacheControl: x.cache(b.CacheControl)})
		case "tool_use":
			if b.ID == "" || b.Name == "" {
				return ownkey.FieldError(bat, "%s: a tool_use block needs an id and a name", bat)
			}
			args, err := arguments(b.Input, bat)
			if err != nil {
				return err
			}
			msg.ToolCalls = append(msg.ToolCalls, openai.ToolCall{ID: b.ID, Type: "function", Function: openai.ToolCallFunction{Name: b.Name, Arguments: args}})
		case "thinking", "redacted_thinking":
			// Signed for Anthropic: no other provider can read them.
		case "":
			return ownkey.FieldError(bat+".type", "%s.type is required", bat)
		default:
			return unsupportedBlock(b.Type, bat)
		}
	}
	switch {
	case len(parts) > 0:
		msg.Content = content(parts)
	case len(msg.ToolCalls) == 0:
		return nil // thinking only: nothing another provider can read
	}
	out.Messages = append(out.Messages, msg)
	return nil
}

// arguments is a tool_use input as OpenAI's arguments string: the object's
// compact JSON ("{}" when absent).
func arguments(input json.RawMessage, at string) (string, error) {
	if !present(input) {
		return "{}", nil
	}
	var b bytes.Buffer
	if err := json.Compact(&b, input); err != nil || b.Len() == 0 || b.Bytes()[0] != '{' {
		return "", ownkey.FieldError(at+".input", "%s.input must be an object", at)
	}
	return b.String(), nil
}

// tools translates tools and tool_choice.
func (x *translator) tools(in *request, out *chatRequest) error {
	for i := range in.Tools {
		t := &in.Tools[i]
		at := "tools[" + strconv.Itoa(i) + "]"
		if t.Type != "" && t.Type != "custom" {
			return ownkey.FieldError(at+".type", "tool type %q is a server tool that Anthropic's API runs; route the request to anthropic to use it", safe(t.Type))
		}
		if t.Name == "" {
			return ownkey.FieldError(at+".name", "%s.name is required", at)
		}
		params := t.InputSchema
		if !present(params) {
			params = json.RawMessage(`{"type":"object","properties":{}}`)
		}
		out.Tools = append(out.Tools, openai.ChatTool{Type: "function", Function: openai.ChatFunction{
			Name: t.Name, Description: t.Description, Parameters: params, Strict: t.Strict}})
	}
	tc := in.ToolChoice
	if tc == nil || len(out.Tools) == 0 {
		return nil
	}
	switch tc.Type {
	case "auto", "":
		out.ToolChoice = "auto"
	case "any":
		out.ToolChoice = "required"
	case "none":
		out.ToolChoice = "none"
	case "tool":
		if tc.Name == "" {
			return ownkey.FieldError("tool_choice.name", "tool_choice.name is required for type tool")
		}
		out.ToolChoice = map[string]any{"type": "function", "function": map[string]string{"name": tc.Name}}
	default:
		return ownkey.FieldError("tool_choice.type", "tool_choice.type must be auto, any, tool or none")
	}
	if tc.DisableParallelToolUse && tc.Type != "none" {
		f := false
		out.ParallelToolCalls = &f
	}
	return nil
}

// reasoning translates thinking and output_config.
func reasoning(in *request, out *chatRequest) error {
	if t := in.Thinking; t != nil {
		switch t.Type {
		case "enabled":
			switch {
			case t.BudgetTokens <= 2048:
				out.ReasoningEffort = "low"
			case t.BudgetTokens <= 8192:
				out.ReasoningEffort = "medium"
			default:
				out.ReasoningEffort = "high"
			}
		case "disabled", "adaptive":
			// adaptive: the model decides, as it does when asked nothing.
		default:
			return ownkey.FieldError("thinking.type", "thinking.type must be enabled, disabled or adaptive")
		}
	}
	oc := in.OutputConfig
	if oc == nil {
		return nil
	}
	switch oc.Effort {
	case "":
	case "low", "medium", "high":
		out.ReasoningEffort = oc.Effort
	case "max":
		out.ReasoningEffort = "high"
	default:
		return ownkey.FieldError("output_config.effort", "output_config.effort must be low, medium, high or max")
	}
	if f := oc.Format; f != nil {
		if f.Type != "json_schema" || !present(f.Schema) {
			return ownkey.FieldError("output_config.format", "output_config.format must be {\"type\":\"json_schema\",\"schema\":{…}}")
		}
		out.ResponseFormat = &openai.ResponseFormat{Type: "json_schema", JSONSchema: &openai.JSONSchema{Name: "output", Schema: f.Schema}}
	}
	return nil
}

// present reports whether a raw member was sent with a non-null value.
func present(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && string(raw) != "null"
}
