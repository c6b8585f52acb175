package anthropic

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider/openaichat"
)

// jsonToolName is the forced tool that carries a JSON response_format.
const jsonToolName = openaichat.JSONToolName

// minThinkingBudget is Anthropic's smallest budget_tokens.
const minThinkingBudget = openaichat.MinThinkingBudget

// The Anthropic Messages request.
type messagesRequest struct {
	Model         string      `json:"model"`
	MaxTokens     int64       `json:"max_tokens"`
	System        []block     `json:"system,omitempty"`
	Messages      []turn      `json:"messages"`
	Temperature   *float64    `json:"temperature,omitempty"`
	TopP          *float64    `json:"top_p,omitempty"`
	TopK          *int64      `json:"top_k,omitempty"`
	StopSequences []string    `json:"stop_sequences,omitempty"`
	Stream        bool        `json:"stream,omitempty"`
	Tools         []tool      `json:"tools,omitempty"`
	ToolChoice    *toolChoice `json:"tool_choice,omitempty"`
	Thinking      *thinking   `json:"thinking,omitempty"`
	Metadata      *metadata   `json:"metadata,omitempty"`
}

type turn struct {
	Role    string  `json:"role"`
	Content []block `json:"content"`
}

// block is every input content block kind in one struct; each kind sets
// only its own fields.
type block struct {
	Type         string          `json:"type"`
	Text         string          `json:"text,omitempty"`
	Source       *source         `json:"source,omitempty"`
	ID           string          `json:"id,omitempty"`
	Name         string          `json:"name,omitempty"`
	Input        json.RawMessage `json:"input,omitempty"`
	ToolUseID    string          `json:"tool_use_id,omitempty"`
	Content      any             `json:"content,omitempty"` // tool_result: string or []block
	CacheControl json.RawMessage `json:"cache_control,omitempty"`
}

type source struct {
	Type      string `json:"type"`
	MediaType string `json:"media_type,omitempty"`
	Data      string `json:"data,omitempty"`
	URL       string `json:"url,omitempty"`
}

type tool struct {
	Name         string          `json:"name"`
	Description  string          `json:"description,omitempty"`
	InputSchema  json.RawMessage `json:"input_schema"`
	CacheControl json.RawMessage `json:"cache_control,omitempty"`
}

type toolChoice struct {
	Type                   string `json:"type"`
	Name                   string `json:"name,omitempty"`
	DisableParallelToolUse bool   `json:"disable_parallel_tool_use,omitempty"`
}

type thinking struct {
	Type         string `json:"type"`
	BudgetTokens int64  `json:"budget_tokens"`
}

type metadata struct {
	UserID string `json:"user_id"`
}

// translation is a translated request and what reading its answer needs.
type translation struct {
	body []byte
	// jsonMode: a JSON response_format is served by the json tool, whose
	// input is the answer's content.
	jsonMode bool
}

// emptySchema is the input_schema of a tool that takes no parameters.
var emptySchema = json.RawMessage(`{"type":"object","properties":{}}`)

// translateRequest turns the client's OpenAI request into a Messages
// request. Every error is an EINVALID naming the field at fault.
func translateRequest(req *ownkey.ChatRequest, defaultMax int64) (*translation, error) {
	in, err := openaichat.Decode(req.Body)
	if err != nil {
		return nil, err
	}
	if err := checkUnsupported(in); err != nil {
		return nil, err
	}
	out := messagesRequest{Model: req.Model, Stream: req.Stream}
	if out.System, out.Messages, err = translateMessages(in.Messages); err != nil {
		return nil, err
	}
	if len(out.Messages) == 0 {
		return nil, ownkey.FieldError("messages", "messages needs at least one user or assistant message with content: Anthropic does not accept a conversation of system messages only")
	}
	if t := in.Temperature; t != nil && (*t < 0 || *t > 1) {
		return nil, ownkey.FieldError("temperature", "temperature must be between 0 and 1 for Anthropic models (OpenAI allows up to 2; ownkey does not rescale it)")
	}
	if p := in.TopP; p != nil && (*p < 0 || *p > 1) {
		return nil, ownkey.FieldError("top_p", "top_p must be between 0 and 1")
	}
	if k := in.TopK; k != nil && *k < 0 {
		return nil, ownkey.FieldError("top_k", "top_k must not be negative")
	}
	out.Temperature, out.TopP, out.TopK = in.Temperature, in.TopP, in.TopK
	if out.StopSequences, err = in.StopSequences(); err != nil {
		return nil, err
	}
	if id := cmp.Or(in.SafetyIdentifier, in.User); id != "" {
		out.Metadata = &metadata{UserID: id}
	}

	maxParam, maxTokens := "", int64(0)
	switch {
	case in.MaxCompletionTokens != nil:
		maxParam, maxTokens = "max_completion_tokens", *in.MaxCompletionTokens
	case in.MaxTokens != nil:
		maxParam, maxTokens = "max_tokens", *in.MaxTokens
	}
	if maxParam != "" && maxTokens < 1 {
		return nil, ownkey.FieldError(maxParam, "%s must be at least 1", maxParam)
	}

	tr := &translation{}
	if err := translateTools(in, &out, tr); err != nil {
		return nil, err
	}

	budget, err := in.ThinkingBudget()
	if err != nil {
		return nil, err
	}
	if budget > 0 && tr.jsonMode {
		return nil, ownkey.FieldError("response_format", "a JSON response_format cannot be combined with reasoning_effort on Anthropic models: ownkey obtains JSON through a forced tool call, which Anthropic does not allow while thinking")
	}
	if budget > 0 && lastAssistantHasToolUse(out.Messages) {
		budget = 0
	}
	switch {
	case maxParam == "":
		out.MaxTokens = defaultMax + budget
	case budget > 0 && maxTokens <= minThinkingBudget:
		return nil, ownkey.FieldError(maxParam, "%s must be above %d with reasoning_effort on Anthropic models: the thinking budget is at least %d tokens and must stay below it", maxParam, minThinkingBudget, minThinkingBudget)
	case budget > 0:
		out.MaxTokens = maxTokens
		budget = min(budget, max(minThinkingBudget, maxTokens/2))
	default:
		out.MaxTokens = maxTokens
	}
	if budget > 0 {
		out.Thinking = &thinking{Type: "enabled", BudgetTokens: budget}
	}

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&out); err != nil {
		// Only a value the decoder accepted is here; a failure is ours.
		return nil, ownkey.Errorf(ownkey.EINTERNAL, "encoding the Anthropic request: %v", err)
	}
	tr.body = bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	return tr, nil
}

// checkUnsupported applies the rejection policy of the package comment.
func checkUnsupported(in *openaichat.Request) error {
	return in.Unsupported("Anthropic models")
}

// translateMessages builds the system prompt and the alternating turns.
func translateMessages(msgs []openaichat.Message) ([]block, []turn, error) {
	var system []block
	b := openaichat.TurnBuilder[block]{
		AssistantRole: "assistant",
		System: func(m *openaichat.Message, at string) error {
			parts, err := textParts(m, at)
			system = append(system, parts...)
			return err
		},
		User: userBlocks, Assistant: assistantBlocks, Tool: toolResult,
		IsToolResult: func(b block) bool { return b.Type == "tool_result" },
	}
	built, err := b.Build(msgs)
	if err != nil {
		return nil, nil, err
	}
	turns := make([]turn, len(built))
	for i, t := range built {
		turns[i] = turn{Role: t.Role, Content: t.Parts}
	}
	return system, turns, nil
}

func textBlock(text string, cacheControl json.RawMessage) block {
	b := block{Type: "text", Text: text}
	if openaichat.Present(cacheControl) {
		b.CacheControl = cacheControl
	}
	return b
}

// textParts reads content that may hold only text: system, developer and
// tool messages. Empty texts are left out, as Anthropic rejects them.
func textParts(m *openaichat.Message, at string) ([]block, error) {
	text, parts, err := m.TextParts(at)
	if err != nil {
		return nil, err
	}
	if text != "" {
		return []block{{Type: "text", Text: text}}, nil
	}
	var out []block
	for _, p := range parts {
		if p.Text != "" {
			out = append(out, textBlock(p.Text, p.CacheControl))
		}
	}
	return out, nil
}

func userBlocks(m *openaichat.Message, at string) ([]block, error) {
	text, parts, err := m.Parts(at)
	if err != nil {
		return nil, err
	}
	if text != "" {
		return []block{{Type: "text", Text: text}}, nil
	}
	var out []block
	for j, p := range parts {
		pat := fmt.Sprintf("%s.content[%d]", at, j)
		switch p.Type {
		case "text":
			if p.Text != "" {
				out = append(out, textBlock(p.Text, p.CacheControl))
			}
		case "image_url":
			if p.ImageURL == nil || p.ImageURL.URL == "" {
				return nil, ownkey.FieldError(pat+".image_url.url", "image_url.url is required")
			}
			src, err := imageSource(p.ImageURL.URL, pat+".image_url.url")
			if err != nil {
				return nil, err
			}
			b := block{Type: "image", Source: src}
			if openaichat.Present(p.CacheControl) {
				b.CacheControl = p.CacheControl
			}
			out = append(out, b)
		case "file":
			b, err := documentBlock(&p, pat)
			if err != nil {
				return nil, err
			}
			out = append(out, b)
		case "input_audio":
			return nil, ownkey.FieldError(pat, "audio input is not supported by Anthropic models")
		default:
			return nil, ownkey.FieldError(pat+".type", "unsupported content part type %q", p.Type)
		}
	}
	return out, nil
}

// imageSource turns an image URL into an Anthropic image source: a base64
// data: URL into a base64 source, an http(s) URL into a url source that
// Anthropic fetches.
func imageSource(url, param string) (*source, error) {
	if strings.HasPrefix(url, "data:") {
		mediaType, data, ok := openaichat.ParseDataURL(url)
		if !ok {
			return nil, ownkey.FieldError(param, "a data: URL must look like data:image/png;base64,<data>")
		}
		return &source{Type: "base64", MediaType: mediaType, Data: data}, nil
	}
	if lower := strings.ToLower(url); strings.HasPrefix(lower, "https://") || strings.HasPrefix(lower, "http://") {
		return &source{Type: "url", URL: url}, nil
	}
	return nil, ownkey.FieldError(param, "an image URL must be an http(s) URL or a base64 data: URL")
}

func documentBlock(p *openaichat.ContentPart, at string) (block, error) {
	if p.File == nil || p.File.FileData == "" {
		if p.File != nil && p.File.FileID != "" {
			return block{}, ownkey.FieldError(at+".file.file_id", "OpenAI file ids mean nothing to Anthropic; send the file inline as file_data")
		}
		return block{}, ownkey.FieldError(at+".file.file_data", "file.file_data is required")
	}
	mediaType, data, ok := openaichat.ParseDataURL(p.File.FileData)
	if !ok || mediaType != "application/pdf" {
		return block{}, ownkey.FieldError(at+".file.file_data", "only PDF files are supported, as a data:application/pdf;base64,<data> URL")
	}
	b := block{Type: "document", Source: &source{Type: "base64", MediaType: mediaType, Data: data}}
	if openaichat.Present(p.CacheControl) {
		b.CacheControl = p.CacheControl
	}
	return b, nil
}

func assistantBlocks(m *openaichat.Message, at string) ([]block, error) {
	text, parts, err := m.Parts(at)
	if err != nil {
		return nil, err
	}
	var out []block
	if text != "" {
		out = append(out, block{Type: "text", Text: text})
	}
	for j, p := range parts {
		switch p.Type {
		case "text":
			if p.Text != "" {
				out = append(out, textBlock(p.Text, p.CacheControl))
			}
		case "refusal":
			if p.Refusal != "" {
				out = append(out, block{Type: "text", Text: p.Refusal})
			}
		default:
			return nil, ownkey.FieldError(fmt.Sprintf("%s.content[%d].type", at, j), "assistant content parts must be text or refusal, not %q", p.Type)
		}
	}
	if len(out) == 0 && m.Refusal != nil && *m.Refusal != "" {
		out = append(out, block{Type: "text", Text: *m.Refusal})
	}
	for j, tc := range m.ToolCalls {
		tat := fmt.Sprintf("%s.tool_calls[%d]", at, j)
		if tc.ID == "" {
			return nil, ownkey.FieldError(tat+".id", "a tool call needs its id")
		}
		if tc.Function.Name == "" {
			return nil, ownkey.FieldError(tat+".function.name", "a tool call needs its function name")
		}
		input, err := tc.ArgumentsObject(tat + ".function.arguments")
		if err != nil {
			return nil, err
		}
		out = append(out, block{Type: "tool_use", ID: tc.ID, Name: tc.Function.Name, Input: input})
	}
	return out, nil
}

func toolResult(m *openaichat.Message, at string) ([]block, error) {
	if m.ToolCallID == "" {
		return nil, ownkey.FieldError(at+".tool_call_id", "a tool message needs the tool_call_id it answers")
	}
	text, _, err := m.Parts(at)
	if err != nil {
		return nil, err
	}
	b := block{Type: "tool_result", ToolUseID: m.ToolCallID}
	if text != "" {
		b.Content = text
	} else {
		parts, err := textParts(m, at)
		if err != nil {
			return nil, err
		}
		if len(parts) > 0 {
			b.Content = parts
		}
	}
	return []block{b}, nil
}

func lastAssistantHasToolUse(turns []turn) bool {
	for i := len(turns) - 1; i >= 0; i-- {
		if turns[i].Role == "assistant" {
			return slices.ContainsFunc(turns[i].Content, func(b block) bool { return b.Type == "tool_use" })
		}
	}
	return false
}

// translateTools sets tools and tool_choice, and the json tool of a JSON
// response_format (see the package comment).
func translateTools(in *openaichat.Request, out *messagesRequest, tr *translation) error {
	for i, t := range in.Tools {
		schema, err := t.FunctionParameters(fmt.Sprintf("tools[%d]", i))
		if err != nil {
			return err
		}
		if schema == nil {
			schema = emptySchema
		}
		tl := tool{Name: t.Function.Name, Description: t.Function.Description, InputSchema: schema}
		if openaichat.Present(t.CacheControl) {
			tl.CacheControl = t.CacheControl
		}
		out.Tools = append(out.Tools, tl)
	}

	choice, err := translateToolChoice(in)
	if err != nil {
		return err
	}
	jsonTool, err := responseFormatTool(in)
	if err != nil {
		return err
	}
	if jsonTool != nil {
		if slices.ContainsFunc(out.Tools, func(t tool) bool { return t.Name == jsonToolName }) {
			return ownkey.FieldError("response_format", "a JSON response_format needs the tool name %q, which one of the tools already has", jsonToolName)
		}
		switch {
		case len(out.Tools) == 0 || (choice != nil && choice.Type == "none"):
			out.Tools = []tool{*jsonTool}
			choice = &toolChoice{Type: "tool", Name: jsonToolName}
			tr.jsonMode = true
		case choice == nil || choice.Type == "auto":
			out.Tools = append(out.Tools, *jsonTool)
			choice = &toolChoice{Type: "any"}
			tr.jsonMode = true
		}
		// A required or named tool_choice: the answer is a tool call, and
		// the json tool would only be a way around it.
	}
	if len(out.Tools) == 0 {
		// Anthropic rejects a tool_choice without tools; OpenAI clients
		// send one by default.
		return nil
	}
	if in.ParallelToolCalls != nil && !*in.ParallelToolCalls {
		if choice == nil {
			choice = &toolChoice{Type: "auto"}
		}
		if choice.Type != "none" {
			choice.DisableParallelToolUse = true
		}
	}
	out.ToolChoice = choice
	return nil
}

// translateToolChoice maps tool_choice: auto and none as they are, required
// to any, a named function to tool.
func translateToolChoice(in *openaichat.Request) (*toolChoice, error) {
	c, err := in.ParseToolChoice()
	if c == nil || err != nil {
		return nil, err
	}
	switch c.Mode {
	case openaichat.ToolChoiceRequired:
		return &toolChoice{Type: "any"}, nil
	case openaichat.ToolChoiceFunction:
		return &toolChoice{Type: "tool", Name: c.Function}, nil
	}
	return &toolChoice{Type: c.Mode}, nil
}

// responseFormatTool returns the json tool for a JSON response_format, or
// nil for text.
func responseFormatTool(in *openaichat.Request) (*tool, error) {
	jt, err := in.JSONTool()
	if jt == nil || err != nil {
		return nil, err
	}
	return &tool{Name: jsonToolName, Description: jt.Description, InputSchema: jt.Schema}, nil
}
