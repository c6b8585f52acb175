package chat

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/ownkey/ownkey"
)

// fakePlatform holds the platform's keys for the providers in keys.
type fakePlatform struct {
	keys map[string]bool
	err  error
	used []string
}

func (p *fakePlatform) PutPlatform(context.Context, string, json.RawMessage) (*ownkey.KeyStatus, error) {
	return nil, errors.New("not used")
}
func (p *fakePlatform) DeletePlatform(context.Context, string) error { return errors.New("not used") }
func (p *fakePlatform) ListPlatform(context.Context) ([]ownkey.KeyStatus, error) {
	return nil, errors.New("not used")
}
func (p *fakePlatform) PlatformCredential(_ context.Context, id string) (*ownkey.Credential, error) {
	if !p.keys[id] {
		return nil, ownkey.Errorf(ownkey.ENOTFOUND, "no key")
	}
	return &ownkey.Credential{Provider: id, APIKey: ownkey.NewSecret("sk-platform")}, nil
}
func (p *fakePlatform) PlatformConfigured(context.Context) (map[string]bool, error) {
	return p.keys, p.err
}
func (p *fakePlatform) MarkPlatformUsed(id string) { p.used = append(p.used, id) }

// TestBYOKSwitch: the three states of the switch × the account's and the
// platform's key present or absent. The request carries whose key it used
// and the rate billed on it; the key's last use is marked where it lives.
func TestBYOKSwitch(t *testing.T) {
	markups := ownkey.Markups{BYOK: 50_000, Platform: 120_000}
	for _, choice := range []ownkey.KeyChoice{ownkey.KeyAuto, ownkey.KeyOwn, ownkey.KeyPlatform} {
		for _, own := range []bool{true, false} {
			for _, platform := range []bool{true, false} {
				// What must serve: nil is a 400.
				var want *bool
				yes, no := true, false
				switch {
				case choice == ownkey.KeyOwn && own, choice == ownkey.KeyAuto && own:
					want = &yes
				case choice == ownkey.KeyPlatform && platform, choice == ownkey.KeyAuto && platform:
					want = &no
				}
				name := choice.String()
				if own {
					name += "/own"
				}
				if platform {
					name += "/platform"
				}
				t.Run(name, func(t *testing.T) {
					f := newFixture(t, &ownkey.ChatResult{Status: 200, Started: true}, nil)
					f.keys = choice
					f.vault.keys = map[string]bool{"openai": own}
					pl := &fakePlatform{keys: map[string]bool{"openai": platform}}
					f.svc.Platform, f.svc.Markups = pl, markups
					_, err := f.chat("gpt-4o-mini", "")
					if want == nil {
						if ownkey.StatusOf(err) != 400 || f.adapter.got != nil || len(f.vault.used)+len(pl.used) != 0 {
							t.Fatalf("err %v, adapter called %v", err, f.adapter.got != nil)
						}
						return
					}
					if err != nil {
						t.Fatal(err)
					}
					req := f.adapter.got
					key, markup, usedOwn, usedPlatform := "sk-test", markups.BYOK, 1, 0
					if !*want {
						key, markup, usedOwn, usedPlatform = "sk-platform", markups.Platform, 0, 1
					}
					if req.BYOK != *want || req.Markup != markup || req.Credential.APIKey.Reveal() != key {
						t.Fatalf("BYOK %v markup %d key %s; want %v %d %s", req.BYOK, req.Markup, req.Credential.APIKey.Reveal(), *want, markup, key)
					}
					if len(f.vault.used) != usedOwn || len(pl.used) != usedPlatform {
						t.Fatalf("marked used: own %q, platform %q", f.vault.used, pl.used)
					}
				})
			}
		}
	}
}

// The account's own keys serve what they can without the platform's set
// being read; a failure to read it is reported as such, not as a missing
// key; a platform key deleted after routing is a 400 naming it.
func TestBYOKSwitchPlatformSet(t *testing.T) {
	f := newFixture(t, &ownkey.ChatResult{Status: 200, Started: true}, nil)
	f.keys = ownkey.KeyAuto
	down := ownkey.Errorf(ownkey.EUNAVAILABLE, "database is down")
	f.svc.Platform = &fakePlatform{err: down}
	if _, err := f.chat("gpt-4o-mini", ""); err != nil || !f.adapter.got.BYOK {
		t.Fatalf("own key with the platform's keys unreadable: %v", err)
	}
	f.vault.keys = map[string]bool{}
	if _, err := f.chat("gpt-4o-mini", ""); err != down {
		t.Fatalf("err = %v, want the platform store's", err)
	}
	// Configured says yes, the key is gone.
	f.svc.Platform = &stalePlatform{fakePlatform{keys: map[string]bool{"openai": true}}}
	_, err := f.chat("gpt-4o-mini", "")
	var e *ownkey.Error
	if !errors.As(err, &e) || e.Reason != "no_key_for_provider" || ownkey.StatusOf(err) != 400 {
		t.Fatalf("stale platform set: %v", err)
	}
	// No platform service at all: the platform holds nothing.
	f.svc.Platform = nil
	f.keys = ownkey.KeyPlatform
	if _, err := f.chat("gpt-4o-mini", ""); !errors.As(err, &e) || e.Reason != "platform_no_provider_for_model" {
		t.Fatalf("no platform service: %v", err)
	}
}

// stalePlatform lists a key it no longer has.
type stalePlatform struct{ fakePlatform }

func (p *stalePlatform) PlatformCredential(context.Context, string) (*ownkey.Credential, error) {
	return nil, ownkey.Errorf(ownkey.ENOTFOUND, "gone")
}
