package azure

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/egress"
	"github.com/ownkey/ownkey/provider"
	"github.com/ownkey/ownkey/provider/providertest"
)

func TestFamiliesAuthorize(t *testing.T) {
	providertest.CheckAuth(t, Chat{}, "azure", map[string]string{"Api-Key": providertest.Key("azure")})
	providertest.CheckAuth(t, Responses{}, "azure-responses", map[string]string{"Api-Key": providertest.Key("azure-responses")})
}

// check is a key check of provider id at apiVersion, its endpoint the fake.
func check(id, apiVersion string) providertest.KeyCheck {
	cred := map[string]string{"apiKey": providertest.Key(id), "apiVersion": apiVersion}
	if id == "azure" {
		cred["deploymentName"] = "gpt-4o-mini"
	}
	return providertest.KeyCheck{Provider: id, Credential: cred, Method: "GET",
		Headers: map[string]string{"Api-Key": providertest.Key(id)}}
}

func TestFamiliesKeyChecks(t *testing.T) {
	dated, v1, responses := check("azure", "2024-10-21"), check("azure", "v1"), check("azure-responses", "2025-04-01-preview")
	dated.Name, dated.Path, dated.Query = "azure dated version", "/openai/models", "api-version=2024-10-21"
	v1.Name, v1.Path, v1.Query = "azure v1", "/openai/v1/models", "api-version=v1"
	responses.Name, responses.Path, responses.Query = "azure-responses", "/openai/models", "api-version=2025-04-01-preview"
	providertest.CheckKeys(t, Chat{}, dated, v1)
	providertest.CheckKeys(t, Responses{}, responses)
}

func TestKeyCheckNeedsAnAPIVersion(t *testing.T) {
	p := providertest.Catalog(t, "azure")
	_, err := Chat{}.KeyCheck(p, &ownkey.Credential{Endpoint: "https://res.openai.azure.com"}, "https://res.openai.azure.com", false, "")
	var e *ownkey.Error
	if !errors.As(err, &e) || e.Code != ownkey.EINVALID || e.Param != "key.apiVersion" {
		t.Fatalf("err = %v, want EINVALID on key.apiVersion", err)
	}
}

// The endpoint is the user's: the check goes through the guarded client,
// which refuses a private address before anything is sent.
func TestValidateKeyAzureGuardedEndpoint(t *testing.T) {
	kc := check("azure", "2024-10-21")
	up := providertest.NewUpstream(t, providertest.JSONReply(http.StatusOK, `{}`))
	v, p, c := kc.Setup(t, up, Chat{})
	v.Clients = egress.New(egress.Options{AllowPrivate: false})
	err := v.ValidateKey(context.Background(), p, c, "")
	var e *ownkey.Error
	if !errors.As(err, &e) || e.Code != ownkey.EUNAVAILABLE {
		t.Fatalf("err = %v, want EUNAVAILABLE", err)
	}
	if e.Message != "could not reach Azure: "+provider.EndpointNotAllowed {
		t.Errorf("message = %q", e.Message)
	}
	if n := len(up.Requests()); n != 0 {
		t.Fatalf("a private endpoint was reached %d times", n)
	}

	v.Clients = egress.New(egress.Options{AllowPrivate: true})
	if err := v.ValidateKey(context.Background(), p, c, ""); err != nil {
		t.Fatalf("with AllowPrivate: %v", err)
	}
	if r := up.Only(t); r.Path != "/openai/models" || r.Header.Get("Api-Key") != providertest.Key("azure") {
		t.Fatalf("got %s with api-key %q", r.Path, r.Header.Get("Api-Key"))
	}
}

func TestFamiliesEndpoint(t *testing.T) {
	c := &ownkey.Credential{Provider: "azure", Endpoint: "https://res.openai.azure.com/"}
	for _, f := range []provider.Family{Chat{}, Responses{}} {
		got, guarded, err := f.Endpoint(providertest.Catalog(t, "azure"), c)
		if err != nil || got != "https://res.openai.azure.com" || !guarded {
			t.Errorf("%s: Endpoint = %q guarded=%t (%v), want the user's endpoint, guarded", f.Wire(), got, guarded, err)
		}
	}
	_, _, err := Responses{}.Endpoint(providertest.Catalog(t, "azure-responses"), &ownkey.Credential{})
	if e, ok := err.(*ownkey.Error); !ok || e.Code != ownkey.EINVALID || e.Param != "key.endpoint" {
		t.Fatalf("no endpoint: err = %v, want EINVALID on key.endpoint", err)
	}
}
