// Package openaichat is the OpenAI Chat Completions request as a
// translating provider family reads it: typed, decoded once, with errors
// that name the field at fault (an EINVALID the client gets as a 400 with
// param set). Every family whose API is not OpenAI's (Anthropic Messages,
// the Responses API, and Bedrock, Gemini to come) reads the client's request
// through it, so that what OpenAI's fields mean, and how a malformed one is
// refused, is written once. What a family does with the fields (and which
// it refuses as unsupported) stays in the family.
//
// The omitempty tags are for the client dialects' translations
// (dialect/openai), which write these types as part of the chat request
// they make; decoding ignores them.
//
// Fields no translator reads are not decoded at all: a request is
// translated once, on the way in, and a field decoded for nobody costs
// every request.
package openaichat

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"

	"github.com/ownkey/ownkey"
)

// Request is the client's request, as far as translators read it.
type Request struct {
	Messages            []Message                  `json:"messages"`
	MaxTokens           *int64                     `json:"max_tokens"`
	MaxCompletionTokens *int64                     `json:"max_completion_tokens"`
	Temperature         *float64                   `json:"temperature"`
	TopP                *float64                   `json:"top_p"`
	TopK                *int64                     `json:"top_k"` // not OpenAI's, but many clients send it
	Stop                json.RawMessage            `json:"stop"`  // see StopSequences
	Seed                *int64                     `json:"seed"`
	PresencePenalty     *float64                   `json:"presence_penalty"`
	FrequencyPenalty    *float64                   `json:"frequency_penalty"`
	Tools               []Tool                     `json:"tools"`
	ToolChoice          json.RawMessage            `json:"tool_choice"` // see ParseToolChoice
	ParallelToolCalls   *bool                      `json:"parallel_tool_calls"`
	ResponseFormat      *ResponseFormat            `json:"response_format"`
	ReasoningEffort     *string                    `json:"reasoning_effort"`
	N                   *int64                     `json:"n"`
	Logprobs            *bool                      `json:"logprobs"`
	TopLogprobs         *int64                     `json:"top_logprobs"`
	LogitBias           map[string]json.RawMessage `json:"logit_bias"`
	Modalities          []string                   `json:"modalities"`
	Audio               json.RawMessage            `json:"audio"`
	Functions           json.RawMessage            `json:"functions"`
	FunctionCall        json.RawMessage            `json:"function_call"`
	WebSearchOptions    json.RawMessage            `json:"web_search_options"`
	User                string                     `json:"user"`
	SafetyIdentifier    string                     `json:"safety_identifier"`
	// Hints some provider APIs take as they are (the Responses API).
	Verbosity            *string         `json:"verbosity"`
	ServiceTier          *string         `json:"service_tier"`
	PromptCacheKey       *string         `json:"prompt_cache_key"`
	PromptCacheRetention *string         `json:"prompt_cache_retention"`
	Metadata             json.RawMessage `json:"metadata"`
	// Reasoning is OpenRouter's reasoning object ({"effort", …}), which
	// some clients send instead of reasoning_effort; kept raw, as its
	// members differ between the APIs that read it.
	Reasoning json.RawMessage `json:"reasoning"`
}

// Message is one message of the conversation. Content is kept raw: it is a
// string or an array of parts (see Parts).
type Message struct {
	Role         string          `json:"role"`
	Content      json.RawMessage `json:"content"`
	Refusal      *string         `json:"refusal"`
	ToolCalls    []ToolCall      `json:"tool_calls"`
	ToolCallID   string          `json:"tool_call_id"`
	FunctionCall json.RawMessage `json:"function_call"` // legacy
}

// ToolCall is a tool call of an assistant message.
type ToolCall struct {
	ID       string           `json:"id"`
	Type     string           `json:"type"`
	Function ToolCallFunction `json:"function"`
	// ExtraContent is where Google's own OpenAI-compatible endpoint puts
	// a Gemini thought signature ({"google":{"thought_signature":…}}),
	// which clients of that endpoint send back.
	ExtraContent json.RawMessage `json:"extra_content,omitempty"`
}

type ToolCallFunction struct {
	Name string `json:"name"`
	// Arguments is a JSON text in a string (see ArgumentsObject).
	Arguments string `json:"arguments"`
}

// ContentPart is one part of an array content; each type sets its own
// fields.
type ContentPart struct {
	Type         string          `json:"type"`
	Text         string          `json:"text"`
	Refusal      string          `json:"refusal"`
	ImageURL     *ImageURL       `json:"image_url"`
	InputAudio   *InputAudio     `json:"input_audio"`
	File         *File           `json:"file"`
	CacheControl json.RawMessage `json:"cache_control"` // Anthropic's, passed by OpenRouter-style clients
}

type ImageURL struct {
	URL    string `json:"url"`
	Detail string `json:"detail,omitempty"` // auto, low, high
}

// InputAudio is base64 audio data in a format (wav, mp3).
type InputAudio struct {
	Data   string `json:"data"`
	Format string `json:"format"`
}

type File struct {
	FileData string `json:"file_data"`
	FileID   string `json:"file_id"`
	Filename string `json:"filename"`
}

// Tool is a tool the model may call.
type Tool struct {
	Type         string          `json:"type"`
	Function     *Function       `json:"function"`
	CacheControl json.RawMessage `json:"cache_control"`
}

type Function struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
}

// ResponseFormat is the response_format field.
type ResponseFormat struct {
	Type       string      `json:"type"`
	JSONSchema *JSONSchema `json:"json_schema,omitempty"`
}

type JSONSchema struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Schema      json.RawMessage `json:"schema"`
	Strict      *bool           `json:"strict,omitempty"`
}

// Decode reads body, a chat completion request already checked to be valid
// JSON within the depth limit. A field of the wrong type is an EINVALID
// naming it.
func Decode(body []byte) (*Request, error) {
	r := &Request{}
	if err := json.Unmarshal(body, r); err != nil {
		return nil, decodeError(err)
	}
	return r, nil
}

// decodeError names the field encoding/json could not decode.
func decodeError(err error) error {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) && typeErr.Field != "" {
		return ownkey.FieldError(typeErr.Field, "%s has the wrong type: expected %s", typeErr.Field, typeErr.Type.String())
	}
	return ownkey.Errorf(ownkey.EINVALID, "request body is not a valid chat completion request: %v", err)
}

// Present reports whether a raw field was sent with a non-null value.
func Present(raw json.RawMessage) bool {
	return len(raw) > 0 && string(raw) != "null"
}

// Parts reads the message's content: a string, an array of parts, or
// nothing. at names the message in errors ("messages[3]").
func (m *Message) Parts(at string) (text string, parts []ContentPart, err error) {
	raw := bytes.TrimSpace(m.Content)
	if !Present(raw) {
		return "", nil, nil
	}
	switch raw[0] {
	case '"':
		err = json.Unmarshal(raw, &text)
	case '[':
		err = json.Unmarshal(raw, &parts)
	default:
		return "", nil, ownkey.FieldError(at+".content", "content must be a string or an array of content parts")
	}
	if err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			return "", nil, ownkey.FieldError(at+".content", "content part field %s has the wrong type", typeErr.Field)
		}
		return "", nil, ownkey.FieldError(at+".content", "content must be a string or an array of content parts")
	}
	return text, parts, nil
}

// StopSequences reads stop: a string or an array of strings. Empty strings
// are left out: they stop nothing.
func (r *Request) StopSequences() ([]string, error) {
	if !Present(r.Stop) {
		return nil, nil
	}
	var one string
	if err := json.Unmarshal(r.Stop, &one); err == nil {
		if one == "" {
			return nil, nil
		}
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(r.Stop, &many); err != nil {
		return nil, ownkey.FieldError("stop", "stop must be a string or an array of strings")
	}
	return slices.DeleteFunc(many, func(s string) bool { return s == "" }), nil
}

// The tool_choice modes.
const (
	ToolChoiceAuto     = "auto"
	ToolChoiceNone     = "none"
	ToolChoiceRequired = "required"
	ToolChoiceFunction = "function" // the named function must be called
)

// ToolChoice is a parsed tool_choice.
type ToolChoice struct {
	Mode     string // one of the ToolChoice* constants
	Function string // the function's name, for ToolChoiceFunction
}

// ParseToolChoice reads tool_choice: "auto", "none", "required" or
// {"type":"function","function":{"name":…}}; nil when it is absent.
func (r *Request) ParseToolChoice() (*ToolChoice, error) {
	raw := bytes.TrimSpace(r.ToolChoice)
	if !Present(raw) {
		return nil, nil
	}
	if raw[0] == '"' {
		var s string
		_ = json.Unmarshal(raw, &s)
		switch s {
		case ToolChoiceAuto, ToolChoiceNone, ToolChoiceRequired:
			return &ToolChoice{Mode: s}, nil
		}
		return nil, ownkey.FieldError("tool_choice", "tool_choice must be auto, none, required or a function")
	}
	var named struct {
		Type     string `json:"type"`
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if err := json.Unmarshal(raw, &named); err != nil {
		return nil, ownkey.FieldError("tool_choice", "tool_choice must be auto, none, required or a function")
	}
	if named.Type != "function" {
		return nil, ownkey.FieldError("tool_choice.type", "tool_choice of type %q is not supported; use auto, none, required or a function", named.Type)
	}
	if named.Function.Name == "" {
		return nil, ownkey.FieldError("tool_choice.function.name", "tool_choice needs the function name")
	}
	return &ToolChoice{Mode: ToolChoiceFunction, Function: named.Function.Name}, nil
}

// ArgumentsObject is the call's arguments as the compact JSON object the
// APIs that are not OpenAI's want as the call's input: "" counts as {}.
// param names the field in errors.
func (c *ToolCall) ArgumentsObject(param string) (json.RawMessage, error) {
	trimmed := bytes.TrimSpace([]byte(c.Function.Arguments))
	if len(trimmed) == 0 {
		return json.RawMessage(`{}`), nil
	}
	if !json.Valid(trimmed) {
		return nil, ownkey.FieldError(param, "tool call arguments are not valid JSON")
	}
	if trimmed[0] != '{' {
		return nil, ownkey.FieldError(param, "tool call arguments must be a JSON object")
	}
	var compact bytes.Buffer
	_ = json.Compact(&compact, trimmed)
	return compact.Bytes(), nil
}

// ParseDataURL splits a base64 data: URL ("data:<type>[;params];base64,<data>")
// into its media type (lower case) and data.
func ParseDataURL(url string) (mediaType, data string, ok bool) {
	meta, data, found := strings.Cut(strings.TrimPrefix(url, "data:"), ",")
	if !found || data == "" {
		return "", "", false
	}
	params := strings.Split(meta, ";")
	if len(params) < 2 || !strings.EqualFold(params[len(params)-1], "base64") || params[0] == "" {
		return "", "", false
	}
	return strings.ToLower(params[0]), data, true
}

// MinThinkingBudget is the smallest thinking budget Claude accepts
// (budget_tokens), on Anthropic's API and on Bedrock alike.
const MinThinkingBudget = 1024

// thinkingBudgets maps reasoning_effort to a thinking budget in tokens.
var thinkingBudgets = map[string]int64{
	"none":    0,
	"minimal": MinThinkingBudget,
	"low":     2048,
	"medium":  8192,
	"high":    16384,
	"xhigh":   24576,
	"max":     24576,
}

// ThinkingBudget reads reasoning_effort as the token budget of APIs that
// take one (Claude's budget_tokens, on Anthropic and on Bedrock): 0 for
// none or when it is absent, else 1024 (minimal) to 24576 (xhigh, max). An
// unknown effort is an EINVALID naming reasoning_effort.
func (r *Request) ThinkingBudget() (int64, error) {
	if r.ReasoningEffort == nil {
		return 0, nil
	}
	b, ok := thinkingBudgets[*r.ReasoningEffort]
	if !ok {
		return 0, ownkey.FieldError("reasoning_effort", "reasoning_effort must be one of none, minimal, low, medium, high, xhigh")
	}
	return b, nil
}

// Unsupported refuses the fields that no translating family can honour and
// whose absence would change the shape of the answer: n > 1, logprobs,
// top_logprobs, a non-empty logit_bias, audio output, the legacy
// functions/function_call and web_search_options. models names the
// provider's models in the message ("Anthropic models").
func (r *Request) Unsupported(models string) error {
	switch {
	case r.N != nil && *r.N != 1:
		return ownkey.FieldError("n", "n must be 1: %s return one choice per request", models)
	case r.Logprobs != nil && *r.Logprobs:
		return ownkey.FieldError("logprobs", "logprobs are not available from %s", models)
	case r.TopLogprobs != nil && *r.TopLogprobs > 0:
		return ownkey.FieldError("top_logprobs", "logprobs are not available from %s", models)
	case len(r.LogitBias) > 0:
		return ownkey.FieldError("logit_bias", "logit_bias is not supported by %s (token ids are specific to OpenAI's tokenizer)", models)
	case Present(r.Audio) || slices.Contains(r.Modalities, "audio"):
		return ownkey.FieldError("modalities", "audio output is not supported by %s", models)
	case Present(r.Functions) || Present(r.FunctionCall):
		return ownkey.FieldError("functions", "the legacy functions and function_call fields are not supported; use tools and tool_choice")
	case Present(r.WebSearchOptions):
		return ownkey.FieldError("web_search_options", "web_search_options is not supported for %s", models)
	}
	return nil
}

// JSONToolName is the name of the tool through which the families whose
// API has no JSON mode of its own serve a JSON response_format: the tool
// is forced, and its input is the answer.
const JSONToolName = "json"

// JSONTool is that tool for a JSON response_format: its description and
// its input schema (compact); nil for text or no response_format. A
// json_schema's root must be an object, as a tool's input is.
type JSONTool struct {
	Description string
	Schema      json.RawMessage
}

// JSONTool reads response_format as the json tool (see JSONToolName).
func (r *Request) JSONTool() (*JSONTool, error) {
	rf := r.ResponseFormat
	if rf == nil {
		return nil, nil
	}
	switch rf.Type {
	case "", "text":
		return nil, nil
	case "json_object":
		return &JSONTool{Description: "Give your answer by calling this tool: its input is the answer, a JSON object.",
			Schema: json.RawMessage(`{"type":"object"}`)}, nil
	case "json_schema":
	default:
		return nil, ownkey.FieldError("response_format.type", "response_format type must be text, json_object or json_schema")
	}
	js := rf.JSONSchema
	if js == nil || !Present(js.Schema) {
		return nil, ownkey.FieldError("response_format.json_schema.schema", "json_schema needs a schema")
	}
	var root struct {
		Type json.RawMessage `json:"type"`
	}
	if err := json.Unmarshal(js.Schema, &root); err != nil || string(bytes.TrimSpace(root.Type)) != `"object"` {
		return nil, ownkey.FieldError("response_format.json_schema.schema", `the schema's root must be {"type":"object",…} for this model (ownkey passes it as a tool's input schema)`)
	}
	desc := "Give your answer by calling this tool: its input is the answer, a JSON value matching the schema"
	if js.Name != "" {
		desc += " " + js.Name
	}
	desc += "."
	if js.Description != "" {
		desc += " " + js.Description
	}
	var compact bytes.Buffer
	_ = json.Compact(&compact, js.Schema)
	return &JSONTool{Description: desc, Schema: compact.Bytes()}, nil
}
