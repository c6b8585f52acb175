package providertest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// The fake AWS Bedrock: event-stream frames as ConverseStream sends them,
// and an upstream that checks every request's SigV4 signature the way AWS
// does, by signing the request again as it arrived.

// BedrockEventStream is the media type of ConverseStream's answer.
const BedrockEventStream = "application/vnd.amazon.eventstream"

// BedrockFrame is one event message of a ConverseStream answer, encoded by
// aws-sdk-go-v2's eventstream.Encoder: headers :message-type event,
// :event-type typ, :content-type application/json, and payload.
func BedrockFrame(typ, payload string) []byte {
	var hs eventstream.Headers
	hs.Set(":event-type", eventstream.StringValue(typ))
	hs.Set(":content-type", eventstream.StringValue("application/json"))
	hs.Set(":message-type", eventstream.StringValue("event"))
	return encodeFrame(hs, payload)
}

// BedrockException is an exception message (throttlingException,
// modelStreamErrorException, …) with its JSON payload.
func BedrockException(typ, payload string) []byte {
	var hs eventstream.Headers
	hs.Set(":exception-type", eventstream.StringValue(typ))
	hs.Set(":content-type", eventstream.StringValue("application/json"))
	hs.Set(":message-type", eventstream.StringValue("exception"))
	return encodeFrame(hs, payload)
}

// BedrockError is an error message: :error-code and :error-message headers,
// no payload.
func BedrockError(code, message string) []byte {
	var hs eventstream.Headers
	hs.Set(":error-code", eventstream.StringValue(code))
	hs.Set(":error-message", eventstream.StringValue(message))
	hs.Set(":message-type", eventstream.StringValue("error"))
	return encodeFrame(hs, "")
}

func encodeFrame(hs eventstream.Headers, payload string) []byte {
	var b bytes.Buffer
	if err := eventstream.NewEncoder().Encode(&b, eventstream.Message{Headers: hs, Payload: []byte(payload)}); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// BedrockFixtureFrame turns one line of a vercel/ai amazon-bedrock
// .chunks.txt recording, an event wrapped as {"<eventType>": payload}, back
// into the frame Bedrock sent: the payload with the "p" padding field
// Bedrock adds (vercel drops it), under its event type.
func BedrockFixtureFrame(t testing.TB, line string) []byte {
	t.Helper()
	var wrapped map[string]json.RawMessage
	if err := json.Unmarshal([]byte(line), &wrapped); err != nil || len(wrapped) != 1 {
		t.Fatalf("fixture line %s: not one wrapped event (%v)", line, err)
	}
	for typ, payload := range wrapped {
		p := bytes.TrimSpace(payload)
		if len(p) < 2 || p[0] != '{' {
			t.Fatalf("fixture line %s: the payload is not an object", line)
		}
		pad := strings.Repeat("abcdefghijklmnopqrstuvwxyz", 2)[:len(p)%40+1]
		sep := ","
		if string(bytes.TrimSpace(p[1:len(p)-1])) == "" {
			sep = ""
		}
		return BedrockFrame(typ, string(p[:len(p)-1])+sep+`"p":"`+pad+`"}`)
	}
	return nil
}

// BedrockStream answers 200 with frames as a ConverseStream body, with the
// headers Bedrock sends, each frame written and flushed on its own.
func BedrockStream(frames ...[]byte) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", BedrockEventStream)
		w.Header().Set("X-Amzn-Requestid", "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0")
		for _, f := range frames {
			_, _ = w.Write(f)
			w.(http.Flusher).Flush()
		}
	}
}

// BedrockErrorReply answers status with Bedrock's error shape: the
// exception in x-amzn-ErrorType, {"message": …} as the body.
func BedrockErrorReply(status int, exception, message string, header ...string) func(http.ResponseWriter, *http.Request) {
	body, _ := json.Marshal(map[string]string{"message": message})
	return JSONReply(status, string(body), append([]string{"X-Amzn-Errortype", exception + ":http://internal.amazon.com/coral/com.amazon.bedrock/"}, header...)...)
}

// AWSKey is the AWS credential a fake Bedrock expects.
type AWSKey struct {
	AccessKeyID, SecretAccessKey, SessionToken, Region string
}

var sigV4Auth = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=([A-Z0-9]+)/(\d{8})/([a-z0-9-]+)/bedrock/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=[0-9a-f]{64}$`)

// VerifySigV4 checks r's signature as AWS would: it signs the request
// again, exactly as it arrived (method, escaped path, query, the signed
// headers, the body's hash, the time it claims), with key, using
// aws-sdk-go-v2's signer for service bedrock, and compares. It fails if the
// path, query, a signed header or the body changed after signing, or if
// the request was signed with another key, region or service.
func VerifySigV4(r Received, key AWSKey) error {
	auth := r.Header.Get("Authorization")
	m := sigV4Auth.FindStringSubmatch(auth)
	if m == nil {
		return fmt.Errorf("the Authorization header is not a SigV4 signature for bedrock")
	}
	if m[1] != key.AccessKeyID || m[3] != key.Region {
		return fmt.Errorf("signed for another access key or region (%s)", m[3])
	}
	if got := r.Header.Get("X-Amz-Security-Token"); got != key.SessionToken {
		return fmt.Errorf("X-Amz-Security-Token is not the session token")
	}
	signedAt, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil || signedAt.Format("20060102") != m[2] {
		return fmt.Errorf("X-Amz-Date %q does not match the credential scope", r.Header.Get("X-Amz-Date"))
	}
	signed := strings.Split(m[4], ";")
	for _, h := range []string{"host", "x-amz-date"} {
		if !contains(signed, h) {
			return fmt.Errorf("%s is not signed", h)
		}
	}
	if key.SessionToken != "" && !contains(signed, "x-amz-security-token") {
		return fmt.Errorf("the session token is not signed")
	}
	again, err := http.NewRequest(r.Method, "http://"+r.Host+r.RequestURI, bytes.NewReader(r.Body))
	if err != nil {
		return err
	}
	for _, h := range signed {
		if h != "host" && h != "content-length" {
			again.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	creds := aws.Credentials{AccessKeyID: key.AccessKeyID, SecretAccessKey: key.SecretAccessKey, SessionToken: key.SessionToken}
	sum := sha256.Sum256(r.Body)
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, again, hex.EncodeToString(sum[:]), "bedrock", key.Region, signedAt); err != nil {
		return err
	}
	if want := again.Header.Get("Authorization"); want != auth {
		return fmt.Errorf("the signature does not verify:\n sent %s\n want %s", auth, want)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// NewBedrock starts a fake Bedrock that answers requests signed with key
// with the replies (as NewUpstream does), and any other with AWS's 403
// InvalidSignatureException, failing the test.
func NewBedrock(t testing.TB, key AWSKey, replies ...func(http.ResponseWriter, *http.Request)) *Upstream {
	t.Helper()
	checked := make([]func(http.ResponseWriter, *http.Request), len(replies))
	for i, reply := range replies {
		checked[i] = func(w http.ResponseWriter, r *http.Request) {
			if err := VerifySigV4(ReceivedOf(r), key); err != nil {
				t.Errorf("fake Bedrock: %s %s: %v", r.Method, r.URL.EscapedPath(), err)
				BedrockErrorReply(http.StatusForbidden, "InvalidSignatureException",
					"The request signature we calculated does not match the signature you provided.")(w, r)
				return
			}
			reply(w, r)
		}
	}
	return NewUpstream(t, checked...)
}
