package bedrock

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/tidwall/gjson"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider"
)

// SigningName is the SigV4 service name of both the Bedrock runtime and its
// control plane.
const SigningName = "bedrock"

// eventStreamType is the media type of ConverseStream's answer.
const eventStreamType = "application/vnd.amazon.eventstream"

// Family is the Bedrock wire family (ownkey.WireBedrock): the runtime
// endpoint of the credential's region, requests signed with AWS SigV4
// (aws-sdk-go-v2's signer), and a one-token converse, or the control
// plane's model list, as the key check. Adapter serves chat.
type Family struct {
	// Adapter serves chat; nil means none (the chat service answers 501).
	Adapter *Adapter
}

var _ provider.Family = Family{}

func (Family) Wire() ownkey.WireFamily { return ownkey.WireBedrock }

// regionRE is stricter than what AWS needs but enough for every real region.
// The region is spliced into a host name, so anything else (a dot, a slash)
// could move the request to another host.
var regionRE = regexp.MustCompile(`^[a-z]{2}(-[a-z0-9]+)+$`)

func awsRegion(p *ownkey.Provider, c *ownkey.Credential) (string, error) {
	if c == nil || !regionRE.MatchString(c.Region) {
		return "", ownkey.FieldError("key.region", "%s credential needs a region such as us-east-1", p.Name)
	}
	return c.Region, nil
}

// Endpoint is the catalog's template with {region} set from the
// credential: https://bedrock-runtime.{region}.amazonaws.com.
func (Family) Endpoint(p *ownkey.Provider, c *ownkey.Credential) (string, bool, error) {
	region, err := awsRegion(p, c)
	if err != nil {
		return "", false, err
	}
	return strings.TrimRight(strings.ReplaceAll(p.BaseURL, "{region}", region), "/"), false, nil
}

// KeyCheck asks the model the user named for one token (converse); without
// a model it lists the models on the control plane, which signs with the
// same service name. An operator's override replaces both planes, as a
// local fake would serve both. When AWS denies the check
// (AccessDeniedException), the error names the IAM action the credential
// lacks: bedrock:InvokeModel, or bedrock:ListFoundationModels.
func (Family) KeyCheck(p *ownkey.Provider, c *ownkey.Credential, base string, overridden bool, model string) (provider.KeyCheck, error) {
	if model != "" {
		chk := provider.PostCheck(base, modelPath(model, false),
			`{"messages":[{"role":"user","content":[{"text":"ping"}]}],"inferenceConfig":{"maxTokens":1}}`)
		chk.Denied = denied("bedrock:InvokeModel on " + model + " (and access to the model granted in the Bedrock console)")
		chk.Model, chk.NotServed = model, unknownModel
		return chk, nil
	}
	control := base
	if !overridden {
		region, err := awsRegion(p, c)
		if err != nil {
			return provider.KeyCheck{}, err
		}
		control = "https://bedrock." + region + ".amazonaws.com"
	}
	chk := provider.GetCheck(control, "/foundation-models")
	chk.Denied = denied("bedrock:ListFoundationModels (name a model to check bedrock:InvokeModel instead)")
	return chk, nil
}

// unknownModel recognizes Bedrock's answer to a model id it does not know:
// a ValidationException about the model identifier, or a 404.
func unknownModel(status int, header http.Header, body []byte) bool {
	return status == http.StatusNotFound || status == http.StatusBadRequest && errorType(header, body) == "ValidationException" &&
		strings.Contains(strings.ToLower(gjson.GetBytes(body, "message").Str), "model identifier")
}

// denied reads a 403 of the key check: an AccessDeniedException means the
// key is valid and its identity lacks the permission; other 403s (an
// unknown key, a bad signature, an expired token) reject the key.
func denied(permission string) func(http.Header, []byte) string {
	return func(header http.Header, body []byte) string {
		if errorType(header, body) != "AccessDeniedException" {
			return ""
		}
		return "the credential needs the IAM permission " + permission
	}
}

func (f Family) Chat() ownkey.ChatAdapter {
	if f.Adapter == nil {
		return nil // not a typed nil, which would look like an adapter
	}
	return f.Adapter
}

var sigV4 = v4.NewSigner()

// Authorize signs req with AWS SigV4: service "bedrock", the credential's
// region, the hash of body (exactly the bytes req will send), the path and
// headers present now; so call it last.
func (Family) Authorize(ctx context.Context, req *http.Request, p *ownkey.Provider, c *ownkey.Credential, body []byte) error {
	return authorizeAt(ctx, req, p, c, body, ownkey.Now())
}

func authorizeAt(ctx context.Context, req *http.Request, p *ownkey.Provider, c *ownkey.Credential, body []byte, now time.Time) error {
	if err := provider.StripCredentials(req, p, c); err != nil {
		return err
	}
	if req.Header.Get("Accept") == "text/event-stream" {
		// A stream from Bedrock is AWS event-stream, never SSE.
		req.Header.Set("Accept", eventStreamType)
	}
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
	if err := signV4(ctx, req, creds, body, SigningName, region, now); err != nil {
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
