package provider

import (
	"net/url"
	"testing"

	"github.com/ownkey/ownkey"
)

func mustProvider(t *testing.T, id string) *ownkey.Provider {
	t.Helper()
	p, ok := ownkey.LookupProvider(id)
	if !ok {
		t.Fatalf("no provider %q in the catalog", id)
	}
	return p
}

func TestDefaultEndpointRejectsBadCredentials(t *testing.T) {
	tests := []struct {
		name     string
		provider string
		cred     *ownkey.Credential
		param    string
	}{
		{"no azure endpoint", "azure", &ownkey.Credential{}, "key.endpoint"},
		{"no credential", "azure", nil, "key.endpoint"},
		{"non-http endpoint", "azure-responses", &ownkey.Credential{Endpoint: "file:///etc/passwd"}, "key.endpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := DefaultEndpoint(mustProvider(t, tt.provider), tt.cred)
			e, ok := err.(*ownkey.Error)
			if !ok || e.Code != ownkey.EINVALID || e.Param != tt.param {
				t.Fatalf("err = %v, want EINVALID on %s", err, tt.param)
			}
		})
	}
}

func TestCatalogEndpointNeedsABaseURL(t *testing.T) {
	if _, _, err := CatalogEndpoint(&ownkey.Provider{ID: "x"}); ownkey.ErrorCode(err) != ownkey.EINTERNAL {
		t.Fatalf("err = %v, want EINTERNAL", err)
	}
}

// A segment with nothing to escape (an Azure deployment name) is returned
// as it is, without a copy.
func TestEscapePathSegmentUnescapedDoesNotAllocate(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { _ = EscapePathSegment("gpt-4o_mini.prod") }); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}

func TestEscapePathSegment(t *testing.T) {
	tests := map[string]string{
		"anthropic.claude-3-haiku-20240307-v1:0":                            "anthropic.claude-3-haiku-20240307-v1%3A0",
		"arn:aws:bedrock:us-east-1:123:application-inference-profile/ab c~": "arn%3Aaws%3Abedrock%3Aus-east-1%3A123%3Aapplication-inference-profile%2Fab%20c~",
		"gpt-4o_mini.x": "gpt-4o_mini.x",
		"é?#%":          "%C3%A9%3F%23%25",
	}
	for in, want := range tests {
		got := EscapePathSegment(in)
		if got != want {
			t.Errorf("EscapePathSegment(%q) = %q, want %q", in, got, want)
		}
		if back, err := url.PathUnescape(got); err != nil || back != in {
			t.Errorf("%q does not round-trip: %q %v", got, back, err)
		}
	}
	// Go keeps the encoded form in RawPath, which the transport sends and
	// the signer signs.
	u, err := url.Parse("https://h/model/" + EscapePathSegment("a.b-v1:0") + "/converse")
	if err != nil || u.EscapedPath() != "/model/a.b-v1%3A0/converse" {
		t.Fatalf("EscapedPath = %q (%v)", u.EscapedPath(), err)
	}
}
