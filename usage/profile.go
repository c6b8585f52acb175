package usage

import (
	"strings"

	"github.com/ownkey/ownkey"
)

// modelInfo is what the estimator knows of the model that answered.
type modelInfo struct {
	family    string // see familyOf; "" when unknown
	canonical string // ownkey.Canonicalize of the model id
}

func modelInfoOf(model string) modelInfo {
	c := ownkey.Canonicalize(model)
	return modelInfo{family: familyOf(c), canonical: c}
}

// familyOf names the family of models that count tokens alike, from a
// canonical id: mostly the maker, by the names makers give their models
// (ownkey.MakerOf knows only the makers that are also providers; here the
// tokenizer's maker matters, whoever serves the model), and apart where a
// maker's models differ.
func familyOf(c string) string {
	switch {
	case strings.Contains(c, "claude"):
		if claudeBefore47(c) {
			return "anthropic"
		}
		// Opus 4.7 brought a tokenizer that counts up to 35% more.
		return "anthropic-4.7"
	case strings.Contains(c, "gpt-oss"):
		return "openai-oss"
	case ownkey.MakerOf(c) == "openai", strings.HasPrefix(c, "codex"), strings.HasPrefix(c, "computer-use"):
		switch {
		case containsAny(c[:min(len(c), 3)], "o1", "o3", "o4") || strings.HasPrefix(c, "gpt-5") || strings.Contains(c, "codex"):
			// The reasoning models answer in channels whose framing
			// counts as output.
			return "openai-reasoning"
		case strings.HasPrefix(c, "gpt-3.5"), c == "gpt-4", strings.HasPrefix(c, "gpt-4-"):
			// cl100k_base models.
			return "openai-cl100k"
		}
		return "openai"
	case strings.Contains(c, "gemini"), strings.Contains(c, "gemma"):
		return "google"
	case strings.Contains(c, "llama"):
		return "meta"
	case containsAny(c, "mistral", "mixtral", "codestral", "pixtral", "ministral", "magistral", "devstral", "voxtral"):
		return "mistral"
	case strings.Contains(c, "deepseek"):
		return "deepseek"
	case containsAny(c, "qwen", "qwq"):
		return "alibaba"
	case strings.Contains(c, "grok"):
		return "xai"
	case containsAny(c, "kimi", "moonshot"):
		return "moonshotai"
	case strings.Contains(c, "glm"):
		return "zai"
	case strings.HasPrefix(c, "nova-"), strings.Contains(c, "amazon.nova"):
		return "amazon"
	case strings.HasPrefix(c, "sonar"):
		return "perplexity"
	}
	return ""
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// hasModelPrefix reports whether model is name or a variant of it
// (name followed by '-' or '.'), so that gpt-4o does not take in
// gpt-4o-mini's rule but gpt-4o-mini-2024-07-18 does.
func hasModelPrefix(model, name string) bool {
	if !strings.HasPrefix(model, name) {
		return false
	}
	rest := model[len(name):]
	return rest == "" || rest[0] == '-' || rest[0] == '.' || rest[0] == ':'
}

// claudeBefore47 reports whether a Claude model is of the generations
// before Opus 4.7 (Claude 3.x, and 4 up to 4.6), which read smaller images.
// An id that does not show its generation counts as new: the larger cost.
func claudeBefore47(c string) bool {
	i := strings.Index(c, "claude-")
	if i < 0 {
		return false
	}
	// The first number after "claude-": claude-3-7-sonnet, claude-sonnet-4-5.
	s := c[i+len("claude-"):]
	j := strings.IndexFunc(s, isDigit)
	if j < 0 {
		return false
	}
	major, rest := leadingNumber(s[j:])
	switch {
	case major <= 3:
		return true
	case major > 4:
		return false
	}
	minor := 0
	if strings.HasPrefix(rest, "-") || strings.HasPrefix(rest, ".") {
		minor, _ = leadingNumber(rest[1:])
	}
	return minor <= 6
}

// geminiBefore3 reports whether a Gemini model is of a generation before 3
// (an id without one counts as 3: the larger cost).
func geminiBefore3(c string) bool {
	i := strings.Index(c, "gemini-")
	if i < 0 {
		return false
	}
	major, _ := leadingNumber(c[i+len("gemini-"):])
	return 1 <= major && major <= 2
}

func isDigit(r rune) bool { return '0' <= r && r <= '9' }

// leadingNumber reads the decimal number s starts with (0 if none, capped
// far above any version) and returns what follows.
func leadingNumber(s string) (int, string) {
	n, i := 0, 0
	for ; i < len(s) && isDigit(rune(s[i])); i++ {
		n = min(n*10+int(s[i]-'0'), 1<<20)
	}
	return n, s[i:]
}

// profile is how one family of models counts a request and an answer,
// relative to what the walk counts with o200k_base. The numbers are the
// makers' documented framing where there is one, else calibrated on the
// recorded traffic in ESTIMATE.md (usage/estimate_measure_test.go), always
// rounded up.
type profile struct {
	family string
	// textPermille scales o200k_base's count of text to the maker's
	// tokenizer, per thousand: its margin for a less efficient tokenizer.
	textPermille int64
	// Prompt framing: per message (on top of its role, counted as text),
	// per message name, per tool call in the history, and once per
	// request (the reply's priming, a default system prompt).
	perMessage, perName, perToolCall, base int64
	// compactTools: the maker renders tool schemas in a syntax of its own
	// (OpenAI's TypeScript-like namespace) rather than as JSON, so their
	// text is counted (promptCount.schema) with framing per tool, property
	// and enum value. Otherwise a tool counts as its JSON text.
	compactTools                  bool
	perTool, perProperty, perEnum int64
	// toolsBase is added once to a request with tools: the tool-use system
	// prompt, or the namespace's opening and closing.
	toolsBase int64
	// toolPrompt, if set, replaces toolsBase with a cost that depends on
	// the model and the request (Anthropic's documented table).
	toolPrompt func(m *modelInfo, c *promptCount) int64
	// reasoningBase is added when the request asks for reasoning
	// (extended thinking's system prompt).
	reasoningBase int64
	// Completion framing: per tool call the answer made, and once (the
	// end-of-turn token).
	outPerToolCall, outBase int64
	image                   imageRule
}

// profileFor is the profile of m's family; models of no known family get
// unknownProfile, the most conservative.
func profileFor(m *modelInfo) *profile {
	for i := range profiles {
		if profiles[i].family == m.family {
			return &profiles[i]
		}
	}
	return &unknownProfile
}
