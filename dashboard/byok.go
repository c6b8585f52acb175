package dashboard

import (
	"net/http"
	"strings"
	"time"

	"github.com/ownkey/ownkey"
)

// jsonPlaceholders are the JSON credentials' placeholders, exactly as the
// BYOK page ownkey reproduces shows them (../shared/reference/byok-page.txt).
var jsonPlaceholders = map[string]string{
	"aws":                     `{"accessKeyId":"...","secretAccessKey":"...","region":"us-east-1"}`,
	"azure":                   `{"endpoint":"https://<endpoint>","apiKey":"<key>","deploymentName":"<deployment>","apiVersion":"2024-10-21-preview"}`,
	"azure-responses":         `{"endpoint":"https://<endpoint>","apiKey":"<key>","apiVersion":"2024-10-21-preview"}`,
	"azure-anthropic-foundry": `{"endpoint":"https://<resource>.services.ai.azure.com/anthropic/","apiKey":"<key>"}`,
}

// webSearchNotes are the web-search rows' notes: these keys serve web search
// (/api/web and :online chat), never a chat model.
var webSearchNotes = map[string]string{
	"exa": "For web search only (neural and keyword search). Not a chat model provider.",
}

const webSearchNote = "For web search only. Not a chat model provider."

// keyRow is one provider's row on the BYOK page (or the admin's platform
// keys page): never the key, only its last four characters.
type keyRow struct {
	ID, Name    string
	Status      string // ownkey.StatusNotConfigured | StatusConfigured | StatusDisabled
	Suffix      string
	JSON        bool
	Placeholder string
	Fields      []ownkey.CredentialField
	Note        string
	UpdatedAt   *time.Time
	LastUsedAt  *time.Time
	// Disabled: the operator turned the provider off; a stored key can
	// still be removed.
	Disabled bool
	// Failure: the provider refuses the stored key (since when, its
	// status and message), until it is replaced or works again.
	Failure *ownkey.KeyFailure
}

// StatusText is the row's status as the page shows it.
func (k keyRow) StatusText() string { return statusText(k.Status, k.Suffix) }

// Configured reports whether a key is stored.
func (k keyRow) Configured() bool { return k.Suffix != "" }

// statusText is what a row's status says: "Not configured", "Configured
// ····abcd" (the key's last four characters) or "Disabled". The script
// writes the same words after a change (app.js statusText).
func statusText(status, suffix string) string {
	switch status {
	case ownkey.StatusConfigured:
		return "Configured ····" + suffix
	case ownkey.StatusDisabled:
		if suffix != "" {
			return "Disabled (key ····" + suffix + " kept)"
		}
		return "Disabled"
	}
	return "Not configured"
}

func rowOf(st *ownkey.KeyStatus) keyRow {
	p := st.Provider
	r := keyRow{ID: p.ID, Name: p.Name, Status: st.Status, Suffix: st.Suffix, JSON: p.Format == ownkey.FormatJSON,
		Fields: p.Fields, UpdatedAt: st.UpdatedAt, LastUsedAt: st.LastUsedAt, Disabled: st.Status == ownkey.StatusDisabled,
		Failure: st.Failure}
	if r.JSON {
		r.Placeholder = jsonPlaceholders[p.ID]
	} else if p.KeyHint != "" {
		r.Placeholder = p.KeyHint + "…"
	}
	if p.Kind == ownkey.KindWebSearch {
		r.Note = webSearchNote
		if n, ok := webSearchNotes[p.ID]; ok {
			r.Note = n
		}
	}
	return r
}

type byokPage struct {
	common
	Models      []keyRow
	Search      []keyRow
	ProviderIDs string
	BaseURL     string
	Markup      string
	Margin      string
}

func (d *Dashboard) handleBYOK(w http.ResponseWriter, r *http.Request, v *viewer) {
	sts, err := d.cfg.Vault.List(ctx(r), v.Principal.Account.ID)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	page := byokPage{common: d.common(v, "Bring Your Own Key (BYOK)", "byok"),
		ProviderIDs: strings.Join(ownkey.ModelProviderIDs(), " | "), BaseURL: d.baseURL(r),
		Markup: percent(d.cfg.Markup), Margin: percent(d.cfg.PlatformMargin)}
	for i := range sts {
		row := rowOf(&sts[i])
		if sts[i].Provider.Kind == ownkey.KindWebSearch {
			page.Search = append(page.Search, row)
		} else {
			page.Models = append(page.Models, row)
		}
	}
	d.render(w, r, http.StatusOK, "byok", page)
}
