package httpapi

import (
	"reflect"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/ownkey/ownkey"
)

// The model's suffix and the body's webSearch object: the body wins,
// member by member, and enabled:false turns search off.
func TestChatWebSearchOf(t *testing.T) {
	for _, c := range []struct {
		model, obj string
		routed     string
		want       *ownkey.WebSearchRequest
	}{
		{"gpt-4o", "", "gpt-4o", nil},
		{"gpt-4o:online", "", "gpt-4o", &ownkey.WebSearchRequest{MaxResults: 5}},
		{"gpt-4o:online/exa-neural", "", "gpt-4o", &ownkey.WebSearchRequest{Provider: "exa", Depth: "neural", MaxResults: 5}},
		{"gpt-4o", `{"enabled":true}`, "gpt-4o", &ownkey.WebSearchRequest{MaxResults: 5}},
		{"gpt-4o", `{"provider":"Kagi","maxResults":3}`, "gpt-4o", &ownkey.WebSearchRequest{Provider: "kagi", MaxResults: 3}},
		{"gpt-4o:online/tavily-deep", `{"provider":"exa","numResults":7,"includeDomains":["a.com"],"fromDate":"2025-01-01"}`, "gpt-4o",
			&ownkey.WebSearchRequest{Provider: "exa", Depth: "deep", MaxResults: 7, IncludeDomains: []string{"a.com"}, FromDate: "2025-01-01"}},
		{"gpt-4o:online/tavily", `{"enabled":false}`, "gpt-4o", nil},
		{"gpt-4o:online", `null`, "gpt-4o", &ownkey.WebSearchRequest{MaxResults: 5}},
	} {
		obj := gjson.Result{}
		if c.obj != "" {
			obj = gjson.Parse(c.obj)
		}
		routed, ws, err := chatWebSearchOf(c.model, obj)
		if err != nil || routed != c.routed || !reflect.DeepEqual(ws, c.want) {
			t.Errorf("%s %s: %q %+v %v, want %q %+v", c.model, c.obj, routed, ws, err, c.routed, c.want)
		}
	}
	for _, c := range []struct{ model, obj, param string }{
		{"gpt-4o:online/openai", "", "model"},
		{":online", "", "model"},
		{"gpt-4o", `[]`, "webSearch"},
		{"gpt-4o", `{"enabled":"yes"}`, "webSearch.enabled"},
		{"gpt-4o", `{"provider":"groq"}`, "webSearch.provider"},
		{"gpt-4o", `{"maxResults":2,"numResults":3}`, "webSearch.numResults"},
		{"gpt-4o", `{"maxResults":0}`, "webSearch.maxResults"},
		{"gpt-4o", `{"topic":"news"}`, "webSearch.topic"},
	} {
		obj := gjson.Result{}
		if c.obj != "" {
			obj = gjson.Parse(c.obj)
		}
		_, _, err := chatWebSearchOf(c.model, obj)
		if e, ok := err.(*ownkey.Error); !ok || e.Code != ownkey.EINVALID || e.Param != c.param {
			t.Errorf("%s %s: %v, want a 400 naming %s", c.model, c.obj, err, c.param)
		}
	}
}

// Deleting byok and webSearch together, wherever they sit, leaves valid
// JSON without either.
func TestDeleteMembers(t *testing.T) {
	for in, want := range map[string]string{
		`{"model":"m","messages":[1],"byok":{},"webSearch":{}}`:      `{"model":"m","messages":[1]}`,
		`{"byok":{}, "webSearch":{} ,"model":"m","messages":[1]}`:    `{"model":"m","messages":[1]}`,
		`{"byok":{},"model":"m","messages":[1],"webSearch":{}}`:      `{"model":"m","messages":[1]}`,
		`{"model":"m","byok":{},"messages":[1],"webSearch":{"a":1}}`: `{"model":"m","messages":[1]}`,
	} {
		f, err := parseChatBody([]byte(in), 0)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(routedBody([]byte(in), f, "m", false)); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
}
