package anthropic

import (
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider"
	"github.com/ownkey/ownkey/provider/providertest"
)

func TestUpstreamErrors(t *testing.T) {
	cases := []struct {
		name       string
		status     int
		body       string
		header     []string
		wantStatus int
		wantMsg    string
		wantType   string
		wantReason string
		wantRetry  string
	}{
		{
			name: "400 invalid request", status: 400,
			body:       `{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: Field required"},"request_id":"req_011CUdge"}`,
			wantStatus: 400, wantMsg: "max_tokens: Field required", wantType: "invalid_request_error",
		},
		{
			name: "401 echoing the key", status: 401,
			body:       `{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key ` + testKey + `"}}`,
			wantStatus: 401, wantMsg: "invalid x-api-key [REDACTED]", wantType: "authentication_error",
		},
		{
			name: "429 with retry-after", status: 429, header: []string{"Retry-After", "17"},
			body:       `{"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"}}`,
			wantStatus: 429, wantMsg: "Number of request tokens has exceeded your per-minute rate limit", wantType: "rate_limit_error", wantRetry: "17",
		},
		{
			// A provider that echoes the key in Retry-After must not
			// hand it to the client: only seconds or a date pass.
			name: "429 echoing the key in Retry-After", status: 429, header: []string{"Retry-After", testKey},
			body:       `{"type":"error","error":{"type":"rate_limit_error","message":"Slow down"}}`,
			wantStatus: 429, wantMsg: "Slow down", wantType: "rate_limit_error",
		},
		{
			name: "529 with an HTTP-date Retry-After", status: 529, header: []string{"Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT"},
			body:       `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`,
			wantStatus: 503, wantMsg: "Overloaded", wantType: "overloaded_error", wantRetry: "Wed, 21 Oct 2015 07:28:00 GMT",
		},
		{
			name: "529 overloaded becomes 503", status: 529,
			body:       `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`,
			wantStatus: 503, wantMsg: "Overloaded", wantType: "overloaded_error",
		},
		{
			name: "529 without a body", status: 529,
			wantStatus: 503, wantMsg: "Anthropic returned HTTP 529", wantType: "overloaded_error",
		},
		{
			name: "413", status: 413,
			body:       `{"type":"error","error":{"type":"request_too_large","message":"Request exceeds the maximum allowed number of bytes."}}`,
			wantStatus: 413, wantMsg: "Request exceeds the maximum allowed number of bytes.", wantType: "request_too_large",
		},
		{
			name: "500 HTML page", status: 500, header: []string{"Content-Type", "text/html"},
			body:       "<html><body>500 Internal Server Error</body></html>",
			wantStatus: 500, wantMsg: "Anthropic returned HTTP 500",
		},
	}
	for _, tc := range cases {
		for _, stream := range []bool{true, false} {
			t.Run(tc.name+map[bool]string{true: "/stream", false: "/non-stream"}[stream], func(t *testing.T) {
				up := providertest.NewUpstream(t, providertest.JSONReply(tc.status, tc.body, tc.header...))
				req := chatRequest(t, up.URL)
				req.Stream = stream
				res, rec, err := run(t, req)
				var e *ownkey.Error
				if !errors.As(err, &e) {
					t.Fatalf("err = %v, want *ownkey.Error", err)
				}
				if e.Code != ownkey.EUPSTREAM || e.Status != tc.wantStatus || e.Message != tc.wantMsg ||
					e.Type != tc.wantType || e.Reason != tc.wantReason || e.RetryAfter != tc.wantRetry {
					t.Fatalf("error = %+v", e)
				}
				if strings.Contains(err.Error(), testKey) {
					t.Fatal("the key leaked into the error")
				}
				if res.Started || res.Status != tc.wantStatus || res.ErrorCode != provider.CodeUpstreamError || !res.Usage.IsZero() {
					t.Fatalf("result = %+v", res)
				}
				if rec.Body.Len() != 0 || rec.Header().Get("Content-Type") != "" {
					t.Fatalf("something was written: %q", rec.Body.String())
				}
			})
		}
	}
}

// Foundry answers some errors in Azure's shape rather than Anthropic's.
func TestFoundryAzureErrorShape(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.JSONReply(404, `{"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist."}}`))
	_, _, err := run(t, chatRequest(t, up.URL, foundry(t, up.URL)))
	var e *ownkey.Error
	if !errors.As(err, &e) || e.Status != 404 || e.Reason != "DeploymentNotFound" || e.Message != "The API deployment for this resource does not exist." {
		t.Fatalf("err = %#v", err)
	}
}

func TestUpstreamUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	res, _, err := run(t, chatRequest(t, "http://"+addr))
	var e *ownkey.Error
	if !errors.As(err, &e) || e.Code != ownkey.EUNAVAILABLE || e.Message != "could not reach Anthropic: connection refused" {
		t.Fatalf("err = %#v", err)
	}
	if res.Status != 503 || res.ErrorCode != provider.CodeUpstreamUnavail || res.Started {
		t.Fatalf("result = %+v", res)
	}
}
