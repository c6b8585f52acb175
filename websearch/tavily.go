package websearch

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider"
)

// Tavily: a bearer key; POST {base}/search. The key check is GET
// {base}/usage, the key's credit usage, which costs nothing.
type Tavily struct {
	provider.Bearer
	Upstream
}

var _ Searcher = Tavily{}

func (Tavily) Wire() ownkey.WireFamily { return ownkey.WireTavily }

func (Tavily) KeyCheck(_ *ownkey.Provider, _ *ownkey.Credential, base string, _ bool, _ string) (provider.KeyCheck, error) {
	return provider.GetCheck(base, "/usage"), nil
}

// Check: depth standard (search_depth basic) or deep (advanced), 1 to 20
// results, domain and date filters, images.
func (Tavily) Check(r *ownkey.WebSearchRequest) error {
	if err := checkDepth(r, "Tavily", ownkey.DepthStandard, ownkey.DepthDeep); err != nil {
		return err
	}
	return checkMaxResults(r, "Tavily", 1, 20)
}

// tavilyRequest is Tavily's search body; what the client left out is left
// out, so that Tavily's defaults apply.
type tavilyRequest struct {
	Query          string   `json:"query"`
	SearchDepth    string   `json:"search_depth"`
	MaxResults     int      `json:"max_results,omitempty"`
	IncludeDomains []string `json:"include_domains,omitempty"`
	ExcludeDomains []string `json:"exclude_domains,omitempty"`
	StartDate      string   `json:"start_date,omitempty"`
	EndDate        string   `json:"end_date,omitempty"`
	IncludeImages  bool     `json:"include_images,omitempty"`
}

func (t Tavily) Search(ctx context.Context, r *SearchRequest) (*SearchResult, error) {
	depth := "basic"
	if r.Depth == ownkey.DepthDeep {
		depth = "advanced"
	}
	body, err := json.Marshal(tavilyRequest{
		Query: r.Query, SearchDepth: depth, MaxResults: r.MaxResults,
		IncludeDomains: r.IncludeDomains, ExcludeDomains: r.ExcludeDomains,
		StartDate: r.FromDate, EndDate: r.ToDate, IncludeImages: r.IncludeImages,
	})
	if err != nil {
		return nil, err
	}
	answer, err := t.do(ctx, t, r, http.MethodPost, "/search", body)
	if err != nil {
		return nil, err
	}
	res, err := parseTavily(answer)
	if err != nil {
		return nil, badAnswer(r.Provider, err.Error())
	}
	return res, nil
}

// parseTavily reads Tavily's answer: {results:[{title, url, content,
// published_date?}], images:[url | {url, description}]}. Images come after
// the text results.
func parseTavily(b []byte) (*SearchResult, error) {
	var a struct {
		Results []struct {
			Title         string `json:"title"`
			URL           string `json:"url"`
			Content       string `json:"content"`
			PublishedDate string `json:"published_date"`
		} `json:"results"`
		Images []json.RawMessage `json:"images"`
	}
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, errUnreadable
	}
	res := &SearchResult{}
	for _, r := range a.Results {
		if w, ok := textResult(r.Title, r.URL, r.Content, r.PublishedDate); ok {
			res.Results = append(res.Results, w)
		}
	}
	for _, raw := range a.Images {
		var img struct {
			URL         string `json:"url"`
			Description string `json:"description"`
		}
		if json.Unmarshal(raw, &img.URL) != nil && json.Unmarshal(raw, &img) != nil {
			continue
		}
		if u := webURL(img.URL); u != "" {
			res.Results = append(res.Results, ownkey.WebResult{Type: "image", Title: clip(img.Description), URL: u, ImageURL: u})
		}
	}
	return res, nil
}
