package responses

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/dialect/openai"
)

// The Responses request, as far as the translation reads it.
type request struct {
	Input             json.RawMessage `json:"input"`
	Instructions      json.RawMessage `json:"instructions"`
	MaxOutputTokens   *int64          `json:"max_output_tokens"`
	Temperature       json.RawMessage `json:"temperature"`
	TopP              json.RawMessage `json:"top_p"`
	Tools             []tool          `json:"tools"`
	ToolChoice        json.RawMessage `json:"tool_choice"`
	ParallelToolCalls *bool           `json:"parallel_tool_calls"`
	Text              *struct {
		Format    *textFormat `json:"format"`
		Verbosity *string     `json:"verbosity"`
	} `json:"text"`
	Reasoning *struct {
		Effort *string `json:"effort"`
	} `json:"reasoning"`
	TopLogprobs          *int64          `json:"top_logprobs"`
	Include              []string        `json:"include"`
	Prompt               json.RawMessage `json:"prompt"`
	User                 *string         `json:"user"`
	SafetyIdentifier     *string         `json:"safety_identifier"`
	PromptCacheKey       *string         `json:"prompt_cache_key"`
	PromptCacheRetention *string         `json:"prompt_cache_retention"`
	ServiceTier          *string         `json:"service_tier"`
}

// tool is a Responses tool: a function tool is flat (name, parameters
// beside the type); the other types are the API's own built-in tools.
type tool struct {
	Type        string          `json:"type"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Parameters  json.RawMessage `json:"parameters"`
	Strict      *bool           `json:"strict"`
}

// textFormat is text.format: json_schema's members beside its type.
type textFormat struct {
	Type        string          `json:"type"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Schema      json.RawMessage `json:"schema"`
	Strict      *bool           `json:"strict"`
}

// inputItem is every input item kind in one struct; each sets its own.
type inputItem struct {
	Type      string          `json:"type"`
	Role      string          `json:"role"`
	Content   json.RawMessage `json:"content"`
	CallID    string          `json:"call_id"`
	Name      string          `json:"name"`
	Arguments string          `json:"arguments"`
	Output    json.RawMessage `json:"output"`
}

// inputPart is a content part of an input message (or of a function call's
// output given as parts).
type inputPart struct {
	Type     string `json:"type"`
	Text     string `json:"text"`
	Refusal  string `json:"refusal"`
	ImageURL string `json:"image_url"`
	FileID   string `json:"file_id"`
	FileData string `json:"file_data"`
	FileURL  string `json:"file_url"`
	Filename string `json:"filename"`
	Detail   string `json:"detail"`
}

// The OpenAI Chat Completions request the translation writes.
type chatRequest struct {
	Model                string                 `json:"model"`
	Messages             []openai.ChatMessage   `json:"messages"`
	Stream               bool                   `json:"stream,omitempty"`
	StreamOptions        *openai.StreamOptions  `json:"stream_options,omitempty"`
	MaxTokens            *int64                 `json:"max_tokens,omitempty"`
	MaxCompletionTokens  *int64                 `json:"max_completion_tokens,omitempty"`
	Temperature          json.RawMessage        `json:"temperature,omitempty"`
	TopP                 json.RawMessage        `json:"top_p,omitempty"`
	Tools                []openai.ChatTool      `json:"tools,omitempty"`
	ToolChoice           any                    `json:"tool_choice,omitempty"`
	ParallelToolCalls    *bool                  `json:"parallel_tool_calls,omitempty"`
	ResponseFormat       *openai.ResponseFormat `json:"response_format,omitempty"`
	ReasoningEffort      *string                `json:"reasoning_effort,omitempty"`
	Verbosity            *string                `json:"verbosity,omitempty"`
	User                 *string                `json:"user,omitempty"`
	SafetyIdentifier     *string                `json:"safety_identifier,omitempty"`
	PromptCacheKey       *string                `json:"prompt_cache_key,omitempty"`
	PromptCacheRetention *string                `json:"prompt_cache_retention,omitempty"`
	ServiceTier          *string                `json:"service_tier,omitempty"`
}

type chatPart struct {
	Type     string           `json:"type"`
	Text     string           `json:"text,omitempty"`
	ImageURL *openai.ImageURL `json:"image_url,omitempty"`
	File     *chatFile        `json:"file,omitempty"`
}

type chatFile struct {
	FileData string `json:"file_data,omitempty"`
	FileID   string `json:"file_id,omitempty"`
	Filename string `json:"filename,omitempty"`
}

type namedFunction struct {
	Type     string `json:"type"`
	Function struct {
		Name string `json:"name"`
	} `json:"function"`
}

// speaksOpenAI reports whether provider is OpenAI's own chat API (OpenAI,
// Azure OpenAI): it takes the developer role and, for its reasoning
// models, only max_completion_tokens.
func speaksOpenAI(provider string) bool { return provider == "openai" || provider == "azure" }

// ChatRequest translates body, a Responses API request already checked to
// be valid JSON within the depth limit, into an OpenAI Chat Completions
// request for model at provider, streamed (with usage) if stream. Every
// error is an EINVALID naming the field at fault: what the request asks
// for that a Chat Completions provider cannot give (see the package
// comment).
func ChatRequest(body []byte, model, provider string, stream bool) ([]byte, error) {
	var in request
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, decodeError(err)
	}
	out := chatRequest{Model: model, Stream: stream, ParallelToolCalls: in.ParallelToolCalls,
		User: in.User, SafetyIdentifier: in.SafetyIdentifier, PromptCacheKey: in.PromptCacheKey,
		PromptCacheRetention: in.PromptCacheRetention, ServiceTier: in.ServiceTier}
	if stream {
		out.StreamOptions = &openai.StreamOptions{IncludeUsage: true}
	}
	if err := checkUnsupported(&in); err != nil {
		return nil, err
	}
	var err error
	if out.Temperature, err = number(in.Temperature, "temperature"); err != nil {
		return nil, err
	}
	if out.TopP, err = number(in.TopP, "top_p"); err != nil {
		return nil, err
	}
	if present(in.Instructions) {
		var text string
		if json.Unmarshal(in.Instructions, &text) != nil {
			return nil, ownkey.FieldError("instructions", "instructions must be a string")
		}
		if text != "" {
			out.Messages = append(out.Messages, openai.ChatMessage{Role: "system", Content: text})
		}
	}
	if out.Messages, err = translateInput(out.Messages, in.Input, provider); err != nil {
		return nil, err
	}
	if len(out.Messages) == 0 {
		return nil, ownkey.FieldError("input", "input needs at least one message")
	}
	if n := in.MaxOutputTokens; n != nil {
		if *n < 1 {
			return nil, ownkey.FieldError("max_output_tokens", "max_output_tokens must be at least 1")
		}
		if speaksOpenAI(provider) {
			out.MaxCompletionTokens = n
		} else {
			out.MaxTokens = n
		}
	}
	if out.Tools, err = translateTools(in.Tools); err != nil {
		return nil, err
	}
	if out.ToolChoice, err = translateToolChoice(in.ToolChoice, len(in.Tools) > 0); err != nil {
		return nil, err
	}
	if t := in.Text; t != nil {
		out.Verbosity = t.Verbosity
		if out.ResponseFormat, err = translateFormat(t.Format); err != nil {
			return nil, err
		}
	}
	if r := in.Reasoning; r != nil {
		out.ReasoningEffort = r.Effort
	}

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&out); err != nil {
		// Only values the decoder accepted are here; a failure is ours.
		return nil, ownkey.Errorf(ownkey.EINTERNAL, "encoding the chat request: %v", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// decodeError names the member encoding/json could not decode.
func decodeError(err error) error {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) && typeErr.Field != "" {
		return ownkey.FieldError(typeErr.Field, "%s has the wrong type: expected %s", typeErr.Field, typeErr.Type.String())
	}
	return ownkey.Errorf(ownkey.EINVALID, "request body is not a valid Responses API request: %v", err)
}

func present(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && string(raw) != "null"
}

// number is raw, a JSON number kept as the client wrote it (no float
// round trip), or nil when absent.
func number(raw json.RawMessage, field string) (json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if !present(raw) {
		return nil, nil
	}
	var f float64
	if raw[0] == '"' || json.Unmarshal(raw, &f) != nil {
		return nil, ownkey.FieldError(field, "%s must be a number", field)
	}
	return raw, nil
}

// builtInTool is the 400 for what only OpenAI's own Responses API runs.
func builtInTool(field, typ string) error {
	return ownkey.FieldError(field, "the built-in tool %q runs on OpenAI's Responses API only: send the request to openai-responses or azure-responses (x-byok-provider), or give the model function tools", typ)
}

// checkUnsupported refuses what the answer could not carry, and what needs
// state that ownkey does not keep.
func checkUnsupported(in *request) error {
	switch {
	case present(in.Prompt):
		return ownkey.FieldError("prompt", "stored prompts (prompt) need OpenAI's Responses API: send the request to openai-responses or azure-responses, or send the prompt's text as instructions")
	case in.TopLogprobs != nil && *in.TopLogprobs > 0:
		return ownkey.FieldError("top_logprobs", "logprobs are not available through ownkey's translation of the Responses API")
	}
	for i, inc := range in.Include {
		if inc == "message.output_text.logprobs" {
			return ownkey.FieldError(fmt.Sprintf("include[%d]", i), "logprobs are not available through ownkey's translation of the Responses API")
		}
	}
	return nil
}

// translateInput appends the conversation, input: a string (one user
// message) or an array of input items, in order.
func translateInput(msgs []openai.ChatMessage, input json.RawMessage, provider string) ([]openai.ChatMessage, error) {
	input = bytes.TrimSpace(input)
	if !present(input) {
		return nil, ownkey.FieldError("input", "input is required: a string or an array of input items")
	}
	if input[0] == '"' {
		var text string
		if err := json.Unmarshal(input, &text); err != nil {
			return nil, ownkey.FieldError("input", "input must be a string or an array of input items")
		}
		if text == "" {
			return nil, ownkey.FieldError("input", "input is empty")
		}
		return append(msgs, openai.ChatMessage{Role: "user", Content: text}), nil
	}
	var raws []json.RawMessage
	if input[0] != '[' || json.Unmarshal(input, &raws) != nil {
		return nil, ownkey.FieldError("input", "input must be a string or an array of input items")
	}
	for i := range raws {
		at := fmt.Sprintf("input[%d]", i)
		var it inputItem
		if err := json.Unmarshal(raws[i], &it); err != nil {
			var typeErr *json.UnmarshalTypeError
			if errors.As(err, &typeErr) && typeErr.Field != "" {
				return nil, ownkey.FieldError(at+"."+typeErr.Field, "%s.%s has the wrong type: expected %s", at, typeErr.Field, typeErr.Type.String())
			}
			return nil, ownkey.FieldError(at, "%s must be an input item object", at)
		}
		var err error
		switch it.Type {
		case "", "message":
			msgs, err = appendMessage(msgs, &it, at, provider)
		case "function_call":
			msgs, err = appendCall(msgs, &it, at)
		case "function_call_output":
			msgs, err = appendCallOutput(msgs, &it, at)
		case "reasoning":
			// Reasoning of an earlier turn: its summary was the model's
			// own, and its encrypted content means something to OpenAI
			// only. Another provider cannot take it back; it is left out.
		case "item_reference":
			return nil, ownkey.FieldError(at+".type", "item_reference needs the conversation state OpenAI keeps; ownkey keeps none: send the items themselves")
		default:
			return nil, ownkey.FieldError(at+".type", "input items of type %q belong to OpenAI's built-in tools and need OpenAI's Responses API (openai-responses, azure-responses); through other providers ownkey takes message, function_call, function_call_output and reasoning items", it.Type)
		}
		if err != nil {
			return nil, err
		}
	}
	return msgs, nil
}

// appendMessage appends an input message.
func appendMessage(msgs []openai.ChatMessage, it *inputItem, at, provider string) ([]openai.ChatMessage, error) {
	text, parts, err := contentOf(it.Content, at)
	if err != nil {
		return nil, err
	}
	switch it.Role {
	case "system", "developer":
		role := it.Role
		if role == "developer" && !speaksOpenAI(provider) {
			role = "system" // the role the other providers know
		}
		if text, err = joinText(text, parts, at, false); err != nil {
			return nil, err
		}
		if text == "" {
			return msgs, nil
		}
		return append(msgs, openai.ChatMessage{Role: role, Content: text}), nil
	case "assistant":
		if text, err = joinText(text, parts, at, true); err != nil {
			return nil, err
		}
		if text == "" {
			return msgs, nil
		}
		return append(msgs, openai.ChatMessage{Role: "assistant", Content: text}), nil
	case "user":
	default:
		return nil, ownkey.FieldError(at+".role", "role must be user, assistant, system or developer")
	}
	if parts == nil {
		if text == "" {
			return msgs, nil
		}
		return append(msgs, openai.ChatMessage{Role: "user", Content: text}), nil
	}
	var out []chatPart
	for j := range parts {
		p := &parts[j]
		pat := fmt.Sprintf("%s.content[%d]", at, j)
		switch p.Type {
		case "input_text", "text":
			if p.Text != "" {
				out = append(out, chatPart{Type: "text", Text: p.Text})
			}
		case "input_image":
			if p.ImageURL == "" {
				return nil, ownkey.FieldError(pat+".image_url", "an image needs its image_url (a URL or a data: URL): an uploaded file's id is known to OpenAI only")
			}
			switch p.Detail {
			case "", "auto", "low", "high":
			default:
				return nil, ownkey.FieldError(pat+".detail", "detail must be auto, low or high")
			}
			out = append(out, chatPart{Type: "image_url", ImageURL: &openai.ImageURL{URL: p.ImageURL, Detail: p.Detail}})
		case "input_file":
			switch {
			case p.FileData != "":
				out = append(out, chatPart{Type: "file", File: &chatFile{FileData: p.FileData, Filename: p.Filename}})
			case p.FileID != "":
				out = append(out, chatPart{Type: "file", File: &chatFile{FileID: p.FileID}})
			default:
				return nil, ownkey.FieldError(pat+".file_data", "a file needs its file_data (a data: URL) or file_id; file_url is read by OpenAI's Responses API only")
			}
		default:
			return nil, ownkey.FieldError(pat+".type", "user content parts must be input_text, input_image or input_file, not %q", p.Type)
		}
	}
	if len(out) == 0 {
		return msgs, nil
	}
	return append(msgs, openai.ChatMessage{Role: "user", Content: out}), nil
}

// contentOf reads a message's content: a string, or an array of parts.
func contentOf(raw json.RawMessage, at string) (string, []inputPart, error) {
	raw = bytes.TrimSpace(raw)
	if !present(raw) {
		return "", nil, nil
	}
	var text string
	var parts []inputPart
	var err error
	switch raw[0] {
	case '"':
		err = json.Unmarshal(raw, &text)
	case '[':
		err = json.Unmarshal(raw, &parts)
		if parts == nil {
			parts = []inputPart{}
		}
	default:
		err = errors.New("not a string or an array")
	}
	if err != nil {
		return "", nil, ownkey.FieldError(at+".content", "content must be a string or an array of content parts")
	}
	return text, parts, nil
}

// joinText is the text of content that may hold only text (system,
// developer and assistant messages, function call outputs), its parts
// joined; assistant: output_text and refusal parts, else input_text.
func joinText(text string, parts []inputPart, at string, assistant bool) (string, error) {
	if parts == nil {
		return text, nil
	}
	var b strings.Builder
	for j := range parts {
		p := &parts[j]
		switch {
		case p.Type == "input_text" || p.Type == "text" || assistant && p.Type == "output_text":
			b.WriteString(p.Text)
		case assistant && p.Type == "refusal":
			b.WriteString(p.Refusal)
		default:
			return "", ownkey.FieldError(fmt.Sprintf("%s.content[%d].type", at, j), "only text parts are allowed here, not %q", p.Type)
		}
	}
	return b.String(), nil
}

// appendCall appends a function call to the assistant message just
// before it (the model's text and its calls are one chat message), or to
// a new assistant message.
func appendCall(msgs []openai.ChatMessage, it *inputItem, at string) ([]openai.ChatMessage, error) {
	if it.CallID == "" {
		return nil, ownkey.FieldError(at+".call_id", "a function_call needs its call_id")
	}
	if it.Name == "" {
		return nil, ownkey.FieldError(at+".name", "a function_call needs its name")
	}
	var call openai.ToolCall
	call.ID, call.Type = it.CallID, "function"
	call.Function.Name, call.Function.Arguments = it.Name, it.Arguments
	if n := len(msgs); n > 0 && msgs[n-1].Role == "assistant" {
		msgs[n-1].ToolCalls = append(msgs[n-1].ToolCalls, call)
		return msgs, nil
	}
	return append(msgs, openai.ChatMessage{Role: "assistant", ToolCalls: []openai.ToolCall{call}}), nil
}

// appendCallOutput appends a function call's result as a tool message.
func appendCallOutput(msgs []openai.ChatMessage, it *inputItem, at string) ([]openai.ChatMessage, error) {
	if it.CallID == "" {
		return nil, ownkey.FieldError(at+".call_id", "a function_call_output needs the call_id it answers")
	}
	text, parts, err := contentOf(it.Output, at)
	if err != nil {
		return nil, ownkey.FieldError(at+".output", "output must be a string or an array of text parts")
	}
	if text, err = joinText(text, parts, at+".output", false); err != nil {
		return nil, err
	}
	return append(msgs, openai.ChatMessage{Role: "tool", Content: text, ToolCallID: it.CallID}), nil
}

// translateTools makes function tools chat tools; a built-in tool is a
// 400 naming it.
func translateTools(tools []tool) ([]openai.ChatTool, error) {
	var out []openai.ChatTool
	for i := range tools {
		t := &tools[i]
		at := fmt.Sprintf("tools[%d]", i)
		if t.Type != "function" {
			return nil, builtInTool(at+".type", t.Type)
		}
		if t.Name == "" {
			return nil, ownkey.FieldError(at+".name", "a function tool needs a name")
		}
		var params json.RawMessage
		if p := bytes.TrimSpace(t.Parameters); present(p) {
			if p[0] != '{' {
				return nil, ownkey.FieldError(at+".parameters", "parameters must be a JSON Schema object")
			}
			params = p
		}
		out = append(out, openai.ChatTool{Type: "function", Function: openai.ChatFunction{Name: t.Name, Description: t.Description, Parameters: params, Strict: t.Strict}})
	}
	return out, nil
}

// translateToolChoice: the modes as they are, a named function nested as
// chat names one.
func translateToolChoice(raw json.RawMessage, tools bool) (any, error) {
	raw = bytes.TrimSpace(raw)
	if !present(raw) {
		return nil, nil
	}
	if raw[0] == '"' {
		var mode string
		_ = json.Unmarshal(raw, &mode)
		switch mode {
		case "auto", "none", "required":
			if !tools {
				return nil, nil // providers refuse a tool_choice without tools
			}
			return mode, nil
		}
		return nil, ownkey.FieldError("tool_choice", "tool_choice must be auto, none, required or a function")
	}
	var named struct {
		Type string `json:"type"`
		Name string `json:"name"`
	}
	if json.Unmarshal(raw, &named) != nil {
		return nil, ownkey.FieldError("tool_choice", "tool_choice must be auto, none, required or a function")
	}
	switch named.Type {
	case "function":
	case "allowed_tools":
		return nil, ownkey.FieldError("tool_choice.type", "tool_choice allowed_tools is not supported through ownkey's translation; give only the allowed tools in tools")
	default:
		return nil, builtInTool("tool_choice.type", named.Type)
	}
	if named.Name == "" {
		return nil, ownkey.FieldError("tool_choice.name", "tool_choice needs the function's name")
	}
	var c namedFunction
	c.Type, c.Function.Name = "function", named.Name
	return c, nil
}

// translateFormat maps text.format to response_format: text as nothing,
// json_object as it is, json_schema nested as chat nests it.
func translateFormat(f *textFormat) (*openai.ResponseFormat, error) {
	if f == nil {
		return nil, nil
	}
	switch f.Type {
	case "", "text":
		return nil, nil
	case "json_object":
		return &openai.ResponseFormat{Type: "json_object"}, nil
	case "json_schema":
	default:
		return nil, ownkey.FieldError("text.format.type", "text.format type must be text, json_object or json_schema")
	}
	s := bytes.TrimSpace(f.Schema)
	if !present(s) || s[0] != '{' {
		return nil, ownkey.FieldError("text.format.schema", "a json_schema format needs its schema, a JSON Schema object")
	}
	if f.Name == "" {
		return nil, ownkey.FieldError("text.format.name", "a json_schema format needs a name")
	}
	return &openai.ResponseFormat{Type: "json_schema", JSONSchema: &openai.JSONSchema{Name: f.Name, Description: f.Description, Schema: s, Strict: f.Strict}}, nil
}
