package openai

import "github.com/ownkey/ownkey/provider/openaichat"

// The parts of an OpenAI Chat Completions request that the other client
// dialects' translations (dialect/anthropic, dialect/responses) write,
// when they turn a Messages or Responses request into the chat request the
// chat service serves. Each translation keeps its own top-level request
// type: the fields it can fill differ. Where the request model the
// translating provider families read (provider/openaichat) has the same
// shape, it is that type; a message and a tool differ as written (content
// of any type, or null; a function that is always there).

// ChatMessage is one message.
type ChatMessage struct {
	Role string `json:"role"`
	// Content is a string, a slice of parts, or nil (null: an assistant
	// message of tool calls only).
	Content    any        `json:"content"`
	ToolCalls  []ToolCall `json:"tool_calls,omitempty"`
	ToolCallID string     `json:"tool_call_id,omitempty"`
}

type (
	// ToolCall is an assistant message's call of a function.
	ToolCall         = openaichat.ToolCall
	ToolCallFunction = openaichat.ToolCallFunction
	// ImageURL is an image part's image: a URL or a data: URL.
	ImageURL = openaichat.ImageURL
	// ChatFunction is a tool's function.
	ChatFunction = openaichat.Function
	// ResponseFormat is response_format: json_object, or json_schema with
	// its schema.
	ResponseFormat = openaichat.ResponseFormat
	JSONSchema     = openaichat.JSONSchema
)

// ChatTool is a function the model may call.
type ChatTool struct {
	Type     string       `json:"type"`
	Function ChatFunction `json:"function"`
}

// StreamOptions is stream_options.
type StreamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}
