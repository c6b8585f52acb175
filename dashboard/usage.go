package dashboard

import (
	"math/bits"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/ownkey/ownkey"
)

// usageDays are the ranges the usage page offers, in UTC days (today
// included); the first is the default.
var usageDays = []int{30, 7, 90}

// recentRows is how many of the newest requests the usage page lists.
const recentRows = 50

// chartMetric is what the chart's bars measure.
type chartMetric string

const (
	metricCharged chartMetric = "charged" // what ownkey charged the balance
	metricAtCost  chartMetric = "at_cost" // what the providers bill
)

type usagePage struct {
	common
	Days       int
	DayChoices []int
	Metric     chartMetric
	From, To   string // the range as dates, To included
	Balance    string
	HasBalance bool
	Metered    bool
	Totals     ownkey.UsageTotals
	Chart      chart
	Models     []ownkey.UsageBucket
	Recent     []recentRow
	ExportURL  string
}

// recentRow is one request as the usage page lists it.
type recentRow struct {
	ownkey.LedgerEntry
	Source string // reported | estimated | none
}

func sourceText(s ownkey.UsageSource) string {
	switch s {
	case ownkey.UsageFromProvider:
		return "reported"
	case ownkey.UsageEstimated:
		return "estimated"
	}
	return "none"
}

func (d *Dashboard) handleUsage(w http.ResponseWriter, r *http.Request, v *viewer) {
	days := usageDays[0]
	if n, err := strconv.Atoi(r.URL.Query().Get("days")); err == nil && slices.Contains(usageDays, n) {
		days = n
	}
	metric := metricCharged
	if chartMetric(r.URL.Query().Get("metric")) == metricAtCost {
		metric = metricAtCost
	}
	acct := v.Principal.Account
	to := ownkey.UTCDay(ownkey.Now()).AddDate(0, 0, 1)
	q := ownkey.UsageQuery{AccountID: acct.ID, From: to.AddDate(0, 0, -days), To: to}
	page := usagePage{common: d.common(v, "Usage", "usage"), Days: days, DayChoices: usageDays, Metric: metric,
		From: q.From.Format(time.DateOnly), To: to.AddDate(0, 0, -1).Format(time.DateOnly), Metered: acct.Metered}
	page.ExportURL = "/api/v1/usage/export?format=csv&from=" + page.From + "&to=" + page.To
	if d.cfg.Balances != nil {
		b, err := d.cfg.Balances.Balance(ctx(r), acct.ID)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		page.Balance, page.HasBalance = usd(b), true
	}
	totals, models, err := d.cfg.Reports.UsageReport(ctx(r), q, ownkey.GroupByModel)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	// The dearest models first.
	slices.SortStableFunc(models, func(a, b ownkey.UsageBucket) int { return compareNano(b.Charged, a.Charged) })
	page.Totals, page.Models = totals, models
	segments, err := d.cfg.History.UsageByDayAndProvider(ctx(r), q)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	page.Chart = buildChart(q.From, days, segments, metric)
	recent, err := d.cfg.History.RecentUsage(ctx(r), acct.ID, recentRows)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	for _, e := range recent {
		page.Recent = append(page.Recent, recentRow{LedgerEntry: e, Source: sourceText(e.Usage.Source)})
	}
	d.render(w, r, http.StatusOK, "usage", page)
}

func compareNano(a, b ownkey.NanoUSD) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// The chart's geometry, in SVG user units (the SVG scales to the page).
const (
	chartWidth  = 720
	chartHeight = 240
	plotLeft    = 8
	plotTop     = 24
	plotHeight  = 180
	plotWidth   = chartWidth - 2*plotLeft
)

// chart is the spend chart, drawn on the server as SVG: one bar per UTC
// day, stacked by provider.
type chart struct {
	Width, Height int
	Bars          []chartBar
	Legend        []legendEntry
	Max           string // the top of the scale, as money
	Total         string
	Empty         bool
	BaseY         int
	Ticks         []chartTick
	Summary       string // for screen readers
}

type chartBar struct {
	Day      string
	Total    string
	Segments []chartSegment
}

type chartSegment struct {
	X, Y, W, H int
	Hue        string
	Title      string
}

type legendEntry struct {
	Provider, Name, Hue, Total string
}

type chartTick struct {
	X     int
	Label string
}

// buildChart lays out days bars from from: each day's segments stacked in
// one provider order (the legend's: the dearest provider first), heights
// in proportion to the amounts, worked out in integers (128-bit products)
// so that no amount passes through a float.
func buildChart(from time.Time, days int, segments []ownkey.DayProviderUsage, metric chartMetric) chart {
	amount := func(t ownkey.UsageTotals) ownkey.NanoUSD {
		if metric == metricAtCost {
			return t.AtCost
		}
		return t.Charged
	}
	inRange := map[string]bool{}
	for i := 0; i < days; i++ {
		inRange[from.AddDate(0, 0, i).Format(time.DateOnly)] = true
	}
	perDay := map[string][]ownkey.DayProviderUsage{}
	perProvider := map[string]ownkey.NanoUSD{}
	var providers []string
	for _, s := range segments {
		if !inRange[s.Day] {
			continue
		}
		perDay[s.Day] = append(perDay[s.Day], s)
		if _, ok := perProvider[s.Provider]; !ok {
			providers = append(providers, s.Provider)
		}
		perProvider[s.Provider] += amount(s.UsageTotals)
	}
	slices.SortStableFunc(providers, func(a, b string) int { return compareNano(perProvider[b], perProvider[a]) })
	order := map[string]int{}
	for i, p := range providers {
		order[p] = i
	}
	var dayTotals []ownkey.NanoUSD
	var max, total ownkey.NanoUSD
	for i := 0; i < days; i++ {
		var t ownkey.NanoUSD
		for _, s := range perDay[from.AddDate(0, 0, i).Format(time.DateOnly)] {
			t += amount(s.UsageTotals)
		}
		dayTotals = append(dayTotals, t)
		total += t
		if t > max {
			max = t
		}
	}
	c := chart{Width: chartWidth, Height: chartHeight, Max: usd(max), Total: usd(total), Empty: max <= 0,
		BaseY: plotTop + plotHeight}
	slot := plotWidth / days
	barW := slot * 3 / 4
	if barW < 1 {
		barW = 1
	}
	scale := func(n ownkey.NanoUSD) int { // n × plotHeight / max, rounded down
		if max <= 0 || n <= 0 {
			return 0
		}
		hi, lo := bits.Mul64(uint64(n), plotHeight)
		q, _ := bits.Div64(hi, lo, uint64(max))
		return int(q)
	}
	for i := 0; i < days; i++ {
		day := from.AddDate(0, 0, i).Format(time.DateOnly)
		bar := chartBar{Day: day, Total: usd(dayTotals[i])}
		segs := slices.Clone(perDay[day])
		slices.SortFunc(segs, func(a, b ownkey.DayProviderUsage) int { return order[a.Provider] - order[b.Provider] })
		// Stacked from the baseline up: each segment's top is the running
		// sum's height, so rounding never makes a bar taller than its total.
		var below ownkey.NanoUSD
		x := plotLeft + i*slot + (slot-barW)/2
		for _, s := range segs {
			a := amount(s.UsageTotals)
			if a <= 0 {
				continue
			}
			y0, y1 := scale(below), scale(below+a)
			below += a
			h := y1 - y0
			if h < 1 {
				h = 1 // a segment too small to draw still shows
			}
			bar.Segments = append(bar.Segments, chartSegment{X: x, Y: c.BaseY - y0 - h, W: barW, H: h, Hue: hue(s.Provider),
				Title: day + " · " + providerName(s.Provider) + ": " + usd(a) + " (" + count(s.Requests) + " requests)"})
		}
		c.Bars = append(c.Bars, bar)
	}
	for _, p := range providers {
		c.Legend = append(c.Legend, legendEntry{Provider: p, Name: providerName(p), Hue: hue(p), Total: usd(perProvider[p])})
	}
	for _, i := range []int{0, days / 2, days - 1} {
		c.Ticks = append(c.Ticks, chartTick{X: plotLeft + i*slot + slot/2, Label: from.AddDate(0, 0, i).Format("Jan 2")})
	}
	what := "charged"
	if metric == metricAtCost {
		what = "at cost"
	}
	c.Summary = "Spend " + what + " per day over " + strconv.Itoa(days) + " days, stacked by provider: " + c.Total +
		" in all, at most " + c.Max + " a day."
	return c
}

// providerName is a provider's display name (its id if the catalog has
// none: a record of a provider since removed).
func providerName(id string) string {
	if p, ok := ownkey.LookupProvider(id); ok {
		return p.Name
	}
	return id
}
