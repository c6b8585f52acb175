package ownkey

import (
	"encoding/json"
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
