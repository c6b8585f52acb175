package openaicompat

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider/providertest"
)

// The hooks of a family that speaks OpenAI's format with quirks (Azure):
// another path, and chunks without choices dropped.

// promptFilterChunk is the first chunk of an Azure stream (as recorded by
// vercel/ai): no choices, empty id and model, the prompt's filter results.
const promptFilterChunk = `{"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{"hate":{"filtered":false,"severity":"safe"}}}]}`

func TestPathHook(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.SSEReply(providertest.Frames(oaFinish, done)))
	a := testAdapter()
	a.Path = func(req *ownkey.ChatRequest) (string, error) {
		return "/deployments/" + req.Model + "/chat/completions?api-version=2024-10-21", nil
	}
	if _, _, err := providertest.Run(t, a, chatRequest(t, base(up))); err != nil {
		t.Fatal(err)
	}
	if got := up.Only(t); got.Path != "/v1/deployments/gpt-x/chat/completions" || got.RawQuery != "api-version=2024-10-21" {
		t.Fatalf("sent to %s?%s", got.Path, got.RawQuery)
	}

	// A path that cannot be built fails the request before it is sent,
	// with the hook's error and its status.
	a.Path = func(*ownkey.ChatRequest) (string, error) {
		return "", ownkey.FieldError("key.deploymentName", "no deployment")
	}
	res, rec, err := providertest.Run(t, a, chatRequest(t, base(up)))
	var e *ownkey.Error
	if !errors.As(err, &e) || e.Param != "key.deploymentName" || res.Status != http.StatusBadRequest || res.Started || rec.Body.Len() != 0 {
		t.Fatalf("err = %v, status %d, body %q", err, res.Status, rec.Body)
	}
	if n := len(up.Requests()); n != 1 {
		t.Fatalf("%d requests, want none beyond the first", n)
	}
}

func TestDropEmptyChunks(t *testing.T) {
	upstream := providertest.Frames(promptFilterChunk, oaRole, oaHello, oaFinish, oaUsage, done)
	for _, drop := range []bool{false, true} {
		up := providertest.NewUpstream(t, providertest.SSEReply(upstream))
		a := testAdapter()
		a.DropEmptyChunks = drop
		res, rec, err := providertest.Run(t, a, chatRequest(t, base(up), withUsage))
		if err != nil {
			t.Fatal(err)
		}
		want := providertest.Frames(oaRole, oaHello, oaFinish, oaUsageOut, done)
		if !drop {
			want = providertest.Frames(promptFilterChunk, oaRole, oaHello, oaFinish, oaUsageOut, done)
		}
		if got := rec.Body.String(); got != want {
			t.Fatalf("drop=%t: client got\n%s\nwant\n%s", drop, got, want)
		}
		// The empty chunk's empty model is not the one served.
		if res.ModelServed != "gpt-x-2025" || res.FinishReason != "stop" || res.Usage.PromptTokens != 16 {
			t.Fatalf("drop=%t: result %+v", drop, res)
		}
	}
}

// A client of another dialect: the dropped chunk's empty id and model do
// not start the answer; the first chunk with a choice does.
func TestDropEmptyChunksTranslated(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.SSEReply(providertest.Frames(promptFilterChunk, oaHello, oaFinish, oaUsage, done)))
	a := testAdapter()
	a.DropEmptyChunks = true
	sink := &providertest.Recorder{}
	if _, err := a.Chat(context.Background(), chatRequest(t, base(up), withUsage), sink); err != nil {
		t.Fatal(err)
	}
	sink.Check(t, "stream", "start chatcmpl-1 gpt-x-2025 1700000000", `text "Hello"`, "end stop 16/3", "flush")
}
