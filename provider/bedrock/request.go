package bedrock

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider/openaichat"
)

// jsonToolName is the forced tool that carries a JSON response_format.
const jsonToolName = openaichat.JSONToolName

// stubToolName is the tool offered when the conversation holds tool calls
// but no tool may be called now (none were given, or tool_choice is none):
// Bedrock refuses toolUse and toolResult blocks without a toolConfig.
const stubToolName = "no_tool_available"

// The Converse request (bedrockruntime's ConverseRequest, the members
// ownkey sends).
type converseRequest struct {
	Messages                     []message        `json:"messages"`
	System                       []block          `json:"system,omitempty"`
	InferenceConfig              *inferenceConfig `json:"inferenceConfig,omitempty"`
	ToolConfig                   *toolConfig      `json:"toolConfig,omitempty"`
	AdditionalModelRequestFields map[string]any   `json:"additionalModelRequestFields,omitempty"`
}

type message struct {
	Role    string  `json:"role"`
	Content []block `json:"content"`
}

// block is a ContentBlock (and a SystemContentBlock, a
// ToolResultContentBlock): a union of which exactly one member is set.
type block struct {
	Text       string      `json:"text,omitempty"`
	Image      *image      `json:"image,omitempty"`
	Document   *document   `json:"document,omitempty"`
	ToolUse    *toolUse    `json:"toolUse,omitempty"`
	ToolResult *toolResult `json:"toolResult,omitempty"`
	CachePoint *cachePoint `json:"cachePoint,omitempty"`
}

type image struct {
	Format string `json:"format"`
	Source source `json:"source"`
}

type document struct {
	Format string `json:"format"`
	Name   string `json:"name"`
	Source source `json:"source"`
}

// source holds a blob as base64, the JSON protocol's encoding of bytes:
// the data: URL's data goes on as the client sent it.
type source struct {
	Bytes string `json:"bytes"`
}

type toolUse struct {
	ToolUseID string          `json:"toolUseId"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
}

type toolResult struct {
	ToolUseID string  `json:"toolUseId"`
	Content   []block `json:"content"`
}

type cachePoint struct {
	Type string `json:"type"`
}

type inferenceConfig struct {
	MaxTokens     *int64   `json:"maxTokens,omitempty"`
	Temperature   *float64 `json:"temperature,omitempty"`
	TopP          *float64 `json:"topP,omitempty"`
	StopSequences []string `json:"stopSequences,omitempty"`
}

type toolConfig struct {
	Tools      []tool      `json:"tools"`
	ToolChoice *toolChoice `json:"toolChoice,omitempty"`
}

// tool is a Tool union: a toolSpec, or a cachePoint after the tools it
// caches.
type tool struct {
	ToolSpec   *toolSpec   `json:"toolSpec,omitempty"`
	CachePoint *cachePoint `json:"cachePoint,omitempty"`
}

type toolSpec struct {
	Name        string      `json:"name"`
	Description string      `json:"description,omitempty"`
	InputSchema inputSchema `json:"inputSchema"`
}

type inputSchema struct {
	JSON json.RawMessage `json:"json"`
}

// toolChoice is a ToolChoice union: {"auto":{}}, {"any":{}} or
// {"tool":{"name":…}}.
type toolChoice struct {
	Auto *struct{}  `json:"auto,omitempty"`
	Any  *struct{}  `json:"any,omitempty"`
	Tool *namedTool `json:"tool,omitempty"`
}

type namedTool struct {
	Name string `json:"name"`
}

// translation is a translated request and what reading its answer needs.
type translation struct {
	body []byte
	// jsonMode: a JSON response_format is served by the json tool, whose
	// input is the answer's content.
	jsonMode bool
}

// emptySchema is the input schema of a tool that takes no parameters.
var emptySchema = json.RawMessage(`{"type":"object","properties":{}}`)

var defaultCachePoint = &cachePoint{Type: "default"}

// anthropicModel reports whether model names a Claude model: a foundation
// model id (anthropic.claude-…) or an inference profile of one (us.,
// eu., apac., global. before it). An application inference profile's ARN
// does not say which model it serves, so it counts as another model.
func anthropicModel(model string) bool {
	return strings.Contains(model, "anthropic.")
}

// nova2Model reports whether model is Amazon Nova 2, which takes a
// reasoning effort rather than a budget.
func nova2Model(model string) bool { return strings.Contains(model, "amazon.nova-2") }

// translateRequest turns the client's OpenAI request into a Converse
// request. Every error is an EINVALID naming the field at fault.
func translateRequest(req *ownkey.ChatRequest, defaultMax int64) (*translation, error) {
	in, err := openaichat.Decode(req.Body)
	if err != nil {
		return nil, err
	}
	if err := in.Unsupported("models on Bedrock"); err != nil {
		return nil, err
	}
	out := converseRequest{}
	var toolBlocks bool
	if out.System, out.Messages, toolBlocks, err = translateMessages(in.Messages); err != nil {
		return nil, err
	}
	if len(out.Messages) == 0 {
		return nil, ownkey.FieldError("messages", "messages needs at least one user or assistant message with content: Bedrock does not accept a conversation of system messages only")
	}
	claude := anthropicModel(req.Model)
	extra := map[string]any{}
	if k := in.TopK; k != nil {
		if !claude {
			return nil, ownkey.FieldError("top_k", "top_k is passed on only to Anthropic models on Bedrock (as their top_k); other models take no such field through Converse")
		}
		if *k < 0 {
			return nil, ownkey.FieldError("top_k", "top_k must not be negative")
		}
		extra["top_k"] = *k
	}

	cfg := inferenceConfig{Temperature: in.Temperature, TopP: in.TopP}
	if cfg.StopSequences, err = in.StopSequences(); err != nil {
		return nil, err
	}
	maxParam := ""
	switch {
	case in.MaxCompletionTokens != nil:
		maxParam, cfg.MaxTokens = "max_completion_tokens", in.MaxCompletionTokens
	case in.MaxTokens != nil:
		maxParam, cfg.MaxTokens = "max_tokens", in.MaxTokens
	}
	if maxParam != "" && *cfg.MaxTokens < 1 {
		return nil, ownkey.FieldError(maxParam, "%s must be at least 1", maxParam)
	}

	tr := &translation{}
	if out.ToolConfig, err = translateTools(in, toolBlocks, tr); err != nil {
		return nil, err
	}
	if err := reasoning(in, req.Model, lastAssistantHasToolUse(out.Messages), tr.jsonMode, defaultMax, maxParam, &cfg, extra); err != nil {
		return nil, err
	}
	if cfg.MaxTokens != nil || cfg.Temperature != nil || cfg.TopP != nil || len(cfg.StopSequences) > 0 {
		out.InferenceConfig = &cfg
	}
	if len(extra) > 0 {
		out.AdditionalModelRequestFields = extra
	}

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&out); err != nil {
		// Only a value the decoder accepted is here; a failure is ours.
		return nil, ownkey.Errorf(ownkey.EINTERNAL, "encoding the Bedrock request: %v", err)
	}
	tr.body = bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	return tr, nil
}

// reasoning applies reasoning_effort (see the package comment): Claude's
// thinking budget, Nova 2's reasoning effort, nothing for other models.
func reasoning(in *openaichat.Request, model string, afterToolUse, jsonMode bool, defaultMax int64, maxParam string,
	cfg *inferenceConfig, extra map[string]any) error {
	budget, err := in.ThinkingBudget()
	if err != nil {
		return err
	}
	switch {
	case budget == 0:
		return nil
	case nova2Model(model):
		effort := *in.ReasoningEffort
		switch effort {
		case "minimal":
			effort = "low"
		case "xhigh", "max":
			effort = "high"
		}
		extra["reasoningConfig"] = map[string]string{"type": "enabled", "maxReasoningEffort": effort}
		return nil
	case !anthropicModel(model):
		return nil
	case jsonMode:
		return ownkey.FieldError("response_format", "a JSON response_format cannot be combined with reasoning_effort on Anthropic models: ownkey obtains JSON through a forced tool call, which Claude does not allow while thinking")
	case afterToolUse:
		// Claude would demand that turn's signed thinking block, which an
		// OpenAI client cannot send back.
		return nil
	}
	const minBudget = openaichat.MinThinkingBudget
	switch {
	case maxParam == "":
		cfg.MaxTokens = new(defaultMax + budget)
	case *cfg.MaxTokens <= minBudget:
		return ownkey.FieldError(maxParam, "%s must be above %d with reasoning_effort on Anthropic models: the thinking budget is at least %d tokens and must stay below it", maxParam, minBudget, minBudget)
	default:
		budget = min(budget, max(minBudget, *cfg.MaxTokens/2))
	}
	extra["thinking"] = map[string]any{"type": "enabled", "budget_tokens": budget}
	return nil
}

// translateMessages builds the system prompt and the alternating turns, and
// reports whether any turn holds tool calls or results.
func translateMessages(msgs []openaichat.Message) (system []block, turns []message, toolBlocks bool, err error) {
	docs := 0 // documents so far: each needs a name of its own
	b := openaichat.TurnBuilder[block]{
		AssistantRole: "assistant",
		System: func(m *openaichat.Message, at string) error {
			parts, err := textParts(m, at)
			system = append(system, parts...)
			return err
		},
		User:      func(m *openaichat.Message, at string) ([]block, error) { return userBlocks(m, at, &docs) },
		Assistant: assistantBlocks, Tool: toolResultBlock,
		// A turn's tool results go before anything else in it (Claude
		// demands it).
		IsToolResult: func(b block) bool { return b.ToolResult != nil },
	}
	built, err := b.Build(msgs)
	if err != nil {
		return nil, nil, false, err
	}
	turns = make([]message, len(built))
	for i, t := range built {
		turns[i] = message{Role: t.Role, Content: t.Parts}
		toolBlocks = toolBlocks || slices.ContainsFunc(t.Parts, func(b block) bool { return b.ToolUse != nil || b.ToolResult != nil })
	}
	return system, turns, toolBlocks, nil
}

// withCachePoint appends b, and a cache point after it when the client
// marked the part with cache_control (Anthropic's, as OpenRouter takes it).
func withCachePoint(out []block, b block, cacheControl json.RawMessage) []block {
	out = append(out, b)
	if openaichat.Present(cacheControl) {
		out = append(out, block{CachePoint: defaultCachePoint})
	}
	return out
}

// textParts reads content that may hold only text: system, developer and
// tool messages. Empty texts are left out, as Bedrock rejects them.
func textParts(m *openaichat.Message, at string) ([]block, error) {
	text, parts, err := m.TextParts(at)
	if err != nil {
		return nil, err
	}
	if text != "" {
		return []block{{Text: text}}, nil
	}
	var out []block
	for _, p := range parts {
		if p.Text != "" {
			out = withCachePoint(out, block{Text: p.Text}, p.CacheControl)
		}
	}
	return out, nil
}

// imageFormats are the image formats Converse takes, by media type.
var imageFormats = map[string]string{
	"image/png": "png", "image/jpeg": "jpeg", "image/jpg": "jpeg", "image/gif": "gif", "image/webp": "webp",
}

// documentFormats are the document formats Converse takes, by media type.
var documentFormats = map[string]string{
	"application/pdf": "pdf", "text/csv": "csv", "text/html": "html", "text/plain": "txt", "text/markdown": "md",
	"application/msword": "doc", "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
	"application/vnd.ms-excel": "xls", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
}

func userBlocks(m *openaichat.Message, at string, docs *int) ([]block, error) {
	text, parts, err := m.Parts(at)
	if err != nil {
		return nil, err
	}
	if text != "" {
		return []block{{Text: text}}, nil
	}
	var out []block
	for j, p := range parts {
		pat := fmt.Sprintf("%s.content[%d]", at, j)
		switch p.Type {
		case "text":
			if p.Text != "" {
				out = withCachePoint(out, block{Text: p.Text}, p.CacheControl)
			}
		case "image_url":
			if p.ImageURL == nil || p.ImageURL.URL == "" {
				return nil, ownkey.FieldError(pat+".image_url.url", "image_url.url is required")
			}
			mediaType, data, ok := openaichat.ParseDataURL(p.ImageURL.URL)
			if !strings.HasPrefix(p.ImageURL.URL, "data:") {
				return nil, ownkey.FieldError(pat+".image_url.url", "Bedrock takes images only inline: send a base64 data: URL (data:image/png;base64,…), not a link")
			}
			format := imageFormats[mediaType]
			if !ok || format == "" {
				return nil, ownkey.FieldError(pat+".image_url.url", "an image must be a base64 data: URL of a PNG, JPEG, GIF or WebP image")
			}
			out = withCachePoint(out, block{Image: &image{Format: format, Source: source{Bytes: data}}}, p.CacheControl)
		case "file":
			if p.File == nil || p.File.FileData == "" {
				if p.File != nil && p.File.FileID != "" {
					return nil, ownkey.FieldError(pat+".file.file_id", "OpenAI file ids mean nothing to Bedrock; send the file inline as file_data")
				}
				return nil, ownkey.FieldError(pat+".file.file_data", "file.file_data is required")
			}
			mediaType, data, ok := openaichat.ParseDataURL(p.File.FileData)
			format := documentFormats[mediaType]
			if !ok || format == "" {
				return nil, ownkey.FieldError(pat+".file.file_data", "a file must be a base64 data: URL of a PDF, CSV, HTML, plain text, Markdown, Word or Excel document")
			}
			*docs++
			out = withCachePoint(out, block{Document: &document{Format: format, Name: fmt.Sprintf("document-%d", *docs), Source: source{Bytes: data}}}, p.CacheControl)
		case "input_audio":
			return nil, ownkey.FieldError(pat, "audio input is not supported through Bedrock's Converse API")
		default:
			return nil, ownkey.FieldError(pat+".type", "unsupported content part type %q", p.Type)
		}
	}
	return out, nil
}

func assistantBlocks(m *openaichat.Message, at string) ([]block, error) {
	text, parts, err := m.Parts(at)
	if err != nil {
		return nil, err
	}
	var out []block
	if text != "" {
		out = append(out, block{Text: text})
	}
	for j, p := range parts {
		switch p.Type {
		case "text":
			if p.Text != "" {
				out = withCachePoint(out, block{Text: p.Text}, p.CacheControl)
			}
		case "refusal":
			if p.Refusal != "" {
				out = append(out, block{Text: p.Refusal})
			}
		default:
			return nil, ownkey.FieldError(fmt.Sprintf("%s.content[%d].type", at, j), "assistant content parts must be text or refusal, not %q", p.Type)
		}
	}
	if len(out) == 0 && m.Refusal != nil && *m.Refusal != "" {
		out = append(out, block{Text: *m.Refusal})
	}
	// Text before tool calls, as Bedrock expects.
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
		out = append(out, block{ToolUse: &toolUse{ToolUseID: tc.ID, Name: tc.Function.Name, Input: input}})
	}
	return out, nil
}

// toolResultBlock is a tool message as a toolResult block of a user turn.
// Its text parts become text blocks; an empty result has no content blocks
// (an empty text block would be refused).
func toolResultBlock(m *openaichat.Message, at string) ([]block, error) {
	if m.ToolCallID == "" {
		return nil, ownkey.FieldError(at+".tool_call_id", "a tool message needs the tool_call_id it answers")
	}
	parts, err := textParts(m, at)
	if err != nil {
		return nil, err
	}
	if parts == nil {
		parts = []block{}
	}
	return []block{{ToolResult: &toolResult{ToolUseID: m.ToolCallID, Content: parts}}}, nil
}

func lastAssistantHasToolUse(turns []message) bool {
	for i := len(turns) - 1; i >= 0; i-- {
		if turns[i].Role == "assistant" {
			return slices.ContainsFunc(turns[i].Content, func(b block) bool { return b.ToolUse != nil })
		}
	}
	return false
}

// translateTools builds the toolConfig: the client's tools, the json tool of
// a JSON response_format, and the stub tool when the conversation holds tool
// blocks but no tool may be called (see the package comment).
func translateTools(in *openaichat.Request, toolBlocks bool, tr *translation) (*toolConfig, error) {
	var tools []tool
	for i, t := range in.Tools {
		schema, err := t.FunctionParameters(fmt.Sprintf("tools[%d]", i))
		if err != nil {
			return nil, err
		}
		if schema == nil {
			schema = emptySchema
		}
		tools = append(tools, tool{ToolSpec: &toolSpec{Name: t.Function.Name, Description: t.Function.Description, InputSchema: inputSchema{JSON: schema}}})
		if openaichat.Present(t.CacheControl) {
			tools = append(tools, tool{CachePoint: defaultCachePoint})
		}
	}
	choice, none, err := translateToolChoice(in)
	if err != nil {
		return nil, err
	}
	if none {
		tools = nil
	}
	jsonTool, err := responseFormatTool(in)
	if err != nil {
		return nil, err
	}
	if jsonTool != nil {
		if slices.ContainsFunc(tools, func(t tool) bool { return t.ToolSpec != nil && t.ToolSpec.Name == jsonToolName }) {
			return nil, ownkey.FieldError("response_format", "a JSON response_format needs the tool name %q, which one of the tools already has", jsonToolName)
		}
		switch {
		case len(tools) == 0:
			tools = []tool{{ToolSpec: jsonTool}}
			choice = &toolChoice{Tool: &namedTool{Name: jsonToolName}}
			tr.jsonMode = true
		case choice == nil || choice.Auto != nil:
			tools = append(tools, tool{ToolSpec: jsonTool})
			choice = &toolChoice{Any: &struct{}{}}
			tr.jsonMode = true
		}
		// A required or named tool_choice: the answer is a tool call, and
		// the json tool would only be a way around it.
	}
	if len(tools) == 0 {
		if !toolBlocks {
			return nil, nil
		}
		return &toolConfig{Tools: []tool{{ToolSpec: &toolSpec{Name: stubToolName,
			Description: "No tool can be called in this turn. Never call this tool; answer in text.", InputSchema: inputSchema{JSON: emptySchema}}}}}, nil
	}
	return &toolConfig{Tools: tools, ToolChoice: choice}, nil
}

// translateToolChoice maps tool_choice: auto to auto, required to any, a
// named function to tool; none (Converse has no such choice) withholds the
// tools.
func translateToolChoice(in *openaichat.Request) (choice *toolChoice, none bool, err error) {
	c, err := in.ParseToolChoice()
	if c == nil || err != nil {
		return nil, false, err
	}
	switch c.Mode {
	case openaichat.ToolChoiceNone:
		return nil, true, nil
	case openaichat.ToolChoiceRequired:
		return &toolChoice{Any: &struct{}{}}, false, nil
	case openaichat.ToolChoiceFunction:
		return &toolChoice{Tool: &namedTool{Name: c.Function}}, false, nil
	}
	return &toolChoice{Auto: &struct{}{}}, false, nil
}

// responseFormatTool returns the json tool for a JSON response_format, or
// nil for text.
func responseFormatTool(in *openaichat.Request) (*toolSpec, error) {
	jt, err := in.JSONTool()
	if jt == nil || err != nil {
		return nil, err
	}
	return &toolSpec{Name: jsonToolName, Description: jt.Description, InputSchema: inputSchema{JSON: jt.Schema}}, nil
}
