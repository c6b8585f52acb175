package prices

import (
	"encoding/json"
	"regexp"
	"strings"

	"github.com/ownkey/ownkey"
)

// litellmProvider says how LiteLLM's entries of one litellm_provider become
// ownkey prices.
type litellmProvider struct {
	// ids are the ownkey providers its chat models are priced for;
	// responsesIDs those of its Responses-only models (mode "responses").
	ids, responsesIDs []string
	// prefixed: its keys start with "<litellm_provider>/", stripped to
	// give the model id; a key without it is not a model (LiteLLM's
	// size-class price tiers, such as together-ai-4.1b-8b). Otherwise the
	// key is the model id, the prefix stripped if present.
	prefixed bool
	// flat: its model ids hold no '/', so one after the prefix is a
	// regional price (azure/eu/…, bedrock/us-east-1/…): skipped, the
	// global price is kept.
	flat bool
	// only keeps the models whose id starts with it (Foundry's Claude).
	only string
	// bedrock: the canonical id is worked out of Bedrock's model id.
	bedrock bool
}

// litellmProviders maps LiteLLM's litellm_provider names to ownkey's
// providers. LiteLLM has no chutes, siliconflow, meganova, akash or
// morpheus; its other providers have no ownkey provider and are skipped.
var litellmProviders = map[string]litellmProvider{
	"openai":            {ids: []string{"openai", "openai-responses"}, responsesIDs: []string{"openai-responses"}},
	"anthropic":         {ids: []string{"anthropic"}},
	"azure":             {ids: []string{"azure", "azure-responses"}, responsesIDs: []string{"azure-responses"}, prefixed: true, flat: true},
	"azure_ai":          {ids: []string{"azure-anthropic-foundry"}, prefixed: true, flat: true, only: "claude-"},
	"bedrock":           {ids: []string{"aws"}, flat: true, bedrock: true},
	"bedrock_converse":  {ids: []string{"aws"}, flat: true, bedrock: true},
	"gemini":            {ids: []string{"google"}, flat: true},
	"groq":              {ids: []string{"groq"}, prefixed: true},
	"sambanova":         {ids: []string{"sambanova"}, prefixed: true},
	"cerebras":          {ids: []string{"cerebras"}, prefixed: true},
	"deepinfra":         {ids: []string{"deepinfra"}, prefixed: true},
	"hyperbolic":        {ids: []string{"hyperbolic"}, prefixed: true},
	"novita":            {ids: []string{"novita"}, prefixed: true},
	"zai":               {ids: []string{"zai"}, prefixed: true},
	"fireworks_ai":      {ids: []string{"fireworks"}, prefixed: true},
	"together_ai":       {ids: []string{"together"}, prefixed: true},
	"vercel_ai_gateway": {ids: []string{"vercel"}, prefixed: true},
	"openrouter":        {ids: []string{"openrouter"}, prefixed: true},
	"gmi":               {ids: []string{"gmicloud"}, prefixed: true},
	"nvidia_nim":        {ids: []string{"nvidia"}, prefixed: true},
}

// litellmEntry is what an import reads of one LiteLLM entry: prices are
// kept as the JSON text, never decoded into a float.
type litellmEntry struct {
	Provider        string          `json:"litellm_provider"`
	Mode            string          `json:"mode"`
	Input           json.RawMessage `json:"input_cost_per_token"`
	Output          json.RawMessage `json:"output_cost_per_token"`
	CacheRead       json.RawMessage `json:"cache_read_input_token_cost"`
	CacheWrite      json.RawMessage `json:"cache_creation_input_token_cost"`
	OutputReasoning json.RawMessage `json:"output_cost_per_reasoning_token"`
}

// parseLiteLLM reads LiteLLM's model_prices_and_context_window.json: an
// object keyed by model id (often "<litellm_provider>/<model>"), each entry
// with litellm_provider, mode and per-token USD prices. Chat models (mode
// chat; Responses-only models for the Responses providers) of the mapped
// providers are kept; standard-tier prices only (not batch, flex, priority,
// above-200K or regional prices), and fine-tune prices (ft:…) are not
// models.
func parseLiteLLM(data []byte) ([]ownkey.ModelPrice, Report, error) {
	im := newImporter(FormatLiteLLM, ownkey.PriceFromLiteLLM)
	var table map[string]json.RawMessage
	if err := json.Unmarshal(data, &table); err != nil {
		return nil, im.report, ownkey.Errorf(ownkey.EINVALID, "the litellm price table must be a JSON object of models: %v", err)
	}
	for _, key := range sortedKeys(table) {
		raw := table[key]
		if len(raw) == 0 || raw[0] != '{' {
			continue // metadata, such as last_updated
		}
		im.report.Entries++
		var e litellmEntry
		if err := json.Unmarshal(raw, &e); err != nil {
			im.report.SkippedInvalid++
			continue
		}
		lp, ok := litellmProviders[e.Provider]
		if !ok {
			im.report.SkippedProvider++
			continue
		}
		ids := lp.ids
		switch e.Mode {
		case "chat":
		case "responses":
			ids = lp.responsesIDs
		default:
			ids = nil
		}
		if len(ids) == 0 {
			im.report.SkippedMode++
			continue
		}
		model, ok := strings.CutPrefix(key, e.Provider+"/")
		switch {
		case !strings.HasPrefix(model, lp.only):
			im.report.SkippedProvider++
			continue
		case lp.prefixed && !ok, lp.flat && strings.Contains(model, "/"), strings.HasPrefix(model, "ft:"):
			im.report.SkippedVariant++
			continue
		}
		p, ok := im.prices(e.Input, e.CacheRead, e.CacheWrite, e.Output, e.OutputReasoning)
		if !ok {
			continue
		}
		canonical := ""
		if lp.bedrock {
			canonical = BedrockCanonical(model)
		}
		for _, id := range ids {
			im.add(id, model, canonical, p)
		}
	}
	rows, report := im.finish()
	return rows, report, nil
}

var (
	// bedrockGeo is the geography of a cross-region inference profile.
	bedrockGeo = regexp.MustCompile(`^(global|us|us-gov|eu|apac|jp|au|ca)\.`)
	// bedrockVersion is the version suffix of a Bedrock model id:
	// -v1:0, -v2, -1:0, :0.
	bedrockVersion = regexp.MustCompile(`(-v\d+(:\d+)?|-\d+:\d+|:\d+)$`)
)

// BedrockCanonical is the canonical id of a Bedrock model id: without the
// inference profile's geography, the vendor and the version
// (us.anthropic.claude-sonnet-4-5-20250929-v1:0 is claude-sonnet-4-5,
// openai.gpt-oss-120b-1:0 is gpt-oss-120b), so that it meets the same model
// at other providers. An id that leaves too little (deepseek.v3) keeps
// Canonicalize's id, which meets nothing else.
func BedrockCanonical(model string) string {
	id := bedrockGeo.ReplaceAllString(model, "")
	if _, rest, ok := strings.Cut(id, "."); ok {
		id = rest
	}
	id = ownkey.Canonicalize(bedrockVersion.ReplaceAllString(id, ""))
	if !strings.Contains(id, "-") {
		return ownkey.Canonicalize(model)
	}
	return id
}
