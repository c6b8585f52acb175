package chat

import "github.com/ownkey/ownkey"

// limits is the spend limiter, or one that limits nothing.
func (s *Service) limits() ownkey.SpendLimiter {
	if s.Limits == nil {
		return ownkey.NoSpendLimits{}
	}
	return s.Limits
}

// charge prices the request for the spend limits: u at the quote of the
// model the provider served (else the one asked), with the markup. Every
// request is served with the account's own key (BYOK). The ledger's
// settlement computes the same charge; the limits are handed that one
// once billing settles requests here.
func (s *Service) charge(req *ownkey.ChatRequest, res *ownkey.ChatResult, u ownkey.Usage) ownkey.Charge {
	if s.Prices == nil {
		return ownkey.Charge{BYOK: true}
	}
	served := res.ModelServed
	if served == "" {
		served = req.Model
	}
	c := s.Prices.Quote(req.Provider.ID, served, req.Model).Charge(u, s.Markup)
	c.BYOK = true
	return c
}
