package anthropic

import (
	"bytes"
	"cmp"
	"encoding/json"
	"net/http"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/jsonvalid"
	"github.com/ownkey/ownkey/provider"
)

// messageResponse is the part of an Anthropic message the translation reads.
type messageResponse struct {
	ID         string          `json:"id"`
	Type       string          `json:"type"`
	Model      string          `json:"model"`
	Content    []responseBlock `json:"content"`
	StopReason string          `json:"stop_reason"`
	Usage      messageUsage    `json:"usage"`
}

// responseBlock is a content block. Text and thinking are kept as the JSON
// string literals Anthropic sent: they go to the client's sink as they are.
type responseBlock struct {
	Type     string          `json:"type"`
	Text     json.RawMessage `json:"text"`
	Thinking json.RawMessage `json:"thinking"`
	ID       string          `json:"id"`
	Name     string          `json:"name"`
	Input    json.RawMessage `json:"input"`
}

// Complete translates a non-streaming answer into the client's answer (see
// the package comment).
func (x *exchange) Complete(body []byte, out *provider.Answer) error {
	req := x.req
	p := req.Provider
	if jsonvalid.Check(body, req.MaxJSONDepth) == jsonvalid.ErrTooDeep {
		return ownkey.Errorf(ownkey.EUPSTREAM, "the %s response is nested deeper than %d levels", p.Name, jsonvalid.Depth(req.MaxJSONDepth))
	}
	var msg messageResponse
	if err := json.Unmarshal(body, &msg); err != nil || msg.Type != "message" || !textsAreStrings(msg.Content) {
		if err == nil && msg.Type == "error" {
			return upstreamError(req, http.StatusBadGateway, body)
		}
		return ownkey.Errorf(ownkey.EUPSTREAM, "%s answered with something other than a message", p.Name)
	}
	x.res.Usage = msg.Usage.toUsage()
	x.out = out
	return x.message(&msg)
}

// textsAreStrings reports whether every text and thinking is a string (or
// null, or missing), as a message's must be.
func textsAreStrings(blocks []responseBlock) bool {
	for i := range blocks {
		for _, v := range [2]json.RawMessage{blocks[i].Text, blocks[i].Thinking} {
			if len(v) > 0 && v[0] != '"' && string(v) != "null" {
				return false
			}
		}
	}
	return true
}

// message tells the answer what msg holds: text blocks joined into the
// content, thinking into the reasoning, tool_use blocks as tool calls (the
// input as the arguments, compact).
func (x *exchange) message(msg *messageResponse) error {
	out := x.out
	if err := out.Start(messageID(msg.ID, x.req), cmp.Or(msg.Model, x.req.Model), ownkey.Now().Unix()); err != nil {
		return err
	}
	answered := false // the json tool gave the answer
	for i := range msg.Content {
		var err error
		switch b := &msg.Content[i]; b.Type {
		case "text":
			if !x.tr.jsonMode && isText(view(b.Text)) {
				err = out.Text(view(b.Text))
			}
		case "thinking":
			if isText(view(b.Thinking)) {
				err = out.Reasoning(view(b.Thinking))
			}
		case "tool_use":
			args := x.literal(view(compactObject(b.Input)))
			if x.tr.jsonMode && b.Name == jsonToolName {
				err = out.Text(args)
				answered = true
				break
			}
			err = out.ToolCall(x.tools, b.ID, b.Name, args)
			x.tools++
		}
		// redacted_thinking, server tool blocks and block types newer than
		// this adapter have no place in a chat completion.
		if err != nil {
			return err
		}
	}
	finish := finishReason(msg.StopReason)
	if finish == "tool_calls" && answered && x.tools == 0 {
		finish = "stop"
	}
	return out.End(finish, msg.Usage.toUsage())
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
