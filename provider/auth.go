package provider

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/ownkey/ownkey"
)

// AnthropicVersion is the Messages API version ownkey speaks.
const AnthropicVersion = "2023-06-01"

// BedrockSigningName is the SigV4 service name of both the Bedrock runtime
// and its control plane.
const BedrockSigningName = "bedrock"

var sigV4 = v4.NewSigner()

// Authorize adds the credential c to req in the way provider p's API expects:
//
//	openai, openai-responses, tavily, perplexity  Authorization: Bearer <key>
//	anthropic                                     x-api-key, anthropic-version
//	azure-anthropic-foundry                       x-api-key and api-key, anthropic-version
//	azure, azure-responses                        api-key
//	gemini                                        x-goog-api-key (never ?key=, which ends up in logs)
//	exa                                           x-api-key
//	kagi                                          Authorization: Bot <key>
//	bedrock                                       AWS SigV4, service "bedrock", the credential's region
//
// anthropic-version is set only when the caller has not chosen one. body must
// be exactly the bytes req will send: SigV4 signs its hash. Call Authorize
// last, after every other header is set and the URL is final, because SigV4
// signs the headers and the path present at that moment.
func Authorize(ctx context.Context, req *http.Request, p *ownkey.Provider, c *ownkey.Credential, body []byte) error {
	return authorizeAt(ctx, req, p, c, body, ownkey.Now())
}

// wireAuth is Authorize as an ownkey.Authorizer, for requests that carry
// none.
type wireAuth struct{}

func (wireAuth) Authorize(ctx context.Context, req *http.Request, p *ownkey.Provider, c *ownkey.Credential, body []byte) error {
	return Authorize(ctx, req, p, c, body)
}

func authorizeAt(ctx context.Context, req *http.Request, p *ownkey.Provider, c *ownkey.Credential, body []byte, now time.Time) error {
	if err := StripCredentials(req, p, c); err != nil {
		return err
	}
	if p.Wire == ownkey.WireBedrock {
		return signBedrock(ctx, req, p, c, body, now)
	}
	if c.APIKey.IsZero() {
		return ownkey.FieldError("key", "%s credential has no API key", p.Name)
	}
	key := c.APIKey.Reveal()
	switch p.Wire {
	case ownkey.WireOpenAI, ownkey.WireOpenAIResponses, ownkey.WireTavily, ownkey.WirePerplexity:
		req.Header.Set("Authorization", "Bearer "+key)
	case ownkey.WireAnthropic:
		req.Header.Set("X-Api-Key", key)
		if p.UserEndpoint {
			// Azure AI Foundry: the Go SDK sends x-api-key, the Python SDK
			// api-key; the service has accepted each at different times.
			req.Header.Set("Api-Key", key)
		}
		if req.Header.Get("Anthropic-Version") == "" {
			req.Header.Set("Anthropic-Version", AnthropicVersion)
		}
	case ownkey.WireAzure, ownkey.WireAzureResponses:
		req.Header.Set("Api-Key", key)
	case ownkey.WireGemini:
		req.Header.Set("X-Goog-Api-Key", key)
	case ownkey.WireExa:
		req.Header.Set("X-Api-Key", key)
	case ownkey.WireKagi:
		req.Header.Set("Authorization", "Bot "+key)
	default:
		return ownkey.Errorf(ownkey.EINTERNAL, "no authorization scheme for wire family %q", p.Wire)
	}
	return nil
}

func signBedrock(ctx context.Context, req *http.Request, p *ownkey.Provider, c *ownkey.Credential, body []byte, now time.Time) error {
	region, err := awsRegion(p, c)
	if err != nil {
		return err
	}
	if c.AccessKeyID.IsZero() || c.SecretAccessKey.IsZero() {
		return ownkey.FieldError("key", "%s credential needs accessKeyId and secretAccessKey", p.Name)
	}
	creds := aws.Credentials{
		AccessKeyID:     c.AccessKeyID.Reveal(),
		SecretAccessKey: c.SecretAccessKey.Reveal(),
		SessionToken:    c.SessionToken.Reveal(),
	}
	if err := signV4(ctx, req, creds, body, BedrockSigningName, region, now); err != nil {
		// The signer's errors are about the request's shape, never the keys.
		return ownkey.Errorf(ownkey.EINTERNAL, "signing the %s request: %v", p.Name, err)
	}
	return nil
}

// signV4 signs req in place with the payload hash of body, which AWS requires
// even for bodiless requests (the hash of nothing).
func signV4(ctx context.Context, req *http.Request, creds aws.Credentials, body []byte, service, region string, now time.Time) error {
	sum := sha256.Sum256(body)
	return sigV4.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), service, region, now)
}
