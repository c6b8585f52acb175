package prices

import (
	"encoding/json"

	"github.com/ownkey/ownkey"
)

// openRouterModels is what an import reads of OpenRouter's GET
// /api/v1/models: per model its id and per-token USD prices as decimal
// strings (kept as JSON text, never decoded into a float).
type openRouterModels struct {
	Data []json.RawMessage `json:"data"`
}

type openRouterModel struct {
	ID      string `json:"id"`
	Pricing struct {
		Prompt            json.RawMessage `json:"prompt"`
		Completion        json.RawMessage `json:"completion"`
		InputCacheRead    json.RawMessage `json:"input_cache_read"`
		InputCacheWrite   json.RawMessage `json:"input_cache_write"`
		InternalReasoning json.RawMessage `json:"internal_reasoning"`
	} `json:"pricing"`
}

// parseOpenRouter reads OpenRouter's model list into prices of provider
// openrouter, under OpenRouter's ids (google/gemini-2.5-pro,
// deepseek/deepseek-chat-v3-0324:free). A price of "-1" (the auto router:
// the routed model's price) is no price; "0" for cache or reasoning is "not
// priced apart" (see importer.prices). Request, image and web-search prices
// are per call, not per token, and are not modelled.
func parseOpenRouter(data []byte) ([]ownkey.ModelPrice, Report, error) {
	im := newImporter(FormatOpenRouter, ownkey.PriceFromOpenRouter)
	var list openRouterModels
	if err := json.Unmarshal(data, &list); err != nil || list.Data == nil {
		return nil, im.report, ownkey.Errorf(ownkey.EINVALID, "the openrouter price table must be the JSON of GET /api/v1/models: an object with a data array")
	}
	for _, raw := range list.Data {
		im.report.Entries++
		var m openRouterModel
		if err := json.Unmarshal(raw, &m); err != nil || m.ID == "" {
			im.report.SkippedInvalid++
			continue
		}
		pr := m.Pricing
		p, ok := im.prices(pr.Prompt, pr.InputCacheRead, pr.InputCacheWrite, pr.Completion, pr.InternalReasoning)
		if !ok {
			continue
		}
		im.add("openrouter", m.ID, "", p)
	}
	rows, report := im.finish()
	return rows, report, nil
}
