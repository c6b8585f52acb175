package ownkey

import (
	"context"
	"time"
)

// Role decides what an account may do. Admins manage accounts and keys of
// others through /api/admin; users manage only their own.
type Role string

const (
	RoleAdmin Role = "admin"
	RoleUser  Role = "user"
)

// Account is a tenant of the gateway: it owns API keys, provider credentials
// and a balance from which the markup is taken.
type Account struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	Role Role   `json:"role"`
	// Balance is what the account can spend: its balance plus what the
	// replicas' balance leases hold of it unspent.
	Balance NanoUSD `json:"balance_nano_usd"`
	// Metered accounts pay for their requests from Balance (a request
	// the balance cannot cover gets 402); an unmetered one is served
	// without a balance, its requests priced but not charged. The zero
	// value is unmetered: callers creating an account for a user say so.
	Metered   bool      `json:"metered"`
	CreatedAt time.Time `json:"created_at"`
}

// Validate checks the fields a caller can set.
func (a *Account) Validate() error {
	name, err := ValidateName("name", a.Name)
	if err != nil {
		return err
	} else if name == "" {
		return FieldError("name", "name is required")
	}
	a.Name = name
	switch a.Role {
	case "":
		a.Role = RoleUser
	case RoleAdmin, RoleUser:
	default:
		return FieldError("role", "role must be %q or %q", RoleAdmin, RoleUser)
	}
	return nil
}

// IsAdmin reports whether the account may use the admin API.
func (a *Account) IsAdmin() bool { return a != nil && a.Role == RoleAdmin }

type accountContextKey struct{}

// PrincipalKey is the context key the principal is found under. A context
// type of its own may answer it (httpapi's request context keeps the
// principal with the rest of the request's state, rather than adding a
// context and a request copy per request to carry it).
var PrincipalKey any = accountContextKey{}

// NewContextWithAccount returns ctx carrying the authenticated account.
func NewContextWithAccount(ctx context.Context, a *Account, k *APIKey) context.Context {
	return context.WithValue(ctx, accountContextKey{}, &Principal{Account: a, APIKey: k})
}

// PrincipalFromContext returns who is calling, or nil.
func PrincipalFromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(accountContextKey{}).(*Principal)
	return p
}

// Principal is an authenticated caller: the account and the key it used.
type Principal struct {
	Account *Account
	APIKey  *APIKey
}
