package accounts_test

import (
	"context"
	"testing"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/accounts"
	"github.com/ownkey/ownkey/changetest"
)

// New limits apply to the next request at once here (the cached principal
// carries the old ones and is dropped) and are announced to the other
// processes, as a revocation is.
func TestSetAPIKeyLimits(t *testing.T) {
	pub := &changetest.Recorder{}
	svc, _, acct, key, plain := newService(t, accounts.Options{Changes: pub})
	ctx := context.Background()
	p, err := svc.Authenticate(ctx, plain)
	if err != nil || p.APIKey.Limits != (ownkey.APIKeyLimits{}) {
		t.Fatalf("principal %+v, %v", p, err)
	}
	n := int64(100)
	k, err := svc.SetAPIKeyLimits(ctx, acct, key.ID, ownkey.APIKeyLimitsUpdate{RequestsPerDay: ownkey.Update[int64]{Set: true, To: &n}})
	if err != nil || k.Limits.RequestsPerDay == nil || *k.Limits.RequestsPerDay != 100 {
		t.Fatalf("SetAPIKeyLimits = %+v, %v", k, err)
	}
	p, err = svc.Authenticate(ctx, plain)
	if err != nil || p.APIKey.Limits.RequestsPerDay == nil || *p.APIKey.Limits.RequestsPerDay != 100 {
		t.Fatalf("principal after the change: %+v, %v", p.APIKey.Limits, err)
	}
	want := ownkey.Change{Kind: ownkey.ChangeAPIKey, AccountID: acct, KeyID: key.ID}
	if got := pub.Changes(); len(got) != 1 || got[0] != want {
		t.Fatalf("published %+v, want [%+v]", got, want)
	}
	// Another account's key is not found, and nothing is announced.
	if _, err := svc.SetAPIKeyLimits(ctx, acct+1, key.ID, ownkey.APIKeyLimitsUpdate{}); ownkey.ErrorCode(err) != ownkey.ENOTFOUND {
		t.Fatalf("other account's key: %v", err)
	}
	if len(pub.Changes()) != 1 {
		t.Fatal("a failed change was announced")
	}

	// A key created with limits has them.
	usd := ownkey.NanoUSD(2_500_000_000)
	_, k2, err := svc.CreateAPIKey(ctx, acct, "ci", ownkey.APIKeyLimits{USDPerDay: &usd})
	if err != nil || k2.Limits.USDPerDay == nil || *k2.Limits.USDPerDay != usd {
		t.Fatalf("CreateAPIKey with limits: %+v, %v", k2, err)
	}
}

func TestRenameAccountShowsAtOnce(t *testing.T) {
	svc, _, acct, _, plain := newService(t, accounts.Options{})
	ctx := context.Background()
	if _, err := svc.Authenticate(ctx, plain); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.RenameAccount(ctx, acct, "Tenant Two"); err != nil {
		t.Fatal(err)
	}
	p, err := svc.Authenticate(ctx, plain)
	if err != nil || p.Account.Name != "Tenant Two" {
		t.Fatalf("principal after rename: %+v, %v", p.Account, err)
	}
	if _, _, err := svc.CreateAccount(ctx, &ownkey.Account{Name: "tenant two"}, ""); ownkey.ErrorCode(err) != ownkey.ECONFLICT {
		t.Fatalf("a second account with the name: %v", err)
	}
}
