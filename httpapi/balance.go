package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/ownkey/ownkey"
)

// balanceResponse is the shape of the product ownkey reproduces: the
// balance as a decimal string of dollars with 9 decimals.
type balanceResponse struct {
	USDBalance string `json:"usd_balance"`
}

// handleBalance serves GET /api/v1/balance and POST /api/check-balance:
// what the caller's account can spend.
func (s *Server) handleBalance(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Balances == nil {
		Error(w, r, billingOff())
		return
	}
	p := ownkey.PrincipalFromContext(r.Context())
	b, err := s.cfg.Balances.Balance(r.Context(), p.Account.ID)
	if err != nil {
		Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, balanceResponse{USDBalance: ownkey.FormatUSD(b)})
}

func billingOff() error {
	return &ownkey.Error{Code: ownkey.EUNAVAILABLE, Reason: "billing_off", Message: "this gateway keeps no balances"}
}

// adjustRequest is the body of a credit or debit: a positive amount of
// dollars, as a JSON string or number read exactly ("12.5", 12.5; at most 9
// decimals), and why.
type adjustRequest struct {
	AmountUSD json.RawMessage `json:"amount_usd"`
	Reason    string          `json:"reason"`
}

// handleCredit and handleDebit serve POST /api/admin/accounts/{id}/credit
// and /debit: an adjustment row and the balance change, in one transaction.
func (s *Server) handleCredit(w http.ResponseWriter, r *http.Request) { s.adjust(w, r, 1) }
func (s *Server) handleDebit(w http.ResponseWriter, r *http.Request)  { s.adjust(w, r, -1) }

func (s *Server) adjust(w http.ResponseWriter, r *http.Request, sign ownkey.NanoUSD) {
	if s.cfg.Balances == nil {
		Error(w, r, billingOff())
		return
	}
	id, err := pathID(r, "id")
	if err != nil {
		Error(w, r, err)
		return
	}
	var req adjustRequest
	if err := s.decodeJSON(r, &req); err != nil {
		Error(w, r, err)
		return
	}
	amount, err := parseAmount(req.AmountUSD)
	if err != nil {
		Error(w, r, err)
		return
	}
	p := ownkey.PrincipalFromContext(r.Context())
	adj := &ownkey.BalanceAdjustment{AccountID: id, Amount: sign * amount, Reason: req.Reason,
		Actor: "admin account " + strconv.FormatInt(p.Account.ID, 10) + " (API key " + strconv.FormatInt(p.APIKey.ID, 10) + ")"}
	after, err := s.cfg.Balances.AdjustBalance(r.Context(), adj)
	if err != nil {
		Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"usd_balance": ownkey.FormatUSD(after), "adjustment": adj,
	})
}

// parseAmount reads a positive amount of dollars from a JSON string or
// number, exactly.
func parseAmount(raw json.RawMessage) (ownkey.NanoUSD, error) {
	text := string(raw)
	var s string
	if json.Unmarshal(raw, &s) == nil {
		text = s
	}
	n, err := ownkey.ParseUSD("amount_usd", text)
	if err != nil || n <= 0 {
		return 0, ownkey.FieldError("amount_usd", "amount_usd must be a positive amount of dollars with at most 9 decimals, such as \"12.5\"")
	}
	return n, nil
}
