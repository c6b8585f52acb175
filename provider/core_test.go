package provider_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider"
	"github.com/ownkey/ownkey/provider/providertest"
)

// lineSource is an event source that is not SSE, as Bedrock's AWS
// event-stream will be: one event per line, "type data".
type lineSource struct{ sc *bufio.Scanner }

func (s *lineSource) Next() (provider.Event, error) {
	if !s.sc.Scan() {
		if err := s.sc.Err(); err != nil {
			return provider.Event{}, err
		}
		return provider.Event{}, io.EOF
	}
	typ, data, _ := strings.Cut(s.sc.Text(), " ")
	if typ == "garbage" {
		return provider.Event{}, &provider.MalformedEventError{Reason: "checksum mismatch"}
	}
	return provider.Event{Type: []byte(typ), Data: []byte(data)}, nil
}

// lineTranslator is a family whose stream is lines: "start id", "text
// <literal>", "end <finish>".
type lineTranslator struct {
	errStatus int
	errHeader http.Header
	// retryAfter is the delay the family read from an error body.
	retryAfter string
}

func (l *lineTranslator) EventSource(body io.Reader) provider.EventSource {
	return &lineSource{sc: bufio.NewScanner(body)}
}

func (l *lineTranslator) UpstreamError(status int, header http.Header, body []byte) *ownkey.Error {
	l.errStatus, l.errHeader = status, header
	return &ownkey.Error{Code: ownkey.EUPSTREAM, Status: status, Message: "upstream said " + string(body), RetryAfter: l.retryAfter}
}

func (l *lineTranslator) JSONAnswer(body []byte, out *provider.Answer) *ownkey.Error {
	if strings.Contains(string(body), "error") {
		return &ownkey.Error{Code: ownkey.EUPSTREAM, Status: http.StatusBadGateway, Message: "an error in JSON"}
	}
	out.Result().Usage = ownkey.Usage{PromptTokens: 3, CompletionTokens: 4}
	return nil
}

func (l *lineTranslator) Complete(body []byte, out *provider.Answer) error {
	if err := out.Start("id-1", "model-1", 1); err != nil {
		return nil
	}
	_ = out.Text(strings.TrimSpace(string(body)))
	return out.End("stop", ownkey.Usage{PromptTokens: 1, CompletionTokens: 2})
}

func (l *lineTranslator) Event(ev provider.Event, out *provider.Answer) provider.Step {
	var err error
	switch string(ev.Type) {
	case "start":
		err = out.Start(string(ev.Data), "model-1", 1)
	case "text":
		err = out.Text(string(ev.Data))
	case "end":
		if out.End(string(ev.Data), ownkey.Usage{PromptTokens: 1, CompletionTokens: 2}) != nil {
			return provider.StepGone
		}
		return provider.StepEnd
	}
	if err != nil {
		return provider.StepGone
	}
	return provider.StepMore
}

func (l *lineTranslator) EOF(*provider.Answer) provider.Step { return provider.StepMore }

func coreRun(t *testing.T, reply func(http.ResponseWriter, *http.Request), stream bool) (*lineTranslator, *providertest.Recorder, *ownkey.ChatResult, error) {
	t.Helper()
	return coreRunWith(t, &lineTranslator{}, reply, stream)
}

func coreRunWith(t *testing.T, tr *lineTranslator, reply func(http.ResponseWriter, *http.Request), stream bool) (*lineTranslator, *providertest.Recorder, *ownkey.ChatResult, error) {
	t.Helper()
	up := providertest.NewUpstream(t, reply)
	req := &ownkey.ChatRequest{Provider: providertest.Catalog(t, "groq"), BaseURL: up.URL, Model: "m", Stream: stream,
		Credential: &ownkey.Credential{APIKey: ownkey.NewSecret("sk-test-0123456789abcdef")}, Auth: provider.Bearer{}}
	sink, res := &providertest.Recorder{}, &ownkey.ChatResult{}
	core := provider.Core{StreamIdleTimeout: 5 * time.Second}
	got, err := core.Chat(context.Background(), req, res, sink, tr, "/x", []byte(`{}`))
	if got != res {
		t.Fatal("Chat returned another result")
	}
	return tr, sink, res, err
}

// The core runs a family whose stream is not SSE through the source the
// family gives, and the family's answer reaches the sink with the
// accounting done.
func TestCoreEventSourceOfTheFamily(t *testing.T) {
	_, sink, res, err := coreRun(t, providertest.SSEReply("start id-1\ntext \"Caf\\u00e9\"\nend stop\n"), true)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"stream", "start id-1 model-1 1", `text "Caf\u00e9"`, "end stop 1/2", "flush"}
	if !slices.Equal(sink.Calls, want) {
		t.Fatalf("sink got %q, want %q", sink.Calls, want)
	}
	if !res.Started || res.Status != 200 || res.FinishReason != "stop" || res.ModelServed != "model-1" || res.ErrorCode != "" ||
		res.OutputBytes != int64(len("Café")) || string(res.OutputSample) != "Café" {
		t.Fatalf("result = %+v", res)
	}

	// Cut short: the core fails the answer as truncated.
	_, sink, res, _ = coreRun(t, providertest.SSEReply("start id-1\ntext \"Hel\"\n"), true)
	if last := sink.Calls[len(sink.Calls)-2]; last != "fail stream_truncated upstream_error Groq ended the stream before the response was complete" ||
		res.ErrorCode != provider.CodeStreamTruncated {
		t.Fatalf("sink got %q, result %+v", sink.Calls, res)
	}
}

// A source that finds bytes that are not an event of its framing ends the
// stream with stream_error saying so, not as a mere break.
func TestCoreMalformedEvent(t *testing.T) {
	_, sink, res, err := coreRun(t, providertest.SSEReply("start id-1\ntext \"Hel\"\ngarbage\ntext \"lo\"\nend stop\n"), true)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"stream", "start id-1 model-1 1", `text "Hel"`,
		"fail stream_error upstream_error Groq sent a malformed stream event (checksum mismatch); the stream was ended before the response was complete", "flush"}
	if !slices.Equal(sink.Calls, want) || res.ErrorCode != provider.CodeStreamError {
		t.Fatalf("sink got %q, result %+v", sink.Calls, res)
	}
}

func TestCoreComplete(t *testing.T) {
	_, sink, res, err := coreRun(t, providertest.JSONReply(200, `"whole"`), false)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"start id-1 model-1 1", `text "whole"`, "end stop 1/2"}; !slices.Equal(sink.Calls, want) {
		t.Fatalf("sink got %q, want %q", sink.Calls, want)
	}
	if !res.Started || res.Status != 200 || res.Usage.CompletionTokens != 2 {
		t.Fatalf("result = %+v", res)
	}
}

// The family decodes the error answer (status, headers, body); the core
// adds the Retry-After and reports it as nothing written.
func TestCoreErrorAnswer(t *testing.T) {
	tr, sink, res, err := coreRun(t, providertest.JSONReply(429, `slow down`, "Retry-After", "7", "X-Kind", "rate"), true)
	var e *ownkey.Error
	if !errors.As(err, &e) || e.Status != 429 || e.Message != "upstream said slow down" || e.RetryAfter != "7" {
		t.Fatalf("err = %#v", err)
	}
	if tr.errStatus != 429 || tr.errHeader.Get("X-Kind") != "rate" || len(sink.Calls) != 0 || res.Started || res.Status != 429 || res.ErrorCode != provider.CodeUpstreamError {
		t.Fatalf("family saw %d %v, sink got %q, result %+v", tr.errStatus, tr.errHeader, sink.Calls, res)
	}

	// A delay the family read from the body stands when the header has
	// none; the header wins over it.
	_, _, _, err = coreRunWith(t, &lineTranslator{retryAfter: "35"}, providertest.JSONReply(429, `slow down`), false)
	if !errors.As(err, &e) || e.RetryAfter != "35" {
		t.Fatalf("err = %#v", err)
	}
	_, _, _, err = coreRunWith(t, &lineTranslator{retryAfter: "35"}, providertest.JSONReply(429, `slow down`, "Retry-After", "7"), false)
	if !errors.As(err, &e) || e.RetryAfter != "7" {
		t.Fatalf("err = %#v", err)
	}

	// A JSON body answering a stream: the family's error if it is one,
	// else the core's; its usage is kept.
	_, sink, res, err = coreRun(t, providertest.JSONReply(200, ` {"usage":{}}`), true)
	if !errors.As(err, &e) || e.Message != "Groq answered a streaming request with a JSON body instead of an event stream" ||
		res.Usage.CompletionTokens != 4 || len(sink.Calls) != 0 || res.Started {
		t.Fatalf("err %v, result %+v, sink got %q", err, res, sink.Calls)
	}
	_, _, _, err = coreRun(t, providertest.JSONReply(200, `{"error":{}}`), true)
	if !errors.As(err, &e) || e.Message != "an error in JSON" {
		t.Fatalf("err = %v", err)
	}
	// An event stream labelled JSON is read as a stream.
	_, sink, _, err = coreRun(t, providertest.SSEReply("start id-1\nend stop\n", "Content-Type", "application/json"), true)
	if err != nil || len(sink.Calls) != 4 {
		t.Fatalf("err %v, sink got %q", err, sink.Calls)
	}
}
