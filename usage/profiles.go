package usage

// The makers' profiles (see profile). ESTIMATE.md shows what each is
// measured against.
var profiles = []profile{
	{family: "openai", textPermille: 1000, perMessage: 3, perName: 1, perToolCall: 3, base: 3,
		compactTools: true, toolsBase: 12, perTool: 10, perProperty: 3, perEnum: 3,
		outPerToolCall: 8, outBase: 1, image: openAIImage},
	{family: "openai-cl100k", textPermille: 1200, perMessage: 3, perName: 1, perToolCall: 3, base: 3,
		compactTools: true, toolsBase: 12, perTool: 10, perProperty: 3, perEnum: 3,
		outPerToolCall: 8, outBase: 1, image: openAIImage},
	{family: "openai-reasoning", textPermille: 1000, perMessage: 3, perName: 1, perToolCall: 3, base: 3,
		compactTools: true, toolsBase: 12, perTool: 10, perProperty: 3, perEnum: 3,
		outPerToolCall: 8, outBase: 11, image: openAIImage},
	{family: "openai-oss", textPermille: 1000, perMessage: 4, perName: 1, perToolCall: 4, base: 110,
		toolsBase: 30, outPerToolCall: 10, outBase: 14, image: openAIImage},
	{family: "anthropic", textPermille: 1200, perMessage: 2, perName: 1, perToolCall: 15, base: 2,
		toolPrompt: anthropicToolPrompt, reasoningBase: 30,
		outPerToolCall: 60, outBase: 4, image: anthropicImage},
	{family: "anthropic-4.7", textPermille: 1620, perMessage: 2, perName: 1, perToolCall: 15, base: 2,
		toolPrompt: anthropicToolPrompt, reasoningBase: 30,
		outPerToolCall: 60, outBase: 4, image: anthropicImage},
	{family: "google", textPermille: 1050, perMessage: 1, perName: 1, perToolCall: 3, base: 0,
		compactTools: true, toolPrompt: geminiToolPrompt, perTool: 3, perProperty: 1, perEnum: 1,
		outPerToolCall: 8, outBase: 2, image: geminiImage},
	{family: "meta", textPermille: 1050, perMessage: 5, perName: 1, perToolCall: 5, base: 26,
		toolsBase: 60, outPerToolCall: 14, outBase: 2, image: anyImage},
	{family: "mistral", textPermille: 1150, perMessage: 1, perName: 1, perToolCall: 5, base: 1,
		toolsBase: 5, outPerToolCall: 20, outBase: 2, image: mistralImage},
	{family: "deepseek", textPermille: 1050, perMessage: 1, perName: 1, perToolCall: 5, base: 4,
		toolsBase: 60, outPerToolCall: 15, outBase: 2, image: anyImage},
	{family: "alibaba", textPermille: 1050, perMessage: 5, perName: 1, perToolCall: 5, base: 3,
		toolsBase: 100, outPerToolCall: 15, outBase: 2, image: anyImage},
	{family: "moonshotai", textPermille: 1050, perMessage: 5, perName: 1, perToolCall: 5, base: 20,
		toolsBase: 100, outPerToolCall: 15, outBase: 2, image: anyImage},
	{family: "xai", textPermille: 1050, perMessage: 4, perName: 1, perToolCall: 5, base: 4,
		toolsBase: 60, outPerToolCall: 15, outBase: 2, image: anyImage},
	{family: "amazon", textPermille: 1050, perMessage: 0, perName: 1, perToolCall: 5, base: 1,
		toolsBase: 60, outPerToolCall: 15, outBase: 2, image: anyImage},
	{family: "perplexity", textPermille: 1050, perMessage: 4, perName: 1, perToolCall: 5, base: 4,
		toolsBase: 60, outPerToolCall: 15, outBase: 2, image: anyImage},
}

// unknownProfile is for makers without a profile of their own.
var unknownProfile = profile{family: "", textPermille: 1350, perMessage: 6, perName: 2, perToolCall: 15, base: 40,
	toolsBase: 150, outPerToolCall: 60, outBase: 4, image: anyImage}

// anthropicToolPrompt is the tool-use system prompt Anthropic adds to a
// request with tools (docs.claude.com, "Tool use with Claude", pricing):
// by model, for tool_choice auto or none, and for any or a named tool.
func anthropicToolPrompt(m *modelInfo, c *promptCount) int64 {
	auto, forced := int64(346), int64(570)
	switch {
	case hasModelPrefix(m.canonical, "claude-3-opus"):
		auto, forced = 530, 281
	case hasModelPrefix(m.canonical, "claude-3-sonnet"):
		auto, forced = 159, 235
	case hasModelPrefix(m.canonical, "claude-3-haiku"), hasModelPrefix(m.canonical, "claude-3-5-haiku"):
		auto, forced = 264, 340
	}
	if c.forcedTool {
		return forced
	}
	return auto
}

// geminiToolPrompt is what function declarations cost on top of their
// text: nothing measurable on Gemini 2, about 50 tokens on Gemini 3
// (ESTIMATE.md).
func geminiToolPrompt(m *modelInfo, _ *promptCount) int64 {
	if geminiBefore3(m.canonical) {
		return 0
	}
	return 50
}
