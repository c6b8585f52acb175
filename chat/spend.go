package chat

import "github.com/ownkey/ownkey"

// limits is the spend limiter, or one that limits nothing.
func (s *Service) limits() ownkey.SpendLimiter {
	if s.Limits == nil {
		return ownkey.NoSpendLimits{}
	}
	return s.Limits
}
