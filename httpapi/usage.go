package httpapi

import (
	"encoding/csv"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ownkey/ownkey"
)

// The usage reports: GET /api/v1/usage sums the caller's ledger over a time
// range, in all and per day, model or provider; GET /api/v1/usage/export
// streams its entries as CSV. Both read the ledger (usage_records) through
// ownkey.UsageReporter.

// defaultUsageDays is the range when from is not given: 30 UTC days,
// today included.
const defaultUsageDays = 30

// usageQuery reads the query parameters both endpoints share (from, to,
// account_id) and the ones of the endpoint's own it names, refusing any
// other and any given twice, with errors naming the parameter.
func (s *Server) usageQuery(r *http.Request, own ...string) (ownkey.UsageQuery, url.Values, error) {
	var q ownkey.UsageQuery
	values := r.URL.Query()
	allowed := append([]string{"from", "to", "account_id"}, own...)
	for name, vs := range values {
		known := false
		for _, a := range allowed {
			known = known || name == a
		}
		if !known {
			return q, nil, ownkey.FieldError(safeParam(name), "unknown query parameter %q; this endpoint takes %s", safeParam(name), strings.Join(allowed, ", "))
		}
		if len(vs) > 1 {
			return q, nil, ownkey.FieldError(name, "query parameter %s is given %d times", name, len(vs))
		}
	}
	p := ownkey.PrincipalFromContext(r.Context())
	q.AccountID = p.Account.ID
	if v := values.Get("account_id"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		switch {
		case err != nil || id <= 0:
			return q, nil, ownkey.FieldError("account_id", "account_id must be a positive integer id")
		case id != p.Account.ID && !p.Account.IsAdmin():
			return q, nil, &ownkey.Error{Code: ownkey.EFORBIDDEN, Param: "account_id", Reason: "admin_required",
				Message: "only an admin may read another account's usage"}
		case id != p.Account.ID:
			if _, err := s.cfg.Accounts.Account(r.Context(), id); err != nil {
				return q, nil, err
			}
		}
		q.AccountID = id
	}
	tomorrow := ownkey.UTCDay(ownkey.Now()).AddDate(0, 0, 1)
	var err error
	if q.To, err = parseUsageTime("to", values.Get("to"), tomorrow, true); err != nil {
		return q, nil, err
	}
	if q.From, err = parseUsageTime("from", values.Get("from"), q.To.AddDate(0, 0, -defaultUsageDays), false); err != nil {
		return q, nil, err
	}
	if !q.From.Before(q.To) {
		return q, nil, ownkey.FieldError("from", "from (%s) must be before to (%s)", q.From.Format(time.RFC3339Nano), q.To.Format(time.RFC3339Nano))
	}
	return q, values, nil
}

// parseUsageTime reads a time parameter: an RFC 3339 time, or a date
// (YYYY-MM-DD, a UTC day). A date "to" means the end of that day, so that
// from=2025-03-01&to=2025-03-31 is all of March.
func parseUsageTime(param, v string, def time.Time, end bool) (time.Time, error) {
	if v == "" {
		return def, nil
	}
	if d, err := time.Parse(time.DateOnly, v); err == nil {
		if end {
			d = d.AddDate(0, 0, 1)
		}
		return d, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, ownkey.FieldError(param, "%s must be a date (2025-03-31, UTC) or an RFC 3339 time (2025-03-31T12:00:00Z)", param)
	}
	return t.UTC(), nil
}

// safeParam is a query parameter's name as an error may echo it: an
// unknown one could be anything, a pasted key included.
func safeParam(name string) string {
	if len(name) > 40 || redactPath("/"+name) != "/"+name {
		return "[redacted]"
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < 0x21 || c > 0x7e {
			return "[redacted]"
		}
	}
	return name
}

// usageTotalsView is UsageTotals on the wire: money as decimal strings of
// dollars with nine decimals (exact, as balances are).
type usageTotalsView struct {
	Requests         int64  `json:"requests"`
	PromptTokens     int64  `json:"prompt_tokens"`
	CompletionTokens int64  `json:"completion_tokens"`
	CachedTokens     int64  `json:"cached_tokens"`
	CacheWriteTokens int64  `json:"cache_write_tokens"`
	ReasoningTokens  int64  `json:"reasoning_tokens"`
	AtCostUSD        string `json:"at_cost_usd"`
	ChargedUSD       string `json:"charged_usd"`
}

func totalsView(t ownkey.UsageTotals) usageTotalsView {
	return usageTotalsView{
		Requests: t.Requests, PromptTokens: t.PromptTokens, CompletionTokens: t.CompletionTokens,
		CachedTokens: t.CachedTokens, CacheWriteTokens: t.CacheWriteTokens, ReasoningTokens: t.ReasoningTokens,
		AtCostUSD: ownkey.FormatUSD(t.AtCost), ChargedUSD: ownkey.FormatUSD(t.Charged),
	}
}

// usageBucketView names its key after the grouping: {"day": "2025-03-14",
// …}, {"model": …} or {"provider": …}.
type usageBucketView struct {
	Day      string `json:"day,omitempty"`
	Model    string `json:"model,omitempty"`
	Provider string `json:"provider,omitempty"`
	usageTotalsView
}

type usageReportView struct {
	Object    string               `json:"object"`
	AccountID int64                `json:"account_id"`
	From      time.Time            `json:"from"`
	To        time.Time            `json:"to"`
	GroupBy   ownkey.UsageGrouping `json:"group_by"`
	Totals    usageTotalsView      `json:"totals"`
	Data      []usageBucketView    `json:"data"`
}

func (s *Server) handleUsage(w http.ResponseWriter, r *http.Request) {
	q, values, err := s.usageQuery(r, "group_by")
	if err != nil {
		Error(w, r, err)
		return
	}
	by := ownkey.UsageGrouping(values.Get("group_by"))
	switch by {
	case "":
		by = ownkey.GroupByDay
	case ownkey.GroupByDay, ownkey.GroupByModel, ownkey.GroupByProvider:
	default:
		Error(w, r, ownkey.FieldError("group_by", "group_by must be day, model or provider"))
		return
	}
	totals, buckets, err := s.cfg.Reports.UsageReport(r.Context(), q, by)
	if err != nil {
		Error(w, r, err)
		return
	}
	view := usageReportView{Object: "usage", AccountID: q.AccountID, From: q.From, To: q.To, GroupBy: by,
		Totals: totalsView(totals), Data: make([]usageBucketView, len(buckets))}
	for i, b := range buckets {
		v := usageBucketView{usageTotalsView: totalsView(b.UsageTotals)}
		switch by {
		case ownkey.GroupByDay:
			v.Day = b.Key
		case ownkey.GroupByModel:
			v.Model = b.Key
		case ownkey.GroupByProvider:
			v.Provider = b.Key
		}
		view.Data[i] = v
	}
	writeJSON(w, http.StatusOK, view)
}

// usageCSVHeader is the export's header row: one column per field of a
// ledger entry.
var usageCSVHeader = []string{
	"request_id", "created_at", "account_id", "account_name", "api_key_id", "api_key_name",
	"provider", "model_requested", "model_served",
	"prompt_tokens", "cached_tokens", "cache_write_tokens", "completion_tokens", "reasoning_tokens", "usage_source",
	"at_cost_usd", "markup_rate", "charged_usd", "is_byok", "price_basis",
	"status", "error_code", "stream", "client_disconnected", "ttfb_ms", "upstream_latency_ms",
}

// exportFlushRows is how many rows are written between flushes to the
// client: the export is streamed, never held whole.
const exportFlushRows = 256

func (s *Server) handleUsageExport(w http.ResponseWriter, r *http.Request) {
	q, values, err := s.usageQuery(r, "format")
	if err != nil {
		Error(w, r, err)
		return
	}
	if f := values.Get("format"); f != "" && f != "csv" {
		Error(w, r, ownkey.FieldError("format", "format must be csv"))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="ownkey-usage-`+strconv.FormatInt(q.AccountID, 10)+`-`+
		q.From.Format("20060102T150405Z")+`-`+q.To.Format("20060102T150405Z")+`.csv"`)
	h.Set("Cache-Control", "no-store")
	flusher, _ := w.(http.Flusher)
	cw := csv.NewWriter(w)
	_ = cw.Write(usageCSVHeader)
	row := make([]string, len(usageCSVHeader))
	n := 0
	err = s.cfg.Reports.ExportUsage(r.Context(), q, func(e *ownkey.LedgerEntry) error {
		row = appendCSVRow(row[:0], e)
		if err := cw.Write(row); err != nil {
			return err
		}
		if n++; n%exportFlushRows == 0 {
			cw.Flush()
			if err := cw.Error(); err != nil {
				return err
			}
			if flusher != nil {
				flusher.Flush()
			}
		}
		return nil
	})
	cw.Flush()
	if err == nil {
		err = cw.Error()
	}
	if err != nil {
		// The status and some rows are out: end the response without its
		// proper end, so that the client sees a failed download rather
		// than a file that looks complete.
		logger(r).Warn("usage export stopped", "rows", n, "err", err.Error())
		panic(http.ErrAbortHandler)
	}
}

// appendCSVRow appends e's cells in usageCSVHeader's order. The cells that
// hold text a client chose (names, model ids) are made safe for
// spreadsheets (csvText).
func appendCSVRow(row []string, e *ownkey.LedgerEntry) []string {
	i64 := func(n int64) string { return strconv.FormatInt(n, 10) }
	u := e.Usage
	return append(row,
		csvText(e.RequestID), e.CreatedAt.UTC().Format("2006-01-02T15:04:05.000000Z"),
		i64(e.AccountID), csvText(e.AccountName), i64(e.APIKeyID), csvText(e.APIKeyName),
		csvText(e.Provider), csvText(e.ModelRequested), csvText(e.ModelServed),
		i64(u.PromptTokens), i64(u.CachedTokens), i64(u.CacheWriteTokens), i64(u.CompletionTokens), i64(u.ReasoningTokens),
		csvText(string(u.Source)),
		ownkey.FormatUSD(e.AtCost), formatRate(e.Markup), ownkey.FormatUSD(e.Charged), strconv.FormatBool(e.BYOK),
		csvText(string(e.PriceBasis)),
		strconv.Itoa(e.Status), csvText(e.ErrorCode), strconv.FormatBool(e.Stream), strconv.FormatBool(e.ClientDisconnected),
		millis(e.TTFB), millis(e.UpstreamLatency),
	)
}

// csvText defuses a cell that a spreadsheet would read as a formula (it
// starts, maybe after spaces, with =, +, -, @, a tab or a carriage
// return: OWASP's CSV injection list) by putting a ' before it, which
// spreadsheets show as text and do not display.
func csvText(s string) string {
	t := strings.TrimLeft(s, " ")
	if t != "" && strings.IndexByte("=+-@\t\r", t[0]) >= 0 {
		return "'" + s
	}
	return s
}

// formatRate writes a rate in parts per million as an exact decimal
// fraction: 50000 → "0.050000".
func formatRate(r ownkey.PPM) string { return string(ownkey.AppendFixed(nil, int64(r), 6)) }

// millis writes a duration stored in whole microseconds as milliseconds
// with three decimals, exactly.
func millis(d time.Duration) string { return string(ownkey.AppendFixed(nil, d.Microseconds(), 3)) }
