package vault_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/sqlstore"
	"github.com/ownkey/ownkey/sqlstore/sqltest"
	"github.com/ownkey/ownkey/vault"
)

func usd(n ownkey.NanoUSD) *ownkey.NanoUSD { return &n }

// The caps travel with the key: stored with it or on their own, read with
// it for the chat path (Credential), shown in the list, and a change to
// them reaches the cached credential at once.
func TestSpendCapsInTheVault(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		a := &ownkey.Account{Name: "acme"}
		if err := db.CreateAccount(ctx, a, nil); err != nil {
			t.Fatal(err)
		}
		vs := vault.NewService(db, vault.GenerateKeyring(), vault.Options{})
		t.Cleanup(func() { vs.Close() })
		if err := vs.VerifyKeyring(ctx); err != nil {
			t.Fatal(err)
		}
		key, _ := json.Marshal("sk-proj-caps-000000000000000000000000001234")
		st, err := vs.PutWithCaps(ctx, a.ID, "openai", key, ownkey.SpendCapsUpdate{
			PerDay: ownkey.Update[ownkey.NanoUSD]{Set: true, To: usd(5_000_000_000)}})
		if err != nil {
			t.Fatal(err)
		}
		if st.Caps != (ownkey.SpendCaps{PerDay: st.Caps.PerDay}) || *st.Caps.PerDay != 5_000_000_000 || st.Suffix != "1234" {
			t.Fatalf("status after put: %+v", st)
		}
		cred, err := vs.Credential(ctx, a.ID, "openai")
		if err != nil || cred.Caps.PerDay == nil || *cred.Caps.PerDay != 5_000_000_000 || cred.Caps.PerMonth != nil {
			t.Fatalf("credential caps: %+v, %v", cred.Caps, err)
		}
		// Cached now; a change of caps replaces the cached credential.
		st, err = vs.SetCaps(ctx, a.ID, "openai", ownkey.SpendCapsUpdate{
			PerDay:   ownkey.Update[ownkey.NanoUSD]{Set: true},
			PerMonth: ownkey.Update[ownkey.NanoUSD]{Set: true, To: usd(40_000_000_000)}})
		if err != nil || st.Caps.PerDay != nil || *st.Caps.PerMonth != 40_000_000_000 || st.Status != ownkey.StatusConfigured {
			t.Fatalf("SetCaps: %+v, %v", st, err)
		}
		cred, err = vs.Credential(ctx, a.ID, "openai")
		if err != nil || cred.Caps.PerDay != nil || cred.Caps.PerMonth == nil || *cred.Caps.PerMonth != 40_000_000_000 {
			t.Fatalf("cached credential after SetCaps: %+v, %v", cred.Caps, err)
		}
		if cred.APIKey.Reveal() != "sk-proj-caps-000000000000000000000000001234" {
			t.Fatal("SetCaps changed the key")
		}
		// Replacing the key keeps the caps.
		key2, _ := json.Marshal("sk-proj-caps-000000000000000000000000005678")
		if _, err := vs.Put(ctx, a.ID, "openai", key2); err != nil {
			t.Fatal(err)
		}
		list, err := vs.List(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range list {
			switch s.Provider.ID {
			case "openai":
				if s.Suffix != "5678" || s.Caps.PerMonth == nil || *s.Caps.PerMonth != 40_000_000_000 {
					t.Fatalf("listed openai: %+v", s)
				}
			default:
				if s.Caps != (ownkey.SpendCaps{}) {
					t.Fatalf("caps on %s without a key: %+v", s.Provider.ID, s.Caps)
				}
			}
		}
		// No key, no caps to set; an unknown provider is named.
		if _, err := vs.SetCaps(ctx, a.ID, "groq", ownkey.SpendCapsUpdate{}); ownkey.ErrorCode(err) != ownkey.ENOTFOUND {
			t.Fatalf("caps without a key: %v", err)
		}
		if _, err := vs.SetCaps(ctx, a.ID, "nope", ownkey.SpendCapsUpdate{}); ownkey.ErrorCode(err) != ownkey.EINVALID {
			t.Fatalf("caps of an unknown provider: %v", err)
		}
	})
}
