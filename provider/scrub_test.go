package provider

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ownkey/ownkey"
)

func TestScrubSecrets(t *testing.T) {
	c := &ownkey.Credential{
		APIKey:          ownkey.NewSecret("azure-key-0123456789"),
		AccessKeyID:     ownkey.NewSecret("AKIAIOSFODNN7EXAMPLE"),
		SecretAccessKey: ownkey.NewSecret("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
		SessionToken:    ownkey.NewSecret("FwoGZXIvYXdzEXAMPLETOKEN"),
	}
	in := `key azure-key-0123456789, id AKIAIOSFODNN7EXAMPLE, secret wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, ` +
		`json "wJalrXUtnFEMI\/K7MDENG+bPxRfiCYEXAMPLEKEY", query secret=wJalrXUtnFEMI%2FK7MDENG%2BbPxRfiCYEXAMPLEKEY, token FwoGZXIvYXdzEXAMPLETOKEN.`
	want := `key [REDACTED], id [REDACTED], secret [REDACTED], json "[REDACTED]", query secret=[REDACTED], token [REDACTED].`
	if got := ScrubSecrets(in, c); got != want {
		t.Fatalf("ScrubSecrets =\n %s\nwant\n %s", got, want)
	}
	if got := ScrubSecrets("nothing to hide", nil); got != "nothing to hide" {
		t.Fatalf("nil credential changed the text: %q", got)
	}
	if got := ScrubSecrets("nothing to hide", &ownkey.Credential{}); got != "nothing to hide" {
		t.Fatalf("empty credential changed the text: %q", got)
	}
}

func TestUpstreamMessage(t *testing.T) {
	c := &ownkey.Credential{APIKey: ownkey.NewSecret("sk-live-abcdefgh12345678")}
	tests := []struct {
		name string
		body string
		want string
	}{
		{"openai", `{"error":{"message":"Incorrect API key provided: sk-live-abcdefgh12345678.","type":"invalid_request_error","code":"invalid_api_key"}}`,
			"Incorrect API key provided: [REDACTED]."},
		{"anthropic", `{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}`, "invalid x-api-key"},
		{"gemini", `{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT"}}`,
			"API key not valid. Please pass a valid API key."},
		{"bedrock", `{"message":"The security token included in the request is invalid."}`, "The security token included in the request is invalid."},
		{"kagi", `{"meta":{"id":"x"},"data":null,"error":[{"code":2,"msg":"Unauthorized","ref":null}]}`, "Unauthorized"},
		{"fastapi detail", `{"detail":{"error":"Unauthorized: missing or invalid API key."}}`, "Unauthorized: missing or invalid API key."},
		{"plain error string", `{"error":"Invalid API key"}`, "Invalid API key"},
		{"text", "  upstream\nconnect error\r\n\tor disconnect  ", "upstream connect error or disconnect"},
		{"html is dropped", "<html><body><h1>502 Bad Gateway</h1></body></html>", ""},
		{"empty", "", ""},
		{"json without a message", `{"status":"bad","key":"sk-live-abcdefgh12345678"}`, `{"status":"bad","key":"[REDACTED]"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := UpstreamMessage([]byte(tt.body), c, 0); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestUpstreamMessageScrubsBeforeTruncating(t *testing.T) {
	key := "sk-live-abcdefgh12345678"
	c := &ownkey.Credential{APIKey: ownkey.NewSecret(key)}
	// The key straddles the cut: cutting first would leave "sk-live-abcd"
	// that no longer matches the whole key.
	msg := strings.Repeat("x", MaxMessageLen-12) + key + strings.Repeat("y", 50)
	got := UpstreamMessage([]byte(`{"error":{"message":"`+msg+`"}}`), c, 0)
	if strings.Contains(got, "sk-live") {
		t.Fatalf("key prefix survived: %q", got[len(got)-30:])
	}
	if n := utf8.RuneCountInString(got); n != MaxMessageLen {
		t.Fatalf("length %d, want %d", n, MaxMessageLen)
	}
	if !strings.HasSuffix(got, "…") {
		t.Fatal("a cut message does not say so")
	}
}

func TestScrubJSONMatchesDecodedStrings(t *testing.T) {
	key := "sk-live-abcdefgh12345678"
	esc := `\u0073k-live-abcdefgh\u00312345678`
	c := &ownkey.Credential{APIKey: ownkey.NewSecret(key)}
	clean := []byte(`{"error":{"message":"caf\u00e9 \"quoted\"","code":1}}`)
	if got := ScrubJSON(clean, c); &got[0] != &clean[0] {
		t.Fatal("a text without a secret was copied")
	}
	cases := map[string]string{
		`{"error":{"message":"key ` + esc + ` refused","n":[1,"` + esc + `"]}}`: `{"error":{"message":"key [REDACTED] refused","n":[1,"[REDACTED]"]}}`,
		`{"` + esc + `":"x\n` + key + `"}`:                                      `{"[REDACTED]":"x\n[REDACTED]"}`,
		`{"a":"\"` + esc + `\"<"}`:                                              `{"a":"\"[REDACTED]\"\u003c"}`,
		`{"a":"` + esc:                                                          `{"a":"[REDACTED]`,
		// A member name that lost its closing quote puts the quotes out
		// of phase: the escaped key is judged in the decoded whole text
		// (found by FuzzRelayStream).
		`{"typeY:"overloaded","message":"` + esc + `"}`: `{"typeY:"overloaded","message":"[REDACTED]"}`,
	}
	for in, want := range cases {
		got := string(ScrubJSON([]byte(in), c))
		if got != want {
			t.Errorf("ScrubJSON(%s) =\n %s\nwant\n %s", in, got, want)
		}
		if json.Valid([]byte(in)) && !json.Valid([]byte(got)) {
			t.Errorf("ScrubJSON(%s) is no longer JSON: %s", in, got)
		}
	}
	if got := ScrubSecrets("key "+esc, c); got != "key [REDACTED]" {
		t.Errorf("ScrubSecrets on escaped text = %q", got)
	}
}

func TestUpstreamMessageTooDeep(t *testing.T) {
	deep := `{"error":` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `}`
	if got := UpstreamMessage([]byte(deep), nil, 0); got != "" {
		t.Fatalf("a body deeper than the limit gave %q, want no message", got)
	}
	if got := UpstreamMessage([]byte(`{"error":[[[{"message":"m"}]]]}`), nil, 0); got != "" && got != "m" {
		t.Fatalf("got %q", got)
	}
}
