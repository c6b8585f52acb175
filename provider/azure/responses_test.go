package azure

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/egress"
	"github.com/ownkey/ownkey/provider"
	"github.com/ownkey/ownkey/provider/providertest"
	"github.com/ownkey/ownkey/provider/responses"
)

func TestResponsesPath(t *testing.T) {
	p := providertest.Catalog(t, "azure-responses")
	for version, want := range map[string]string{
		"v1":                 "/openai/v1/responses?api-version=v1",
		"latest":             "/openai/v1/responses?api-version=latest",
		"preview":            "/openai/v1/responses?api-version=preview",
		"2025-04-01-preview": "/openai/responses?api-version=2025-04-01-preview",
		"2025-04-01&x=y":     "/openai/responses?api-version=2025-04-01%26x%3Dy",
	} {
		got, err := ResponsesPath(&ownkey.ChatRequest{Provider: p, Credential: &ownkey.Credential{APIVersion: version}})
		if err != nil || got != want {
			t.Errorf("api-version %q: %q (%v), want %q", version, got, err, want)
		}
	}
	_, err := ResponsesPath(&ownkey.ChatRequest{Provider: p, Credential: &ownkey.Credential{}})
	if e, ok := err.(*ownkey.Error); !ok || e.Code != ownkey.EINVALID || e.Param != "key.apiVersion" {
		t.Fatalf("no api-version: err = %v", err)
	}
}

func TestResponsesChat(t *testing.T) {
	if a := (Responses{}).Chat(); a != nil {
		t.Fatalf("Chat() = %#v without an adapter, want nil", a)
	}
	if a := (Responses{Adapter: &responses.Adapter{}}).Chat(); a == nil {
		t.Fatal("no chat adapter")
	}
}

// azureResponsesRequest is a chat request through the azure-responses
// family, its credential's endpoint the fake, as the chat service builds
// it.
func azureResponsesRequest(t *testing.T, up *providertest.Upstream, apiVersion string, stream bool) *ownkey.ChatRequest {
	t.Helper()
	p := providertest.Catalog(t, "azure-responses")
	raw, _ := json.Marshal(map[string]string{"endpoint": up.URL + "/", "apiKey": providertest.Key("azure-responses"), "apiVersion": apiVersion})
	c, err := ownkey.ParseCredential(p, raw, true)
	if err != nil {
		t.Fatal(err)
	}
	r := &ownkey.ChatRequest{RequestID: "req-1", Provider: p, Credential: c, Auth: Responses{}, Model: "my-gpt5-deployment", Stream: stream,
		IncludeUsage: stream, Body: []byte(`{"model":"my-gpt5-deployment","messages":[{"role":"user","content":"hi"}]}`)}
	if r.BaseURL, r.Guarded, err = (Responses{}).Endpoint(p, c); err != nil || !r.Guarded {
		t.Fatalf("endpoint %q guarded %t: %v", r.BaseURL, r.Guarded, err)
	}
	return r
}

func azureFamily(allowPrivate bool) Responses {
	return Responses{Adapter: &responses.Adapter{Clients: egress.New(egress.Options{AllowPrivate: allowPrivate})}}
}

// The Responses API at Azure's path, with the api-key header and nothing
// else, and the answer translated.
func TestResponsesThroughAzure(t *testing.T) {
	const azureText = `{"id":"resp_0d6b","object":"response","created_at":1770803604,"status":"completed","content_filters":[{"blocked":false,"source_type":"prompt"}],` +
		`"model":"gpt-5.1","output":[{"id":"msg_1","type":"message","status":"completed","content":[{"type":"output_text","annotations":[],"logprobs":[],"text":"Hello"}],"role":"assistant"}],` +
		`"usage":{"input_tokens":11,"input_tokens_details":{"cached_tokens":0},"output_tokens":11,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":22}}`
	for _, tc := range []struct{ version, path, query string }{
		{"v1", "/openai/v1/responses", "api-version=v1"},
		{"2025-04-01-preview", "/openai/responses", "api-version=2025-04-01-preview"},
	} {
		t.Run(tc.version, func(t *testing.T) {
			up := providertest.NewUpstream(t, providertest.JSONReply(200, azureText))
			req := azureResponsesRequest(t, up, tc.version, false)
			res, rec, err := providertest.Run(t, azureFamily(true).Chat(), req)
			if err != nil {
				t.Fatal(err)
			}
			got := up.Only(t)
			if got.Path != tc.path || got.RawQuery != tc.query || got.Header.Get("Api-Key") != providertest.Key("azure-responses") || got.Header.Get("Authorization") != "" {
				t.Fatalf("upstream got %s?%s with headers %v", got.Path, got.RawQuery, got.Header)
			}
			if want := `{"model":"my-gpt5-deployment","input":[{"role":"user","content":[{"type":"input_text","text":"hi"}]}],"store":false}`; string(got.Body) != want {
				t.Fatalf("upstream body %s", got.Body)
			}
			a := providertest.ReadAnswer(t, rec.Body.String(), false)
			if a.Content != "Hello" || a.Finish != "stop" || res.Usage.PromptTokens != 11 || res.ModelServed != "gpt-5.1" {
				t.Fatalf("client got %+v, result %+v", a, res)
			}
		})
	}
}

// Azure's errors pass through with their status and message: a content
// filter refusal and an api-version the resource does not know.
func TestResponsesAzureErrors(t *testing.T) {
	for _, tc := range []struct {
		name, body, msg, reason, param string
		status                         int
	}{
		{"content filter", `{"error":{"message":"The response was filtered due to the prompt triggering Azure OpenAI's content management policy.","type":null,"param":"prompt","code":"content_filter","status":400,` +
			`"innererror":{"code":"ResponsibleAIPolicyViolation","content_filter_result":{"hate":{"filtered":true,"severity":"high"}}}}}`,
			"The response was filtered due to the prompt triggering Azure OpenAI's content management policy.", "content_filter", "prompt", 400},
		{"wrong api-version", `{"error":{"code":"BadRequest","message":"API version not supported"}}`, "API version not supported", "BadRequest", "", 400},
		{"unknown deployment", `{"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist."}}`,
			"The API deployment for this resource does not exist.", "DeploymentNotFound", "", 404},
	} {
		for _, stream := range []bool{false, true} {
			t.Run(tc.name, func(t *testing.T) {
				up := providertest.NewUpstream(t, providertest.JSONReply(tc.status, tc.body))
				res, rec, err := providertest.Run(t, azureFamily(true).Chat(), azureResponsesRequest(t, up, "2030-01-01", stream))
				var e *ownkey.Error
				if !errors.As(err, &e) || e.Code != ownkey.EUPSTREAM || e.Status != tc.status || e.Message != tc.msg || e.Reason != tc.reason || e.Param != tc.param {
					t.Fatalf("err = %#v", err)
				}
				if res.Status != tc.status || res.ErrorCode != provider.CodeUpstreamError || rec.Body.Len() != 0 {
					t.Fatalf("result %+v, wrote %q", res, rec.Body.String())
				}
			})
		}
	}
}

// The endpoint is the user's: chat goes through the guarded client, which
// refuses a private address before anything is sent.
func TestResponsesGuardedEndpoint(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.JSONReply(200, `{}`))
	rec := httptest.NewRecorder()
	req := azureResponsesRequest(t, up, "v1", true)
	res, err := azureFamily(false).Chat().Chat(context.Background(), req, providertest.Writer(t, rec, req))
	var e *ownkey.Error
	if !errors.As(err, &e) || e.Code != ownkey.EUNAVAILABLE || e.Message != "could not reach Azure Responses: "+provider.EndpointNotAllowed {
		t.Fatalf("err = %#v", err)
	}
	if res.Started || len(up.Requests()) != 0 || strings.Contains(err.Error(), up.URL) {
		t.Fatalf("result %+v, %d requests reached the private endpoint", res, len(up.Requests()))
	}
}
