package websearch

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider"
)

// Kagi: Authorization: Bot <key>; GET {base}/v0/search?q=…&limit=… with the
// base https://kagi.com/api. Kagi has no free authenticated call (every API
// call is metered), so the key check is a one-result search, which Kagi
// bills to the key's owner.
type Kagi struct{ Upstream }

var (
	_ Searcher                = Kagi{}
	_ provider.BilledKeyCheck = Kagi{}
)

func (Kagi) Wire() ownkey.WireFamily { return ownkey.WireKagi }

func (Kagi) Authorize(_ context.Context, req *http.Request, p *ownkey.Provider, c *ownkey.Credential, _ []byte) error {
	return provider.SetAPIKey(req, p, c, "Authorization", "Bot ")
}

func (Kagi) KeyCheck(_ *ownkey.Provider, _ *ownkey.Credential, base string, _ bool, _ string) (provider.KeyCheck, error) {
	return provider.GetCheck(base, "/v0/search?q=ownkey&limit=1"), nil
}

func (Kagi) KeyCheckCost() string {
	return "Kagi has no free way to check a key: this check ran one one-result search, which Kagi bills to the key's owner at its search price"
}

// kagiMaxResults is ownkey's bound on limit: Kagi documents none, and a
// page of results is about this many.
const kagiMaxResults = 20

// Check: one depth (standard), 1 to 20 results, and nothing else: Kagi's
// search API takes a query and a limit only.
func (Kagi) Check(r *ownkey.WebSearchRequest) error {
	if err := checkDepth(r, "Kagi", ownkey.DepthStandard); err != nil {
		return err
	}
	if err := checkMaxResults(r, "Kagi", 1, kagiMaxResults); err != nil {
		return err
	}
	return unsupported(r, "Kagi", false, false, false)
}

func (k Kagi) Search(ctx context.Context, r *SearchRequest) (*SearchResult, error) {
	q := url.Values{"q": {r.Query}}
	if r.MaxResults > 0 {
		q.Set("limit", strconv.Itoa(r.MaxResults))
	}
	answer, err := k.do(ctx, k, r, http.MethodGet, "/v0/search?"+q.Encode(), nil)
	if err != nil {
		return nil, err
	}
	res, kerr := parseKagi(answer)
	if kerr != nil {
		return nil, kagiError(r, kerr)
	}
	return res, nil
}

// kagiAnswerError is the error list a Kagi answer carries in place of data,
// even with a 2xx status.
type kagiAnswerError struct {
	code int
	msg  string
	// unreadable: the answer is not Kagi's envelope at all.
	unreadable bool
}

// parseKagi reads Kagi's envelope: {meta, data:[{t:0, url, title,
// snippet?, published?} | {t:1, list} (related searches, skipped)],
// error?:[{code, msg}]}.
func parseKagi(b []byte) (*SearchResult, *kagiAnswerError) {
	var a struct {
		Data []struct {
			T         int    `json:"t"`
			URL       string `json:"url"`
			Title     string `json:"title"`
			Snippet   string `json:"snippet"`
			Published string `json:"published"`
		} `json:"data"`
		Error []struct {
			Code int    `json:"code"`
			Msg  string `json:"msg"`
		} `json:"error"`
	}
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, &kagiAnswerError{unreadable: true}
	}
	if len(a.Error) > 0 {
		return nil, &kagiAnswerError{code: a.Error[0].Code, msg: a.Error[0].Msg}
	}
	res := &SearchResult{}
	for _, d := range a.Data {
		if d.T != 0 {
			continue
		}
		if w, ok := textResult(d.Title, d.URL, d.Snippet, d.Published); ok {
			res.Results = append(res.Results, w)
		}
	}
	return res, nil
}

// kagiError is the client's error for an error list in a 2xx answer, with
// the status Kagi's code stands for: 2 unauthorized (401), 100 no billing
// and 101 insufficient credit (402), 1 malformed (400), else 502.
func kagiError(r *SearchRequest, k *kagiAnswerError) error {
	if k.unreadable {
		return badAnswer(r.Provider, errUnreadable.Error())
	}
	status := http.StatusBadGateway
	switch k.code {
	case 1:
		status = http.StatusBadRequest
	case 2:
		status = http.StatusUnauthorized
	case 100, 101:
		status = http.StatusPaymentRequired
	}
	body, _ := json.Marshal(map[string]string{"message": k.msg})
	return upstreamError(r, status, nil, body)
}
