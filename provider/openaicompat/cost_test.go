package openaicompat

import (
	"strconv"
	"testing"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider/providertest"
)

// testPricer prices at gpt-4o-mini's rates with the default markup, as the
// chat service's Pricer does (without estimating: these answers report
// usage).
type testPricer struct{ calls int }

var miniPrices = ownkey.Prices{Input: ownkey.PriceOf(150_000_000), CachedInput: ownkey.PriceOf(75_000_000), Output: ownkey.PriceOf(600_000_000)}

func (p *testPricer) Price(_ *ownkey.ChatRequest, res *ownkey.ChatResult) ownkey.Charge {
	if !res.Priced {
		p.calls++
		q := ownkey.Quote{Basis: ownkey.PriceCatalog, AtCost: miniPrices, MarkupBase: miniPrices}
		res.Charge, res.Priced = q.Charge(res.Usage, ownkey.DefaultBYOKMarkup), true
		res.Charge.BYOK = true
	}
	return res.Charge
}

func withPricer(p ownkey.Pricer) reqOpt { return func(r *ownkey.ChatRequest) { r.Pricer = p } }

// The cost goes into the provider's own usage object, its bytes otherwise
// relayed as they came: 16 prompt tokens of which 4 cached, 3 completion:
// 12×0.15 + 4×0.075 + 3×0.60 = 3.9 µ$ at cost = 3900 n$; 5% = 195 n$.
const oaCost = `,"cost":0.000000195,"is_byok":true,"is_estimated":false,"cost_details":{"upstream_inference_cost":0.0000039,"markup_rate":0.05}`

func TestPassThroughCost(t *testing.T) {
	t.Run("stream", func(t *testing.T) {
		up := providertest.NewUpstream(t, providertest.SSEReply(providertest.Frames(oaRole, oaHello, oaWorld, oaFinish, oaUsage, done)))
		p := &testPricer{}
		res, rec, err := run(t, chatRequest(t, base(up), withUsage, withPricer(p)))
		if err != nil {
			t.Fatal(err)
		}
		usageOut := `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000001,"model":"gpt-x-2025","choices":[],"usage":` +
			oaUsageU[:len(oaUsageU)-1] + oaCost + `}}`
		if got, want := rec.Body.String(), providertest.Frames(oaRole, oaHello, oaWorld, oaFinish, usageOut, done); got != want {
			t.Fatalf("client got:\n%s\nwant:\n%s", got, want)
		}
		if !res.Priced || res.Charge.Charged != 195 || res.Charge.AtCost != 3900 || p.calls != 1 {
			t.Fatalf("result %+v, priced %d times", res, p.calls)
		}
	})
	t.Run("stream without the usage chunk", func(t *testing.T) {
		// Nothing is written: the chat service prices it after.
		up := providertest.NewUpstream(t, providertest.SSEReply(providertest.Frames(oaRole, oaHello, oaWorld, oaFinish, oaUsage, done)))
		p := &testPricer{}
		res, rec, err := run(t, chatRequest(t, base(up), withPricer(p)))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := rec.Body.String(), providertest.Frames(oaRole, oaHello, oaWorld, oaFinish, done); got != want || res.Priced {
			t.Fatalf("client got:\n%s\nwant:\n%s (priced %v)", got, want, res.Priced)
		}
	})
	t.Run("whole answer", func(t *testing.T) {
		const (
			head = `{"id":"chatcmpl-9","object":"chat.completion","created":1,"model":"gpt-x-2025",` +
				`"choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}],` +
				`"usage": {"prompt_tokens":16,"completion_tokens":3,"prompt_tokens_details":{"cached_tokens":4}}`
			tail = ` , "system_fingerprint":"fp"}`
		)
		up := providertest.NewUpstream(t, providertest.JSONReply(200, head+tail))
		res, rec, err := run(t, chatRequest(t, base(up), nonStream, withPricer(&testPricer{})))
		if err != nil {
			t.Fatal(err)
		}
		want := head[:len(head)-1] + oaCost + `}` + tail
		if got := rec.Body.String(); got != want || rec.Header().Get("Content-Length") != strconv.Itoa(len(want)) {
			t.Fatalf("client got %v:\n%s\nwant:\n%s", rec.Header(), got, want)
		}
		if res.Charge.Charged != 195 {
			t.Fatalf("charge %+v", res.Charge)
		}
	})
	t.Run("whole answer without usage", func(t *testing.T) {
		const body = `{"id":"chatcmpl-9","object":"chat.completion","created":1,"model":"gpt-x-2025","choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}]}`
		up := providertest.NewUpstream(t, providertest.JSONReply(200, body))
		res, rec, err := run(t, chatRequest(t, base(up), nonStream, withPricer(&testPricer{})))
		if err != nil || rec.Body.String() != body || res.Priced {
			t.Fatalf("client got %s (%v), priced %v", rec.Body.String(), err, res.Priced)
		}
	})
	t.Run("translated", func(t *testing.T) {
		// Another client dialect: the sink's End gets the cost.
		up := providertest.NewUpstream(t, providertest.SSEReply(providertest.Frames(oaRole, oaHello, oaFinish, oaUsage, done)))
		rec := &providertest.Recorder{}
		res, err := testAdapter().Chat(t.Context(), chatRequest(t, base(up), withPricer(&testPricer{})), rec)
		if err != nil {
			t.Fatal(err)
		}
		if last := rec.Calls[len(rec.Calls)-2]; last != "end stop 16/3 cost 195/3900" || res.Charge.Charged != 195 {
			t.Fatalf("sink got %q", rec.Calls)
		}
	})
}
