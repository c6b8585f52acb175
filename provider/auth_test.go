package provider

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/ownkey/ownkey"
)

const testKey = "sk-test-0123456789abcdef"

var credHeaderNames = []string{"Authorization", "X-Api-Key", "Api-Key", "X-Goog-Api-Key"}

func TestAuthorizeHeaders(t *testing.T) {
	tests := []struct {
		provider string
		want     map[string]string // every credential header present, exactly
	}{
		{"openai", map[string]string{"Authorization": "Bearer " + testKey}},
		{"openai-responses", map[string]string{"Authorization": "Bearer " + testKey}},
		{"groq", map[string]string{"Authorization": "Bearer " + testKey}},
		{"anthropic", map[string]string{"X-Api-Key": testKey}},
		{"azure-anthropic-foundry", map[string]string{"X-Api-Key": testKey, "Api-Key": testKey}},
		{"azure", map[string]string{"Api-Key": testKey}},
		{"azure-responses", map[string]string{"Api-Key": testKey}},
		{"google", map[string]string{"X-Goog-Api-Key": testKey}},
		{"tavily", map[string]string{"Authorization": "Bearer " + testKey}},
		{"exa", map[string]string{"X-Api-Key": testKey}},
		{"kagi", map[string]string{"Authorization": "Bot " + testKey}},
		{"perplexity", map[string]string{"Authorization": "Bearer " + testKey}},
	}
	for _, tt := range tests {
		t.Run(tt.provider, func(t *testing.T) {
			p := mustProvider(t, tt.provider)
			req, _ := http.NewRequest(http.MethodPost, "https://upstream.example/x?y=1", nil)
			// A client's own ownkey key must never travel on.
			req.Header.Set("Authorization", "Bearer ownkey-client-key")
			req.Header.Set("X-Api-Key", "ownkey-client-key")
			c := &ownkey.Credential{Provider: p.ID, APIKey: ownkey.NewSecret(testKey)}
			if err := Authorize(context.Background(), req, p, c, nil); err != nil {
				t.Fatal(err)
			}
			for _, h := range credHeaderNames {
				got, want := req.Header.Values(h), tt.want[h]
				switch {
				case want == "" && len(got) != 0:
					t.Errorf("%s: unexpected %s: %q", tt.provider, h, got)
				case want != "" && (len(got) != 1 || got[0] != want):
					t.Errorf("%s: %s = %q, want %q", tt.provider, h, got, want)
				}
			}
			wantVersion := ""
			if p.Wire == ownkey.WireAnthropic {
				wantVersion = "2023-06-01"
			}
			if got := req.Header.Get("Anthropic-Version"); got != wantVersion {
				t.Errorf("anthropic-version = %q, want %q", got, wantVersion)
			}
			if req.URL.RawQuery != "y=1" {
				t.Errorf("query changed to %q: keys never go in the URL", req.URL.RawQuery)
			}
		})
	}
}

func TestAuthorizeKeepsChosenAnthropicVersion(t *testing.T) {
	req, _ := http.NewRequest(http.MethodPost, "https://api.anthropic.com/v1/messages", nil)
	req.Header.Set("Anthropic-Version", "2099-01-01")
	c := &ownkey.Credential{APIKey: ownkey.NewSecret(testKey)}
	if err := Authorize(context.Background(), req, mustProvider(t, "anthropic"), c, nil); err != nil {
		t.Fatal(err)
	}
	if got := req.Header.Get("Anthropic-Version"); got != "2099-01-01" {
		t.Fatalf("anthropic-version = %q", got)
	}
}

func TestAuthorizeNeedsAKey(t *testing.T) {
	req, _ := http.NewRequest(http.MethodGet, "https://api.groq.com/openai/v1/models", nil)
	err := Authorize(context.Background(), req, mustProvider(t, "groq"), &ownkey.Credential{}, nil)
	if ownkey.ErrorCode(err) != ownkey.EINVALID {
		t.Fatalf("err = %v, want EINVALID", err)
	}
	if req.Header.Get("Authorization") != "" {
		t.Fatal("an empty key was sent")
	}
}

var sigV4Header = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/bedrock/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$`)

func TestAuthorizeBedrockSigV4(t *testing.T) {
	p := mustProvider(t, "aws")
	c := &ownkey.Credential{
		Provider:        "aws",
		AccessKeyID:     ownkey.NewSecret("AKID"),
		SecretAccessKey: ownkey.NewSecret("SECRETSECRETSECRET"),
		SessionToken:    ownkey.NewSecret("SESSIONTOKEN"),
		Region:          "us-east-1",
	}
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	sign := func(body string, cred *ownkey.Credential) *http.Request {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost,
			"https://bedrock-runtime.us-east-1.amazonaws.com/model/"+EscapePathSegment("anthropic.claude-3-haiku-20240307-v1:0")+"/converse",
			strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer ownkey-client-key")
		if err := authorizeAt(context.Background(), req, p, cred, []byte(body), clock); err != nil {
			t.Fatal(err)
		}
		return req
	}

	req := sign(`{"messages":[]}`, c)
	m := sigV4Header.FindStringSubmatch(req.Header.Get("Authorization"))
	if m == nil {
		t.Fatalf("Authorization = %q", req.Header.Get("Authorization"))
	}
	if m[1] != "content-length;content-type;host;x-amz-date;x-amz-security-token" {
		t.Errorf("SignedHeaders = %s", m[1])
	}
	if got := req.Header.Get("X-Amz-Date"); got != "20260101T000000Z" {
		t.Errorf("X-Amz-Date = %q", got)
	}
	if got := req.Header.Get("X-Amz-Security-Token"); got != "SESSIONTOKEN" {
		t.Errorf("X-Amz-Security-Token = %q", got)
	}
	if strings.Contains(req.Header.Get("Authorization"), "SECRETSECRETSECRET") {
		t.Error("the secret key is in the header")
	}

	// The signature covers the body and nothing random.
	if again := sign(`{"messages":[]}`, c).Header.Get("Authorization"); again != req.Header.Get("Authorization") {
		t.Error("signing is not deterministic for a fixed clock")
	}
	if other := sign(`{"messages":[1]}`, c).Header.Get("Authorization"); other == req.Header.Get("Authorization") {
		t.Error("the signature does not depend on the body")
	}

	// Without a session token there is no token header, signed or not.
	noToken := *c
	noToken.SessionToken = ownkey.Secret{}
	r2 := sign(`{}`, &noToken)
	if r2.Header.Get("X-Amz-Security-Token") != "" || strings.Contains(r2.Header.Get("Authorization"), "x-amz-security-token") {
		t.Errorf("token header without a token: %v", r2.Header)
	}
}

// TestSignV4KnownVector checks the signing call against the "get-vanilla"
// case of AWS's published SigV4 test suite.
func TestSignV4KnownVector(t *testing.T) {
	req, _ := http.NewRequest(http.MethodGet, "https://example.amazonaws.com/", nil)
	creds := aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
	at := time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC)
	if err := signV4(context.Background(), req, creds, nil, "service", "us-east-1", at); err != nil {
		t.Fatal(err)
	}
	want := "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
	if got := req.Header.Get("Authorization"); got != want {
		t.Fatalf("Authorization =\n %s\nwant\n %s", got, want)
	}
}

func TestAuthorizeBedrockNeedsKeys(t *testing.T) {
	req, _ := http.NewRequest(http.MethodGet, "https://bedrock.us-east-1.amazonaws.com/foundation-models", nil)
	c := &ownkey.Credential{Region: "us-east-1", AccessKeyID: ownkey.NewSecret("AKIAIOSFODNN7EXAMPLE")}
	if err := Authorize(context.Background(), req, mustProvider(t, "aws"), c, nil); ownkey.ErrorCode(err) != ownkey.EINVALID {
		t.Fatalf("err = %v, want EINVALID", err)
	}
}
