package gemini

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider"
	"github.com/ownkey/ownkey/provider/providertest"
)

func TestFamilyAuthorizes(t *testing.T) {
	providertest.CheckAuth(t, Family{}, "google", map[string]string{"X-Goog-Api-Key": providertest.Key("google")})
}

func TestFamilyKeyChecks(t *testing.T) {
	headers := map[string]string{"X-Goog-Api-Key": providertest.Key("google")}
	providertest.CheckKeys(t, Family{},
		providertest.KeyCheck{Name: "gemini", Provider: "google", Method: "GET", Path: "/v1beta/models", Query: "pageSize=1", Headers: headers},
		// A model named is asked for itself, in the chat path's spelling.
		providertest.KeyCheck{Name: "gemini with model", Provider: "google", Model: "google/gemini-2.5-pro", Method: "GET",
			Path: "/v1beta/models/gemini-2.5-pro", Headers: headers},
		providertest.KeyCheck{Name: "gemini with a models/ name", Provider: "google", Model: "models/gemini-2.5-flash", Method: "GET",
			Path: "/v1beta/models/gemini-2.5-flash", Headers: headers},
	)
}

// Google's answer to models.get for a model it does not serve (404
// NOT_FOUND) makes the check say so, with Google's message; its answer to
// a bad key (400 API_KEY_INVALID) is still a rejected key.
func TestFamilyKeyCheckModelNotServed(t *testing.T) {
	check := providertest.KeyCheck{Provider: "google"}
	up := providertest.NewUpstream(t, providertest.JSONReply(http.StatusNotFound,
		`{"error":{"code":404,"message":"models/gemini-typo is not found for API version v1beta, or is not supported for generateContent.","status":"NOT_FOUND"}}`))
	v, p, c := check.Setup(t, up, Family{})
	var e *ownkey.Error
	if err := v.ValidateKey(context.Background(), p, c, "gemini-typo"); !errors.As(err, &e) || e.Status != http.StatusNotFound {
		t.Fatalf("err = %v, want EUPSTREAM 404", err)
	}
	want := `Google AI Studio accepted the key but does not serve model "gemini-typo" (models/gemini-typo is not found for API version v1beta, or is not supported for generateContent.)`
	if e.Message != want || e.Reason != provider.CodeModelNotFound || e.Param != "model" {
		t.Errorf("message = %q, reason %q, param %q", e.Message, e.Reason, e.Param)
	}
	if got := up.Only(t).Path; got != "/v1beta/models/gemini-typo" {
		t.Errorf("checked at %s", got)
	}

	up = providertest.NewUpstream(t, providertest.JSONReply(http.StatusBadRequest,
		`{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT"}}`))
	v, p, c = check.Setup(t, up, Family{})
	err := v.ValidateKey(context.Background(), p, c, "gemini-2.5-pro")
	if !errors.As(err, &e) || e.Reason == provider.CodeModelNotFound {
		t.Fatalf("a bad key checked with a model: %v (reason %q), want the key rejected", err, e.Reason)
	}
}

func TestFamilyEndpoint(t *testing.T) {
	got, guarded, err := Family{}.Endpoint(providertest.Catalog(t, "google"), nil)
	if err != nil || got != "https://generativelanguage.googleapis.com" || guarded {
		t.Fatalf("Endpoint = %q guarded=%t (%v)", got, guarded, err)
	}
}

// An override ending in the Gemini API's /v1beta has it dropped: the
// adapter appends /v1beta/models/…; any other path is the server's own.
func TestOverrideDropsTheVersion(t *testing.T) {
	p := providertest.Catalog(t, "google")
	for raw, want := range map[string]string{
		"https://generativelanguage.googleapis.com/v1beta":  "https://generativelanguage.googleapis.com",
		"https://generativelanguage.googleapis.com/v1beta/": "https://generativelanguage.googleapis.com",
		"https://generativelanguage.googleapis.com":         "https://generativelanguage.googleapis.com",
		"https://gateway.example/google/v1beta":             "https://gateway.example/google",
		"https://proxy.example/v1":                          "https://proxy.example/v1",
	} {
		if got, err := provider.OverrideURL(p, Family{}, raw); err != nil || got != want {
			t.Errorf("OverrideURL(%q) = %q, %v; want %q", raw, got, err, want)
		}
	}
}
