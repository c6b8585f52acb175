package dashboard

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/ownkey/ownkey"
)

// The admin pages read through the same services as the admin API, and
// change things through it (app.js): accounts and their API keys, credits
// and debits, platform keys. Providers' enabled state is the operator's
// configuration (OWNKEY_DISABLED_PROVIDERS) and shown as such.

type accountRow struct {
	*ownkey.Account
	Balance string
}

type accountsPage struct {
	common
	Accounts []accountRow
}

// balanceOf is an account's balance as money, or "" when the server keeps
// none.
func (d *Dashboard) balanceOf(r *http.Request, id int64) (string, error) {
	if d.cfg.Balances == nil {
		return "", nil
	}
	b, err := d.cfg.Balances.Balance(ctx(r), id)
	if err != nil {
		return "", err
	}
	return usd(b), nil
}

func (d *Dashboard) handleAccounts(w http.ResponseWriter, r *http.Request, v *viewer) {
	as, err := d.cfg.Accounts.Accounts(ctx(r))
	if err != nil {
		d.fail(w, r, err)
		return
	}
	page := accountsPage{common: d.common(v, "Accounts", "admin")}
	for _, a := range as {
		b, err := d.balanceOf(r, a.ID)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		page.Accounts = append(page.Accounts, accountRow{Account: a, Balance: b})
	}
	d.render(w, r, http.StatusOK, "accounts", page)
}

type accountPage struct {
	common
	Target  *ownkey.Account
	Balance string
	Keys    []*ownkey.APIKey
	// Own is the viewer's own account: revoking the key signed in with
	// ends this session.
	Own       bool
	SessionID int64
}

func (d *Dashboard) handleAccount(w http.ResponseWriter, r *http.Request, v *viewer) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		d.fail(w, r, ownkey.FieldError("id", "the account id must be a positive integer"))
		return
	}
	a, err := d.cfg.Accounts.Account(ctx(r), id)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	keys, err := d.cfg.Accounts.APIKeys(ctx(r), id)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	b, err := d.balanceOf(r, id)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	d.render(w, r, http.StatusOK, "account", accountPage{common: d.common(v, "Account "+a.Name, "admin"),
		Target: a, Balance: b, Keys: keys, Own: id == v.Principal.Account.ID, SessionID: v.Principal.APIKey.ID})
}

type providersPage struct {
	common
	Rows      []providerRow
	HasKeys   bool // the server has platform keys
	MarginPct string
}

// providerRow is a provider as the admin sees it: enabled or not, and the
// platform's key for it (last four characters only).
type providerRow struct {
	Row      keyRow
	Kind     ownkey.ProviderKind
	Enabled  bool
	Platform bool // a platform key is stored
}

func (d *Dashboard) handleProviders(w http.ResponseWriter, r *http.Request, v *viewer) {
	page := providersPage{common: d.common(v, "Providers and platform keys", "admin"), HasKeys: d.cfg.Platform != nil,
		MarginPct: percent(d.cfg.PlatformMargin)}
	var sts []ownkey.KeyStatus
	if d.cfg.Platform != nil {
		var err error
		if sts, err = d.cfg.Platform.ListPlatform(ctx(r)); err != nil {
			d.fail(w, r, err)
			return
		}
	}
	byID := map[string]*ownkey.KeyStatus{}
	for i := range sts {
		byID[sts[i].Provider.ID] = &sts[i]
	}
	for i := range ownkey.Catalog {
		p := &ownkey.Catalog[i]
		st, ok := byID[p.ID]
		if !ok {
			st = &ownkey.KeyStatus{Provider: p, Status: ownkey.StatusNotConfigured}
		}
		row := providerRow{Row: rowOf(st), Kind: p.Kind, Enabled: !d.cfg.Vault.Disabled(p.ID), Platform: st.Suffix != ""}
		page.Rows = append(page.Rows, row)
	}
	d.render(w, r, http.StatusOK, "providers", page)
}

type pricesPage struct {
	common
	Provider  string
	Query     string
	Providers []*ownkey.Provider
	Results   []priceRow
	More      int // matches beyond the ones shown
	Searched  bool
	Markup    string
}

type priceRow struct {
	ownkey.ModelEntry
	Source                                            string
	Input, Output, CachedInput, CacheWrite, Reasoning string
}

// maxPriceRows bounds a lookup's listing.
const maxPriceRows = 200

func priceText(p ownkey.Price) string {
	if !p.Known {
		return "—"
	}
	return perMTok(p.PerMTok)
}

func (d *Dashboard) handlePrices(w http.ResponseWriter, r *http.Request, v *viewer) {
	q := r.URL.Query()
	page := pricesPage{common: d.common(v, "Price catalog", "admin"), Provider: q.Get("provider"),
		Query: strings.TrimSpace(q.Get("q")), Markup: percent(d.cfg.Markup)}
	for i := range ownkey.Catalog {
		if ownkey.Catalog[i].Kind == ownkey.KindModel {
			page.Providers = append(page.Providers, &ownkey.Catalog[i])
		}
	}
	if page.Provider != "" || page.Query != "" {
		page.Searched = true
		catalog := ownkey.ActiveModels()
		if d.cfg.Prices != nil {
			catalog = d.cfg.Prices.Catalog()
		}
		needle := strings.ToLower(page.Query)
		for _, e := range catalog.Entries() {
			if page.Provider != "" && e.Provider != page.Provider {
				continue
			}
			if needle != "" && !strings.Contains(strings.ToLower(e.Model), needle) && !strings.Contains(e.Canonical, needle) {
				continue
			}
			if len(page.Results) == maxPriceRows {
				page.More++
				continue
			}
			row := priceRow{ModelEntry: e, Input: priceText(e.Prices.Input), Output: priceText(e.Prices.Output),
				CachedInput: priceText(e.Prices.CachedInput), CacheWrite: priceText(e.Prices.CacheWrite),
				Reasoning: priceText(e.Prices.Reasoning)}
			if d.cfg.Prices != nil {
				row.Source = d.cfg.Prices.Source(e.Provider, e.Model)
			}
			page.Results = append(page.Results, row)
		}
	}
	d.render(w, r, http.StatusOK, "prices", page)
}
