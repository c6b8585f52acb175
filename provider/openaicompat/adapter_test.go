package openaicompat

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/egress"
	"github.com/ownkey/ownkey/internal/nettest"
	"github.com/ownkey/ownkey/provider"
	"github.com/ownkey/ownkey/provider/providertest"
)

func TestRequestForwarded(t *testing.T) {
	for _, stream := range []bool{true, false} {
		name, accept := "stream", "text/event-stream"
		if !stream {
			name, accept = "non-stream", "application/json"
		}
		t.Run(name, func(t *testing.T) {
			up := providertest.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
				if stream {
					providertest.SSEReply(providertest.Frames(oaFinish, done))(w, r)
				} else {
					providertest.JSONReply(200, `{"choices":[]}`)(w, r)
				}
			})
			// Bytes that a re-encoding would change: spacing, key order,
			// escapes, a number with an exponent.
			body := []byte(`{ "model":"gpt-x",  "messages":[{"role":"user","content":"h\u00e9 \"q\" <b>"}], "temperature":1e0, "stream":` + map[bool]string{true: "true", false: "false"}[stream] + `}`)
			req := chatRequest(t, base(up))
			req.Body, req.Stream = body, stream
			if _, _, err := run(t, req); err != nil {
				t.Fatal(err)
			}
			got := up.Only(t)
			if got.Method != http.MethodPost || got.Path != "/v1/chat/completions" {
				t.Fatalf("request = %s %s", got.Method, got.Path)
			}
			if string(got.Body) != string(body) {
				t.Fatalf("body forwarded as\n%s\nwant\n%s", got.Body, body)
			}
			h := got.Header
			if h.Get("Authorization") != "Bearer "+testKey || h.Get("Content-Type") != "application/json" ||
				h.Get("Accept") != accept || h.Get("User-Agent") != "ownkey-test/1" {
				t.Fatalf("headers = %v", h)
			}
		})
	}
}

func TestUpstreamErrors(t *testing.T) {
	cases := []struct {
		name       string
		status     int
		body       string
		header     []string
		wantMsg    string
		wantType   string
		wantReason string
		wantRetry  string
	}{
		{
			name:     "401 echoing the key",
			status:   401,
			body:     `{"error":{"message":"Incorrect API key provided: ` + testKey + `. You can find your API key at https://platform.openai.com.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`,
			wantMsg:  "Incorrect API key provided: [REDACTED]. You can find your API key at https://platform.openai.com.",
			wantType: "invalid_request_error", wantReason: "invalid_api_key",
		},
		{
			name: "429 with Retry-After", status: 429, header: []string{"Retry-After", "7"},
			body:    `{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}`,
			wantMsg: "Rate limit reached", wantType: "requests", wantReason: "rate_limit_exceeded", wantRetry: "7",
		},
		{
			// A provider that echoes the key in Retry-After must not
			// hand it to the client: only seconds or a date pass.
			name: "429 echoing the key in Retry-After", status: 429, header: []string{"Retry-After", "Bearer " + testKey},
			body:    `{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}`,
			wantMsg: "Rate limit reached", wantType: "requests", wantReason: "rate_limit_exceeded",
		},
		{
			name: "429 with an HTTP-date Retry-After", status: 429, header: []string{"Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT"},
			body:    `{"error":{"message":"Rate limit reached"}}`,
			wantMsg: "Rate limit reached", wantRetry: "Wed, 21 Oct 2015 07:28:00 GMT",
		},
		{
			name: "503 with a Retry-After past the cap", status: 503, header: []string{"Retry-After", "31536000"},
			body:    `{"error":{"message":"Down for maintenance"}}`,
			wantMsg: "Down for maintenance", wantRetry: "86400",
		},
		{
			name: "500 HTML page", status: 500, header: []string{"Content-Type", "text/html"},
			body:    "<html><body><h1>500 Internal Server Error</h1></body></html>",
			wantMsg: "OpenAI returned HTTP 500",
		},
		{
			name: "502 empty body", status: 502, wantMsg: "OpenAI returned HTTP 502",
		},
		{
			name: "OpenRouter numeric code", status: 402,
			body:    `{"error":{"code":402,"message":"Insufficient credits","metadata":{}}}`,
			wantMsg: "Insufficient credits",
		},
		{
			name:     "400 reasoning model fixture shape",
			status:   400,
			body:     `{"error":{"message":"Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.","type":"invalid_request_error","param":"max_tokens","code":"unsupported_parameter"}}`,
			wantMsg:  "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
			wantType: "invalid_request_error", wantReason: "unsupported_parameter",
		},
	}
	for _, tc := range cases {
		for _, stream := range []bool{true, false} {
			t.Run(tc.name+map[bool]string{true: "/stream", false: "/non-stream"}[stream], func(t *testing.T) {
				up := providertest.NewUpstream(t, providertest.JSONReply(tc.status, tc.body, tc.header...))
				req := chatRequest(t, base(up))
				req.Stream = stream
				res, rec, err := run(t, req)
				var e *ownkey.Error
				if !errors.As(err, &e) {
					t.Fatalf("err = %v, want *ownkey.Error", err)
				}
				if e.Code != ownkey.EUPSTREAM || e.Status != tc.status || e.Message != tc.wantMsg ||
					e.Type != tc.wantType || e.Reason != tc.wantReason || e.RetryAfter != tc.wantRetry {
					t.Fatalf("error = %+v", e)
				}
				if strings.Contains(err.Error(), testKey) {
					t.Fatal("the key leaked into the error")
				}
				if res.Started || res.Status != tc.status || res.ErrorCode != provider.CodeUpstreamError {
					t.Fatalf("result = %+v", res)
				}
				if rec.Body.Len() != 0 || rec.Header().Get("Content-Type") != "" {
					t.Fatalf("something was written to the client: %q %v", rec.Body.String(), rec.Header())
				}
			})
		}
	}
}

func TestConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	res, rec, err := run(t, chatRequest(t, "http://"+addr+"/v1"))
	var e *ownkey.Error
	if !errors.As(err, &e) || e.Code != ownkey.EUNAVAILABLE || e.Message != "could not reach OpenAI: connection refused" {
		t.Fatalf("err = %#v", err)
	}
	if res.Started || res.Status != http.StatusServiceUnavailable || res.ErrorCode != provider.CodeUpstreamUnavail || rec.Body.Len() != 0 {
		t.Fatalf("result = %+v", res)
	}
	if strings.Contains(e.Message, addr) {
		t.Fatalf("message names the address: %q", e.Message)
	}
}

func TestResponseHeaderTimeout(t *testing.T) {
	up := providertest.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	a := &Adapter{Clients: egress.New(egress.Options{ResponseHeaderTimeout: 50 * time.Millisecond})}
	req := chatRequest(t, base(up))
	res, err := a.Chat(context.Background(), req, providertest.Writer(t, httptest.NewRecorder(), req))
	var e *ownkey.Error
	if !errors.As(err, &e) || e.Code != ownkey.ETIMEOUT || e.Message != "OpenAI did not answer in time" {
		t.Fatalf("err = %#v", err)
	}
	if res.Status != http.StatusGatewayTimeout || res.ErrorCode != provider.CodeUpstreamTimeout {
		t.Fatalf("result = %+v", res)
	}
}

func TestClientGoneBeforeResponse(t *testing.T) {
	arrived := make(chan struct{})
	up := providertest.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-r.Context().Done()
	})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-arrived; cancel() }()
	req := chatRequest(t, base(up))
	res, err := testAdapter().Chat(ctx, req, providertest.Writer(t, httptest.NewRecorder(), req))
	if err == nil || !res.ClientGone || res.ErrorCode != provider.CodeClientDisconnected || res.Started {
		t.Fatalf("result = %+v, err %v", res, err)
	}
}

func TestGuardedClientRefusesInternalAddress(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.JSONReply(200, `{}`))
	req := chatRequest(t, base(up))
	req.Guarded = true // as if the user had pasted this address
	_, _, err := run(t, req)
	var e *ownkey.Error
	if !errors.As(err, &e) || e.Code != ownkey.EUNAVAILABLE || e.Message != "could not reach OpenAI: "+provider.EndpointNotAllowed {
		t.Fatalf("err = %v", err)
	}
	if len(up.Requests()) != 0 {
		t.Fatal("the guarded request reached the internal address")
	}
}

func TestNonStream(t *testing.T) {
	const body = `{"id":"chatcmpl-9","object":"chat.completion","created":1,"model":"gpt-x-2025",` +
		`"choices":[{"index":0,"message":{"role":"assistant","content":"Hi there","refusal":null,` +
		`"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},"finish_reason":"tool_calls"},` +
		`{"index":1,"message":{"role":"assistant","content":"second"},"finish_reason":"length"}],` +
		`"usage":{"prompt_tokens":20,"completion_tokens":9,"total_tokens":29,"prompt_tokens_details":{"cached_tokens":10}}}`
	up := providertest.NewUpstream(t, providertest.JSONReply(200, body, "X-Other", "y"))
	res, rec, err := run(t, chatRequest(t, base(up), nonStream))
	if err != nil {
		t.Fatal(err)
	}
	if rec.Code != 200 || rec.Body.String() != body || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("client got %d %v\n%s", rec.Code, rec.Header(), rec.Body.String())
	}
	want := ownkey.Usage{PromptTokens: 20, CompletionTokens: 9, CachedTokens: 10, Source: ownkey.UsageFromProvider}
	if res.Usage != want || res.ModelServed != "gpt-x-2025" || res.FinishReason != "tool_calls" || !res.Started || res.Status != 200 {
		t.Fatalf("result = %+v", res)
	}
	// Every choice's text counts: "Hi there" + the call to f with `{"a":1}` + "second".
	if res.OutputBytes != int64(len("Hi there")+len("f")+len(`{"a":1}`)+len("second")) || res.OutputToolCalls != 1 {
		t.Fatalf("output bytes = %d, tool calls = %d", res.OutputBytes, res.OutputToolCalls)
	}
}

func TestNonStreamErrorWithStatus200(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.JSONReply(200, `{"error":{"message":"model overloaded","type":"server_error","code":"overloaded"}}`))
	res, rec, err := run(t, chatRequest(t, base(up), nonStream))
	var e *ownkey.Error
	if !errors.As(err, &e) || e.Code != ownkey.EUPSTREAM || e.Status != 502 || e.Message != "model overloaded" || e.Reason != "overloaded" {
		t.Fatalf("err = %#v", err)
	}
	if res.Started || rec.Body.Len() != 0 {
		t.Fatalf("result = %+v, client got %q", res, rec.Body.String())
	}
}

func TestStreamAnsweredWithJSON(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.JSONReply(200, `{"error":{"message":"stream not supported","type":"invalid_request_error"}}`))
	res, rec, err := run(t, chatRequest(t, base(up)))
	var e *ownkey.Error
	if !errors.As(err, &e) || e.Code != ownkey.EUPSTREAM || e.Message != "stream not supported" || res.Started || rec.Body.Len() != 0 {
		t.Fatalf("err = %v, result %+v", err, res)
	}
}

// A server that labels its event stream application/json is still read as
// one.
func TestStreamLabelledJSON(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.JSONReply(200, "\n"+providertest.Frames(oaHello, oaFinish, done)))
	res, rec, err := run(t, chatRequest(t, base(up)))
	if err != nil {
		t.Fatal(err)
	}
	if want := providertest.Frames(oaHello, oaFinish, done); rec.Body.String() != want || res.ErrorCode != "" {
		t.Fatalf("client got:\n%s\nresult %+v", rec.Body.String(), res)
	}
}

func TestNonStreamBodyCut(t *testing.T) {
	t.Run("cut", func(t *testing.T) {
		up := providertest.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "1000")
			_, _ = w.Write([]byte(`{"choices":[`))
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		})
		res, rec, err := run(t, chatRequest(t, base(up), nonStream))
		var e *ownkey.Error
		if !errors.As(err, &e) || e.Code != ownkey.EUPSTREAM || e.Message != "the OpenAI response broke off before its end" || res.Started || rec.Body.Len() != 0 {
			t.Fatalf("err = %v, result %+v", err, res)
		}
	})
}

// A chat to a user-supplied endpoint that fails says the same whatever the
// cause (closed port, a port speaking something else, silence), so a stored
// Azure credential cannot be used to scan ports, and names no address.
func TestGuardedFailuresReadTheSame(t *testing.T) {
	babble := nettest.NotHTTP(t, nettest.Babble)
	silent := nettest.NotHTTP(t, func(c net.Conn) { time.Sleep(time.Second) })
	a := &Adapter{Clients: egress.New(egress.Options{AllowPrivate: true, ResponseHeaderTimeout: 200 * time.Millisecond})}
	want := "could not reach OpenAI: " + provider.EndpointUnreachable
	for _, addr := range []string{nettest.ClosedAddr(t), babble, silent} {
		req := chatRequest(t, "http://"+addr+"/v1")
		req.Guarded = true
		res, _, err := providertest.Run(t, a, req)
		var e *ownkey.Error
		if !errors.As(err, &e) || e.Code != ownkey.EUNAVAILABLE || e.Message != want {
			t.Errorf("%s: err = %v, want %q", addr, err, want)
		}
		if res.Status != http.StatusServiceUnavailable {
			t.Errorf("%s: status %d, want 503", addr, res.Status)
		}
	}
}
