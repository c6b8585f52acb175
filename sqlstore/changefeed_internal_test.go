package sqlstore

import (
	"testing"

	"github.com/ownkey/ownkey"
)

func TestChangePayloads(t *testing.T) {
	for _, c := range []ownkey.Change{
		{Kind: ownkey.ChangeAPIKey, AccountID: 3, KeyID: 9},
		{Kind: ownkey.ChangeCredential, AccountID: 3, Provider: "amazon-bedrock"},
		{Kind: ownkey.ChangePrices},
		{Kind: ownkey.ChangeAll},
	} {
		if got := decodeChange(encodeChange(c)); got != c {
			t.Errorf("round trip of %+v gave %+v", c, got)
		}
	}
	// What a newer or broken publisher might send is a ChangeAll: dropping
	// everything is always safe, ignoring it is not.
	for _, p := range []string{"", "apikey", "apikey:x:1", "apikey:1:", "cred:1:", "account:5", "nonsense", "prices:1", "PRICES"} {
		if got := decodeChange(p); got.Kind != ownkey.ChangeAll {
			t.Errorf("payload %q decoded as %+v, want ChangeAll", p, got)
		}
	}
	if p := encodeChange(ownkey.Change{Kind: ownkey.ChangeAPIKey, AccountID: 3, KeyID: 9}); p != "apikey:3:9" {
		t.Errorf("payload %q", p)
	}
	if p := encodeChange(ownkey.Change{Kind: ownkey.ChangePrices}); p != "prices" {
		t.Errorf("payload %q", p)
	}
}
