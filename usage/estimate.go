package usage

import "github.com/ownkey/ownkey"

// Estimate is the usage of a request whose provider reported none, biased
// upward: the prompt tokens of body (the OpenAI chat completions request as
// sent upstream) and the completion tokens of what res says the answer
// delivered (ChatResult.OutputBytes, OutputSample, OutputToolCalls), as
// model's maker counts them (see profileFor). The rules are in
// docs/ARCHITECTURE.md ("Usage estimates"); how close they come is in
// usage/ESTIMATE.md.
//
// Reasoning a provider keeps hidden (OpenAI's reasoning models, Gemini's
// thinking) is billed but never delivered, so no estimate from what was
// delivered can include it.
func Estimate(model string, body []byte, res *ownkey.ChatResult) ownkey.Usage {
	m := modelInfoOf(model)
	p := profileFor(&m)
	return ownkey.Usage{
		PromptTokens:     p.prompt(&m, body),
		CompletionTokens: p.completion(res.OutputSample, res.OutputBytes, int64(res.OutputToolCalls)),
		Source:           ownkey.UsageEstimated,
	}
}

// prompt estimates the prompt tokens of body.
func (p *profile) prompt(m *modelInfo, body []byte) int64 {
	c := countPrompt(m, p, body)
	if c.whole {
		return p.scale(c.text.total())
	}
	n := p.scale(c.text.total())
	n = satAdd(n, c.messages*p.perMessage+c.names*p.perName+c.toolCalls*p.perToolCall+p.base)
	if c.tools > 0 {
		base := p.toolsBase
		if p.toolPrompt != nil {
			base = p.toolPrompt(m, c)
		}
		n = satAdd(n, base+c.tools*p.perTool+c.props*p.perProperty+c.enums*p.perEnum)
	}
	if c.reasoning {
		n = satAdd(n, p.reasoningBase)
	}
	return satAdd(n, c.media)
}

// completion estimates the completion tokens of an answer of totalBytes
// bytes of text (content, reasoning, tool names and arguments), of which
// sample is the start, and toolCalls tool calls. Past the sample, text is
// counted at the sample's rate, rounding up; with no sample, at one token
// per two bytes.
func (p *profile) completion(sample []byte, totalBytes, toolCalls int64) int64 {
	c := textCounter{budget: len(sample), work: TokenizeWork}
	c.add(view(sample))
	if rest := totalBytes - int64(len(sample)); rest > 0 {
		if len(sample) == 0 {
			c.addLength(int(min(rest, int64(^uint(0)>>1))))
		} else {
			c.tokens = mulDivCeil(c.tokens, totalBytes, int64(len(sample)))
		}
	}
	n := p.scale(c.total())
	return satAdd(n, toolCalls*p.outPerToolCall+p.outBase)
}

// scale applies the maker's tokenizer margin, rounding up.
func (p *profile) scale(n int64) int64 {
	if n <= 0 {
		return 0
	}
	if p.textPermille == 1000 {
		return n
	}
	return mulDivCeil(n, p.textPermille, 1000)
}
