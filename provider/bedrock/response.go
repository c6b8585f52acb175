package bedrock

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/tidwall/gjson"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/jsonvalid"
	"github.com/ownkey/ownkey/provider"
)

// converseResponse is the part of a Converse answer the translation reads.
type converseResponse struct {
	Output struct {
		Message *struct {
			Content []responseBlock `json:"content"`
		} `json:"message"`
	} `json:"output"`
	StopReason string          `json:"stopReason"`
	Usage      json.RawMessage `json:"usage"`
}

// responseBlock is a ContentBlock of the answer. Text is kept as the JSON
// string literal Bedrock sent: it goes to the client's sink as it is.
type responseBlock struct {
	Text    json.RawMessage `json:"text"`
	ToolUse *struct {
		ToolUseID string          `json:"toolUseId"`
		Name      string          `json:"name"`
		Input     json.RawMessage `json:"input"`
	} `json:"toolUse"`
	ReasoningContent *struct {
		ReasoningText *struct {
			Text json.RawMessage `json:"text"`
		} `json:"reasoningText"`
	} `json:"reasoningContent"`
}

// Complete translates a Converse answer into the client's answer (see the
// package comment).
func (x *exchange) Complete(body []byte, out *provider.Answer) error {
	req := x.req
	p := req.Provider
	if jsonvalid.Check(body, req.MaxJSONDepth) == jsonvalid.ErrTooDeep {
		return ownkey.Errorf(ownkey.EUPSTREAM, "the %s response is nested deeper than %d levels", p.Name, jsonvalid.Depth(req.MaxJSONDepth))
	}
	var msg converseResponse
	if err := json.Unmarshal(body, &msg); err != nil || msg.Output.Message == nil || !textsAreStrings(msg.Output.Message.Content) {
		if err == nil && gjson.GetBytes(body, "message").Type == gjson.String {
			// An exception with a success status.
			return upstreamError(req, http.StatusOK, http.Header{}, body)
		}
		return ownkey.Errorf(ownkey.EUPSTREAM, "%s answered with something other than a Converse response", p.Name)
	}
	x.usage.update(gjson.ParseBytes(msg.Usage))
	x.res.Usage = x.usage.toUsage()
	x.out = out
	return x.message(&msg)
}

// textsAreStrings reports whether every text is a string (or null, or
// missing), as an answer's must be.
func textsAreStrings(blocks []responseBlock) bool {
	for i := range blocks {
		b := &blocks[i]
		texts := [2]json.RawMessage{b.Text}
		if b.ReasoningContent != nil && b.ReasoningContent.ReasoningText != nil {
			texts[1] = b.ReasoningContent.ReasoningText.Text
		}
		for _, v := range texts {
			if len(v) > 0 && v[0] != '"' && string(v) != "null" {
				return false
			}
		}
	}
	return true
}

// message tells the answer what msg holds: texts joined into the content,
// reasoning text into the reasoning, toolUse blocks as tool calls (the
// input as the arguments, compact).
func (x *exchange) message(msg *converseResponse) error {
	out := x.out
	if err := out.Start(answerID(x.req), x.req.Model, ownkey.Now().Unix()); err != nil {
		return err
	}
	answered := false // the json tool gave the answer
	for i := range msg.Output.Message.Content {
		var err error
		switch b := &msg.Output.Message.Content[i]; {
		case b.ToolUse != nil:
			args := x.literal(view(compactObject(b.ToolUse.Input)))
			if x.tr.jsonMode && b.ToolUse.Name == jsonToolName {
				err = out.Text(args)
				answered = true
				break
			}
			err = out.ToolCall(x.tools, b.ToolUse.ToolUseID, b.ToolUse.Name, args)
			x.tools++
		case b.ReasoningContent != nil:
			if rt := b.ReasoningContent.ReasoningText; rt != nil && isText(view(rt.Text)) {
				err = out.Reasoning(view(rt.Text))
			}
		case isText(view(b.Text)):
			if !x.tr.jsonMode {
				err = out.Text(view(b.Text))
			}
		}
		// Images, documents, citations and block kinds newer than this
		// adapter have no place in a chat completion.
		if err != nil {
			return err
		}
	}
	finish := finishReason(msg.StopReason)
	if finish == "tool_calls" && answered && x.tools == 0 {
		finish = "stop"
	}
	return out.End(finish, x.usage.toUsage())
}

// compactObject is a tool input as an arguments string: compact JSON, and
// "{}" for a missing input.
func compactObject(input json.RawMessage) []byte {
	var b bytes.Buffer
	if len(bytes.TrimSpace(input)) == 0 || json.Compact(&b, input) != nil || b.String() == "null" {
		return []byte("{}")
	}
	return b.Bytes()
}
