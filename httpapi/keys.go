package httpapi

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/ownkey/ownkey"
)

// providerKeyView is one row of the BYOK page: a catalog provider and the
// caller's key status for it. It never carries the key, only its suffix.
type providerKeyView struct {
	Provider   string                   `json:"provider"`
	Name       string                   `json:"name"`
	Kind       ownkey.ProviderKind      `json:"kind"`
	Format     ownkey.CredentialFormat  `json:"credential_format"`
	Fields     []ownkey.CredentialField `json:"credential_fields,omitempty"`
	KeyHint    string                   `json:"key_hint,omitempty"`
	Status     string                   `json:"status"`
	Suffix     *string                  `json:"key_suffix"`
	CreatedAt  *time.Time               `json:"created_at"`
	UpdatedAt  *time.Time               `json:"updated_at"`
	LastUsedAt *time.Time               `json:"last_used_at"`
	// SpendCap and Spend are shown for stored keys only: the caps (null
	// for none) and, in the list, the spend they count so far.
	SpendCap *ownkey.SpendCaps `json:"spend_cap,omitempty"`
	Spend    *ownkey.Spend     `json:"spend,omitempty"`
	// Failing is true while the provider refuses the stored key, and
	// Failure says since when and why (its status and message); both
	// clear when the key is replaced or a request with it succeeds.
	Failing bool               `json:"failing"`
	Failure *ownkey.KeyFailure `json:"failure,omitempty"`
	// Warning, on the answer to storing a key, says what looks wrong
	// with it (a key shaped like another provider's).
	Warning string `json:"warning,omitempty"`
}

func viewOf(st *ownkey.KeyStatus) providerKeyView {
	p := st.Provider
	v := providerKeyView{
		Provider: p.ID, Name: p.Name, Kind: p.Kind, Format: p.Format, Fields: p.Fields, KeyHint: p.KeyHint,
		Status: st.Status, CreatedAt: st.CreatedAt, UpdatedAt: st.UpdatedAt, LastUsedAt: st.LastUsedAt,
		Failing: st.Failure != nil, Failure: st.Failure, Warning: st.Warning,
	}
	if st.Suffix != "" {
		v.Suffix = &st.Suffix
	}
	if st.CreatedAt != nil {
		v.SpendCap = &st.Caps
	}
	return v
}

// withSpend adds to v what the caps of the caller's key for v's provider
// count so far, when a key is stored.
func (s *Server) withSpend(r *http.Request, accountID int64, v *providerKeyView) error {
	if v.SpendCap == nil || s.cfg.Spend == nil {
		return nil
	}
	spend, err := s.cfg.Spend.ProviderSpend(r.Context(), accountID, v.Provider)
	if err != nil {
		return err
	}
	v.Spend = &spend
	return nil
}

func (s *Server) handleListProviderKeys(w http.ResponseWriter, r *http.Request) {
	p := ownkey.PrincipalFromContext(r.Context())
	sts, err := s.cfg.Vault.List(r.Context(), p.Account.ID)
	if err != nil {
		Error(w, r, err)
		return
	}
	views := viewsOf(sts)
	for i := range views {
		if err := s.withSpend(r, p.Account.ID, &views[i]); err != nil {
			Error(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"keys": views})
}

func viewsOf(sts []ownkey.KeyStatus) []providerKeyView {
	views := make([]providerKeyView, len(sts))
	for i := range sts {
		views[i] = viewOf(&sts[i])
	}
	return views
}

// keyRequest is the body of POST /api/user/provider-keys (provider, key
// and, optionally, spend_cap) and of PATCH (provider and spend_cap).
type keyRequest struct {
	Provider string          `json:"provider"`
	Key      json.RawMessage `json:"key"`
	// SpendCap changes the key's caps: {"usd_per_day": "5.00",
	// "usd_per_month": null}; a member left out keeps the stored cap.
	SpendCap json.RawMessage `json:"spend_cap"`
}

// readKeyRequest decodes a key request and its caps.
func (s *Server) readKeyRequest(r *http.Request) (*keyRequest, ownkey.SpendCapsUpdate, error) {
	var req keyRequest
	if err := s.decodeJSON(r, &req); err != nil {
		return nil, ownkey.SpendCapsUpdate{}, err
	}
	if req.Provider == "" {
		return nil, ownkey.SpendCapsUpdate{}, ownkey.FieldError("provider", "provider is required")
	}
	caps, err := ownkey.ParseSpendCapsUpdate("spend_cap", req.SpendCap)
	return &req, caps, err
}

// writeKeyView answers a change of a provider key with its view.
func writeKeyView(w http.ResponseWriter, v providerKeyView) {
	writeJSON(w, http.StatusOK, struct {
		Success bool `json:"success"`
		providerKeyView
	}{true, v})
}

func (s *Server) handlePutProviderKey(w http.ResponseWriter, r *http.Request) {
	req, caps, err := s.readKeyRequest(r)
	if err != nil {
		Error(w, r, err)
		return
	}
	p := ownkey.PrincipalFromContext(r.Context())
	st, err := s.cfg.Vault.PutWithCaps(r.Context(), p.Account.ID, req.Provider, req.Key, caps)
	if err != nil {
		Error(w, r, err)
		return
	}
	writeKeyView(w, viewOf(st))
}

// handlePatchProviderKey changes a stored key's spend caps without the key
// being sent again.
func (s *Server) handlePatchProviderKey(w http.ResponseWriter, r *http.Request) {
	req, caps, err := s.readKeyRequest(r)
	switch {
	case err != nil:
	case len(req.Key) > 0:
		err = ownkey.FieldError("key", "PATCH changes spend caps only; send a new key with POST /api/user/provider-keys")
	case len(req.SpendCap) == 0:
		err = ownkey.FieldError("spend_cap", `spend_cap is required, e.g. {"usd_per_day": "5.00", "usd_per_month": null}`)
	}
	if err != nil {
		Error(w, r, err)
		return
	}
	p := ownkey.PrincipalFromContext(r.Context())
	st, err := s.cfg.Vault.SetCaps(r.Context(), p.Account.ID, req.Provider, caps)
	if err != nil {
		Error(w, r, err)
		return
	}
	v := viewOf(st)
	if err := s.withSpend(r, p.Account.ID, &v); err != nil {
		Error(w, r, err)
		return
	}
	writeKeyView(w, v)
}

func (s *Server) handleDeleteProviderKey(w http.ResponseWriter, r *http.Request) {
	provider := r.URL.Query().Get("provider")
	if provider == "" {
		Error(w, r, ownkey.FieldError("provider", "query parameter provider is required, e.g. ?provider=openai"))
		return
	}
	p := ownkey.PrincipalFromContext(r.Context())
	if err := s.cfg.Vault.Delete(r.Context(), p.Account.ID, provider); err != nil {
		Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "provider": provider})
}

type validateKeyRequest struct {
	Provider string          `json:"provider"`
	Key      json.RawMessage `json:"key"`
	Model    string          `json:"model,omitempty"`
}

type validateKeyResponse struct {
	Valid    bool   `json:"valid"`
	Provider string `json:"provider"`
	Model    string `json:"model,omitempty"`
	Error    string `json:"error,omitempty"`
	// Code says why it is not valid: invalid_api_key (the provider
	// refused the key), permission_denied (the key works but lacks a
	// permission the check needs), model_not_found (the key works but the
	// provider does not serve the model named); empty otherwise.
	Code string `json:"code,omitempty"`
	// Status is the provider's HTTP status when it answered.
	Status int `json:"upstream_status,omitempty"`
	// CheckCost says what the check cost the key's owner, for a provider
	// without a free authenticated call (Exa, Kagi: one search).
	CheckCost string `json:"check_cost,omitempty"`
}

// handleValidateProviderKey checks a key with the provider without storing
// it. A key the provider refuses, or a provider that can't be reached, is a
// 200 with valid:false: the request itself was fine.
func (s *Server) handleValidateProviderKey(w http.ResponseWriter, r *http.Request) {
	var req validateKeyRequest
	if err := s.decodeJSON(r, &req); err != nil {
		Error(w, r, err)
		return
	}
	prov, err := ownkey.FindProvider("provider", req.Provider)
	switch {
	case err != nil:
		Error(w, r, err)
		return
	case s.cfg.Vault.Disabled(prov.ID):
		Error(w, r, ownkey.FieldError("provider", "provider %s is disabled by the operator", prov.ID))
		return
	}
	cred, err := ownkey.ParseCredential(prov, req.Key, s.cfg.AllowPrivate)
	if err != nil {
		Error(w, r, err)
		return
	}
	resp := validateKeyResponse{Valid: true, Provider: prov.ID, Model: req.Model}
	if c, ok := s.cfg.Validator.(ownkey.KeyCheckCoster); ok {
		resp.CheckCost = c.KeyCheckCost(prov)
	}
	if err := s.cfg.Validator.ValidateKey(r.Context(), prov, cred, req.Model); err != nil {
		resp.Valid = false
		resp.Error = ownkey.ErrorMessage(err)
		var e *ownkey.Error
		if ok := asError(err, &e); ok {
			resp.Status, resp.Code = e.Status, e.Reason
		}
	}
	writeJSON(w, http.StatusOK, resp)
}
