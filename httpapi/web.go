package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/ownkey/ownkey"
)

// Web search: POST /api/web (also /api/v1/web, and /api/v1/data/web/search
// as the product this reproduces names it), and the web-search request of
// a chat (a model's :online suffix, the body's webSearch object). The
// search itself is the ownkey.WebSearchService's.

// webRequest is POST /api/web's body. Fields it does not know are a 400
// naming them: a provider option ownkey does not pass on must not look as
// if it applied.
type webRequest struct {
	Query          *string  `json:"query"`
	Provider       string   `json:"provider"`
	Depth          string   `json:"depth"`
	MaxResults     *int     `json:"maxResults"`
	NumResults     *int     `json:"numResults"`
	IncludeDomains []string `json:"includeDomains"`
	ExcludeDomains []string `json:"excludeDomains"`
	FromDate       string   `json:"fromDate"`
	ToDate         string   `json:"toDate"`
	IncludeImages  bool     `json:"includeImages"`
	// OutputType: searchResults only (the product's sourcedAnswer and
	// structured are one provider's, which ownkey does not offer).
	OutputType string `json:"outputType"`
}

// webItem is one result as /api/web answers it: a text result
// {type, title, url, snippet, publishedAt} or an image
// {type, title, url, imageUrl, publishedAt}; publishedAt is null when the
// provider gave no date.
type webItem struct {
	Type        string  `json:"type"`
	Title       string  `json:"title"`
	URL         string  `json:"url"`
	Snippet     *string `json:"snippet,omitempty"`
	ImageURL    string  `json:"imageUrl,omitempty"`
	PublishedAt *string `json:"publishedAt"`
}

type webMetadata struct {
	Query      string `json:"query"`
	Provider   string `json:"provider"`
	Depth      string `json:"depth"`
	OutputType string `json:"outputType"`
	Timestamp  string `json:"timestamp"`
	// Cost is what the account was charged for the search, in USD, an
	// exact decimal number (the operator's fee; 0 by default).
	Cost json.RawMessage `json:"cost"`
}

type webResponse struct {
	Data     []webItem   `json:"data"`
	Metadata webMetadata `json:"metadata"`
}

// handleWeb serves POST /api/web: one search with the account's own key
// for the provider asked (or the first of tavily, exa, kagi, perplexity it
// holds one for), its results normalized across providers.
func (s *Server) handleWeb(w http.ResponseWriter, r *http.Request) {
	if s.cfg.WebSearch == nil {
		Error(w, r, ownkey.Errorf(ownkey.EUNAVAILABLE, "web search is not configured on this server"))
		return
	}
	var req webRequest
	if err := s.decodeJSON(r, &req); err != nil {
		Error(w, r, err)
		return
	}
	search, err := req.search()
	if err != nil {
		Error(w, r, err)
		return
	}
	res, err := s.cfg.WebSearch.Search(r.Context(), &ownkey.WebSearchCall{
		RequestID: RequestID(r.Context()), Principal: ownkey.PrincipalFromContext(r.Context()), Request: search,
	})
	if err != nil {
		Error(w, r, err)
		return
	}
	out := webResponse{Data: make([]webItem, 0, len(res.Results)), Metadata: webMetadata{
		Query: res.Query, Provider: res.Provider, Depth: res.Depth, OutputType: "searchResults",
		Timestamp: res.Timestamp.UTC().Format(time.RFC3339Nano),
		Cost:      ownkey.AppendDecimal(nil, int64(res.Charge.Charged), 9),
	}}
	for _, it := range res.Results {
		item := webItem{Type: it.Type, Title: it.Title, URL: it.URL}
		if it.Type == "image" {
			item.ImageURL = it.ImageURL
		} else {
			item.Snippet = &it.Snippet
		}
		if it.PublishedAt != "" {
			item.PublishedAt = &it.PublishedAt
		}
		out.Data = append(out.Data, item)
	}
	writeJSON(w, http.StatusOK, out)
}

// search checks the fields every provider reads the same way; the rest is
// the service's (the provider's limits).
func (req *webRequest) search() (ownkey.WebSearchRequest, error) {
	if req.Query == nil {
		return ownkey.WebSearchRequest{}, ownkey.FieldError("query", "query is required: the text to search the web for")
	}
	if req.OutputType != "" && req.OutputType != "searchResults" {
		return ownkey.WebSearchRequest{}, ownkey.FieldError("outputType", "outputType must be searchResults, the only output ownkey's search providers give")
	}
	n, err := resultCount("", req.MaxResults, req.NumResults)
	if err != nil {
		return ownkey.WebSearchRequest{}, err
	}
	return ownkey.WebSearchRequest{
		Query: *req.Query, Provider: req.Provider, Depth: req.Depth, MaxResults: n,
		IncludeDomains: req.IncludeDomains, ExcludeDomains: req.ExcludeDomains,
		FromDate: req.FromDate, ToDate: req.ToDate, IncludeImages: req.IncludeImages,
	}, nil
}

// resultCount reads maxResults and numResults (Exa's name), which mean the
// same: both given must agree. prefix is the fields' path ("webSearch.").
func resultCount(prefix string, maxResults, numResults *int) (int, error) {
	switch {
	case maxResults != nil && numResults != nil && *maxResults != *numResults:
		return 0, ownkey.FieldError(prefix+"numResults", "maxResults and numResults mean the same; they disagree")
	case maxResults != nil && *maxResults < 1:
		return 0, ownkey.FieldError(prefix+"maxResults", "maxResults must be at least 1")
	case numResults != nil && *numResults < 1:
		return 0, ownkey.FieldError(prefix+"numResults", "numResults must be at least 1")
	case maxResults != nil:
		return *maxResults, nil
	case numResults != nil:
		return *numResults, nil
	}
	return 0, nil
}

// chatWebSearch is a chat's webSearch object. Each member left out keeps
// what the model's suffix says; enabled defaults to true when the object
// is given, and false turns web search off whatever the suffix says: the
// body wins.
type chatWebSearch struct {
	Enabled        *bool    `json:"enabled"`
	Provider       *string  `json:"provider"`
	Depth          *string  `json:"depth"`
	MaxResults     *int     `json:"maxResults"`
	NumResults     *int     `json:"numResults"`
	IncludeDomains []string `json:"includeDomains"`
	ExcludeDomains []string `json:"excludeDomains"`
	FromDate       string   `json:"fromDate"`
	ToDate         string   `json:"toDate"`
}

// defaultChatResults is how many results a chat's search asks for when the
// client says nothing: enough to ground an answer, few enough that the
// context (and the prompt the account pays for) stays small.
const defaultChatResults = 5

// chatWebSearchOf reads a chat's web-search request from the model as
// sent (its :online suffix) and the body's webSearch member (obj, which
// may be absent): the model to route, and the search (nil for none). It
// runs only for a model with ":online" in it or a body with webSearch.
func chatWebSearchOf(model string, obj gjson.Result) (string, *ownkey.WebSearchRequest, error) {
	base, ws, err := ownkey.ParseOnlineModel(model)
	if err != nil {
		return "", nil, err
	}
	if ws != nil && ws.Provider != "" && !isSearchProvider(ws.Provider) {
		return "", nil, ownkey.FieldError("model", "the web search suffix names %q, which is not a web search provider (%s)", ws.Provider, searchProviderList())
	}
	if !obj.Exists() || obj.Type == gjson.Null {
		if ws != nil {
			ws.MaxResults = defaultChatResults
		}
		return base, ws, nil
	}
	if !obj.IsObject() {
		return "", nil, ownkey.FieldError("webSearch", `webSearch must be an object such as {"enabled":true,"provider":"tavily","depth":"standard","maxResults":5}`)
	}
	var body chatWebSearch
	dec := json.NewDecoder(bytes.NewReader([]byte(obj.Raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		e, _ := jsonError(err).(*ownkey.Error)
		if e == nil {
			e = ownkey.FieldError("webSearch", "webSearch is not valid")
		}
		if e.Param != "" {
			e.Param = "webSearch." + e.Param
			e.Message = "webSearch: " + e.Message
		} else {
			e.Param = "webSearch"
		}
		return "", nil, e
	}
	if body.Enabled != nil && !*body.Enabled {
		return base, nil, nil
	}
	if ws == nil {
		ws = &ownkey.WebSearchRequest{}
	}
	if body.Provider != nil {
		p := strings.ToLower(strings.TrimSpace(*body.Provider))
		if p != "" && !isSearchProvider(p) {
			return "", nil, ownkey.FieldError("webSearch.provider", "webSearch.provider must be a web search provider: %s", searchProviderList())
		}
		ws.Provider = p
	}
	if body.Depth != nil {
		ws.Depth = *body.Depth
	}
	n, err := resultCount("webSearch.", body.MaxResults, body.NumResults)
	if err != nil {
		return "", nil, err
	}
	ws.MaxResults = n
	if n == 0 {
		ws.MaxResults = defaultChatResults
	}
	ws.IncludeDomains, ws.ExcludeDomains = body.IncludeDomains, body.ExcludeDomains
	ws.FromDate, ws.ToDate = body.FromDate, body.ToDate
	return base, ws, nil
}

func isSearchProvider(id string) bool {
	p, ok := ownkey.LookupProvider(id)
	return ok && p.Kind == ownkey.KindWebSearch
}

func searchProviderList() string {
	var ids []string
	for _, p := range ownkey.WebSearchProviders() {
		ids = append(ids, p.ID)
	}
	return strings.Join(ids, ", ")
}
