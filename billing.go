package ownkey

import "math/bits"

// PPM is a rate in parts per million: 5% is 50_000. Rates are exact
// integers, never floats.
type PPM int64

// DefaultBYOKMarkup is the markup ownkey takes on the at-cost price of a
// request served with the user's own key: 5%.
const DefaultBYOKMarkup PPM = 50_000

// PriceBasis says which price a request was billed at.
type PriceBasis string

const (
	// PriceCatalog: the model's own price at the provider that served it.
	PriceCatalog PriceBasis = "catalog"
	// PriceFreeModel: the provider prices the model at zero (a :free
	// variant); the markup is on the lowest paid rate of the same
	// canonical model at any provider.
	PriceFreeModel PriceBasis = "free_model"
	// PriceFreeNoPaidRate: free, and no provider has a paid rate for the
	// model: nothing is charged, and the ledger says why.
	PriceFreeNoPaidRate PriceBasis = "free_no_paid_rate"
	// PriceFallback: no price is known for the model; it is billed at the
	// documented fallback rate and flagged so the operator can add one.
	PriceFallback PriceBasis = "fallback"
)

// Quote is what one request is billed at: the prices the provider charges
// (AtCost) and the prices the markup is computed on (MarkupBase; AtCost but
// for free models).
type Quote struct {
	// Provider and Model name the catalog entry MarkupBase came from (for
	// a free model, the paid entry; for a fallback, the entry whose rate
	// was borrowed).
	Provider, Model string
	Basis           PriceBasis
	AtCost          Prices
	MarkupBase      Prices
}

// PriceBook finds the prices of a request: those of the model the provider
// reports it served, mapped to its canonical id, else those of the model
// asked; a free model or a model without a price resolves as the PriceBasis
// values describe.
type PriceBook interface {
	Quote(provider, modelServed, modelAsked string) Quote
}

// Charge is what one request costs, in exact nano-USD.
type Charge struct {
	// AtCost is what the provider bills the user for the request (on the
	// wire: usage.cost_details.upstream_inference_cost).
	AtCost NanoUSD
	// Markup is the rate applied to the markup base.
	Markup PPM
	// Charged is what ownkey takes from the account's balance (usage.cost).
	Charged   NanoUSD
	Basis     PriceBasis
	BYOK      bool
	Estimated bool // the tokens were estimated, not reported
}

// Charge prices u at q with the markup rate: AtCost is u at q.AtCost and
// Charged is markup × (u at q.MarkupBase).
//
// Tokens are priced in OpenAI's meaning of Usage: the prompt tokens not
// read from or written to the cache at Input, cached ones at CachedInput
// and cache writes at CacheWrite (each at Input when the provider does not
// price it apart), completion tokens at Output, except reasoning tokens at
// Reasoning when that is priced apart.
//
// Rounding: each amount is the exact product (128-bit, no overflow for any
// real count or rate) rounded up to the whole nano-dollar, once for the
// at-cost sum and once for the markup, so a charge is never less than the
// exact figure and at most one nano-dollar more.
func (q Quote) Charge(u Usage, markup PPM) Charge {
	base := tokenCost(q.MarkupBase, u)
	return Charge{
		AtCost:    NanoUSD(ceilDiv(tokenCost(q.AtCost, u), 1_000_000).lo),
		Markup:    markup,
		Charged:   NanoUSD(ceilDiv(mulWide(ceilDiv(base, 1_000_000), uint64(max(markup, 0))), 1_000_000).lo),
		Basis:     q.Basis,
		Estimated: u.Source == UsageEstimated,
	}
}

// wide is an unsigned 128-bit integer: hi·2⁶⁴ + lo.
type wide struct{ hi, lo uint64 }

func mulWide(a wide, b uint64) wide {
	hi, lo := bits.Mul64(a.lo, b)
	return wide{hi: hi + a.hi*b, lo: lo}
}

func (a wide) add(b wide) wide {
	lo, carry := bits.Add64(a.lo, b.lo, 0)
	return wide{hi: a.hi + b.hi + carry, lo: lo}
}

// ceilDiv is ⌈a/d⌉, saturated to the largest NanoUSD.
func ceilDiv(a wide, d uint64) wide {
	if a.hi >= d {
		return wide{lo: 1<<63 - 1}
	}
	q, r := bits.Div64(a.hi, a.lo, d)
	if r != 0 {
		q++
	}
	if q > 1<<63-1 {
		q = 1<<63 - 1
	}
	return wide{lo: q}
}

// tokenCost is u priced at p in nano-USD × 10⁶ (the rates are per million
// tokens), exact.
func tokenCost(p Prices, u Usage) wide {
	nonNeg := func(n int64) uint64 { return uint64(max(n, 0)) }
	rate := func(pr, fallback Price) uint64 {
		if pr.Known {
			return uint64(max(pr.PerMTok, 0))
		}
		return uint64(max(fallback.PerMTok, 0))
	}
	input := nonNeg(u.PromptTokens - u.CachedTokens - u.CacheWriteTokens)
	output, reasoning := nonNeg(u.CompletionTokens), uint64(0)
	if p.Reasoning.Known {
		reasoning = min(nonNeg(u.ReasoningTokens), output)
		output -= reasoning
	}
	var sum wide
	for _, t := range [...]struct{ n, rate uint64 }{
		{input, rate(p.Input, p.Input)},
		{nonNeg(u.CachedTokens), rate(p.CachedInput, p.Input)},
		{nonNeg(u.CacheWriteTokens), rate(p.CacheWrite, p.Input)},
		{output, rate(p.Output, p.Output)},
		{reasoning, rate(p.Reasoning, p.Output)},
	} {
		sum = sum.add(mulWide(wide{lo: t.n}, t.rate))
	}
	return sum
}
