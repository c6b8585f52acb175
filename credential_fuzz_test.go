package ownkey

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// FuzzParseCredential: for every provider format, never a panic, never a
// secret value in an error message, and every credential accepted
// survives the vault's round trip (Plaintext, ParseStoredCredential).
func FuzzParseCredential(f *testing.F) {
	for _, s := range []string{
		`"sk-abcdefghijklmnop"`,
		`{"accessKeyId":"AKIAIOSFODNN7EXAMPLE","secretAccessKey":"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY","region":"us-east-1"}`,
		`"{\"accessKeyId\":\"AKIAIOSFODNN7EXAMPLE\",\"secretAccessKey\":\"wJalrXUtnFEMI\",\"region\":\"eu-west-1\",\"sessionToken\":\"tok\"}"`,
		`{"endpoint":"https://x.openai.azure.com","apiKey":"0123456789abcdef0123456789abcdef","deploymentName":"gpt","apiVersion":"2024-10-21"}`,
		`{"endpoint":"https://x.services.ai.azure.com/anthropic/","apiKey":"k\u0065y-0123456789abcdef"}`,
		`{"endpoint":"https://x.openai.azure.com:443//","apiKey":"0123456789abcdef","deploymentName":"gpt.4o_x-1","apiVersion":"v1"}`,
		`{"endpoint":"https://x.openai.azure.com/openai?","apiKey":"0123456789abcdef","deploymentName":"..","apiVersion":"latest"}`,
		`{"apiKey":{"nested":[[[[[[[[1]]]]]]]]}}`, `{"apiKey":"a","apiKey":"b"}`, `null`, `[]`, `"{"`, `{"region":1}`,
	} {
		for _, p := range []string{"openai", "aws", "azure", "azure-anthropic-foundry"} {
			f.Add(p, []byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, providerID string, raw []byte) {
		p, ok := LookupProvider(providerID)
		if !ok {
			p, _ = LookupProvider("aws")
		}
		c, err := ParseCredential(p, raw, false)
		if err != nil {
			e, ok := err.(*Error)
			if !ok || e.Code != EINVALID {
				t.Fatalf("error %#v is not an EINVALID *Error", err)
			}
			// No secret the user pasted is quoted back.
			var fields map[string]any
			_ = json.Unmarshal(raw, &fields)
			for _, name := range []string{"apiKey", "secretAccessKey", "sessionToken", "accessKeyId"} {
				if s, ok := fields[name].(string); ok && len(s) >= 8 && strings.Contains(e.Message, s) {
					t.Fatalf("error message %q quotes the secret %s", e.Message, name)
				}
			}
			return
		}
		// An accepted endpoint is an address paths can be appended to, and
		// Azure OpenAI's is the resource's origin; an accepted deployment
		// is one URL path segment as it is.
		if c.Endpoint != "" {
			u, err := url.Parse(c.Endpoint)
			if err != nil || u.User != nil || strings.ContainsAny(c.Endpoint, "?#") || strings.HasSuffix(c.Endpoint, "/") || !validHost(u.Hostname()) {
				t.Fatalf("endpoint %q accepted", c.Endpoint)
			}
			if p.ID == "azure" && (u.Path != "" || u.RawPath != "") {
				t.Fatalf("azure endpoint %q accepted with a path", c.Endpoint)
			}
		}
		if c.Deployment != "" && url.PathEscape(c.Deployment) != c.Deployment {
			t.Fatalf("deployment %q accepted", c.Deployment)
		}
		back, err := ParseStoredCredential(p.ID, c.Plaintext())
		if err != nil {
			t.Fatalf("stored form does not parse: %v", err)
		}
		if back.APIKey.Reveal() != c.APIKey.Reveal() || back.SecretAccessKey.Reveal() != c.SecretAccessKey.Reveal() ||
			back.SessionToken.Reveal() != c.SessionToken.Reveal() || back.AccessKeyID.Reveal() != c.AccessKeyID.Reveal() ||
			back.Region != c.Region || back.Endpoint != c.Endpoint || back.Deployment != c.Deployment || back.APIVersion != c.APIVersion {
			t.Fatalf("round trip changed the credential:\n%+v\n%+v", c, back)
		}
	})
}
