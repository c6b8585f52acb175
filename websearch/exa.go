package websearch

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider"
)

// Exa: the key in x-api-key; POST {base}/search. Exa has no free
// authenticated call for an ordinary key (its usage and team endpoints take
// a team-management service key, and Websets a paid Websets plan), so the
// key check is a one-result search, which Exa bills to the key's owner.
type Exa struct{ Upstream }

var (
	_ Searcher                = Exa{}
	_ provider.BilledKeyCheck = Exa{}
)

func (Exa) Wire() ownkey.WireFamily { return ownkey.WireExa }

func (Exa) Authorize(_ context.Context, req *http.Request, p *ownkey.Provider, c *ownkey.Credential, _ []byte) error {
	return provider.SetAPIKey(req, p, c, "X-Api-Key", "")
}

func (Exa) KeyCheck(_ *ownkey.Provider, _ *ownkey.Credential, base string, _ bool, _ string) (provider.KeyCheck, error) {
	return provider.PostCheck(base, "/search", `{"query":"ownkey key check","numResults":1}`), nil
}

func (Exa) KeyCheckCost() string {
	return "Exa has no free way to check a key: this check ran one one-result search, which Exa bills to the key's owner at its search price"
}

// exaTypes maps a depth to Exa's search type: standard and deep, and Exa's
// own types by name (as the :online/exa-neural suffix gives them).
var exaTypes = map[string]string{
	ownkey.DepthStandard: "auto", ownkey.DepthDeep: "deep",
	"auto": "auto", "neural": "neural", "keyword": "keyword", "fast": "fast",
}

// Check: depth standard (type auto), deep, or one of Exa's types (auto,
// neural, keyword, fast); 1 to 100 results; domain and date filters;
// images (a result's representative image).
func (Exa) Check(r *ownkey.WebSearchRequest) error {
	if _, ok := exaTypes[r.Depth]; !ok {
		return checkDepth(r, "Exa", "standard", "deep", "auto", "neural", "keyword", "fast")
	}
	return checkMaxResults(r, "Exa", 1, 100)
}

// exaRequest is Exa's search body. contents asks for each page's text, cut
// to the snippet's length: Exa returns none by default.
type exaRequest struct {
	Query              string      `json:"query"`
	Type               string      `json:"type"`
	NumResults         int         `json:"numResults,omitempty"`
	IncludeDomains     []string    `json:"includeDomains,omitempty"`
	ExcludeDomains     []string    `json:"excludeDomains,omitempty"`
	StartPublishedDate string      `json:"startPublishedDate,omitempty"`
	EndPublishedDate   string      `json:"endPublishedDate,omitempty"`
	Contents           exaContents `json:"contents"`
}

type exaContents struct {
	Text struct {
		MaxCharacters int `json:"maxCharacters"`
	} `json:"text"`
}

func (e Exa) Search(ctx context.Context, r *SearchRequest) (*SearchResult, error) {
	req := exaRequest{
		Query: r.Query, Type: exaTypes[r.Depth], NumResults: r.MaxResults,
		IncludeDomains: r.IncludeDomains, ExcludeDomains: r.ExcludeDomains,
	}
	// Exa takes ISO 8601 times: the whole of each day.
	if r.FromDate != "" {
		req.StartPublishedDate = r.FromDate + "T00:00:00.000Z"
	}
	if r.ToDate != "" {
		req.EndPublishedDate = r.ToDate + "T23:59:59.999Z"
	}
	req.Contents.Text.MaxCharacters = MaxSnippetChars
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	answer, err := e.do(ctx, e, r, http.MethodPost, "/search", body)
	if err != nil {
		return nil, err
	}
	res, err := parseExa(answer, r.IncludeImages)
	if err != nil {
		return nil, badAnswer(r.Provider, err.Error())
	}
	return res, nil
}

// parseExa reads Exa's answer: {results:[{title, url, publishedDate,
// text?, highlights?, summary?, image?}], costDollars:{total}}. The snippet
// is the summary, else the highlights, else the text. With images, each
// result's image follows the text results.
func parseExa(b []byte, images bool) (*SearchResult, error) {
	var a struct {
		Results []struct {
			Title         string   `json:"title"`
			URL           string   `json:"url"`
			PublishedDate string   `json:"publishedDate"`
			Text          string   `json:"text"`
			Highlights    []string `json:"highlights"`
			Summary       string   `json:"summary"`
			Image         string   `json:"image"`
		} `json:"results"`
		// Read apart: a price Exa writes oddly costs the search nothing
		// but its price.
		CostDollars json.RawMessage `json:"costDollars"`
	}
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, errUnreadable
	}
	var cost struct {
		Total json.Number `json:"total"`
	}
	_ = json.Unmarshal(a.CostDollars, &cost)
	res := &SearchResult{AtCost: dollars(cost.Total)}
	var imgs []ownkey.WebResult
	for _, r := range a.Results {
		snippet := r.Summary
		if snippet == "" {
			snippet = strings.Join(r.Highlights, " … ")
		}
		if snippet == "" {
			snippet = r.Text
		}
		w, ok := textResult(r.Title, r.URL, snippet, r.PublishedDate)
		if !ok {
			continue
		}
		res.Results = append(res.Results, w)
		if u := webURL(r.Image); images && u != "" {
			imgs = append(imgs, ownkey.WebResult{Type: "image", Title: w.Title, URL: w.URL, ImageURL: u, PublishedAt: w.PublishedAt})
		}
	}
	res.Results = append(res.Results, imgs...)
	return res, nil
}

// dollars reads a provider's price in USD exactly (no float), rounded up to
// the nano-dollar; 0 for none, a negative amount or anything unreadable.
func dollars(n json.Number) ownkey.NanoUSD {
	v, inexact, err := ownkey.ParseDecimal(string(n), 9)
	if err != nil || v < 0 {
		return 0
	}
	if inexact {
		v++
	}
	return ownkey.NanoUSD(v)
}
