package gemini

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider"
	"github.com/ownkey/ownkey/provider/providertest"
)

// Google's 429 with RetryInfo (as recorded by vercel/ai): the client gets
// 429, Google's message and status, and a Retry-After of the delay rounded
// up to whole seconds.
const quotaBody = `{"error":{"code":429,"message":"You exceeded your current quota, please check your plan.","status":"RESOURCE_EXHAUSTED",` +
	`"details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaId":"GenerateRequestsPerMinutePerProjectPerModel-FreeTier"}]},` +
	`{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"34.4s"}]}}`

func TestUpstreamErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		header []string
		want   ownkey.Error
	}{
		{"quota with RetryInfo", 429, quotaBody, nil, ownkey.Error{Code: ownkey.EUPSTREAM, Status: 429, Type: "RESOURCE_EXHAUSTED",
			Message: "You exceeded your current quota, please check your plan.", RetryAfter: "35"}},
		{"the header wins", 429, quotaBody, []string{"Retry-After", "3"}, ownkey.Error{Code: ownkey.EUPSTREAM, Status: 429, Type: "RESOURCE_EXHAUSTED",
			Message: "You exceeded your current quota, please check your plan.", RetryAfter: "3"}},
		{"whole seconds", 429, `{"error":{"code":429,"message":"slow","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"12s"}]}}`, nil,
			ownkey.Error{Code: ownkey.EUPSTREAM, Status: 429, Type: "RESOURCE_EXHAUSTED", Message: "slow", RetryAfter: "12"}},
		{"a delay that is not one", 429, `{"error":{"code":429,"message":"slow","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"-5s"},{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"1e9s"},{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":12}]}}`, nil,
			ownkey.Error{Code: ownkey.EUPSTREAM, Status: 429, Type: "RESOURCE_EXHAUSTED", Message: "slow"}},
		{"capped", 429, `{"error":{"code":429,"message":"slow","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"999999999s"}]}}`, nil,
			ownkey.Error{Code: ownkey.EUPSTREAM, Status: 429, Type: "RESOURCE_EXHAUSTED", Message: "slow", RetryAfter: "86400"}},
		{"bad key", 400, `{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT",` +
			`"details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com","metadata":{"service":"generativelanguage.googleapis.com"}}]}}`, nil,
			ownkey.Error{Code: ownkey.EUPSTREAM, Status: 400, Type: "INVALID_ARGUMENT", Reason: "API_KEY_INVALID", Message: "API key not valid. Please pass a valid API key."}},
		{"missing signature", 400, `{"error":{"code":400,"message":"Function call is missing a thought_signature in functionCall parts.","status":"INVALID_ARGUMENT"}}`, nil,
			ownkey.Error{Code: ownkey.EUPSTREAM, Status: 400, Type: "INVALID_ARGUMENT", Message: "Function call is missing a thought_signature in functionCall parts."}},
		{"not found", 404, `{"error":{"code":404,"message":"models/gemini-9 is not found for API version v1beta","status":"NOT_FOUND"}}`, nil,
			ownkey.Error{Code: ownkey.EUPSTREAM, Status: 404, Type: "NOT_FOUND", Message: "models/gemini-9 is not found for API version v1beta"}},
		{"overloaded", 503, `{"error":{"code":503,"message":"The model is overloaded. Please try again later.","status":"UNAVAILABLE"}}`, nil,
			ownkey.Error{Code: ownkey.EUPSTREAM, Status: 503, Type: "UNAVAILABLE", Message: "The model is overloaded. Please try again later."}},
		{"html", 502, `<html><body>Bad Gateway</body></html>`, []string{"Content-Type", "text/html"},
			ownkey.Error{Code: ownkey.EUPSTREAM, Status: 502, Message: "Google AI Studio returned HTTP 502"}},
		{"redirect", 302, ``, []string{"Location", "https://elsewhere"},
			ownkey.Error{Code: ownkey.EUPSTREAM, Status: 502, Message: "Google AI Studio returned HTTP 302"}},
		{"too deep", 400, `{"error":` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `}`, nil,
			ownkey.Error{Code: ownkey.EUPSTREAM, Status: 400, Message: "Google AI Studio returned HTTP 400"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := providertest.NewUpstream(t, providertest.JSONReply(tc.status, tc.body, tc.header...))
			for _, stream := range []bool{false, true} {
				res, rec, err := run(t, chatRequest(t, up.URL, func(r *ownkey.ChatRequest) { r.Stream = stream }))
				e, ok := err.(*ownkey.Error)
				if !ok || *e != tc.want {
					t.Fatalf("stream %t: err %#v, want %#v", stream, err, tc.want)
				}
				if res.Started || rec.Body.Len() != 0 || res.Status != tc.want.Status || res.ErrorCode != provider.CodeUpstreamError {
					t.Fatalf("stream %t: result %+v, body %q", stream, res, rec.Body.String())
				}
			}
		})
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"34.4s": 34400 * time.Millisecond, "0s": 0, "1.000000001s": time.Second + 1, "12s": 12 * time.Second} {
		if got, ok := parseDuration(gjson.Parse(`"` + in + `"`)); !ok || got != want {
			t.Errorf("parseDuration(%s) = %v %v", in, got, ok)
		}
	}
	for _, in := range []string{`"12"`, `"s"`, `"-1s"`, `"+1s"`, `"1e3s"`, `"1h"`, `12`, `"1ms"`, `"abc s"`} {
		if d, ok := parseDuration(gjson.Parse(in)); ok {
			t.Errorf("parseDuration(%s) = %v, want refused", in, d)
		}
	}
}

// A key Google echoes (plain, JSON-escaped, URL-encoded, in the status or
// the reason) never reaches the client.
func TestErrorsScrubTheKey(t *testing.T) {
	for _, echo := range []string{testKey, providertest.EscapedKey(testKey), url.QueryEscape(testKey), "key=" + testKey} {
		body := `{"error":{"code":400,"message":"API key not valid: ` + echo + `","status":"` + echo + `",` +
			`"details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"` + echo + `"},{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"` + echo + `"}]}}`
		up := providertest.NewUpstream(t, providertest.JSONReply(400, body, "Retry-After", testKey))
		_, rec, err := run(t, chatRequest(t, up.URL, nonStream))
		if providertest.ErrorLeaks(t, err, rec.Body.String(), testKey) {
			t.Fatalf("the key reached the client: %#v", err)
		}
		// Mid-stream.
		up = providertest.NewUpstream(t, sseReply(frames(chunk(textPart("a"), "", ""), body)))
		_, rec, err = run(t, chatRequest(t, up.URL))
		if err != nil || providertest.Leaks(rec.Body.String(), testKey) || !strings.Contains(rec.Body.String(), "API key not valid") {
			t.Fatalf("err %v, client got %s", err, rec.Body.String())
		}
	}
}
