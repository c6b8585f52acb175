package chat

import (
	"context"
	"errors"
	"strings"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/websearch"
)

// online grounds a chat in a web search (call.WebSearch: the model's
// :online suffix or the body's webSearch object). It runs after routing
// and the key checks of the chat, before anything is reserved or sent to
// the model: the query comes from the conversation (websearch.ChatQuery),
// the search is the WebSearchService's (with its own ledger entry, under
// the chat's request id plus ownkey.WebSearchIDSuffix), the results go in
// as a system message (websearch.Context, websearch.Inject: a copy of
// body, so the pooled buffer of every other request is never touched), and
// the sink is told which sources the answer may cite. A search that fails
// fails the chat, before any model call; the search alone is billed.
func (s *Service) online(ctx context.Context, call *ownkey.ChatCall, body []byte) ([]byte, error) {
	if s.WebSearch == nil {
		return nil, &ownkey.Error{Code: ownkey.EINVALID, Param: "model", Reason: "web_search_unavailable",
			Message: "web search is not configured on this server; remove :online from the model (or webSearch from the body)"}
	}
	q, err := websearch.ChatQuery(body)
	if err != nil {
		return nil, err
	}
	r := *call.WebSearch
	r.Query = q
	res, err := s.WebSearch.Search(ctx, &ownkey.WebSearchCall{
		RequestID: call.RequestID + ownkey.WebSearchIDSuffix, Principal: call.Principal, Request: r,
	})
	if err != nil {
		return nil, searchError(err)
	}
	if cs, ok := call.Sink.(ownkey.CitingSink); ok {
		cs.Cite(res.Sources())
	}
	return websearch.Inject(body, websearch.Context(res)), nil
}

// searchError is a failed search as the chat's error. A missing search key
// is the client's request to fix (400 naming the key to add), not a server
// that cannot serve (503, as /api/web says); a field the provider refused
// is named where the chat gave it (webSearch.<field>); the rest keeps its
// status, code and Retry-After, said to be the search's.
func searchError(err error) error {
	var e *ownkey.Error
	if !errors.As(err, &e) {
		return err
	}
	out := *e
	switch {
	case e.Reason == ownkey.ReasonProviderKeyMissing:
		out.Code, out.Status, out.Reason, out.Param = ownkey.EINVALID, 0, "web_search_key_missing", "model"
		out.Message = "web search needs a search key: " + strings.TrimPrefix(e.Message, "Provider key missing: ")
	case e.Code == ownkey.EINVALID && e.Param != "" && !strings.HasPrefix(e.Param, "webSearch") && e.Param != "messages" && e.Param != "model":
		out.Param = "webSearch." + e.Param
		out.Message = "web search: " + e.Message
	default:
		out.Message = "web search failed: " + e.Message
	}
	return &out
}
