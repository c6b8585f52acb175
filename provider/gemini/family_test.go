package gemini

import (
	"testing"

	"github.com/ownkey/ownkey/provider/providertest"
)

func TestFamilyAuthorizes(t *testing.T) {
	providertest.CheckAuth(t, Family{}, "google", map[string]string{"X-Goog-Api-Key": providertest.Key("google")})
}

func TestFamilyKeyChecks(t *testing.T) {
	providertest.CheckKeys(t, Family{},
		providertest.KeyCheck{Name: "gemini", Provider: "google", Method: "GET", Path: "/v1beta/models", Query: "pageSize=1",
			Headers: map[string]string{"X-Goog-Api-Key": providertest.Key("google")}},
	)
}

func TestFamilyEndpoint(t *testing.T) {
	got, guarded, err := Family{}.Endpoint(providertest.Catalog(t, "google"), nil)
	if err != nil || got != "https://generativelanguage.googleapis.com" || guarded {
		t.Fatalf("Endpoint = %q guarded=%t (%v)", got, guarded, err)
	}
}
