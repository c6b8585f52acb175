package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/ownkey/ownkey"
)

func asError(err error, target **ownkey.Error) bool { return errors.As(err, target) }

// createdKey is the one response that ever carries an ownkey API key.
type createdKey struct {
	*ownkey.APIKey
	Key string `json:"key"`
}

type createAccountRequest struct {
	Name    string      `json:"name"`
	Role    ownkey.Role `json:"role,omitempty"`
	KeyName string      `json:"key_name,omitempty"`
	// Metered is true unless the admin says otherwise: a new account pays
	// for its requests from its balance.
	Metered *bool `json:"metered,omitempty"`
}

func (s *Server) handleCreateAccount(w http.ResponseWriter, r *http.Request) {
	var req createAccountRequest
	if err := s.decodeJSON(r, &req); err != nil {
		Error(w, r, err)
		return
	}
	a := &ownkey.Account{Name: req.Name, Role: req.Role, Metered: req.Metered == nil || *req.Metered}
	plain, key, err := s.cfg.Accounts.CreateAccount(r.Context(), a, req.KeyName)
	if err != nil {
		Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"account": a, "api_key": createdKey{key, plain.Reveal()}})
}

func (s *Server) handleListAccounts(w http.ResponseWriter, r *http.Request) {
	as, err := s.cfg.Accounts.Accounts(r.Context())
	if err != nil {
		Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": as})
}

func (s *Server) handleGetAccount(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		Error(w, r, err)
		return
	}
	a, err := s.cfg.Accounts.Account(r.Context(), id)
	if err != nil {
		Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

func (s *Server) handleListAPIKeys(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		Error(w, r, err)
		return
	}
	if _, err := s.cfg.Accounts.Account(r.Context(), id); err != nil {
		Error(w, r, err)
		return
	}
	s.listAPIKeys(w, r, id)
}

func (s *Server) listAPIKeys(w http.ResponseWriter, r *http.Request, accountID int64) {
	ks, err := s.cfg.Accounts.APIKeys(r.Context(), accountID)
	if err != nil {
		Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": ks})
}

type createKeyRequest struct {
	Name string `json:"name"`
	// Limits are the key's daily limits:
	// {"usd_per_day": "5.00", "requests_per_day": 1000}.
	Limits json.RawMessage `json:"limits,omitempty"`
}

func (s *Server) handleCreateAPIKey(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		Error(w, r, err)
		return
	}
	s.createAPIKey(w, r, id)
}

func (s *Server) createAPIKey(w http.ResponseWriter, r *http.Request, accountID int64) {
	var req createKeyRequest
	if r.ContentLength != 0 {
		if err := s.decodeJSON(r, &req); err != nil {
			Error(w, r, err)
			return
		}
	}
	limits, err := ownkey.ParseAPIKeyLimitsUpdate("limits", req.Limits)
	if err != nil {
		Error(w, r, err)
		return
	}
	plain, key, err := s.cfg.Accounts.CreateAPIKey(r.Context(), accountID, req.Name, limits.Apply(ownkey.APIKeyLimits{}))
	if err != nil {
		Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, createdKey{key, plain.Reveal()})
}

func (s *Server) handleRevokeAPIKey(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		Error(w, r, err)
		return
	}
	s.revokeAPIKey(w, r, id)
}

func (s *Server) revokeAPIKey(w http.ResponseWriter, r *http.Request, accountID int64) {
	keyID, err := pathID(r, "key")
	if err != nil {
		Error(w, r, err)
		return
	}
	if err := s.cfg.Accounts.RevokeAPIKey(r.Context(), accountID, keyID); err != nil {
		Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "id": keyID, "revoked": true})
}

type updateKeyRequest struct {
	Limits json.RawMessage `json:"limits"`
}

func (s *Server) handleUpdateAPIKey(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		Error(w, r, err)
		return
	}
	s.updateAPIKey(w, r, id)
}

// updateAPIKey changes a key's daily limits: members of "limits" left out
// are kept, null removes a limit.
func (s *Server) updateAPIKey(w http.ResponseWriter, r *http.Request, accountID int64) {
	keyID, err := pathID(r, "key")
	if err != nil {
		Error(w, r, err)
		return
	}
	var req updateKeyRequest
	if err := s.decodeJSON(r, &req); err != nil {
		Error(w, r, err)
		return
	}
	if len(req.Limits) == 0 {
		Error(w, r, ownkey.FieldError("limits", `limits is required, e.g. {"usd_per_day": "5.00", "requests_per_day": null}`))
		return
	}
	u, err := ownkey.ParseAPIKeyLimitsUpdate("limits", req.Limits)
	if err != nil {
		Error(w, r, err)
		return
	}
	k, err := s.cfg.Accounts.SetAPIKeyLimits(r.Context(), accountID, keyID, u)
	if err != nil {
		Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, k)
}

type renameAccountRequest struct {
	Name string `json:"name"`
}

func (s *Server) handleRenameAccount(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		Error(w, r, err)
		return
	}
	var req renameAccountRequest
	if err := s.decodeJSON(r, &req); err != nil {
		Error(w, r, err)
		return
	}
	a, err := s.cfg.Accounts.RenameAccount(r.Context(), id, req.Name)
	if err != nil {
		Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) {
	p := ownkey.PrincipalFromContext(r.Context())
	a, err := s.cfg.Accounts.Account(r.Context(), p.Account.ID)
	if err != nil {
		Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"account": a, "api_key": p.APIKey})
}

func (s *Server) handleListOwnAPIKeys(w http.ResponseWriter, r *http.Request) {
	s.listAPIKeys(w, r, ownkey.PrincipalFromContext(r.Context()).Account.ID)
}

func (s *Server) handleCreateOwnAPIKey(w http.ResponseWriter, r *http.Request) {
	s.createAPIKey(w, r, ownkey.PrincipalFromContext(r.Context()).Account.ID)
}

func (s *Server) handleUpdateOwnAPIKey(w http.ResponseWriter, r *http.Request) {
	r.SetPathValue("key", r.PathValue("id"))
	s.updateAPIKey(w, r, ownkey.PrincipalFromContext(r.Context()).Account.ID)
}

func (s *Server) handleRevokeOwnAPIKey(w http.ResponseWriter, r *http.Request) {
	// The route names the key "id"; revokeAPIKey reads "key".
	r.SetPathValue("key", r.PathValue("id"))
	s.revokeAPIKey(w, r, ownkey.PrincipalFromContext(r.Context()).Account.ID)
}

func pathID(r *http.Request, name string) (int64, error) {
	v := r.PathValue(name)
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, ownkey.FieldError(name, "%s must be a positive integer id", name)
	}
	return id, nil
}
