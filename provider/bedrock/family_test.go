package bedrock

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/egress"
	"github.com/ownkey/ownkey/provider"
	"github.com/ownkey/ownkey/provider/providertest"
)

var sigV4Header = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/bedrock/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$`)

func TestAuthorizeSigV4(t *testing.T) {
	p := providertest.Catalog(t, "aws")
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
			"https://bedrock-runtime.us-east-1.amazonaws.com/model/"+provider.EscapePathSegment("anthropic.claude-3-haiku-20240307-v1:0")+"/converse",
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

func TestAuthorizeNeedsKeys(t *testing.T) {
	req, _ := http.NewRequest(http.MethodGet, "https://bedrock.us-east-1.amazonaws.com/foundation-models", nil)
	c := &ownkey.Credential{Region: "us-east-1", AccessKeyID: ownkey.NewSecret("AKIAIOSFODNN7EXAMPLE")}
	if err := (Family{}).Authorize(context.Background(), req, providertest.Catalog(t, "aws"), c, nil); ownkey.ErrorCode(err) != ownkey.EINVALID {
		t.Fatalf("err = %v, want EINVALID", err)
	}
}

// A request that carries no other credential header than the signature's:
// a client's own key does not travel on.
func TestAuthorizeReplacesClientCredentials(t *testing.T) {
	req, _ := http.NewRequest(http.MethodGet, "https://bedrock.us-east-1.amazonaws.com/foundation-models", nil)
	for _, h := range providertest.CredentialHeaders {
		req.Header.Set(h, "ownkey-client-key")
	}
	if err := (Family{}).Authorize(context.Background(), req, providertest.Catalog(t, "aws"), mustCredential(t), nil); err != nil {
		t.Fatal(err)
	}
	for _, h := range providertest.CredentialHeaders {
		if got := req.Header.Get(h); strings.Contains(got, "ownkey-client-key") || (h != "Authorization" && got != "") {
			t.Errorf("%s = %q", h, got)
		}
	}
}

var awsJSON = map[string]string{
	"accessKeyId":     "AKIAIOSFODNN7EXAMPLE",
	"secretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
	"region":          "us-east-1",
	"sessionToken":    "FwoGZXIvYXdzEXAMPLETOKEN",
}

// mustCredential is awsJSON as the vault opens it.
func mustCredential(t testing.TB) *ownkey.Credential {
	t.Helper()
	raw, _ := json.Marshal(awsJSON)
	c, err := ownkey.ParseCredential(providertest.Catalog(t, "aws"), raw, false)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const bedrockModel = "anthropic.claude-3-haiku-20240307-v1:0"

func TestFamilyKeyChecks(t *testing.T) {
	sigv4 := map[string]string{"Authorization": ""}
	providertest.CheckKeys(t, Family{},
		providertest.KeyCheck{Name: "bedrock with model", Provider: "aws", Credential: awsJSON, Model: bedrockModel, Method: "POST",
			Path: "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse", Headers: sigv4,
			Body:   `{"messages":[{"role":"user","content":[{"text":"ping"}]}],"inferenceConfig":{"maxTokens":1}}`,
			Verify: verifySigV4},
		providertest.KeyCheck{Name: "bedrock control plane", Provider: "aws", Credential: awsJSON, Method: "GET",
			Path: "/foundation-models", Headers: sigv4, Verify: verifySigV4},
	)
}

// testKey is awsJSON as the fake Bedrock expects it.
var testKey = providertest.AWSKey{AccessKeyID: awsJSON["accessKeyId"], SecretAccessKey: awsJSON["secretAccessKey"],
	SessionToken: awsJSON["sessionToken"], Region: awsJSON["region"]}

// verifySigV4 re-signs the request exactly as it arrived, as AWS does, and
// compares signatures (providertest.VerifySigV4).
func verifySigV4(t testing.TB, r providertest.Received) {
	t.Helper()
	if err := providertest.VerifySigV4(r, testKey); err != nil {
		t.Error(err)
	}
}

func TestControlPlaneURL(t *testing.T) {
	p := providertest.Catalog(t, "aws")
	c := &ownkey.Credential{Region: "ap-southeast-2"}
	base, _, err := Family{}.Endpoint(p, c)
	if err != nil {
		t.Fatal(err)
	}
	chk, err := Family{}.KeyCheck(p, c, base, false, "")
	if err != nil {
		t.Fatal(err)
	}
	if chk.Method != http.MethodGet || chk.URL != "https://bedrock.ap-southeast-2.amazonaws.com/foundation-models" {
		t.Fatalf("check = %s %s", chk.Method, chk.URL)
	}
	chk, _ = Family{}.KeyCheck(p, c, base, false, bedrockModel)
	if chk.URL != "https://bedrock-runtime.ap-southeast-2.amazonaws.com/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse" {
		t.Fatalf("runtime check = %s", chk.URL)
	}
}

func TestEndpoint(t *testing.T) {
	p := providertest.Catalog(t, "aws")
	c := &ownkey.Credential{Provider: "aws", Region: "eu-central-1"}
	if got, guarded, err := (Family{}).Endpoint(p, c); err != nil || got != "https://bedrock-runtime.eu-central-1.amazonaws.com" || guarded {
		t.Errorf("region: Endpoint = %q guarded=%t (%v)", got, guarded, err)
	}
	// The operator's override replaces the region's address.
	fams := providertest.Families(t, ownkey.BaseURLs{"aws": "http://127.0.0.1:9"}, Family{})
	if got, guarded, err := fams.Endpoint(p, c); err != nil || got != "http://127.0.0.1:9" || guarded {
		t.Errorf("override: Endpoint = %q guarded=%t (%v)", got, guarded, err)
	}
}

func TestEndpointRejectsBadRegions(t *testing.T) {
	tests := []struct {
		name string
		cred *ownkey.Credential
	}{
		// A region is spliced into a host name: this one would send the
		// signed request to evil.example.
		{"region that moves the host", &ownkey.Credential{Region: "evil.example/#"}},
		{"no region", &ownkey.Credential{}},
		{"no credential", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Family{}.Endpoint(providertest.Catalog(t, "aws"), tt.cred)
			e, ok := err.(*ownkey.Error)
			if !ok || e.Code != ownkey.EINVALID || e.Param != "key.region" {
				t.Fatalf("err = %v, want EINVALID on key.region", err)
			}
		})
	}
}

// A key check that AWS denies says which IAM permission the credential
// lacks; an unknown key is still "rejected".
func TestKeyCheckNamesTheMissingPermission(t *testing.T) {
	p := providertest.Catalog(t, "aws")
	for _, tc := range []struct {
		name, model string
		reply       func(http.ResponseWriter, *http.Request)
		reason      string
		message     string
	}{
		{"invoke denied", bedrockModel, providertest.BedrockErrorReply(403, "AccessDeniedException",
			"User: arn:aws:iam::123456789012:user/ci is not authorized to perform: bedrock:InvokeModel"), "permission_denied",
			"AWS Bedrock accepted the key but denied the check: the credential needs the IAM permission bedrock:InvokeModel on " + bedrockModel +
				" (and access to the model granted in the Bedrock console) (User: arn:aws:iam::123456789012:user/ci is not authorized to perform: bedrock:InvokeModel)"},
		{"list denied", "", providertest.BedrockErrorReply(403, "AccessDeniedException", "not authorized"), "permission_denied",
			"AWS Bedrock accepted the key but denied the check: the credential needs the IAM permission bedrock:ListFoundationModels (name a model to check bedrock:InvokeModel instead) (not authorized)"},
		{"unknown key", bedrockModel, providertest.BedrockErrorReply(403, "UnrecognizedClientException", "The security token included in the request is invalid."), "invalid_api_key",
			"AWS Bedrock rejected the key: The security token included in the request is invalid."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := providertest.NewBedrock(t, testKey, tc.reply)
			v := &provider.Validator{Clients: egress.New(egress.Options{AllowPrivate: true}),
				Families: providertest.Families(t, ownkey.BaseURLs{"aws": up.URL}, Family{})}
			err := v.ValidateKey(context.Background(), p, mustCredential(t), tc.model)
			e, ok := err.(*ownkey.Error)
			if !ok || e.Status != 403 || e.Reason != tc.reason || e.Message != tc.message {
				t.Fatalf("err = %#v", err)
			}
		})
	}
}

// A key check with a model id Bedrock does not know says the model is not
// served (a ValidationException about the model identifier); another
// ValidationException is only an answer to the check.
func TestKeyCheckUnknownModel(t *testing.T) {
	p := providertest.Catalog(t, "aws")
	for _, tc := range []struct {
		name   string
		reply  func(http.ResponseWriter, *http.Request)
		status int
		reason string
	}{
		{"unknown model id", providertest.BedrockErrorReply(400, "ValidationException", "The provided model identifier is invalid."), 400, provider.CodeModelNotFound},
		{"no such resource", providertest.BedrockErrorReply(404, "ResourceNotFoundException", "Model not found."), 404, provider.CodeModelNotFound},
		{"another validation error", providertest.BedrockErrorReply(400, "ValidationException", "maxTokens must be positive"), 400, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := providertest.NewBedrock(t, testKey, tc.reply)
			v := &provider.Validator{Clients: egress.New(egress.Options{AllowPrivate: true}),
				Families: providertest.Families(t, ownkey.BaseURLs{"aws": up.URL}, Family{})}
			err := v.ValidateKey(context.Background(), p, mustCredential(t), "amazon.nova-typo-v1:0")
			e, ok := err.(*ownkey.Error)
			if !ok || e.Status != tc.status || e.Reason != tc.reason {
				t.Fatalf("err = %#v", err)
			}
			if tc.reason != "" && !strings.HasPrefix(e.Message, `AWS Bedrock accepted the key but does not serve model "amazon.nova-typo-v1:0"`) {
				t.Fatalf("message = %q", e.Message)
			}
		})
	}
}
