// Package ownkey holds the gateway's vocabulary: accounts, API keys, provider
// credentials, the provider catalog, errors and the interfaces the rest of the
// program implements. It depends on nothing but the standard library; every
// subpackage wraps one dependency or one provider family and points inward.
package ownkey

import "time"

// NanoUSD is money: an integer count of 10⁻⁹ US dollars. Money is never a float.
type NanoUSD int64

// Now is the clock the domain uses; tests replace it.
var Now = func() time.Time { return time.Now().UTC() }
