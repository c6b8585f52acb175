package azure

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/egress"
	"github.com/ownkey/ownkey/provider"
	"github.com/ownkey/ownkey/provider/openaicompat"
	"github.com/ownkey/ownkey/provider/providertest"
)

const azureKey = "azkey-canary-0123456789abcdefXYZ"

// family is the Azure chat family as the server builds it, with clients
// that may reach the fake upstream on 127.0.0.1 (allowPrivate) or not.
func family(allowPrivate bool) Chat {
	return NewChat(openaicompat.Adapter{Clients: egress.New(egress.Options{AllowPrivate: allowPrivate}), UserAgent: "ownkey-test/1"})
}

// chatRequest is a chat request to the deployment "gpt4o-prod" of the
// resource at endpoint, at apiVersion, with the model the chat service
// sends (the deployment, see UpstreamModel).
func chatRequest(t testing.TB, endpoint, apiVersion string, stream bool) *ownkey.ChatRequest {
	t.Helper()
	p := providertest.Catalog(t, "azure")
	c := &ownkey.Credential{Provider: "azure", APIKey: ownkey.NewSecret(azureKey), Endpoint: endpoint, Deployment: "gpt4o-prod", APIVersion: apiVersion}
	base, guarded, err := Chat{}.Endpoint(p, c)
	if err != nil || !guarded {
		t.Fatalf("endpoint %q guarded=%t: %v", base, guarded, err)
	}
	model := Chat{}.UpstreamModel(c, "gpt-4o")
	body := `{"model":"` + model + `","messages":[{"role":"user","content":"Capital of Denmark?"}]}`
	if stream {
		body = `{"model":"` + model + `","messages":[{"role":"user","content":"Capital of Denmark?"}],"stream":true,"stream_options":{"include_usage":true}}`
	}
	return &ownkey.ChatRequest{
		RequestID: "req-az", Provider: p, Credential: c, Auth: Chat{}, BaseURL: base, Guarded: guarded,
		Model: model, Body: []byte(body), Stream: stream, IncludeUsage: stream,
	}
}

// An Azure OpenAI chat stream as Azure frames it (from vercel/ai's
// recording azure-model-router.1.chunks.txt, shortened): a first chunk
// with no choice, an empty id and model and the prompt's filter results;
// content_filter_results in every choice; a separate usage chunk; [DONE].
const (
	azPromptFilter = `{"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{"hate":{"filtered":false,"severity":"safe"},"jailbreak":{"filtered":false,"detected":false},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":false,"severity":"safe"}}}]}`
	azRole         = `{"choices":[{"content_filter_results":{},"delta":{"content":"","refusal":null,"role":"assistant"},"finish_reason":null,"index":0,"logprobs":null}],"created":1762317021,"id":"chatcmpl-CYPS1","model":"gpt-5-nano-2025-08-07","obfuscation":"D3WbtIxo1Q2j1Q","object":"chat.completion.chunk","system_fingerprint":null,"usage":null}`
	azSafe         = `"content_filter_results":{"hate":{"filtered":false,"severity":"safe"},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":false,"severity":"safe"}}`
	azCapital      = `{"choices":[{` + azSafe + `,"delta":{"content":"Capital"},"finish_reason":null,"index":0,"logprobs":null}],"created":1762317021,"id":"chatcmpl-CYPS1","model":"gpt-5-nano-2025-08-07","obfuscation":"NNpA6Dj2U","object":"chat.completion.chunk","system_fingerprint":null,"usage":null}`
	azDenmark      = `{"choices":[{` + azSafe + `,"delta":{"content":" of Denmark."},"finish_reason":null,"index":0,"logprobs":null}],"created":1762317021,"id":"chatcmpl-CYPS1","model":"gpt-5-nano-2025-08-07","obfuscation":"iDOuV7Jz","object":"chat.completion.chunk","system_fingerprint":null,"usage":null}`
	azStop         = `{"choices":[{"content_filter_results":{},"delta":{},"finish_reason":"stop","index":0,"logprobs":null}],"created":1762317021,"id":"chatcmpl-CYPS1","model":"gpt-5-nano-2025-08-07","obfuscation":"Zarov0xJhP","object":"chat.completion.chunk","system_fingerprint":null,"usage":null}`
	azUsageU       = `{"completion_tokens":78,"completion_tokens_details":{"accepted_prediction_tokens":0,"audio_tokens":0,"reasoning_tokens":64,"rejected_prediction_tokens":0},"prompt_tokens":15,"prompt_tokens_details":{"audio_tokens":0,"cached_tokens":0},"total_tokens":93}`
	azUsage        = `{"choices":[],"created":1762317021,"id":"chatcmpl-CYPS1","model":"gpt-5-nano-2025-08-07","obfuscation":"DjqQ9RbEQMJ3PX","object":"chat.completion.chunk","system_fingerprint":null,"usage":` + azUsageU + `}`
	// What the client gets in place of azUsage (openaicompat writes the
	// one usage chunk itself).
	azUsageOut = `{"id":"chatcmpl-CYPS1","object":"chat.completion.chunk","created":1762317021,"model":"gpt-5-nano-2025-08-07","choices":[],"usage":` + azUsageU + `}`
	// A completion filtered on the way out: the finish reason says so.
	azFiltered = `{"choices":[{"content_filter_results":{"hate":{"filtered":false,"severity":"safe"},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":true,"severity":"medium"}},"delta":{},"finish_reason":"content_filter","index":0,"logprobs":null}],"created":1762317021,"id":"chatcmpl-CYPS1","model":"gpt-5-nano-2025-08-07","object":"chat.completion.chunk","system_fingerprint":null,"usage":null}`

	// A whole answer as Azure sends it: prompt_filter_results beside the
	// choices, content_filter_results in them.
	azCompletion = `{"choices":[{"content_filter_results":{"hate":{"filtered":false,"severity":"safe"},"protected_material_code":{"filtered":false,"detected":false},"protected_material_text":{"filtered":false,"detected":false},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":false,"severity":"safe"}},"finish_reason":"stop","index":0,"logprobs":null,"message":{"annotations":[],"content":"Copenhagen.","refusal":null,"role":"assistant"}}],"created":1762317100,"id":"chatcmpl-CYPT2","model":"gpt-4o-2024-11-20","object":"chat.completion","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{"hate":{"filtered":false,"severity":"safe"},"jailbreak":{"filtered":false,"detected":false},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":false,"severity":"safe"}}}],"system_fingerprint":"fp_ee1d74bde0","usage":{"completion_tokens":3,"completion_tokens_details":{"accepted_prediction_tokens":0,"audio_tokens":0,"reasoning_tokens":0,"rejected_prediction_tokens":0},"prompt_tokens":14,"prompt_tokens_details":{"audio_tokens":0,"cached_tokens":0},"total_tokens":17}}`
)

func TestChatURLs(t *testing.T) {
	cases := []struct{ apiVersion, path, query string }{
		{"2024-10-21", "/openai/deployments/gpt4o-prod/chat/completions", "api-version=2024-10-21"},
		{"2025-04-01-preview", "/openai/deployments/gpt4o-prod/chat/completions", "api-version=2025-04-01-preview"},
		{"v1", "/openai/v1/chat/completions", "api-version=v1"},
		{"latest", "/openai/v1/chat/completions", "api-version=latest"},
		{"preview", "/openai/v1/chat/completions", "api-version=preview"},
	}
	for _, tc := range cases {
		t.Run(tc.apiVersion, func(t *testing.T) {
			up := providertest.NewUpstream(t, providertest.JSONReply(200, azCompletion))
			req := chatRequest(t, up.URL+"/", tc.apiVersion, false)
			if _, _, err := providertest.Run(t, family(true).Chat(), req); err != nil {
				t.Fatal(err)
			}
			got := up.Only(t)
			if got.Method != http.MethodPost || got.Path != tc.path || got.RawQuery != tc.query {
				t.Fatalf("sent %s %s?%s, want %s?%s", got.Method, got.Path, got.RawQuery, tc.path, tc.query)
			}
			// The body as the chat service made it, byte for byte: the
			// deployment is its model (which the v1 API needs).
			if string(got.Body) != string(req.Body) || !strings.Contains(string(got.Body), `"model":"gpt4o-prod"`) {
				t.Fatalf("body sent as %s", got.Body)
			}
			h := got.Header
			if h.Get("Api-Key") != azureKey || h.Get("Authorization") != "" || h.Get("Content-Type") != "application/json" ||
				h.Get("Accept") != "application/json" || h.Get("User-Agent") != "ownkey-test/1" {
				t.Fatalf("headers %v", h)
			}
		})
	}
}

// The deployment is one path segment whatever a stored credential holds
// (the saved ones are checked), and the api-version one query value.
func TestChatURLEscapes(t *testing.T) {
	req := chatRequest(t, "https://res.openai.azure.com", "2024-10-21", false)
	req.Credential.Deployment, req.Credential.APIVersion = "a/../b?c#d", "2024-10-21&x=1"
	got, err := chatPath(req)
	if want := "/openai/deployments/a%2F..%2Fb%3Fc%23d/chat/completions?api-version=2024-10-21%26x%3D1"; err != nil || got != want {
		t.Fatalf("chatPath = %q (%v), want %q", got, err, want)
	}
}

// A stored credential without what the URL needs is refused before
// anything is sent, naming the field.
func TestChatURLNeedsTheCredentialsFields(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.JSONReply(200, azCompletion))
	for _, tc := range []struct{ field, apiVersion, deployment string }{
		{"key.apiVersion", "", "gpt4o-prod"},
		{"key.deploymentName", "2024-10-21", ""},
	} {
		req := chatRequest(t, up.URL, tc.apiVersion, false)
		req.Credential.Deployment = tc.deployment
		res, rec, err := providertest.Run(t, family(true).Chat(), req)
		var e *ownkey.Error
		if !errors.As(err, &e) || e.Code != ownkey.EINVALID || e.Param != tc.field || res.Status != http.StatusBadRequest || rec.Body.Len() != 0 {
			t.Errorf("%s missing: err = %v, status %d", tc.field, err, res.Status)
		}
	}
	if n := len(up.Requests()); n != 0 {
		t.Fatalf("%d requests sent", n)
	}
}

func TestChatStream(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.SSEReply(providertest.Frames(azPromptFilter, azRole, azCapital, azDenmark, azStop, azUsage, "[DONE]")))
	req := chatRequest(t, up.URL, "2024-10-21", true)
	res, rec, err := providertest.Run(t, family(true).Chat(), req)
	if err != nil {
		t.Fatal(err)
	}
	// Every chunk but the choice-less first one, byte for byte (the
	// content filter results with them); the usage chunk once; [DONE].
	if got, want := rec.Body.String(), providertest.Frames(azRole, azCapital, azDenmark, azStop, azUsageOut, "[DONE]"); got != want {
		t.Fatalf("client got\n%s\nwant\n%s", got, want)
	}
	if h := up.Only(t).Header; h.Get("Accept") != "text/event-stream" || h.Get("Api-Key") != azureKey {
		t.Fatalf("headers %v", h)
	}
	want := ownkey.Usage{PromptTokens: 15, CompletionTokens: 78, ReasoningTokens: 64, Source: ownkey.UsageFromProvider}
	if res.Usage != want || res.ModelServed != "gpt-5-nano-2025-08-07" || res.FinishReason != "stop" || res.ErrorCode != "" ||
		string(res.OutputSample) != "Capital of Denmark." || res.Status != 200 {
		t.Fatalf("result %+v", res)
	}
}

// Output stopped by Azure's content filter: the stream relays it, and the
// finish reason is content_filter in the answer and the record.
func TestChatStreamContentFilterFinish(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.SSEReply(providertest.Frames(azPromptFilter, azRole, azCapital, azFiltered, azUsage, "[DONE]")))
	res, rec, err := providertest.Run(t, family(true).Chat(), chatRequest(t, up.URL, "2024-10-21", true))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rec.Body.String(), providertest.Frames(azRole, azCapital, azFiltered, azUsageOut, "[DONE]"); got != want {
		t.Fatalf("client got\n%s\nwant\n%s", got, want)
	}
	if res.FinishReason != "content_filter" || res.ErrorCode != "" || res.Usage.CompletionTokens != 78 {
		t.Fatalf("result %+v", res)
	}
}

func TestChatComplete(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.JSONReply(200, azCompletion))
	res, rec, err := providertest.Run(t, family(true).Chat(), chatRequest(t, up.URL, "2024-10-21", false))
	if err != nil {
		t.Fatal(err)
	}
	if rec.Body.String() != azCompletion {
		t.Fatalf("body not relayed byte for byte:\n%s", rec.Body)
	}
	want := ownkey.Usage{PromptTokens: 14, CompletionTokens: 3, Source: ownkey.UsageFromProvider}
	if res.Usage != want || res.ModelServed != "gpt-4o-2024-11-20" || res.FinishReason != "stop" || string(res.OutputSample) != "Copenhagen." {
		t.Fatalf("result %+v", res)
	}
}

// Azure's error answers reach the client with their status, message and
// code, and never with the key.
func TestChatUpstreamErrors(t *testing.T) {
	cases := []struct {
		name, body            string
		status                int
		wantMsg, wantReason   string
		wantType              string
		wantStatusToTheClient int
	}{
		{
			name:   "content filter on the prompt",
			status: 400,
			body: `{"error":{"message":"The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry. To learn more about our content filtering policies please read our documentation: https://go.microsoft.com/fwlink/?linkid=2198766","type":null,"param":"prompt","code":"content_filter","status":400,` +
				`"innererror":{"code":"ResponsibleAIPolicyViolation","content_filter_result":{"hate":{"filtered":false,"severity":"safe"},"jailbreak":{"filtered":false,"detected":false},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":true,"severity":"medium"}}}}}`,
			wantMsg:    "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry. To learn more about our content filtering policies please read our documentation: https://go.microsoft.com/fwlink/?linkid=2198766",
			wantReason: "content_filter", wantStatusToTheClient: 400,
		},
		{
			name: "api-version Azure does not know", status: 400,
			body:    `{"error":{"code":"BadRequest","message":"API version not supported"}}`,
			wantMsg: "API version not supported", wantReason: "BadRequest", wantStatusToTheClient: 400,
		},
		{
			name: "no such deployment", status: 404,
			body:    `{"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again."}}`,
			wantMsg: "The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.", wantReason: "DeploymentNotFound", wantStatusToTheClient: 404,
		},
		{
			name: "route Azure does not serve", status: 404,
			body:    `{"error":{"code":"404","message":"Resource not found"}}`,
			wantMsg: "Resource not found", wantReason: "404", wantStatusToTheClient: 404,
		},
		{
			name: "wrong key, echoed", status: 401,
			body:    `{"error":{"code":"401","message":"Access denied due to invalid subscription key ` + azureKey + ` or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource."}}`,
			wantMsg: "Access denied due to invalid subscription key [REDACTED] or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.", wantReason: "401", wantStatusToTheClient: 401,
		},
		{
			name: "rate limited, the key escaped", status: 429,
			body:    `{"error":{"code":"429","message":"Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded token rate limit (key ` + providertest.EscapedKey(azureKey) + `). Please retry after 6 seconds."}}`,
			wantMsg: "Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded token rate limit (key [REDACTED]). Please retry after 6 seconds.", wantReason: "429", wantStatusToTheClient: 429,
		},
	}
	for _, tc := range cases {
		for _, stream := range []bool{false, true} {
			t.Run(tc.name+map[bool]string{true: " (stream)"}[stream], func(t *testing.T) {
				up := providertest.NewUpstream(t, providertest.JSONReply(tc.status, tc.body))
				res, rec, err := providertest.Run(t, family(true).Chat(), chatRequest(t, up.URL, "2024-10-21", stream))
				var e *ownkey.Error
				if !errors.As(err, &e) {
					t.Fatalf("err = %v", err)
				}
				if e.Code != ownkey.EUPSTREAM || ownkey.StatusOf(e) != tc.wantStatusToTheClient || e.Message != tc.wantMsg ||
					e.Reason != tc.wantReason || e.Type != tc.wantType || res.Status != tc.wantStatusToTheClient {
					t.Fatalf("error %+v, result status %d", e, res.Status)
				}
				if providertest.ErrorLeaks(t, err, rec.Body.String(), azureKey) {
					t.Fatal("the key reached the client")
				}
			})
		}
	}
}

// A mid-stream error (Azure sends OpenAI's shape) ends the stream as an
// error event, without [DONE] and without the key.
func TestChatStreamError(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.SSEReply(providertest.Frames(azPromptFilter, azRole, azCapital,
		`{"error":{"message":"The server had an error processing your request (key `+azureKey+`).","type":"server_error","param":null,"code":"server_error"}}`)))
	res, rec, err := providertest.Run(t, family(true).Chat(), chatRequest(t, up.URL, "2024-10-21", true))
	if err != nil {
		t.Fatal(err)
	}
	got := rec.Body.String()
	if !strings.HasPrefix(got, providertest.Frames(azRole, azCapital)+`data: {"error":`) || strings.Contains(got, "[DONE]") ||
		providertest.Leaks(got, azureKey) || res.ErrorCode != provider.CodeStreamError {
		t.Fatalf("client got (error code %q)\n%s", res.ErrorCode, got)
	}
}

// The endpoint is the user's: chat dials it through the guarded client,
// which refuses a loopback address (the fake's) unless the operator allows
// private upstreams, before anything is sent.
func TestChatGuardedEndpoint(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.JSONReply(200, azCompletion))
	for _, stream := range []bool{false, true} {
		res, rec, err := providertest.Run(t, family(false).Chat(), chatRequest(t, up.URL, "2024-10-21", stream))
		var e *ownkey.Error
		if !errors.As(err, &e) || e.Code != ownkey.EUNAVAILABLE || e.Message != "could not reach Azure: "+provider.EndpointNotAllowed ||
			res.Status != http.StatusServiceUnavailable || rec.Body.Len() != 0 {
			t.Fatalf("stream=%t: err = %v, status %d", stream, err, res.Status)
		}
		if strings.Contains(e.Message, "127.0.0.1") || providertest.ErrorLeaks(t, err, "", azureKey) {
			t.Fatalf("the error says too much: %q", e.Message)
		}
	}
	if n := len(up.Requests()); n != 0 {
		t.Fatalf("a private endpoint was reached %d times", n)
	}
	if _, _, err := providertest.Run(t, family(true).Chat(), chatRequest(t, up.URL, "2024-10-21", false)); err != nil {
		t.Fatalf("with private upstreams allowed: %v", err)
	}
}

func TestChatFamily(t *testing.T) {
	if (Chat{}).Chat() != nil {
		t.Fatal("Chat{} has an adapter")
	}
	if family(true).Chat() == nil {
		t.Fatal("NewChat has no adapter")
	}
	c := &ownkey.Credential{Deployment: "gpt4o-prod"}
	if got := (Chat{}).UpstreamModel(c, "gpt-4o"); got != "gpt4o-prod" {
		t.Fatalf("UpstreamModel = %q", got)
	}
	if got := (Chat{}).UpstreamModel(&ownkey.Credential{}, "gpt-4o"); got != "gpt-4o" {
		t.Fatalf("UpstreamModel without a deployment = %q", got)
	}
	var _ provider.UpstreamModeler = Chat{}
	// NewChat does not change the adapter it is given (the OpenAI
	// providers' own).
	base := openaicompat.Adapter{UserAgent: "x"}
	_ = NewChat(base)
	if base.Path != nil || base.DropEmptyChunks {
		t.Fatal("NewChat changed its argument")
	}
}

// FuzzChatURL: for any credential the vault would store, the chat URL is
// the credential's resource (same scheme and host), the deployment's chat
// route or the v1 one, with the api-version as the only query value.
func FuzzChatURL(f *testing.F) {
	f.Add("https://res.openai.azure.com/", "gpt4o-prod", "2024-10-21")
	f.Add("https://res.openai.azure.com:8443", "a.b_c-d", "v1")
	f.Add("http://127.0.0.1:8080", "x", "preview")
	f.Add("https://res.openai.azure.com/openai", "../x", "2024-10-21&a=b")
	p, _ := ownkey.LookupProvider("azure")
	f.Fuzz(func(t *testing.T, endpoint, deployment, apiVersion string) {
		raw, _ := json.Marshal(map[string]string{"endpoint": endpoint, "apiKey": azureKey, "deploymentName": deployment, "apiVersion": apiVersion})
		c, err := ownkey.ParseCredential(p, raw, true)
		if err != nil {
			return
		}
		base, guarded, err := Chat{}.Endpoint(p, c)
		if err != nil || !guarded {
			t.Fatalf("endpoint of a stored credential: %q guarded=%t %v", base, guarded, err)
		}
		path, err := chatPath(&ownkey.ChatRequest{Provider: p, Credential: c})
		if err != nil {
			t.Fatalf("chatPath of a stored credential: %v", err)
		}
		u, err := url.Parse(base + path)
		want, _ := url.Parse(c.Endpoint)
		if err != nil || u.Scheme != want.Scheme || u.Host != want.Host {
			t.Fatalf("%s%s leaves the resource %s", base, path, c.Endpoint)
		}
		route := "/openai/deployments/" + c.Deployment + "/chat/completions"
		if v1API(c.APIVersion) {
			route = "/openai/v1/chat/completions"
		}
		if u.EscapedPath() != route || u.Query().Get("api-version") != c.APIVersion || len(u.Query()) != 1 || u.Fragment != "" {
			t.Fatalf("%s%s: path %q, query %q", base, path, u.EscapedPath(), u.RawQuery)
		}
	})
}
