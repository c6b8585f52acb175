package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/ownkey/ownkey"
)

// The admin API of the platform's keys: the operator's own provider keys,
// used for requests the BYOK switch sends to them. Shown like the BYOK
// page's rows (the last four characters at most, never the key); only
// admins reach these routes, and no user route reaches these keys.

// platformKeys is the service, or a 503 when the server has none.
func (s *Server) platformKeys(w http.ResponseWriter, r *http.Request) ownkey.PlatformKeyService {
	if s.cfg.Platform == nil {
		Error(w, r, ownkey.Errorf(ownkey.EUNAVAILABLE, "platform keys are not available on this server"))
	}
	return s.cfg.Platform
}

// platformKeyViews are the BYOK page's rows of the platform's keys, or
// false once an error was written.
func (s *Server) platformKeyViews(w http.ResponseWriter, r *http.Request) ([]providerKeyView, bool) {
	svc := s.platformKeys(w, r)
	if svc == nil {
		return nil, false
	}
	sts, err := svc.ListPlatform(r.Context())
	if err != nil {
		Error(w, r, err)
		return nil, false
	}
	return viewsOf(sts), true
}

func (s *Server) handleListPlatformKeys(w http.ResponseWriter, r *http.Request) {
	if views, ok := s.platformKeyViews(w, r); ok {
		writeJSON(w, http.StatusOK, map[string]any{"keys": views})
	}
}

func (s *Server) handleGetPlatformKey(w http.ResponseWriter, r *http.Request) {
	views, ok := s.platformKeyViews(w, r)
	if !ok {
		return
	}
	for _, v := range views {
		if v.Provider == r.PathValue("provider") {
			writeJSON(w, http.StatusOK, v)
			return
		}
	}
	// Not echoed: a key pasted into the path must not come back.
	Error(w, r, ownkey.FieldError("provider", "unknown provider"))
}

type putPlatformKeyRequest struct {
	Key json.RawMessage `json:"key"`
}

func (s *Server) handlePutPlatformKey(w http.ResponseWriter, r *http.Request) {
	svc := s.platformKeys(w, r)
	if svc == nil {
		return
	}
	var req putPlatformKeyRequest
	if err := s.decodeJSON(r, &req); err != nil {
		Error(w, r, err)
		return
	}
	st, err := svc.PutPlatform(r.Context(), r.PathValue("provider"), req.Key)
	if err != nil {
		Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Success bool `json:"success"`
		providerKeyView
	}{true, viewOf(st)})
}

func (s *Server) handleDeletePlatformKey(w http.ResponseWriter, r *http.Request) {
	svc := s.platformKeys(w, r)
	if svc == nil {
		return
	}
	provider := r.PathValue("provider")
	if err := svc.DeletePlatform(r.Context(), provider); err != nil {
		Error(w, r, err) // an unknown provider is not echoed unless it looks like an id
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "provider": provider})
}
