package chat

import (
	"context"

	"github.com/ownkey/ownkey"
)

// selectKey is the route and credential step: under the client's BYOK
// switch (call.Keys) it routes the model among the providers the account
// holds keys for and, when the switch allows and they serve nothing, those
// the platform holds keys for (ownkey.RouteKeys), and opens the key that
// serves the request: the account's own (byok) or the platform's.
func (s *Service) selectKey(ctx context.Context, call *ownkey.ChatCall) (route *ownkey.Route, cred *ownkey.Credential, byok bool, err error) {
	accountID := call.Principal.Account.ID
	if call.Provider != "" && s.Vault.Disabled(call.Provider) {
		return nil, nil, false, &ownkey.Error{Code: ownkey.EFORBIDDEN, Param: "x-byok-provider", Reason: "provider_disabled",
			Message: "provider " + call.Provider + " is disabled by the operator"}
	}
	var own map[string]bool
	if call.Keys != ownkey.KeyPlatform {
		if own, err = s.Vault.Configured(ctx, accountID); err != nil {
			return nil, nil, false, err
		}
	}
	platform := platformKeys{ctx: ctx, svc: s.Platform}
	route, byok, err = ownkey.RouteKeys(call.Model, call.Provider, call.Keys, func(id string) bool { return own[id] }, platform.has)
	if err != nil {
		if platform.err != nil {
			// The platform's keys could not be read: say so rather than
			// that there is none.
			return nil, nil, false, platform.err
		}
		return nil, nil, false, err
	}
	if byok {
		cred, err = s.Vault.Credential(ctx, accountID, route.Provider.ID)
	} else {
		cred, err = s.Platform.PlatformCredential(ctx, route.Provider.ID)
	}
	if err != nil {
		if ownkey.ErrorCode(err) == ownkey.ENOTFOUND {
			// Deleted since the configured set was cached.
			return nil, nil, false, ownkey.NoKeyError(route.Provider, call.Keys)
		}
		return nil, nil, false, err
	}
	return route, cred, byok, nil
}

// markUsed notes the use of the key that served the request.
func (s *Service) markUsed(accountID int64, providerID string, byok bool) {
	if byok {
		s.Vault.MarkUsed(accountID, providerID)
	} else {
		s.Platform.MarkPlatformUsed(providerID)
	}
}

// platformKeys is the platform's configured set, read only when routing
// asks for it: a request the account's own keys serve never waits on it.
type platformKeys struct {
	ctx    context.Context
	svc    ownkey.PlatformKeyService
	set    map[string]bool
	err    error
	loaded bool
}

func (p *platformKeys) has(id string) bool {
	if !p.loaded {
		p.loaded = true
		if p.svc != nil {
			p.set, p.err = p.svc.PlatformConfigured(p.ctx)
		}
	}
	return p.set[id]
}
