package responses

import (
	"cmp"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/internal/fixtures"
	"github.com/ownkey/ownkey/provider"
	"github.com/ownkey/ownkey/provider/providertest"
)

// Replays of the vercel-ai recordings of OpenAI's and Azure's Responses
// API. What each recording says is worked out here from the recording
// alone, with encoding/json and the package comment's tables, not with
// the adapter's code.

// fixtureUsage is a recorded usage object.
type fixtureUsage struct {
	InputTokens        int64 `json:"input_tokens"`
	InputTokensDetails struct {
		CachedTokens int64 `json:"cached_tokens"`
	} `json:"input_tokens_details"`
	OutputTokens        int64 `json:"output_tokens"`
	OutputTokensDetails struct {
		ReasoningTokens int64 `json:"reasoning_tokens"`
	} `json:"output_tokens_details"`
}

func (u *fixtureUsage) usage() ownkey.Usage {
	if u == nil || u.InputTokens == 0 && u.OutputTokens == 0 {
		return ownkey.Usage{}
	}
	return ownkey.Usage{PromptTokens: u.InputTokens, CompletionTokens: u.OutputTokens, CachedTokens: u.InputTokensDetails.CachedTokens,
		ReasoningTokens: u.OutputTokensDetails.ReasoningTokens, Source: ownkey.UsageFromProvider}
}

type fixtureItem struct {
	Type    string `json:"type"`
	CallID  string `json:"call_id"`
	Name    string `json:"name"`
	Args    string `json:"arguments"`
	Content []struct {
		Type, Text, Refusal string
	} `json:"content"`
	Summary []struct {
		Type, Text string
	} `json:"summary"`
}

type fixtureResponse struct {
	Status            string                   `json:"status"`
	Output            []fixtureItem            `json:"output"`
	Usage             *fixtureUsage            `json:"usage"`
	IncompleteDetails *struct{ Reason string } `json:"incomplete_details"`
}

// finish is the finish_reason table of the package comment, written out
// again.
func (r *fixtureResponse) finish(tools, refused bool) string {
	if r.Status == "incomplete" {
		if r.IncompleteDetails != nil && r.IncompleteDetails.Reason == "content_filter" {
			return "content_filter"
		}
		return "length"
	}
	switch {
	case tools:
		return "tool_calls"
	case refused:
		return "content_filter"
	}
	return "stop"
}

// expectResponse works out what a whole response says.
func expectResponse(t *testing.T, body []byte) providertest.Answer {
	t.Helper()
	var r fixtureResponse
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatal(err)
	}
	var a providertest.Answer
	var reasoning []string
	refused := false
	for _, it := range r.Output {
		switch it.Type {
		case "reasoning":
			for _, s := range it.Summary {
				reasoning = append(reasoning, s.Text)
			}
		case "message":
			for _, c := range it.Content {
				a.Content += c.Text + c.Refusal
				refused = refused || c.Refusal != ""
			}
		case "function_call":
			a.Tools = append(a.Tools, providertest.Call{ID: it.CallID, Name: it.Name, Args: cmp.Or(it.Args, "{}")})
		}
	}
	a.Reasoning = strings.Join(reasoning, "\n\n")
	a.Finish, a.Usage = r.finish(len(a.Tools) > 0, refused), r.Usage.usage()
	return a
}

// expectStream works out what a recorded stream says, up to its first
// terminal event; failed is the error event's or the failed response's
// message when the stream reports one instead.
func expectStream(t *testing.T, payloads []string) (a providertest.Answer, failed string) {
	t.Helper()
	type part struct{ item, index int }
	var parts []part
	reasoning := map[part]string{}
	calls := map[int]int{} // output_index → tool call
	refused := false
	for _, p := range payloads {
		var ev struct {
			Type         string           `json:"type"`
			OutputIndex  int              `json:"output_index"`
			SummaryIndex int              `json:"summary_index"`
			Delta        string           `json:"delta"`
			Item         fixtureItem      `json:"item"`
			Response     *fixtureResponse `json:"response"`
			Message      string           `json:"message"`
			Error        *struct{ Message string }
		}
		if err := json.Unmarshal([]byte(p), &ev); err != nil {
			t.Fatalf("fixture event %s: %v", p, err)
		}
		switch ev.Type {
		case "response.output_text.delta":
			a.Content += ev.Delta
		case "response.refusal.delta":
			a.Content += ev.Delta
			refused = true
		case "response.reasoning_summary_text.delta":
			k := part{ev.OutputIndex, ev.SummaryIndex}
			if _, ok := reasoning[k]; !ok {
				parts = append(parts, k)
			}
			reasoning[k] += ev.Delta
		case "response.output_item.added":
			if ev.Item.Type == "function_call" {
				calls[ev.OutputIndex] = len(a.Tools)
				a.Tools = append(a.Tools, providertest.Call{ID: ev.Item.CallID, Name: ev.Item.Name, Args: ev.Item.Args})
			}
		case "response.function_call_arguments.delta":
			a.Tools[calls[ev.OutputIndex]].Args += ev.Delta
		case "response.output_item.done":
			if i, ok := calls[ev.OutputIndex]; ok && a.Tools[i].Args == "" {
				a.Tools[i].Args = cmp.Or(ev.Item.Args, "{}")
			}
		case "response.completed", "response.incomplete":
			var texts []string
			for _, k := range parts {
				texts = append(texts, reasoning[k])
			}
			a.Reasoning = strings.Join(texts, "\n\n")
			a.Finish, a.Usage = ev.Response.finish(len(a.Tools) > 0, refused), ev.Response.Usage.usage()
			return a, ""
		case "error":
			if ev.Error != nil {
				return a, ev.Error.Message
			}
			return a, ev.Message
		case "response.failed":
			return a, "failed"
		}
	}
	t.Fatal("the recording has no terminal event")
	return a, ""
}

// segments splits a recording of several requests' streams (the vercel
// recordings of multi-step tool use concatenate them) at each
// response.created.
func segments(lines []string) [][]string {
	var out [][]string
	for _, l := range lines {
		if strings.HasPrefix(l, `{"type":"response.created"`) || len(out) == 0 {
			out = append(out, nil)
		}
		out[len(out)-1] = append(out[len(out)-1], l)
	}
	return out
}

func compareAnswer(t *testing.T, got, want providertest.Answer) {
	t.Helper()
	if got.Content != want.Content || got.Reasoning != want.Reasoning || got.Finish != want.Finish || got.Usage != want.Usage {
		t.Fatalf("client saw content %q reasoning %q finish %q usage %+v\nrecording says content %q reasoning %q finish %q usage %+v",
			got.Content, got.Reasoning, got.Finish, got.Usage, want.Content, want.Reasoning, want.Finish, want.Usage)
	}
	if len(got.Tools) != len(want.Tools) {
		t.Fatalf("tool calls %+v, want %+v", got.Tools, want.Tools)
	}
	for i := range got.Tools {
		g, w := got.Tools[i], want.Tools[i]
		if g.ID != w.ID || g.Name != w.Name || !providertest.SameJSON(t, g.Args, w.Args) {
			t.Fatalf("tool call %d = %+v, want %+v", i, g, w)
		}
	}
}

func replayStream(t *testing.T, payloads []string) {
	t.Helper()
	// The recordings keep only the data; the API names each event after
	// its type, and sends no [DONE].
	up := providertest.NewUpstream(t, sseReply(events(payloads...)))
	res, rec, err := run(t, chatRequest(t, up.URL, withUsage))
	if err != nil {
		t.Fatal(err)
	}
	want, failed := expectStream(t, payloads)
	if failed != "" {
		last := providertest.Payloads(rec.Body.String())
		var ev struct {
			Error struct{ Message, Code string }
		}
		if err := json.Unmarshal([]byte(last[len(last)-1]), &ev); err != nil || ev.Error.Code != provider.CodeStreamError ||
			(failed != "failed" && ev.Error.Message != failed) || res.ErrorCode != provider.CodeStreamError {
			t.Fatalf("the recorded failure %q became %s (result %+v)", failed, last[len(last)-1], res)
		}
		return
	}
	if res.ErrorCode != "" {
		t.Fatalf("result %+v, body:\n%s", res, rec.Body.String())
	}
	compareAnswer(t, providertest.ReadAnswer(t, rec.Body.String(), true), want)
	if res.Usage != want.Usage || res.FinishReason != want.Finish {
		t.Fatalf("result %+v", res)
	}
}

func TestVercelFixtures(t *testing.T) {
	root := fixtures.Dir(t, "vercel-ai")
	var streams, bodies []string
	for _, dir := range []string{"openai-responses", "azure"} {
		s, _ := filepath.Glob(filepath.Join(root, dir, "*.chunks.txt"))
		b, _ := filepath.Glob(filepath.Join(root, dir, "*.json"))
		if len(s) == 0 || len(b) == 0 {
			t.Fatalf("no recordings in %s", filepath.Join(root, dir))
		}
		streams, bodies = append(streams, s...), append(bodies, b...)
	}
	for _, path := range streams {
		name := filepath.Base(filepath.Dir(path)) + "/" + strings.TrimSuffix(filepath.Base(path), ".chunks.txt")
		lines := fixtures.Lines(t, path)
		for i, seg := range segments(lines) {
			t.Run("stream/"+name+"/"+itoa(i), func(t *testing.T) { replayStream(t, seg) })
		}
		// The recording as one stream: the first terminal event ends the
		// answer, and what follows is never read.
		t.Run("stream/"+name+"/whole", func(t *testing.T) { replayStream(t, lines) })
	}
	for _, path := range bodies {
		name := filepath.Base(filepath.Dir(path)) + "/" + strings.TrimSuffix(filepath.Base(path), ".json")
		t.Run("body/"+name, func(t *testing.T) {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var probe struct {
				Error *struct {
					Message, Type string
					Param, Code   *string
				}
			}
			_ = json.Unmarshal(raw, &probe)
			if probe.Error != nil {
				replayError(t, raw, probe.Error.Message, probe.Error.Type, probe.Error.Param, probe.Error.Code)
				return
			}
			up := providertest.NewUpstream(t, providertest.JSONReply(200, string(raw)))
			res, rec, err := run(t, chatRequest(t, up.URL, nonStream))
			if err != nil {
				t.Fatal(err)
			}
			want := expectResponse(t, raw)
			compareAnswer(t, providertest.ReadAnswer(t, rec.Body.String(), false), want)
			if res.Usage != want.Usage || res.FinishReason != want.Finish {
				t.Fatalf("result %+v", res)
			}
		})
	}
}

// replayError answers a request with a recorded error body, as a 400: the
// client gets the provider's status, message, type, param and code.
func replayError(t *testing.T, raw []byte, msg, typ string, param, code *string) {
	for _, stream := range []bool{false, true} {
		up := providertest.NewUpstream(t, providertest.JSONReply(400, string(raw)))
		req := chatRequest(t, up.URL)
		req.Stream = stream
		_, _, err := run(t, req)
		var e *ownkey.Error
		if !errors.As(err, &e) || e.Status != 400 || e.Message != msg || e.Type != typ ||
			e.Param != deref(param) || e.Reason != deref(code) {
			t.Fatalf("err = %#v, recorded %s", err, raw)
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
