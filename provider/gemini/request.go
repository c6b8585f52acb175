package gemini

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider"
	"github.com/ownkey/ownkey/provider/openaichat"
)

// thinkingBudgets maps reasoning_effort to thinkingBudget for the models
// before Gemini 3 (see the package comment).
var thinkingBudgets = map[string]int64{
	"none":    0,
	"minimal": 512,
	"low":     1024,
	"medium":  8192,
	"high":    24576,
	"xhigh":   24576,
	"max":     24576,
}

// thinkingLevels maps reasoning_effort to Gemini 3's thinkingLevel.
var thinkingLevels = map[string]string{
	"none":    "MINIMAL",
	"minimal": "MINIMAL",
	"low":     "LOW",
	"medium":  "MEDIUM",
	"high":    "HIGH",
	"xhigh":   "HIGH",
	"max":     "HIGH",
}

// The generateContent request.
type generateRequest struct {
	Contents          []content         `json:"contents"`
	SystemInstruction *content          `json:"systemInstruction,omitempty"`
	Tools             []toolSet         `json:"tools,omitempty"`
	ToolConfig        *toolConfig       `json:"toolConfig,omitempty"`
	GenerationConfig  *generationConfig `json:"generationConfig,omitempty"`
}

type content struct {
	Role  string `json:"role,omitempty"`
	Parts []part `json:"parts"`
}

// part is every request part kind in one struct; each kind sets only its
// own fields.
type part struct {
	Text             string            `json:"text,omitempty"`
	InlineData       *blob             `json:"inlineData,omitempty"`
	FileData         *fileData         `json:"fileData,omitempty"`
	FunctionCall     *functionCall     `json:"functionCall,omitempty"`
	FunctionResponse *functionResponse `json:"functionResponse,omitempty"`
	ThoughtSignature string            `json:"thoughtSignature,omitempty"`
}

type blob struct {
	MimeType string `json:"mimeType"`
	Data     string `json:"data"`
}

type fileData struct {
	MimeType string `json:"mimeType,omitempty"`
	FileURI  string `json:"fileUri"`
}

type functionCall struct {
	Name string          `json:"name"`
	Args json.RawMessage `json:"args"`
}

type functionResponse struct {
	Name     string          `json:"name"`
	Response json.RawMessage `json:"response"`
}

type toolSet struct {
	FunctionDeclarations []functionDeclaration `json:"functionDeclarations"`
}

type functionDeclaration struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
}

type toolConfig struct {
	FunctionCallingConfig functionCallingConfig `json:"functionCallingConfig"`
}

type functionCallingConfig struct {
	Mode                 string   `json:"mode"`
	AllowedFunctionNames []string `json:"allowedFunctionNames,omitempty"`
}

type generationConfig struct {
	StopSequences    []string        `json:"stopSequences,omitempty"`
	MaxOutputTokens  *int64          `json:"maxOutputTokens,omitempty"`
	Temperature      *float64        `json:"temperature,omitempty"`
	TopP             *float64        `json:"topP,omitempty"`
	TopK             *int64          `json:"topK,omitempty"`
	Seed             *int64          `json:"seed,omitempty"`
	PresencePenalty  *float64        `json:"presencePenalty,omitempty"`
	FrequencyPenalty *float64        `json:"frequencyPenalty,omitempty"`
	ResponseMimeType string          `json:"responseMimeType,omitempty"`
	ResponseSchema   json.RawMessage `json:"responseSchema,omitempty"`
	ThinkingConfig   *thinkingConfig `json:"thinkingConfig,omitempty"`
}

type thinkingConfig struct {
	IncludeThoughts bool   `json:"includeThoughts,omitempty"`
	ThinkingBudget  *int64 `json:"thinkingBudget,omitempty"`
	ThinkingLevel   string `json:"thinkingLevel,omitempty"`
}

// translation is a translated request: its body and the path it goes to.
type translation struct {
	body []byte
	path string
}

// translateRequest turns the client's OpenAI request into a generateContent
// request. Every error is an EINVALID naming the field at fault.
func translateRequest(req *ownkey.ChatRequest) (*translation, error) {
	model, err := modelID(req.Model)
	if err != nil {
		return nil, err
	}
	in, err := openaichat.Decode(req.Body)
	if err != nil {
		return nil, err
	}
	// What no translating family can honour (n > 1, logprobs, audio
	// output, …): a 400 naming the field.
	if err := in.Unsupported("Gemini models"); err != nil {
		return nil, err
	}
	var out generateRequest
	if out.SystemInstruction, out.Contents, err = translateMessages(in.Messages, isGemini3(model)); err != nil {
		return nil, err
	}
	if len(out.Contents) == 0 {
		return nil, ownkey.FieldError("messages", "messages needs at least one user or assistant message with content: Gemini does not accept a conversation of system messages only")
	}
	if err := translateTools(in, &out); err != nil {
		return nil, err
	}
	if out.GenerationConfig, err = translateConfig(in, model); err != nil {
		return nil, err
	}

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&out); err != nil {
		// Only a value the decoder accepted is here; a failure is ours.
		return nil, ownkey.Errorf(ownkey.EINTERNAL, "encoding the Gemini request: %v", err)
	}
	method := ":generateContent"
	if req.Stream {
		method = ":streamGenerateContent?alt=sse"
	}
	return &translation{
		body: bytes.TrimSuffix(buf.Bytes(), []byte("\n")),
		path: "/v1beta/models/" + provider.EscapePathSegment(model) + method,
	}, nil
}

// modelID is the model's id in the URL: a "google/" (a forced provider
// keeps the prefix) or "models/" (Gemini's resource name) prefix dropped.
func modelID(model string) (string, error) {
	id := strings.TrimPrefix(strings.TrimPrefix(model, "google/"), "models/")
	if id == "" || strings.ContainsAny(id, "/?#") || id == "." || id == ".." || path.Clean(id) != id {
		return "", ownkey.FieldError("model", "%s is not a Gemini model id (such as gemini-2.5-flash or models/gemini-2.5-flash)", safeText(model))
	}
	return id, nil
}

// isGemini3 reports whether model is Gemini 3 or later in the 3 line, whose
// function calls carry thought signatures and whose thinking is set by
// level.
func isGemini3(model string) bool { return strings.HasPrefix(model, "gemini-3") }

// thinks reports whether model may think at all: Gemini 2.5 and later.
// Older models (gemini-1.5, gemini-2.0, gemma) refuse any thinkingConfig.
func thinks(model string) bool {
	for _, p := range []string{"gemini-1", "gemini-2.0", "gemma"} {
		if strings.HasPrefix(model, p) {
			return false
		}
	}
	return true
}

// translateConfig builds generationConfig; nil when the client set nothing
// it holds.
func translateConfig(in *openaichat.Request, model string) (*generationConfig, error) {
	var gc generationConfig
	var err error
	if t := in.Temperature; t != nil && (*t < 0 || *t > 2) {
		return nil, ownkey.FieldError("temperature", "temperature must be between 0 and 2")
	}
	if p := in.TopP; p != nil && (*p < 0 || *p > 1) {
		return nil, ownkey.FieldError("top_p", "top_p must be between 0 and 1")
	}
	if k := in.TopK; k != nil && *k < 1 {
		return nil, ownkey.FieldError("top_k", "top_k must be at least 1")
	}
	for _, p := range []struct {
		name string
		v    *float64
	}{{"presence_penalty", in.PresencePenalty}, {"frequency_penalty", in.FrequencyPenalty}} {
		if p.v != nil && (*p.v < -2 || *p.v > 2) {
			return nil, ownkey.FieldError(p.name, "%s must be between -2 and 2", p.name)
		}
	}
	gc.Temperature, gc.TopP, gc.TopK, gc.Seed = in.Temperature, in.TopP, in.TopK, in.Seed
	gc.PresencePenalty, gc.FrequencyPenalty = in.PresencePenalty, in.FrequencyPenalty
	if gc.StopSequences, err = in.StopSequences(); err != nil {
		return nil, err
	}
	switch {
	case in.MaxCompletionTokens != nil:
		if *in.MaxCompletionTokens < 1 {
			return nil, ownkey.FieldError("max_completion_tokens", "max_completion_tokens must be at least 1")
		}
		gc.MaxOutputTokens = in.MaxCompletionTokens
	case in.MaxTokens != nil:
		if *in.MaxTokens < 1 {
			return nil, ownkey.FieldError("max_tokens", "max_tokens must be at least 1")
		}
		gc.MaxOutputTokens = in.MaxTokens
	}
	if err := responseFormat(in.ResponseFormat, &gc); err != nil {
		return nil, err
	}
	if e := in.ReasoningEffort; e != nil {
		level, ok := thinkingLevels[*e]
		if !ok {
			return nil, ownkey.FieldError("reasoning_effort", "reasoning_effort must be one of none, minimal, low, medium, high, xhigh")
		}
		switch {
		case isGemini3(model):
			gc.ThinkingConfig = &thinkingConfig{IncludeThoughts: *e != "none", ThinkingLevel: level}
		case !thinks(model) && *e == "none":
			// Nothing to turn off, and these models refuse the config.
		default:
			budget := thinkingBudgets[*e]
			gc.ThinkingConfig = &thinkingConfig{IncludeThoughts: budget > 0, ThinkingBudget: &budget}
		}
	}
	if isZero(&gc) {
		return nil, nil
	}
	return &gc, nil
}

func isZero(gc *generationConfig) bool {
	return gc.StopSequences == nil && gc.MaxOutputTokens == nil && gc.Temperature == nil && gc.TopP == nil && gc.TopK == nil &&
		gc.Seed == nil && gc.PresencePenalty == nil && gc.FrequencyPenalty == nil && gc.ResponseMimeType == "" && gc.ThinkingConfig == nil
}

// responseFormat sets the JSON mode of a json_object or json_schema
// response_format: responseMimeType, and the schema converted.
func responseFormat(rf *openaichat.ResponseFormat, gc *generationConfig) error {
	if rf == nil {
		return nil
	}
	switch rf.Type {
	case "", "text":
		return nil
	case "json_object":
		gc.ResponseMimeType = "application/json"
		return nil
	case "json_schema":
	default:
		return ownkey.FieldError("response_format.type", "response_format type must be text, json_object or json_schema")
	}
	js := rf.JSONSchema
	if js == nil || !openaichat.Present(js.Schema) {
		return ownkey.FieldError("response_format.json_schema.schema", "json_schema needs a schema")
	}
	schema, err := convertSchema(js.Schema, "response_format.json_schema.schema", true)
	if err != nil {
		return err
	}
	gc.ResponseMimeType, gc.ResponseSchema = "application/json", schema
	return nil
}

// translateMessages builds the system instruction and the contents.
// Consecutive messages of one role become one content, as Gemini wants the
// answers to a model turn's function calls together in the next, those
// answers first.
func translateMessages(msgs []openaichat.Message, gemini3 bool) (*content, []content, error) {
	var system *content
	names := map[string]string{} // tool call id → function name
	b := openaichat.TurnBuilder[part]{
		AssistantRole: "model",
		System: func(m *openaichat.Message, at string) error {
			texts, err := textParts(m, at)
			if len(texts) > 0 {
				if system == nil {
					system = &content{}
				}
				system.Parts = append(system.Parts, texts...)
			}
			return err
		},
		User:         userParts,
		Assistant:    func(m *openaichat.Message, at string) ([]part, error) { return modelParts(m, at, names) },
		Tool:         func(m *openaichat.Message, at string) ([]part, error) { return toolResult(m, at, names) },
		IsToolResult: func(p part) bool { return p.FunctionResponse != nil },
	}
	built, err := b.Build(msgs)
	if err != nil {
		return nil, nil, err
	}
	contents := make([]content, len(built))
	for i, t := range built {
		contents[i] = content{Role: t.Role, Parts: t.Parts}
		// Gemini 3 validates the signature of each step's first function
		// call; a call without one (history written by the client, or
		// from another model) gets Google's documented placeholder, which
		// skips the check.
		c := &contents[i]
		if j := slices.IndexFunc(c.Parts, func(p part) bool { return p.FunctionCall != nil }); c.Role == "model" && gemini3 && j >= 0 && c.Parts[j].ThoughtSignature == "" {
			c.Parts[j].ThoughtSignature = skipSignature
		}
	}
	return system, contents, nil
}

// textParts reads content that may hold only text: system, developer.
// Empty texts are left out.
func textParts(m *openaichat.Message, at string) ([]part, error) {
	text, parts, err := m.Parts(at)
	if err != nil {
		return nil, err
	}
	if text != "" {
		return []part{{Text: text}}, nil
	}
	var out []part
	for j, p := range parts {
		if p.Type != "text" {
			return nil, ownkey.FieldError(fmt.Sprintf("%s.content[%d].type", at, j), "only text parts are allowed here, not %s", safeText(p.Type))
		}
		if p.Text != "" {
			out = append(out, part{Text: p.Text})
		}
	}
	return out, nil
}

func userParts(m *openaichat.Message, at string) ([]part, error) {
	text, parts, err := m.Parts(at)
	if err != nil {
		return nil, err
	}
	if text != "" {
		return []part{{Text: text}}, nil
	}
	var out []part
	for j, p := range parts {
		pat := fmt.Sprintf("%s.content[%d]", at, j)
		switch p.Type {
		case "text":
			if p.Text != "" {
				out = append(out, part{Text: p.Text})
			}
		case "image_url":
			if p.ImageURL == nil || p.ImageURL.URL == "" {
				return nil, ownkey.FieldError(pat+".image_url.url", "image_url.url is required")
			}
			ip, err := imagePart(p.ImageURL.URL, pat+".image_url.url")
			if err != nil {
				return nil, err
			}
			out = append(out, ip)
		case "input_audio":
			a := p.InputAudio
			if a == nil || a.Data == "" {
				return nil, ownkey.FieldError(pat+".input_audio.data", "input_audio.data is required")
			}
			if a.Format != "wav" && a.Format != "mp3" {
				return nil, ownkey.FieldError(pat+".input_audio.format", "input_audio.format must be wav or mp3")
			}
			out = append(out, part{InlineData: &blob{MimeType: "audio/" + a.Format, Data: a.Data}})
		case "file":
			if p.File == nil || p.File.FileData == "" {
				if p.File != nil && p.File.FileID != "" {
					return nil, ownkey.FieldError(pat+".file.file_id", "OpenAI file ids mean nothing to Gemini; send the file inline as file_data")
				}
				return nil, ownkey.FieldError(pat+".file.file_data", "file.file_data is required")
			}
			mediaType, data, ok := openaichat.ParseDataURL(p.File.FileData)
			if !ok {
				return nil, ownkey.FieldError(pat+".file.file_data", "file_data must be a base64 data: URL (data:application/pdf;base64,<data>)")
			}
			out = append(out, part{InlineData: &blob{MimeType: mediaType, Data: data}})
		default:
			return nil, ownkey.FieldError(pat+".type", "unsupported content part type %s", safeText(p.Type))
		}
	}
	return out, nil
}

// imageTypes are the image types Gemini reads, by file extension, for the
// mimeType of an image given by URL.
var imageTypes = map[string]string{
	".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp",
	".heic": "image/heic", ".heif": "image/heif", ".gif": "image/gif",
}

// imagePart turns an image URL into a part: a base64 data: URL into inline
// data, an http(s) URL into file data that Gemini fetches itself (ownkey
// never fetches a client's URL), with the type its extension names.
func imagePart(url, param string) (part, error) {
	if strings.HasPrefix(url, "data:") {
		mediaType, data, ok := openaichat.ParseDataURL(url)
		if !ok {
			return part{}, ownkey.FieldError(param, "a data: URL must look like data:image/png;base64,<data>")
		}
		return part{InlineData: &blob{MimeType: mediaType, Data: data}}, nil
	}
	if lower := strings.ToLower(url); strings.HasPrefix(lower, "https://") || strings.HasPrefix(lower, "http://") {
		p, _, _ := strings.Cut(lower, "?")
		p, _, _ = strings.Cut(p, "#")
		return part{FileData: &fileData{MimeType: imageTypes[path.Ext(p)], FileURI: url}}, nil
	}
	return part{}, ownkey.FieldError(param, "an image URL must be an http(s) URL or a base64 data: URL")
}

// modelParts reads an assistant message: its text, and its tool calls as
// function calls with their thought signatures. names learns each call's
// function name, which the tool messages answering it need.
func modelParts(m *openaichat.Message, at string, names map[string]string) ([]part, error) {
	text, parts, err := m.Parts(at)
	if err != nil {
		return nil, err
	}
	var out []part
	if text != "" {
		out = append(out, part{Text: text})
	}
	for j, p := range parts {
		switch p.Type {
		case "text":
			if p.Text != "" {
				out = append(out, part{Text: p.Text})
			}
		case "refusal":
			if p.Refusal != "" {
				out = append(out, part{Text: p.Refusal})
			}
		default:
			return nil, ownkey.FieldError(fmt.Sprintf("%s.content[%d].type", at, j), "assistant content parts must be text or refusal, not %s", safeText(p.Type))
		}
	}
	if len(out) == 0 && m.Refusal != nil && *m.Refusal != "" {
		out = append(out, part{Text: *m.Refusal})
	}
	for j := range m.ToolCalls {
		tc := &m.ToolCalls[j]
		tat := fmt.Sprintf("%s.tool_calls[%d]", at, j)
		if tc.ID == "" {
			return nil, ownkey.FieldError(tat+".id", "a tool call needs its id")
		}
		if tc.Function.Name == "" {
			return nil, ownkey.FieldError(tat+".function.name", "a tool call needs its function name")
		}
		args, err := tc.ArgumentsObject(tat + ".function.arguments")
		if err != nil {
			return nil, err
		}
		names[tc.ID] = tc.Function.Name
		_, sig := splitToolCallID(tc.ID)
		if sig == "" {
			// Google's OpenAI-compatible endpoint carries it here.
			if s := gjson.GetBytes(tc.ExtraContent, "google.thought_signature"); s.Type == gjson.String && isSignature(s.Str) {
				sig = s.Str
			}
		}
		out = append(out, part{FunctionCall: &functionCall{Name: tc.Function.Name, Args: args}, ThoughtSignature: sig})
	}
	return out, nil
}

// toolResult reads a tool message: a function response named after the
// call it answers. A result that is a JSON object is the response as it
// is; any other text is {"output": text}, the key Gemini reads as the
// function's output.
func toolResult(m *openaichat.Message, at string, names map[string]string) ([]part, error) {
	if m.ToolCallID == "" {
		return nil, ownkey.FieldError(at+".tool_call_id", "a tool message needs the tool_call_id it answers")
	}
	name, ok := names[m.ToolCallID]
	if !ok {
		return nil, ownkey.FieldError(at+".tool_call_id", "no earlier assistant message has a tool call with this id: Gemini needs the function's name, which ownkey takes from that call")
	}
	text, _, err := m.Parts(at)
	if err != nil {
		return nil, err
	}
	if text == "" {
		texts, err := textParts(m, at)
		if err != nil {
			return nil, err
		}
		var b strings.Builder
		for _, t := range texts {
			b.WriteString(t.Text)
		}
		text = b.String()
	}
	var response json.RawMessage
	if t := bytes.TrimSpace([]byte(text)); len(t) > 0 && t[0] == '{' && json.Valid(t) {
		var compact bytes.Buffer
		_ = json.Compact(&compact, t)
		response = compact.Bytes()
	} else {
		response, _ = json.Marshal(map[string]string{"output": text})
	}
	return []part{{FunctionResponse: &functionResponse{Name: name, Response: response}}}, nil
}

// translateTools sets the function declarations and the function calling
// mode.
func translateTools(in *openaichat.Request, out *generateRequest) error {
	var decls []functionDeclaration
	for i, t := range in.Tools {
		at := fmt.Sprintf("tools[%d]", i)
		if t.Type != "function" {
			return ownkey.FieldError(at+".type", "only function tools are supported, not %s", safeText(t.Type))
		}
		if t.Function == nil || t.Function.Name == "" {
			return ownkey.FieldError(at+".function.name", "a function tool needs a name")
		}
		d := functionDeclaration{Name: t.Function.Name, Description: t.Function.Description}
		if p := bytes.TrimSpace(t.Function.Parameters); openaichat.Present(p) {
			if p[0] != '{' {
				return ownkey.FieldError(at+".function.parameters", "parameters must be a JSON Schema object")
			}
			schema, err := convertSchema(p, at+".function.parameters", false)
			if err != nil {
				return err
			}
			d.Parameters = schema
		}
		decls = append(decls, d)
	}
	choice, err := in.ParseToolChoice()
	if err != nil {
		return err
	}
	if len(decls) == 0 {
		// No tools: a tool_choice means nothing (OpenAI clients send one
		// by default).
		return nil
	}
	out.Tools = []toolSet{{FunctionDeclarations: decls}}
	if choice == nil {
		return nil
	}
	cfg := functionCallingConfig{}
	switch choice.Mode {
	case openaichat.ToolChoiceAuto:
		cfg.Mode = "AUTO"
	case openaichat.ToolChoiceNone:
		cfg.Mode = "NONE"
	case openaichat.ToolChoiceRequired:
		cfg.Mode = "ANY"
	case openaichat.ToolChoiceFunction:
		if !slices.ContainsFunc(decls, func(d functionDeclaration) bool { return d.Name == choice.Function }) {
			return ownkey.FieldError("tool_choice.function.name", "no tool is named %s", safeText(choice.Function))
		}
		cfg.Mode, cfg.AllowedFunctionNames = "ANY", []string{choice.Function}
	}
	out.ToolConfig = &toolConfig{FunctionCallingConfig: cfg}
	return nil
}
