package providertest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/egress"
	"github.com/ownkey/ownkey/provider"
)

// Family is a wire family for tests: a bearer key, provider.DefaultEndpoint,
// GET {base}/models as its key check, and Adapter (nil: none) for chat.
type Family struct {
	provider.Bearer
	Speaks  ownkey.WireFamily
	Adapter ownkey.ChatAdapter
}

var _ provider.Family = (*Family)(nil)

func (f *Family) Wire() ownkey.WireFamily { return f.Speaks }

func (f *Family) Endpoint(p *ownkey.Provider, c *ownkey.Credential) (string, bool, error) {
	return provider.DefaultEndpoint(p, c)
}

func (f *Family) KeyCheck(_ *ownkey.Provider, _ *ownkey.Credential, base string, _ bool, _ string) (provider.KeyCheck, error) {
	return provider.GetCheck(base, "/models"), nil
}

func (f *Family) Chat() ownkey.ChatAdapter { return f.Adapter }

// Families is a complete registry for a test: fams, and a Family without an
// adapter for every other wire the catalog uses (provider.NewFamilies wants
// them all).
func Families(t testing.TB, base ownkey.BaseURLs, fams ...provider.Family) *provider.Families {
	t.Helper()
	all := slices.Clone(fams)
	have := make(map[ownkey.WireFamily]bool)
	for _, f := range fams {
		have[f.Wire()] = true
	}
	for i := range ownkey.Catalog {
		if w := ownkey.Catalog[i].Wire; !have[w] {
			have[w] = true
			all = append(all, &Family{Speaks: w})
		}
	}
	r, err := provider.NewFamilies(base, all...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Key is the API key the family tests give provider id.
func Key(id string) string { return "key-" + id + "-0123456789abcdef" }

// CredentialHeaders are the headers the families put a credential in.
var CredentialHeaders = []string{"Authorization", "X-Api-Key", "Api-Key", "X-Goog-Api-Key"}

// CheckAuth authorizes a request to provider id with the key Key(id)
// through fam, after planting a client's own ownkey key in the headers a
// client could send, and checks that CredentialHeaders and
// Anthropic-Version are exactly want (absent when want lacks them) and that
// the URL is untouched: keys never go in the URL.
func CheckAuth(t *testing.T, fam provider.Family, id string, want map[string]string) {
	t.Helper()
	p := Catalog(t, id)
	req, _ := http.NewRequest(http.MethodPost, "https://upstream.example/x?y=1", nil)
	// A client's own ownkey key must never travel on.
	req.Header.Set("Authorization", "Bearer ownkey-client-key")
	req.Header.Set("X-Api-Key", "ownkey-client-key")
	c := &ownkey.Credential{Provider: p.ID, APIKey: ownkey.NewSecret(Key(id))}
	if err := fam.Authorize(context.Background(), req, p, c, nil); err != nil {
		t.Fatal(err)
	}
	for _, h := range append(slices.Clone(CredentialHeaders), "Anthropic-Version") {
		got, want := req.Header.Values(h), want[h]
		switch {
		case want == "" && len(got) != 0:
			t.Errorf("%s: unexpected %s: %q", id, h, got)
		case want != "" && (len(got) != 1 || got[0] != want):
			t.Errorf("%s: %s = %q, want %q", id, h, got, want)
		}
	}
	if req.URL.RawQuery != "y=1" {
		t.Errorf("%s: query changed to %q: keys never go in the URL", id, req.URL.RawQuery)
	}
}

// KeyCheck is one provider's key check as the provider must receive it.
type KeyCheck struct {
	Name     string
	Provider string // catalog id
	// BasePath is appended to the fake's URL: for an operator override,
	// the catalog's path; for a provider whose address is the user's,
	// part of the user's endpoint.
	BasePath string
	// Credential is the JSON credential as the user pastes it; for a
	// provider whose address is the user's, its endpoint is added. Nil
	// means the API key Key(Provider).
	Credential map[string]string
	Model      string
	Method     string
	Path       string // escaped, as sent
	Query      string
	// Headers are the CredentialHeaders the check carries, exactly; a ""
	// value means any value.
	Headers map[string]string
	Body    string // JSON, compared as values
	// Verify checks what else the family must send (a signature, a
	// version header).
	Verify func(t testing.TB, r Received)
}

// Setup points kc's provider at up (through the user's endpoint, or an
// operator override) and returns a Validator that checks keys with fams
// (and a Family for every other wire).
func (kc KeyCheck) Setup(t testing.TB, up *Upstream, fams ...provider.Family) (*provider.Validator, *ownkey.Provider, *ownkey.Credential) {
	t.Helper()
	p := Catalog(t, kc.Provider)
	base := ownkey.BaseURLs{}
	var raw any = Key(kc.Provider)
	if kc.Credential != nil || p.UserEndpoint {
		m := make(map[string]string, len(kc.Credential)+1)
		for k, v := range kc.Credential {
			m[k] = v
		}
		raw = m
		if p.UserEndpoint {
			m["endpoint"] = up.URL + kc.BasePath
		}
	}
	if !p.UserEndpoint {
		base[p.ID] = up.URL + kc.BasePath
	}
	b, err := json.Marshal(raw)
	if err != nil {
		t.Fatal(err)
	}
	// Private endpoints are allowed: the fake is on 127.0.0.1.
	c, err := ownkey.ParseCredential(p, b, true)
	if err != nil {
		t.Fatalf("credential for %s: %v", p.ID, err)
	}
	v := &provider.Validator{Clients: egress.New(egress.Options{AllowPrivate: true}), Families: Families(t, base, fams...),
		Timeout: 5 * time.Second}
	return v, p, c
}

// CheckKeys runs each case's key check against a fake provider: the request
// must arrive as the case says, and a key the provider rejects, echoing
// every credential header it got, must come back as EUPSTREAM 401 naming
// the provider, with no secret of the credential left in it.
func CheckKeys(t *testing.T, fam provider.Family, cases ...KeyCheck) {
	for _, kc := range cases {
		t.Run(kc.Name, func(t *testing.T) {
			up := NewUpstream(t, JSONReply(http.StatusOK, `{}`))
			v, p, c := kc.Setup(t, up, fam)
			if err := v.ValidateKey(context.Background(), p, c, kc.Model); err != nil {
				t.Fatalf("ValidateKey: %v", err)
			}
			r := up.Only(t)
			if r.Method != kc.Method || r.Path != kc.Path || r.RawQuery != kc.Query {
				t.Errorf("got %s %s?%s, want %s %s?%s", r.Method, r.Path, r.RawQuery, kc.Method, kc.Path, kc.Query)
			}
			for _, h := range CredentialHeaders {
				want, expected := kc.Headers[h]
				got := r.Header.Get(h)
				switch {
				case !expected && got != "":
					t.Errorf("unexpected %s: %q", h, got)
				case expected && want != "" && got != want:
					t.Errorf("%s = %q, want %q", h, got, want)
				case expected && got == "":
					t.Errorf("missing %s", h)
				}
			}
			assertJSONEqual(t, r.Body, kc.Body)
			if kc.Body != "" && r.Header.Get("Content-Type") != "application/json" {
				t.Errorf("Content-Type = %q", r.Header.Get("Content-Type"))
			}
			if kc.Verify != nil {
				kc.Verify(t, r)
			}
		})
		t.Run(kc.Name+"/rejected key is scrubbed", func(t *testing.T) {
			// The worst upstream: it echoes every credential header it got.
			up := NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
				var echoed []string
				for _, h := range append(slices.Clone(CredentialHeaders), "X-Amz-Security-Token") {
					if v := r.Header.Get(h); v != "" {
						echoed = append(echoed, h+"="+v)
					}
				}
				msg, _ := json.Marshal("Invalid credentials: " + strings.Join(echoed, " "))
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = io.WriteString(w, `{"error":{"message":`+string(msg)+`}}`)
			})
			v, p, c := kc.Setup(t, up, fam)
			err := v.ValidateKey(context.Background(), p, c, kc.Model)
			var e *ownkey.Error
			if !errors.As(err, &e) || e.Code != ownkey.EUPSTREAM || e.Status != http.StatusUnauthorized {
				t.Fatalf("err = %#v, want EUPSTREAM 401", err)
			}
			if !strings.HasPrefix(e.Message, p.Name+" rejected the key: Invalid credentials: ") {
				t.Errorf("message = %q", e.Message)
			}
			if !strings.Contains(e.Message, ownkey.Redacted) {
				t.Errorf("message %q shows no redaction, so the echo was lost", e.Message)
			}
			for _, s := range []ownkey.Secret{c.APIKey, c.AccessKeyID, c.SecretAccessKey, c.SessionToken} {
				if secret := s.Reveal(); secret != "" && (strings.Contains(e.Message, secret) || strings.Contains(err.Error(), secret)) {
					t.Errorf("message leaks a secret: %q", e.Message)
				}
			}
		})
	}
}

func assertJSONEqual(t testing.TB, got []byte, want string) {
	t.Helper()
	if want == "" {
		if len(got) != 0 {
			t.Errorf("unexpected body %s", got)
		}
		return
	}
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("body %q is not JSON: %v", got, err)
	}
	_ = json.Unmarshal([]byte(want), &w)
	if !reflect.DeepEqual(g, w) {
		t.Errorf("body = %s, want %s", got, want)
	}
}
