package openai

import "encoding/json"

// The parts of an OpenAI Chat Completions request that the other client
// dialects' translations (dialect/anthropic, dialect/responses) write,
// when they turn a Messages or Responses request into the chat request the
// chat service serves. Each translation keeps its own top-level request
// type: the fields it can fill differ.

// ChatMessage is one message.
type ChatMessage struct {
	Role string `json:"role"`
	// Content is a string, a slice of parts, or nil (null: an assistant
	// message of tool calls only).
	Content    any        `json:"content"`
	ToolCalls  []ToolCall `json:"tool_calls,omitempty"`
	ToolCallID string     `json:"tool_call_id,omitempty"`
}

// ToolCall is an assistant message's call of a function.
type ToolCall struct {
	ID       string           `json:"id"`
	Type     string           `json:"type"`
	Function ToolCallFunction `json:"function"`
}

type ToolCallFunction struct {
	Name string `json:"name"`
	// Arguments is a JSON text in a string.
	Arguments string `json:"arguments"`
}

// ImageURL is an image part's image: a URL or a data: URL.
type ImageURL struct {
	URL    string `json:"url"`
	Detail string `json:"detail,omitempty"`
}

// ChatTool is a function the model may call.
type ChatTool struct {
	Type     string       `json:"type"`
	Function ChatFunction `json:"function"`
}

type ChatFunction struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
}

// ResponseFormat is response_format: json_object, or json_schema with
// its schema.
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

// StreamOptions is stream_options.
type StreamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}
