package websearch

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider"
)

// Perplexity: a bearer key; POST {base}/search. The key check is GET
// {base}/async/chat/completions?limit=1, the key's list of asynchronous chat
// requests, which costs nothing.
type Perplexity struct {
	provider.Bearer
	Upstream
}

var _ Searcher = Perplexity{}

func (Perplexity) Wire() ownkey.WireFamily { return ownkey.WirePerplexity }

func (Perplexity) KeyCheck(_ *ownkey.Provider, _ *ownkey.Credential, base string, _ bool, _ string) (provider.KeyCheck, error) {
	return provider.GetCheck(base, "/async/chat/completions?limit=1"), nil
}

// perplexityMaxFilters bounds search_domain_filter, which holds the
// included and the excluded domains ("-" before an excluded one).
const perplexityMaxFilters = 20

// Check: one depth (standard), 1 to 20 results, domain filters (at most 20
// in all) and date filters; no images.
func (Perplexity) Check(r *ownkey.WebSearchRequest) error {
	if err := checkDepth(r, "Perplexity", ownkey.DepthStandard); err != nil {
		return err
	}
	if err := checkMaxResults(r, "Perplexity", 1, 20); err != nil {
		return err
	}
	if n := len(r.IncludeDomains) + len(r.ExcludeDomains); n > perplexityMaxFilters {
		return ownkey.FieldError("excludeDomains", "Perplexity takes at most %d domains in includeDomains and excludeDomains together; %d given", perplexityMaxFilters, n)
	}
	return unsupported(r, "Perplexity", true, true, false)
}

type perplexityRequest struct {
	Query        string   `json:"query"`
	MaxResults   int      `json:"max_results,omitempty"`
	DomainFilter []string `json:"search_domain_filter,omitempty"`
	AfterDate    string   `json:"search_after_date_filter,omitempty"`
	BeforeDate   string   `json:"search_before_date_filter,omitempty"`
}

func (p Perplexity) Search(ctx context.Context, r *SearchRequest) (*SearchResult, error) {
	req := perplexityRequest{Query: r.Query, MaxResults: r.MaxResults,
		AfterDate: perplexityDate(r.FromDate), BeforeDate: perplexityDate(r.ToDate)}
	req.DomainFilter = append(req.DomainFilter, r.IncludeDomains...)
	for _, d := range r.ExcludeDomains {
		req.DomainFilter = append(req.DomainFilter, "-"+d)
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	answer, err := p.do(ctx, p, r, http.MethodPost, "/search", body)
	if err != nil {
		return nil, err
	}
	res, err := parsePerplexity(answer)
	if err != nil {
		return nil, badAnswer(r.Provider, err.Error())
	}
	return res, nil
}

// perplexityDate writes a checked YYYY-MM-DD as Perplexity's filters take
// dates: MM/DD/YYYY.
func perplexityDate(d string) string {
	t, err := time.Parse(time.DateOnly, d)
	if err != nil {
		return ""
	}
	return t.Format("01/02/2006")
}

// parsePerplexity reads Perplexity's answer: {results:[{title, url,
// snippet, date?, last_updated?}], id}.
func parsePerplexity(b []byte) (*SearchResult, error) {
	var a struct {
		Results []struct {
			Title       string `json:"title"`
			URL         string `json:"url"`
			Snippet     string `json:"snippet"`
			Date        string `json:"date"`
			LastUpdated string `json:"last_updated"`
		} `json:"results"`
	}
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, errUnreadable
	}
	res := &SearchResult{}
	for _, r := range a.Results {
		date := r.Date
		if date == "" {
			date = r.LastUpdated
		}
		if w, ok := textResult(r.Title, r.URL, r.Snippet, date); ok {
			res.Results = append(res.Results, w)
		}
	}
	return res, nil
}
