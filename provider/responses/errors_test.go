package responses

import (
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider"
	"github.com/ownkey/ownkey/provider/providertest"
)

// The provider's error answer reaches the client with its status, message,
// type, code and param, whether the request streams or not.
func TestUpstreamErrors(t *testing.T) {
	cases := []struct {
		name                                     string
		status                                   int
		body                                     string
		header                                   []string
		wantStatus                               int
		wantMsg, wantType, wantReason, wantParam string
		wantRetry                                string
	}{
		{
			// Recorded: vercel-ai openai-responses/reasoning-model-temperature-error.json.
			name: "400 unsupported parameter", status: 400,
			body:       `{"error":{"message":"Unsupported parameter: 'temperature' is not supported with this model.","type":"invalid_request_error","param":"temperature","code":null}}`,
			wantStatus: 400, wantMsg: "Unsupported parameter: 'temperature' is not supported with this model.", wantType: "invalid_request_error", wantParam: "temperature",
		},
		{
			name: "401 echoing the key", status: 401,
			body:       `{"error":{"message":"Incorrect API key provided: ` + testKey + `.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`,
			wantStatus: 401, wantMsg: "Incorrect API key provided: [REDACTED].", wantType: "invalid_request_error", wantReason: "invalid_api_key",
		},
		{
			// Recorded: vercel-ai openai-responses/openai-error.1.json.
			name: "429 quota with retry-after", status: 429, header: []string{"Retry-After", "20"},
			body:       `{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}`,
			wantStatus: 429, wantMsg: "You exceeded your current quota, please check your plan and billing details.", wantType: "insufficient_quota",
			wantReason: "insufficient_quota", wantRetry: "20",
		},
		{
			name: "404 Azure's shape", status: 404,
			body:       `{"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist."}}`,
			wantStatus: 404, wantMsg: "The API deployment for this resource does not exist.", wantReason: "DeploymentNotFound",
		},
		{
			name: "500 HTML page", status: 500, header: []string{"Content-Type", "text/html"},
			body:       "<html><body>500 Internal Server Error</body></html>",
			wantStatus: 500, wantMsg: "OpenAI Responses returned HTTP 500",
		},
		{
			name: "302 redirect", status: 302,
			wantStatus: 502, wantMsg: "OpenAI Responses returned HTTP 302",
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
				if e.Code != ownkey.EUPSTREAM || e.Status != tc.wantStatus || e.Message != tc.wantMsg || e.Type != tc.wantType ||
					e.Reason != tc.wantReason || e.Param != tc.wantParam || e.RetryAfter != tc.wantRetry {
					t.Fatalf("error = %+v", e)
				}
				if strings.Contains(err.Error(), testKey) {
					t.Fatal("the key leaked into the error")
				}
				if res.Started || res.Status != tc.wantStatus || res.ErrorCode != provider.CodeUpstreamError || !res.Usage.IsZero() {
					t.Fatalf("result = %+v", res)
				}
				if rec.Body.Len() != 0 {
					t.Fatalf("something was written: %q", rec.Body.String())
				}
			})
		}
	}
}

func TestUpstreamUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	res, _, err := run(t, chatRequest(t, "http://"+addr))
	var e *ownkey.Error
	if !errors.As(err, &e) || e.Code != ownkey.EUNAVAILABLE || e.Message != "could not reach OpenAI Responses: connection refused" {
		t.Fatalf("err = %#v", err)
	}
	if res.Status != 503 || res.ErrorCode != provider.CodeUpstreamUnavail || res.Started {
		t.Fatalf("result = %+v", res)
	}
}
