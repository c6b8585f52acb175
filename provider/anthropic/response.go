package anthropic

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

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

type responseBlock struct {
	Type     string          `json:"type"`
	Text     string          `json:"text"`
	Thinking string          `json:"thinking"`
	ID       string          `json:"id"`
	Name     string          `json:"name"`
	Input    json.RawMessage `json:"input"`
}

// The chat.completion written to the client.
type completion struct {
	ID      string          `json:"id"`
	Object  string          `json:"object"`
	Created int64           `json:"created"`
	Model   string          `json:"model"`
	Choices []choice        `json:"choices"`
	Usage   json.RawMessage `json:"usage"`
}

type choice struct {
	Index        int             `json:"index"`
	Message      responseMessage `json:"message"`
	Logprobs     json.RawMessage `json:"logprobs"`
	FinishReason string          `json:"finish_reason"`
}

type responseMessage struct {
	Role             string     `json:"role"`
	Content          *string    `json:"content"`
	ReasoningContent string     `json:"reasoning_content,omitempty"`
	ToolCalls        []toolCall `json:"tool_calls,omitempty"`
	Refusal          *string    `json:"refusal"`
}

type toolCall struct {
	ID       string       `json:"id"`
	Type     string       `json:"type"`
	Function toolFunction `json:"function"`
}

type toolFunction struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

var jsonNull = json.RawMessage("null")

// completeTo translates a non-streaming answer. The body is read whole: it
// is needed for accounting before the status is sent, and a 200 holding an
// error object must still become an error.
func completeTo(ctx context.Context, w http.ResponseWriter, req *ownkey.ChatRequest, res *ownkey.ChatResult, tr *translation, resp *http.Response, start time.Time) (*ownkey.ChatResult, error) {
	p := req.Provider
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	res.UpstreamLatency = time.Since(start)
	if err != nil {
		if ctx.Err() != nil {
			provider.MarkClientGone(res)
			return provider.Failed(res, provider.CodeClientDisconnected, &ownkey.Error{Code: ownkey.EUNAVAILABLE, Status: provider.StatusClientClosed, Message: "the client closed the request"})
		}
		return provider.Failed(res, provider.CodeUpstreamError, ownkey.Errorf(ownkey.EUPSTREAM, "the %s response broke off before its end", p.Name))
	}
	if len(body) > maxBody {
		return provider.Failed(res, provider.CodeUpstreamError, ownkey.Errorf(ownkey.EUPSTREAM, "the %s response is larger than %d MiB", p.Name, maxBody>>20))
	}
	if jsonvalid.Check(body, req.MaxJSONDepth) == jsonvalid.ErrTooDeep {
		return provider.Failed(res, provider.CodeUpstreamError, ownkey.Errorf(ownkey.EUPSTREAM, "the %s response is nested deeper than %d levels", p.Name, jsonvalid.Depth(req.MaxJSONDepth)))
	}
	var msg messageResponse
	if err := json.Unmarshal(body, &msg); err != nil || msg.Type != "message" {
		if err == nil && msg.Type == "error" {
			return provider.Failed(res, provider.CodeUpstreamError, upstreamError(req, http.StatusBadGateway, body))
		}
		return provider.Failed(res, provider.CodeUpstreamError, ownkey.Errorf(ownkey.EUPSTREAM, "%s answered with something other than a message", p.Name))
	}
	res.ModelServed = msg.Model
	res.Usage = msg.Usage.toUsage()

	out, sample := buildCompletion(&msg, req, tr)
	res.FinishReason = out.Choices[0].FinishReason
	res.OutputBytes, res.OutputSample = sample.bytes, sample.text
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return provider.Failed(res, "", ownkey.Errorf(ownkey.EINTERNAL, "encoding the chat completion: %v", err))
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(http.StatusOK)
	res.Status, res.Started = http.StatusOK, true
	if _, err := w.Write(buf.Bytes()); err != nil {
		provider.MarkClientGone(res)
	}
	return res, nil
}

// buildCompletion translates a message into a chat.completion (see the
// package comment), and collects the output for estimation.
func buildCompletion(msg *messageResponse, req *ownkey.ChatRequest, tr *translation) (*completion, outputSample) {
	var text, reasoning strings.Builder
	var calls []toolCall
	var sample outputSample
	answered := false // the json tool gave the answer
	for _, b := range msg.Content {
		switch b.Type {
		case "text":
			if !tr.jsonMode {
				text.WriteString(b.Text)
				sample.add(b.Text)
			}
		case "thinking":
			reasoning.WriteString(b.Thinking)
			sample.add(b.Thinking)
		case "tool_use":
			args := compactObject(b.Input)
			sample.add(view(args))
			if tr.jsonMode && b.Name == jsonToolName {
				text.Write(args)
				answered = true
				continue
			}
			calls = append(calls, toolCall{ID: b.ID, Type: "function", Function: toolFunction{Name: b.Name, Arguments: string(args)}})
		}
		// redacted_thinking, server tool blocks and block types newer than
		// this adapter have no place in a chat completion.
	}
	m := responseMessage{Role: "assistant", ReasoningContent: reasoning.String(), ToolCalls: calls}
	if text.Len() > 0 || len(calls) == 0 {
		s := text.String()
		m.Content = &s
	}
	finish := finishReason(msg.StopReason)
	if finish == "tool_calls" && answered && len(calls) == 0 {
		finish = "stop"
	}
	u := msg.Usage.toUsage()
	return &completion{
		ID:      cmp.Or(msg.ID, "msg_"+req.RequestID),
		Object:  "chat.completion",
		Created: ownkey.Now().Unix(),
		Model:   cmp.Or(msg.Model, req.Model),
		Choices: []choice{{Message: m, Logprobs: jsonNull, FinishReason: finish}},
		Usage:   appendUsageJSON(nil, u),
	}, sample
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

// outputSample counts the output delivered and keeps its first sampleLimit
// bytes, cut at a character boundary (ChatResult.OutputBytes and
// OutputSample).
type outputSample struct {
	bytes int64
	text  []byte
}

func (s *outputSample) add(text string) {
	s.bytes += int64(len(text))
	room := sampleLimit - len(s.text)
	if room <= 0 || len(text) == 0 {
		return
	}
	if len(text) > room {
		text = text[:room]
		// Drop a last character the cut left incomplete (at most 3 bytes).
		for i := 0; i < utf8.UTFMax-1 && len(text) > 0; i++ {
			if r, size := utf8.DecodeLastRuneInString(text); r != utf8.RuneError || size > 1 {
				break
			}
			text = text[:len(text)-1]
		}
	}
	s.text = append(s.text, text...)
}
