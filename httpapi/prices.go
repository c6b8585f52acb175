package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/ownkey/ownkey"
)

// usdAmount is a USD amount per million tokens: integer nano-USD inside,
// an exact decimal JSON number on the wire (2.5, 0.075), written from the
// integer and read without a float.
type usdAmount ownkey.NanoUSD

func (a usdAmount) MarshalJSON() ([]byte, error) {
	return ownkey.AppendDecimal(nil, int64(a), 9), nil
}

// UnmarshalJSON reads a JSON number or a string holding one, such as 2.5
// or "0.075": non-negative, at most 9 decimals (a nano-dollar per million
// tokens).
func (a *usdAmount) UnmarshalJSON(b []byte) error {
	text := string(bytes.TrimSpace(b))
	if len(text) > 0 && text[0] == '"' {
		if err := json.Unmarshal(b, &text); err != nil {
			return err
		}
	}
	n, inexact, err := ownkey.ParseDecimal(text, 9)
	switch {
	case err != nil:
		return err
	case n < 0:
		return ownkey.Errorf(ownkey.EINVALID, "a price must not be negative")
	case inexact:
		return ownkey.Errorf(ownkey.EINVALID, "a price has at most 9 decimals (one nano-dollar per million tokens)")
	}
	*a = usdAmount(n)
	return nil
}

// rate is a PPM on the wire: the exact decimal fraction (0.05 for 5%).
type rate ownkey.PPM

func (r rate) MarshalJSON() ([]byte, error) { return ownkey.AppendDecimal(nil, int64(r), 6), nil }

// modelPricing is a model's prices as /v1/models?detailed=true shows them,
// in the product's shape (pricing {prompt, completion, currency, unit}):
// what the provider charges, at cost, in USD per million tokens, plus the
// kinds priced apart (OpenRouter's names) and the markup ownkey takes on
// it. prompt and completion are null for a model without a price: its
// requests are billed at the fallback rate.
type modelPricing struct {
	Prompt            *usdAmount `json:"prompt"`
	Completion        *usdAmount `json:"completion"`
	InputCacheRead    *usdAmount `json:"input_cache_read,omitempty"`
	InputCacheWrite   *usdAmount `json:"input_cache_write,omitempty"`
	InternalReasoning *usdAmount `json:"internal_reasoning,omitempty"`
	Currency          string     `json:"currency"`
	Unit              string     `json:"unit"`
	// Markup is the rate charged on the at-cost price
	// (OWNKEY_BYOK_MARKUP).
	Markup rate `json:"markup"`
}

func pricingOf(p ownkey.Prices, markup ownkey.PPM) *modelPricing {
	amount := func(pr ownkey.Price) *usdAmount {
		if !pr.Known {
			return nil
		}
		a := usdAmount(pr.PerMTok)
		return &a
	}
	return &modelPricing{
		Prompt: amount(p.Input), Completion: amount(p.Output), InputCacheRead: amount(p.CachedInput),
		InputCacheWrite: amount(p.CacheWrite), InternalReasoning: amount(p.Reasoning),
		Currency: "USD", Unit: "per_million_tokens", Markup: rate(markup),
	}
}

// catalog is the model catalog in force.
func (s *Server) catalog() *ownkey.ModelCatalog {
	if s.cfg.Prices != nil {
		return s.cfg.Prices.Catalog()
	}
	return ownkey.ActiveModels()
}

// putPriceRequest is the body of PUT /api/admin/prices/{provider}/{model}:
// USD per million tokens, input and output required; a kind left out is
// not priced apart (billed at the input or output rate).
type putPriceRequest struct {
	Input       *usdAmount `json:"input"`
	Output      *usdAmount `json:"output"`
	CachedInput *usdAmount `json:"cached_input"`
	CacheWrite  *usdAmount `json:"cache_write"`
	Reasoning   *usdAmount `json:"reasoning"`
	// Canonical names the model across providers (optional).
	Canonical string `json:"canonical"`
}

// priceResponse is one model's price as the admin API returns it.
type priceResponse struct {
	Provider  string        `json:"provider"`
	Model     string        `json:"model"`
	Canonical string        `json:"canonical_id"`
	Source    string        `json:"source"`
	Pricing   *modelPricing `json:"pricing"`
}

func (s *Server) priceService() (ownkey.PriceService, error) {
	if s.cfg.Prices == nil {
		return nil, &ownkey.Error{Code: ownkey.EUNAVAILABLE, Message: "the price catalog is not configured on this server"}
	}
	return s.cfg.Prices, nil
}

// handlePutPrice sets the operator's price of a model: it takes precedence
// over imported and built-in prices, here at once and in the other
// replicas within about a second.
func (s *Server) handlePutPrice(w http.ResponseWriter, r *http.Request) {
	svc, err := s.priceService()
	if err != nil {
		Error(w, r, err)
		return
	}
	var req putPriceRequest
	if err := s.decodeJSON(r, &req); err != nil {
		Error(w, r, err)
		return
	}
	price := func(a *usdAmount) ownkey.Price {
		if a == nil {
			return ownkey.Price{}
		}
		return ownkey.PriceOf(ownkey.NanoUSD(*a))
	}
	p := ownkey.Prices{Input: price(req.Input), Output: price(req.Output), CachedInput: price(req.CachedInput),
		CacheWrite: price(req.CacheWrite), Reasoning: price(req.Reasoning)}
	e, err := svc.SetPrice(r.Context(), r.PathValue("provider"), r.PathValue("model"), req.Canonical, p)
	if err != nil {
		Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, priceResponse{Provider: e.Provider, Model: e.Model, Canonical: e.Canonical,
		Source: string(ownkey.PriceFromAdmin), Pricing: pricingOf(e.Prices, s.cfg.Markup)})
}

// handleDeletePrice removes the operator's price: the imported or built-in
// one applies again.
func (s *Server) handleDeletePrice(w http.ResponseWriter, r *http.Request) {
	svc, err := s.priceService()
	if err != nil {
		Error(w, r, err)
		return
	}
	provider, model := r.PathValue("provider"), r.PathValue("model")
	if err := svc.DeletePrice(r.Context(), provider, model); err != nil {
		Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "provider": provider, "model": model})
}
