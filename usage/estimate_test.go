package usage

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ownkey/ownkey"
)

// tokens is the exact o200k_base count, from the library itself.
func tokens(t testing.TB, s string) int64 {
	t.Helper()
	n, err := encoding().Count(s)
	if err != nil {
		t.Fatal(err)
	}
	return int64(n)
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type msg = map[string]any

func chatBody(t testing.TB, messages ...msg) []byte {
	t.Helper()
	if messages == nil {
		messages = []msg{}
	}
	return mustJSON(t, map[string]any{"model": "gpt-4o", "messages": messages})
}

// prompt is Estimate's prompt tokens for body on model.
func prompt(model string, body []byte) int64 {
	return Estimate(model, body, &ownkey.ChatResult{}).PromptTokens
}

// count is the walk's count of body for model.
func count(model string, body []byte) *promptCount {
	m := modelInfoOf(model)
	return countPrompt(&m, profileFor(&m), body)
}

func TestEncodingIsO200kBase(t *testing.T) {
	if name := encoding().GetName(); name != "o200k_base" {
		t.Fatalf("encoding = %s; want o200k_base", name)
	}
	// Reference counts from OpenAI's tiktoken for o200k_base.
	for s, want := range map[string]int64{
		"hello world":                    2,
		"Hello, world!":                  4,
		"You are a helpful assistant.":   6,
		"What is the capital of France?": 7,
		"":                               0,
	} {
		if got := countTokens(s); got != want {
			t.Errorf("countTokens(%q) = %d; want %d", s, got, want)
		}
	}
}

func TestFamilyOf(t *testing.T) {
	for model, want := range map[string]string{
		"gpt-4o":                            "openai",
		"gpt-4o-mini-2024-07-18":            "openai",
		"openai/gpt-4.1":                    "openai",
		"gpt-4":                             "openai-cl100k",
		"gpt-4-turbo-2024-04-09":            "openai-cl100k",
		"gpt-3.5-turbo":                     "openai-cl100k",
		"o3-mini":                           "openai-reasoning",
		"o1":                                "openai-reasoning",
		"gpt-5.1":                           "openai-reasoning",
		"gpt-5.1-codex-max":                 "openai-reasoning",
		"openai/gpt-oss-120b":               "openai-oss",
		"claude-3-7-sonnet-20250219":        "anthropic",
		"anthropic/claude-sonnet-4.5":       "anthropic",
		"claude-opus-4-6":                   "anthropic",
		"claude-opus-4-7":                   "anthropic-4.7",
		"claude-sonnet-5":                   "anthropic-4.7",
		"gemini-2.5-flash":                  "google",
		"google/gemini-2.5-pro:free":        "google",
		"gemma-3-27b-it":                    "google",
		"llama-3.3-70b-versatile":           "meta",
		"meta-llama/Llama-3.3-70B-Instruct": "meta",
		"mistral-large-latest":              "mistral",
		"codestral-latest":                  "mistral",
		"deepseek-reasoner":                 "deepseek",
		"Qwen/Qwen3-32B":                    "alibaba",
		"moonshotai/kimi-k2-instruct":       "moonshotai",
		"grok-3-mini":                       "xai",
		"us.amazon.nova-micro-v1:0":         "amazon",
		"sonar":                             "perplexity",
		"some-new-model":                    "",
		"":                                  "",
	} {
		if got := modelInfoOf(model).family; got != want {
			t.Errorf("family of %q = %q; want %q", model, got, want)
		}
	}
}

func TestModelGenerations(t *testing.T) {
	for c, want := range map[string]bool{
		"claude-3-7-sonnet": true, "claude-3-opus": true, "claude-sonnet-4-5": true, "claude-opus-4": true,
		"claude-opus-4-6": true, "claude-opus-4-7": false, "claude-sonnet-5": false, "claude-next": false, "gpt-4o": false,
	} {
		if got := claudeBefore47(c); got != want {
			t.Errorf("claudeBefore47(%q) = %v; want %v", c, got, want)
		}
	}
	for c, want := range map[string]bool{
		"gemini-2.0-flash": true, "gemini-1.5-pro": true, "gemini-2.5-pro": true, "gemini-3-pro-preview": false, "gemini-exp": false,
	} {
		if got := geminiBefore3(c); got != want {
			t.Errorf("geminiBefore3(%q) = %v; want %v", c, got, want)
		}
	}
}

// OpenAI's documented accounting for chat (the openai-cookbook recipe): 3
// tokens a message plus its role, 1 more for a name, 3 to prime the reply.
func TestPromptOpenAIFraming(t *testing.T) {
	body := chatBody(t,
		msg{"role": "system", "content": "You are a helpful assistant."},
		msg{"role": "user", "name": "alice", "content": "hello world"},
	)
	want := int64(3) + (3 + 1 + 6) + (3 + 1 + tokens(t, "alice") + 1 + 2)
	if got := prompt("gpt-4o", body); got != want {
		t.Fatalf("prompt = %d; want %d", got, want)
	}
}

// Every family adds its framing to the text; scaled families round up.
func TestPromptProfileArithmetic(t *testing.T) {
	body := chatBody(t,
		msg{"role": "system", "content": "You are a helpful assistant."},
		msg{"role": "user", "content": "What is the capital of France?"},
	)
	text := tokens(t, "system") + 6 + tokens(t, "user") + 7
	for _, p := range append(profiles[:len(profiles):len(profiles)], unknownProfile) {
		m := &modelInfo{family: p.family}
		want := ceilDiv(text*p.textPermille, 1000) + 2*p.perMessage + p.base
		if got := p.prompt(m, body); got != want {
			t.Errorf("%s: prompt = %d; want %d", p.family, got, want)
		}
		if p.textPermille < 1000 {
			t.Errorf("%s: a margin below 1: %d‰", p.family, p.textPermille)
		}
	}
}

func TestPromptCountsEveryText(t *testing.T) {
	system := "You are terse.\nAnswer in \"quotes\" — café ☕."
	question := "What's the weather in Paris and in 東京?"
	args1, args2 := `{"city":"Paris"}`, `{"city":"Tokyo","unit":"celsius"}`
	result := `{"temp_c": 21, "sky": "clear"}`
	tools := []any{map[string]any{"type": "function", "function": map[string]any{
		"name": "get_weather", "description": "Current weather for a city.",
		"parameters": map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}},
	}}}
	body := mustJSON(t, map[string]any{
		"model": "llama-3.3-70b",
		"messages": []msg{
			{"role": "developer", "content": system},
			{"role": "user", "name": "alice", "content": []any{
				map[string]any{"type": "text", "text": question},
				map[string]any{"type": "text", "text": "Be brief."},
			}},
			{"role": "assistant", "content": nil, "tool_calls": []any{
				map[string]any{"id": "call_1", "type": "function", "function": map[string]any{"name": "get_weather", "arguments": args1}},
				map[string]any{"id": "call_2", "type": "function", "function": map[string]any{"name": "get_weather", "arguments": args2}},
			}},
			{"role": "tool", "tool_call_id": "call_1", "content": result},
			{"role": "tool", "tool_call_id": "call_2", "content": []any{map[string]any{"type": "text", "text": result}}},
		},
		"tools":       tools,
		"temperature": 0.2,
	})
	// A family that reads tools as JSON: the text is every string, the
	// tools' JSON whole.
	want := tokens(t, "developer") + tokens(t, system) +
		tokens(t, "user") + tokens(t, "alice") + tokens(t, question) + tokens(t, "Be brief.") +
		tokens(t, "assistant") + 2*tokens(t, "get_weather") + tokens(t, args1) + tokens(t, args2) +
		2*(tokens(t, "tool")+tokens(t, result)) + tokens(t, "call_1") + tokens(t, "call_2") +
		tokens(t, string(mustJSON(t, tools[0])))
	c := count("llama-3.3-70b", body)
	if got := c.text.total(); got != want {
		t.Fatalf("text = %d; want %d", got, want)
	}
	if c.messages != 5 || c.names != 1 || c.toolCalls != 2 || c.tools != 1 || c.whole {
		t.Fatalf("count = %+v", c)
	}
}

// OpenAI renders tools as TypeScript types: their names, descriptions and
// schemas' words count, the JSON punctuation and shaping keywords do not.
func TestPromptCompactToolSchema(t *testing.T) {
	tool := `{"type":"function","function":{"name":"get_current_weather","description":"Get the weather","strict":true,` +
		`"parameters":{"type":"object","title":"Weather","additionalProperties":false,"required":["location"],` +
		`"properties":{"location":{"type":"string","description":"The city"},` +
		`"unit":{"type":"string","enum":["celsius","fahrenheit"]},` +
		`"days":{"type":"array","items":{"type":"object","properties":{"date":{"type":"string","format":"date"}}}}},` +
		`"$defs":{"Place":{"anyOf":[{"type":"string"},{"type":"null"}]}}}}}`
	body := []byte(`{"model":"gpt-4o","messages":[],"tools":[` + tool + `]}`)
	words := []string{"get_current_weather", "Get the weather", "object",
		"location", "string", "The city", "unit", "string", "celsius", "fahrenheit",
		"days", "array", "object", "date", "string", "date",
		"Place", "string", "null"}
	var want int64
	for _, w := range words {
		want += tokens(t, w)
	}
	c := count("gpt-4o", body)
	if got := c.text.total(); got != want || c.tools != 1 || c.props != 4 || c.enums != 2 {
		t.Fatalf("text %d (want %d), tools %d, props %d (want 4), enums %d (want 2)", got, want, c.tools, c.props, c.enums)
	}
	// The framing: OpenAI's per function, property and enum value, and
	// the namespace once.
	p := profileFor(&modelInfo{family: "openai"})
	if got, wantTotal := prompt("gpt-4o", body), want+p.base+p.toolsBase+p.perTool+4*p.perProperty+2*p.perEnum; got != wantTotal {
		t.Fatalf("prompt = %d; want %d", got, wantTotal)
	}
}

// Anthropic's documented tool-use system prompt, by model and tool_choice.
func TestPromptAnthropicToolPrompt(t *testing.T) {
	tools := `"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}]`
	base := prompt("claude-3-opus-20240229", []byte(`{"messages":[{"role":"user","content":"hi"}]}`))
	for _, tc := range []struct {
		model, choice string
		want          int64
	}{
		{"claude-3-opus-20240229", ``, 530},
		{"claude-3-opus-20240229", `,"tool_choice":"auto"`, 530},
		{"claude-3-opus-20240229", `,"tool_choice":"required"`, 281},
		{"claude-3-opus-20240229", `,"tool_choice":{"type":"function","function":{"name":"f"}}`, 281},
		{"claude-3-haiku-20240307", ``, 264},
		{"claude-3-5-haiku", `,"tool_choice":"required"`, 340},
		{"claude-3-sonnet-20240229", ``, 159},
	} {
		body := `{"messages":[{"role":"user","content":"hi"}],` + tools + tc.choice + `}`
		c := count(tc.model, []byte(body))
		got := prompt(tc.model, []byte(body)) - base - profileFor(&modelInfo{family: "anthropic"}).scale(c.text.total()) +
			profileFor(&modelInfo{family: "anthropic"}).scale(count(tc.model, []byte(`{"messages":[{"role":"user","content":"hi"}]}`)).text.total())
		if got != tc.want {
			t.Errorf("%s%s: tool prompt = %d; want %d", tc.model, tc.choice, got, tc.want)
		}
	}
	// Models after Claude 3 cost 346 tokens with auto, and, measured, more
	// with a forced tool than the 313 documented.
	m := modelInfoOf("claude-sonnet-4-5")
	if auto, forced := anthropicToolPrompt(&m, &promptCount{}), anthropicToolPrompt(&m, &promptCount{forcedTool: true}); auto != 346 || forced < 313 {
		t.Errorf("claude-sonnet-4-5: %d auto, %d forced", auto, forced)
	}
}

func TestPromptFallsBackToWholeBody(t *testing.T) {
	for name, body := range map[string]string{
		"not JSON":            `{"messages": [{"role": "user", "content": "hi"`,
		"no messages":         `{"model": "gpt-4o", "prompt": "Say hello to the world"}`,
		"messages not a list": `{"model": "gpt-4o", "messages": "hello"}`,
		"too deep":            `{"messages":[` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `]}`,
		"not an object":       `["messages"]`,
	} {
		if got, want := prompt("gpt-4o", []byte(body)), tokens(t, body); got != want {
			t.Errorf("%s: prompt = %d; want the whole body's %d tokens", name, got, want)
		}
		// Scaled for another family.
		if got, want := prompt("claude-3-7-sonnet", []byte(body)), ceilDiv(tokens(t, body)*1200, 1000); got != want {
			t.Errorf("%s on claude: prompt = %d; want %d", name, got, want)
		}
	}
	if got := prompt("gpt-4o", nil); got != 0 {
		t.Errorf("prompt(nil) = %d; want 0", got)
	}
}

// Growing a request, by whole words, messages, parts or tools, never lowers
// the estimate. (BPE itself is not monotonic inside a word: a word's prefix
// can take more tokens than the word.)
func TestPromptIsMonotonic(t *testing.T) {
	words := strings.Fields(`The quick brown fox jumps over the lazy dog; 1234567 naïve coöperation 東京 🙂 {"a":[1,2]} internationalization`)
	for _, model := range []string{"gpt-4o", "claude-sonnet-4-5", "gemini-2.5-pro", "llama-3.3-70b", "unknown-model"} {
		var messages []msg
		last := prompt(model, chatBody(t))
		check := func(what string, strict bool, body []byte) {
			t.Helper()
			got := prompt(model, body)
			if got < last || strict && got == last {
				t.Fatalf("%s: after %s the estimate went from %d to %d", model, what, last, got)
			}
			last = got
		}
		for i := range 3 {
			messages = append(messages, msg{"role": "user", "content": "x"})
			check("adding a message", true, chatBody(t, messages...))
			content := ""
			for _, w := range words {
				content += w + " "
				messages[i]["content"] = content
				check("appending "+w, false, chatBody(t, messages...))
			}
		}
		messages = append(messages, msg{"role": "user", "content": []any{map[string]any{"type": "image_url", "image_url": map[string]any{"url": "x"}}}})
		check("adding an image", true, chatBody(t, messages...))
		check("adding tools", true, mustJSON(t, map[string]any{"messages": messages, "tools": []any{map[string]any{"type": "function", "function": map[string]any{"name": "f"}}}}))
	}
}

// Whatever the family, the estimate covers the exact o200k_base tokens of
// all the text that reaches the model, and its messages' framing.
func TestPromptAtLeastExactText(t *testing.T) {
	texts := []string{"Summarise the following text.", strings.Repeat("Lorem ipsum dolor sit amet, consectetur adipiscing elit. ", 200), "日本語のテキストも数えます。"}
	var messages []msg
	var exact int64
	for _, s := range texts {
		messages = append(messages, msg{"role": "user", "content": s})
		exact += tokens(t, s)
	}
	for _, model := range []string{"gpt-4o", "gpt-4", "o3", "claude-3-7-sonnet", "gemini-2.0-flash", "mistral-large", "grok-4", "x"} {
		if got := prompt(model, chatBody(t, messages...)); got < exact+int64(len(texts)) {
			t.Errorf("%s: prompt = %d; want at least %d text tokens + %d framing", model, got, exact, len(texts))
		}
	}
}

// Text past TokenizeLimit is counted by its length: at the tokenized
// text's rate, or one token per two bytes, whichever is more.
func TestPromptPastTokenizeLimit(t *testing.T) {
	sentence := "The quick brown fox jumps over the lazy dog. "
	head := strings.Repeat(sentence, TokenizeLimit/len(sentence))
	tail := strings.Repeat(sentence, 20_000)
	body := chatBody(t, msg{"role": "user", "content": head}, msg{"role": "user", "content": tail})
	c := count("gpt-4o", body)
	// The head, "user", as much of the tail as fits, and the last "user"
	// counted by its length (json.Marshal writes content before role).
	fits := TokenizeLimit - len(head) - len("user")
	if c.text.tokenized != TokenizeLimit || c.text.counted != int64(len(tail)-fits+len("user")) {
		t.Fatalf("tokenized %d bytes, counted %d by length; want %d and %d", c.text.tokenized, c.text.counted, TokenizeLimit, len(tail)-fits+len("user"))
	}
	tokenized := tokens(t, "user") + tokens(t, head) + tokens(t, tail[:fits])
	// English prose: the bound (one token per two bytes) is above the
	// measured rate.
	if got, want := c.text.total(), tokenized+ceilDiv(int64(len(tail)-fits+len("user")), 2); got != want {
		t.Fatalf("text = %d; want %d", got, want)
	}
	// Denser text past the limit counts at its measured rate.
	var dense textCounter
	dense.budget, dense.work = 1000, 1000
	dense.add(strings.Repeat("🙂", 250)) // 1000 bytes
	dense.add(strings.Repeat("🙂", 250))
	if want := 2 * tokens(t, strings.Repeat("🙂", 250)); dense.total() < want || dense.tokenized != 1000 {
		t.Fatalf("dense text = %d; want at least %d", dense.total(), want)
	}
}

// Text whose pieces never repeat costs the tokenizer most: past
// TokenizeWork bytes of it, the rest is counted by length.
func TestPromptPastTokenizeWork(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var sb strings.Builder
	for sb.Len() < 4*TokenizeWork {
		sb.WriteByte(' ')
		for range 3 + rng.IntN(8) {
			sb.WriteByte(byte('a' + rng.IntN(26)))
		}
	}
	text := sb.String()
	c := newTextCounter()
	c.add(text)
	if c.work < 0 || c.work > 16 || c.tokenized < TokenizeWork || c.tokenized+c.counted != int64(len(text)) {
		t.Fatalf("work left %d, tokenized %d, counted %d of %d bytes", c.work, c.tokenized, c.counted, len(text))
	}
	if exact := tokens(t, text); c.total() < exact {
		t.Fatalf("total %d under the exact %d", c.total(), exact)
	}
	if !c.exhausted() {
		t.Fatal("not exhausted")
	}
	// And a text that repeats is tokenized far past TokenizeWork.
	c = newTextCounter()
	c.add(strings.Repeat(text[:TokenizeWork/2], 8))
	if c.counted != 0 {
		t.Fatalf("counted %d bytes by length of a text that repeats", c.counted)
	}
}

func TestCutRunes(t *testing.T) {
	for _, tc := range []struct {
		s    string
		n    int
		want string
	}{
		{"abc", 5, "abc"}, {"abc", 2, "ab"}, {"aé", 2, "a"}, {"東京", 4, "東"}, {"東京", 3, "東"}, {"🙂", 3, ""},
		{"\xff\xff\xff\xff\xff\xff", 3, "\xff\xff\xff"},
	} {
		if got := cutRunes(tc.s, tc.n); got != tc.want {
			t.Errorf("cutRunes(%q, %d) = %q; want %q", tc.s, tc.n, got, tc.want)
		}
	}
}

func TestCompletion(t *testing.T) {
	openai := profileFor(&modelInfo{family: "openai"})
	hw := []byte("hello world") // 11 bytes, 2 tokens
	for _, c := range []struct {
		name   string
		sample []byte
		total  int64
		calls  int64
		want   int64
	}{
		{"nothing", nil, 0, 0, 0},
		{"whole output", hw, 11, 0, 2},
		{"total below sample", hw, 5, 0, 2},
		{"twice the sample", hw, 22, 0, 4},
		{"one byte more rounds up", hw, 12, 0, 3},                  // ⌈2×12/11⌉
		{"no sample", nil, 7, 0, 4},                                // ⌈7/2⌉
		{"no sample, even", []byte{}, 1000, 0, 500},                // 1000/2
		{"no overflow", hw, math.MaxInt64, 0, 1676976733973595602}, // ⌈2×(2⁶³−1)/11⌉
		{"tool calls", hw, 11, 3, 2 + 3*openai.outPerToolCall},
	} {
		want := satAdd(c.want, openai.outBase)
		if c.name == "tool calls" {
			want = c.want + openai.outBase
		}
		if got := openai.completion(c.sample, c.total, c.calls); got != want {
			t.Errorf("%s: completion(%q, %d, %d) = %d; want %d", c.name, c.sample, c.total, c.calls, got, want)
		}
	}
	// A sample cut inside a character still counts.
	if got := openai.completion([]byte("東京\xe4\xba"), 8, 0); got < 2 {
		t.Errorf("completion of a cut sample = %d; want at least 2", got)
	}
	// Other families scale the text and add their framing.
	claude := profileFor(&modelInfo{family: "anthropic"})
	if got, want := claude.completion(hw, 11, 1), ceilDiv(2*claude.textPermille, 1000)+claude.outPerToolCall+claude.outBase; got != want {
		t.Errorf("claude: completion = %d; want %d", got, want)
	}
}

func TestCompletionIsMonotonic(t *testing.T) {
	sample := []byte("The answer is 42, as computed by Deep Thought over 7.5 million years.")
	p := profileFor(&modelInfo{family: "anthropic"})
	last := int64(0)
	for total := int64(len(sample)); total < 100_000; total += 997 {
		got := p.completion(sample, total, 0)
		if got < last {
			t.Fatalf("completion(sample, %d) = %d, below %d for less output", total, got, last)
		}
		last = got
	}
	last = 0
	var grown []byte
	for _, w := range strings.Fields(string(sample)) {
		grown = append(grown, w+" "...)
		got := p.completion(grown, int64(len(grown)), 0)
		if got < last {
			t.Fatalf("completion(%q) = %d, below %d for a shorter output", grown, got, last)
		}
		last = got
	}
}

func TestEstimate(t *testing.T) {
	body := chatBody(t, msg{"role": "user", "content": "What is the capital of France?"})
	out := []byte("The capital of France is Paris.")
	res := &ownkey.ChatResult{OutputSample: out, OutputBytes: int64(len(out))}
	u := Estimate("gpt-4o-2024-08-06", body, res)
	want := ownkey.Usage{PromptTokens: 3 + 4 + 7, CompletionTokens: 7 + 1, Source: ownkey.UsageEstimated}
	if u != want {
		t.Fatalf("usage = %+v; want %+v", u, want)
	}
	// Claude's tokenizer counts more: never less than OpenAI's.
	if c := Estimate("claude-sonnet-4-5", body, res); c.PromptTokens < u.PromptTokens || c.CompletionTokens <= u.CompletionTokens {
		t.Fatalf("claude estimate %+v below OpenAI's %+v", c, u)
	}
}

func TestMulDivCeil(t *testing.T) {
	for _, c := range [][3]int64{{2, 12, 11}, {7, 1 << 40, 3}, {math.MaxInt64 / 2, 6, 4}, {1, 1, 1}} {
		want := new(big.Int).Mul(big.NewInt(c[0]), big.NewInt(c[1]))
		want.Add(want, big.NewInt(c[2]-1)).Quo(want, big.NewInt(c[2]))
		if got := mulDivCeil(c[0], c[1], c[2]); big.NewInt(got).Cmp(want) != 0 {
			t.Errorf("mulDivCeil(%d, %d, %d) = %d; want %s", c[0], c[1], c[2], got, want)
		}
	}
	if got := mulDivCeil(math.MaxInt64, math.MaxInt64, 2); got != math.MaxInt64 {
		t.Errorf("mulDivCeil overflowing = %d; want MaxInt64", got)
	}
	if got := satAdd(math.MaxInt64-1, 5); got != math.MaxInt64 {
		t.Errorf("satAdd overflowing = %d", got)
	}
}

// Image headers, built by hand: only the bytes imageSize reads.

func pngHead(w, h uint32) []byte {
	b := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR")
	b = binary.BigEndian.AppendUint32(b, w)
	b = binary.BigEndian.AppendUint32(b, h)
	return append(b, 8, 6, 0, 0, 0, 1, 2, 3, 4) // depth, color, …, CRC
}

func gifHead(w, h uint16) []byte {
	b := []byte("GIF89a")
	b = binary.LittleEndian.AppendUint16(b, w)
	b = binary.LittleEndian.AppendUint16(b, h)
	return append(b, 0, 0, 0)
}

// jpegHead is SOI, an APP1 segment of n bytes (EXIF), a DQT, then SOF2.
func jpegHead(w, h uint16, n int) []byte {
	b := []byte{0xFF, 0xD8, 0xFF, 0xE1}
	b = binary.BigEndian.AppendUint16(b, uint16(n+2))
	b = append(b, make([]byte, n)...)
	b = append(b, 0xFF, 0xDB, 0x00, 0x04, 0x00, 0x00)
	b = append(b, 0xFF, 0xFF, 0xC2, 0x00, 0x11, 0x08) // a fill byte, SOF2, length, precision
	b = binary.BigEndian.AppendUint16(b, h)
	b = binary.BigEndian.AppendUint16(b, w)
	return append(b, 3, 1, 0x22, 0)
}

func webpHead(kind string, w, h int) []byte {
	b := []byte("RIFF\x00\x00\x00\x00WEBP" + kind + "\x00\x00\x00\x00")
	switch kind {
	case "VP8 ":
		b = append(b, 0, 0, 0, 0x9d, 0x01, 0x2a)
		b = binary.LittleEndian.AppendUint16(b, uint16(w))
		b = binary.LittleEndian.AppendUint16(b, uint16(h))
	case "VP8L":
		b = append(b, 0x2f)
		b = binary.LittleEndian.AppendUint32(b, uint32(w-1)|uint32(h-1)<<14)
	case "VP8X":
		b = append(b, 0, 0, 0, 0, byte(w-1), byte((w-1)>>8), byte((w-1)>>16), byte(h-1), byte((h-1)>>8), byte((h-1)>>16))
	}
	return b
}

func TestImageSize(t *testing.T) {
	for _, tc := range []struct {
		name string
		head []byte
		w, h int
		ok   bool
	}{
		{"png", pngHead(1024, 768), 1024, 768, true},
		{"gif", gifHead(320, 200), 320, 200, true},
		{"jpeg after 40 KB of EXIF", jpegHead(4032, 3024, 40_000), 4032, 3024, true},
		{"webp lossy", webpHead("VP8 ", 800, 600), 800, 600, true},
		{"webp lossless", webpHead("VP8L", 1000, 16384), 1000, 16384, true},
		{"webp extended", webpHead("VP8X", 5000, 3), 5000, 3, true},
		{"png cut", pngHead(1, 1)[:20], 0, 0, false},
		{"jpeg cut before its frame", jpegHead(10, 10, 100)[:90], 0, 0, false},
		{"zero width", pngHead(0, 10), 0, 0, false},
		{"beyond any API", pngHead(1<<30, 10), 0, 0, false},
		{"svg", []byte("<svg xmlns='http://www.w3.org/2000/svg'/>"), 0, 0, false},
		{"nothing", nil, 0, 0, false},
	} {
		w, h, ok := imageSize(tc.head)
		if w != tc.w || h != tc.h || ok != tc.ok {
			t.Errorf("%s: imageSize = %d×%d %v; want %d×%d %v", tc.name, w, h, ok, tc.w, tc.h, tc.ok)
		}
	}
}

// The makers' documented examples.
func TestImageRules(t *testing.T) {
	at := func(model string) *modelInfo { m := modelInfoOf(model); return &m }
	for _, tc := range []struct {
		name   string
		rule   imageRule
		model  string
		w, h   int
		detail string
		want   int64
	}{
		// platform.openai.com/docs/guides/images-vision, "Calculating costs".
		{"openai 1024² high", openAIImage, "gpt-4o", 1024, 1024, "high", 765},
		{"openai 2048×4096 high", openAIImage, "gpt-4o", 2048, 4096, "high", 1105},
		{"openai 4096×8192 low", openAIImage, "gpt-4o", 4096, 8192, "low", 85},
		{"openai auto counts as high", openAIImage, "gpt-4.1", 1024, 1024, "auto", 765},
		{"openai small image, one tile", openAIImage, "gpt-4o", 300, 200, "high", 255},
		{"openai unknown size: 8 tiles", openAIImage, "gpt-4o", 0, 0, "", 85 + 8*170},
		{"gpt-4o-mini", openAIImage, "gpt-4o-mini", 1024, 1024, "high", 2833 + 4*5667},
		{"gpt-4o-mini low", openAIImage, "gpt-4o-mini-2024-07-18", 1024, 1024, "low", 2833},
		{"o3", openAIImage, "o3", 1024, 1024, "high", 75 + 4*150},
		{"gpt-5", openAIImage, "gpt-5", 1024, 1024, "high", 70 + 4*140},
		{"gpt-4.1-mini patches", openAIImage, "gpt-4.1-mini", 1024, 1024, "low", 1659}, // 1024 × 1.62
		{"gpt-5-nano patches capped", openAIImage, "gpt-5-nano", 1800, 2400, "", 3779}, // 1536 × 2.46
		{"o4-mini unknown size", openAIImage, "o4-mini", 0, 0, "", 2642},               // 1536 × 1.72
		// docs.claude.com, "Images and vision".
		{"claude 1000²", anthropicImage, "claude-sonnet-4-5", 1000, 1000, "", 1334},
		{"claude 1092² (the old maximum)", anthropicImage, "claude-3-7-sonnet", 1092, 1092, "", 1590},
		{"claude 200², by patches", anthropicImage, "claude-3-7-sonnet", 200, 200, "", 64},
		{"claude large, scaled down", anthropicImage, "claude-sonnet-4-5", 4000, 3000, "", 1600},
		{"claude unknown size", anthropicImage, "claude-3-5-sonnet", 0, 0, "", 1600},
		{"claude opus 4.7 large", anthropicImage, "claude-opus-4-7", 4000, 3000, "", 4784},
		{"claude opus 4.7 unknown", anthropicImage, "claude-opus-4-7", 0, 0, "", 4784},
		// ai.google.dev, "Understand and count tokens".
		{"gemini 2 small", geminiImage, "gemini-2.0-flash", 384, 300, "", 258},
		{"gemini 2 tiles", geminiImage, "gemini-2.5-pro", 1000, 1000, "", 4 * 258},
		{"gemini 2 unknown", geminiImage, "gemini-2.5-flash", 0, 0, "", 9 * 258},
		{"gemini 3", geminiImage, "gemini-3-pro-preview", 100, 100, "", 1120},
		// Pixtral: 16 px patches and a token per row.
		{"mistral 1024²", mistralImage, "pixtral-large", 1024, 1024, "", 64*64 + 64},
		{"mistral large, fit in 1024", mistralImage, "mistral-medium", 4096, 2048, "", 64*32 + 32},
		{"anyone else, unknown", anyImage, "x", 0, 0, "", 4784},
		{"anyone else, 1024²: the most of the rules", anyImage, "x", 1024, 1024, "", 64*64 + 64},
	} {
		if got := tc.rule(at(tc.model), tc.w, tc.h, tc.detail); got != tc.want {
			t.Errorf("%s: %d tokens; want %d", tc.name, got, tc.want)
		}
	}
}

func dataURLOf(mediaType string, data []byte) string {
	return "data:" + mediaType + ";base64," + base64.StdEncoding.EncodeToString(data)
}

func imagePart(url, detail string) map[string]any {
	u := map[string]any{"url": url}
	if detail != "" {
		u["detail"] = detail
	}
	return map[string]any{"type": "image_url", "image_url": u}
}

func TestPromptMediaParts(t *testing.T) {
	text := "Compare these."
	big := append(pngHead(2048, 4096), bytes.Repeat([]byte{7}, 300_000)...)
	body := chatBody(t, msg{"role": "user", "content": []any{
		map[string]any{"type": "text", "text": text},
		imagePart("https://example.com/a.png", "low"),                                                 // 85
		imagePart(dataURLOf("image/png", big), "high"),                                                // 1105: the data is not tokenized
		imagePart(dataURLOf("image/jpeg", jpegHead(1024, 1024, 10_000)), ""),                          // 765
		map[string]any{"type": "image_url", "image_url": "https://example.com/b.png"},                 // 1445
		map[string]any{"type": "input_image", "image_url": dataURLOf("image/gif", gifHead(300, 200))}, // 255
	}})
	want := 3 + 3 + tokens(t, "user") + tokens(t, text) + 85 + 1105 + 765 + 1445 + 255
	if got := prompt("gpt-4o", body); got != want {
		t.Fatalf("prompt = %d; want %d", got, want)
	}
	// A JSON encoder that escapes "/" changes nothing.
	escaped := bytes.ReplaceAll(body, []byte("/"), []byte(`\/`))
	if got := prompt("gpt-4o", escaped); got != want {
		t.Fatalf("with escaped slashes: prompt = %d; want %d", got, want)
	}
	// The same images cost Claude its own rule.
	c := count("claude-sonnet-4-5", body)
	wantMedia := int64(1600 + 1600 + ceilDiv(1024*1024, 750) + 1600 + 11*8) // 300×200: 11×8 patches
	if c.media != wantMedia {
		t.Fatalf("claude media = %d; want %d", c.media, wantMedia)
	}
}

func TestPromptAudioAndFiles(t *testing.T) {
	audio := func(format string, n int) map[string]any {
		return map[string]any{"type": "input_audio", "input_audio": map[string]any{"format": format,
			"data": base64.StdEncoding.EncodeToString(make([]byte, n))}}
	}
	file := func(name, url string) map[string]any {
		f := map[string]any{"filename": name}
		if url != "" {
			f["file_data"] = url
		} else {
			f["file_id"] = "file-abc"
		}
		return map[string]any{"type": "file", "file": f}
	}
	pdf := []byte("%PDF-1.4\n1 0 obj <</Type /Pages /Kids [2 0 R 3 0 R 4 0 R] /Count 3>> endobj\n" +
		"2 0 obj <</Type /Page>> endobj 3 0 obj <</Type/Page/Parent 1 0 R>> endobj 4 0 obj <</Type\n/Page>>\nendobj\n%%EOF")
	compressed := append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte{0x9c}, 40_000)...) // page objects out of sight
	textFile := "name,city\nAda,London\n"
	for _, tc := range []struct {
		name string
		part map[string]any
		want int64 // media tokens
		text string
	}{
		{"wav: 8 kB a second", audio("wav", 80_000), 10 * AudioTokensPerSecond, ""},
		{"mp3: 2 kB a second", audio("mp3", 10_001), 6 * AudioTokensPerSecond, ""},
		{"audio without data", map[string]any{"type": "input_audio", "input_audio": map[string]any{"format": "mp3"}}, AudioPartTokens, ""},
		{"pdf of 3 pages", file("a.pdf", dataURLOf("application/pdf", pdf)), 3 * FilePageTokens, "a.pdf"},
		{"pdf with compressed pages", file("b.pdf", dataURLOf("application/pdf", compressed)), 3 * FilePageTokens, "b.pdf"},
		{"file by id", file("c.pdf", ""), FilePartTokens, "c.pdf"},
		{"text file", file("d.csv", dataURLOf("text/csv", []byte(textFile))), 0, "d.csv" + textFile},
	} {
		c := count("gpt-4o", chatBody(t, msg{"role": "user", "content": []any{tc.part}}))
		if c.media != tc.want || c.text.total() != tokens(t, "user")+tokens(t, tc.text) {
			t.Errorf("%s: media %d (want %d), text %d (want %d)", tc.name, c.media, tc.want, c.text.total(), tokens(t, "user")+tokens(t, tc.text))
		}
	}
}

func TestPDFPagesPastTheScanLimit(t *testing.T) {
	page := []byte("3 0 obj <</Type /Page>> endobj ")
	pdf := bytes.Repeat(page, pdfScanLimit/len(page)+1000)
	d := parseDataURL(dataURLOf("application/pdf", pdf)[len(""):])
	seen := int64(pdfScanLimit / len(page))
	rest := d.decodedLen() - pdfScanLimit
	if got, want := pdfPages(d), seen+ceilDiv(rest, fileBytesPerPage); got < want || got > want+1 {
		t.Fatalf("pages = %d; want about %d", got, want)
	}
}

func TestParseDataURL(t *testing.T) {
	for _, tc := range []struct {
		raw, mediaType, data string
		base64               bool
	}{
		{"data:image/png;base64,AAAA", "image/png", "AAAA", true},
		{"DATA:Image/PNG;charset=x;BASE64,AA", "image/png", "AA", true},
		{`data:image\/jpeg;base64,AA`, "image/jpeg", "AA", true},
		{"data:,hello", "text/plain", "hello", false},
		{"https://example.com/x.png", "", "", false},
		{"data:image/png;base64", "", "", false},
	} {
		d := parseDataURL(tc.raw)
		if d.mediaType != tc.mediaType || d.raw != tc.data || d.base64 != tc.base64 {
			t.Errorf("parseDataURL(%q) = %+v", tc.raw, d)
		}
	}
	// Base64 with line breaks, escapes and a cut escape decodes what it can.
	d := parseDataURL("data:image/png;base64," + strings.ReplaceAll(base64.StdEncoding.EncodeToString(pngHead(3, 4)), "A", "A\\n"))
	if w, h, ok := imageSize(d.head(nil, headLimit)); !ok || w != 3 || h != 4 {
		t.Errorf("escaped base64: %d×%d %v", w, h, ok)
	}
	if got := escapeSafePrefix(`ab\u00e9c\u00`); got != `ab\u00e9c` {
		t.Errorf("escapeSafePrefix = %q", got)
	}
}

func BenchmarkEstimatePrompt(b *testing.B) {
	body := chatBody(b,
		msg{"role": "system", "content": "You are a helpful assistant."},
		msg{"role": "user", "content": "What is the capital of France? Answer in one word."},
	)
	encoding()
	b.ReportAllocs()
	for b.Loop() {
		prompt("gpt-4o", body)
	}
}

func BenchmarkEstimatePrompt100KB(b *testing.B) {
	body := chatBody(b,
		msg{"role": "system", "content": "You are a helpful assistant."},
		msg{"role": "user", "content": strings.Repeat("Lorem ipsum dolor sit amet, consectetur adipiscing elit. ", 1750)},
	)
	encoding()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		prompt("gpt-4o", body)
	}
}

// conversation is a chat request of about size bytes: an agent's
// conversation, with prose, code, tool calls and their results, and tools.
func conversation(tb testing.TB, size int) []byte {
	prose := "The migration moved the billing tables to the new schema; reads now go through the ledger view, and the old " +
		"reconciliation job only runs for accounts created before the cut-over. Check the totals against last month's invoice.\n"
	code := "func (s *Service) Settle(ctx context.Context, id string) error {\n\tr, err := s.store.Reservation(ctx, id)\n" +
		"\tif err != nil {\n\t\treturn fmt.Errorf(\"settle %s: %w\", id, err)\n\t}\n\treturn s.store.Settle(ctx, r)\n}\n"
	tools := []any{map[string]any{"type": "function", "function": map[string]any{"name": "read_file", "description": "Read a file of the repository.",
		"parameters": map[string]any{"type": "object", "properties": map[string]any{"path": map[string]any{"type": "string", "description": "Relative path."}}, "required": []string{"path"}}}}}
	messages := []msg{{"role": "system", "content": "You are a careful software engineer. Answer with code where it helps."}}
	n := 0
	for i := 0; n < size; i++ {
		id := "call_" + strings.Repeat(string(rune('a'+i%26)), 20)
		turn := []msg{
			{"role": "user", "content": strings.Repeat(prose, 3)},
			{"role": "assistant", "content": nil, "tool_calls": []any{map[string]any{"id": id, "type": "function",
				"function": map[string]any{"name": "read_file", "arguments": `{"path":"billing/ledger.go"}`}}}},
			{"role": "tool", "tool_call_id": id, "content": strings.Repeat(code, 8)},
			{"role": "assistant", "content": strings.Repeat(prose, 2) + "```go\n" + code + "```\n"},
		}
		messages = append(messages, turn...)
		n += len(mustJSON(tb, turn))
	}
	return mustJSON(tb, map[string]any{"model": "claude-sonnet-4-5", "messages": messages, "tools": tools, "stream": true})
}

// The estimate of a 1 MB conversation (all of it under TokenizeLimit, so
// tokenized), and of one four times larger, where past the limit text is
// counted by its length.
func BenchmarkEstimate1MBConversation(b *testing.B) {
	for _, size := range []int{1 << 20, 4 << 20} {
		body := conversation(b, size)
		out := []byte(strings.Repeat("Settled: the totals match the invoice. ", 400))
		res := &ownkey.ChatResult{OutputSample: out, OutputBytes: int64(len(out)) * 3, OutputToolCalls: 1}
		encoding()
		b.Run(byteSize(len(body)), func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				Estimate("claude-sonnet-4-5", body, res)
			}
		})
	}
}

func byteSize(n int) string {
	if n >= 1<<20 {
		return strings.TrimSuffix(strings.TrimRight(big.NewFloat(float64(n)/(1<<20)).Text('f', 1), "0"), ".") + "MiB"
	}
	return big.NewInt(int64(n)).String() + "B"
}

// pieceSeeds exercise every branch of the pieces' expression.
var pieceSeeds = []string{
	"Hello, world! It's John's 'quote' — they'RE here, we'LL see, I'M done, he'D go, THEY'VE, ſ'ſ x'ſ.",
	"  leading spaces\n\n\ttabs\r\n  \r\ntrailing   ",
	"numbers 1 12 123 1234 12345 3.14159 ١٢٣٤ ⅫⅩ",
	"CamelCaseWord HTTPServer iPhone McDONALD ǅungla ǈ",
	"東京は日本の首都です。中文，标点！한국어 텍스트 Ελληνικά Русский текст עברית العربية",
	"emoji 🙂🙂 👍🏽 flags 🇫🇷 zwj 👩‍💻 and symbols ©®™ ∑∫√",
	"e\u0301 a\u0300\u0301 \u0301\u0301x combining marks",
	`{"key": "value", "list": [1, 2, 3], "nested": {"a": null}}`,
	"func main() {\n\tfmt.Println(\"hi\") // comment\n}\n/* block */ a/b//c /\n/\r",
	"!!! ??? ... --- *** /// \\\\\\ ||| ~~~ ``` \n!!!\n",
	"\u00a0nbsp\u2003em\u3000ideo\u0085nel\u2028ls",
	"A'S a's 'sx 't 're 'Ve 'M 'LL 'd ' s",
	"x", " ", "\n", " \n", "\n ", "a\n", "'", "' ", "1'", "日A", "A日", "ǅ", "\u0301", "\u0301a", " \u0301", "\r\r\n\n",
}

// checkPieces compares nextPiece with the library (see FuzzPieces).
func checkPieces(t *testing.T, s string) {
	if !utf8.ValidString(s) || s == "" {
		return
	}
	_, toks, err := encoding().Encode(s)
	if err != nil {
		t.Fatal(err)
	}
	ends := map[int]bool{}
	at := 0
	for _, tok := range toks {
		at += len(tok)
		ends[at] = true
	}
	if at != len(s) {
		return // the library's tokens do not spell s (they never should)
	}
	rest, at, sum := s, 0, int64(0)
	for len(rest) > 0 {
		k := nextPiece(rest)
		if k <= 0 || k > len(rest) {
			t.Fatalf("nextPiece(%q) = %d", rest, k)
		}
		at += k
		if !ends[at] {
			t.Fatalf("piece %q of %q ends inside a token", rest[:k], s)
		}
		sum += tokens(t, rest[:k])
		rest = rest[k:]
	}
	if want := tokens(t, s); sum != want {
		t.Fatalf("counted piece by piece: %d tokens; the library counts %d, for %q", sum, want, s)
	}
}

func TestPieces(t *testing.T) {
	for _, s := range pieceSeeds {
		checkPieces(t, s)
	}
	// Random strings over an alphabet with a few characters of every class
	// the expression tells apart.
	alphabet := []rune("aZ'sStTrReEvVmMlLdDſ ǅǈʰ日\u0301\u0903 1٣Ⅻ½\t\n\r\u00a0\u2003\u0085!?/.-—🙂©")
	rng := rand.New(rand.NewPCG(1, 2))
	for range 3000 {
		b := make([]rune, 1+rng.IntN(24))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		checkPieces(t, string(b))
	}
	// A long text, counted once, then with its pieces known.
	long := strings.Repeat(strings.Join(pieceSeeds, " "), 50)
	var c textCounter
	c.budget, c.work = 2*len(long), 2*len(long)
	c.add(long)
	c.add(long)
	if want := 2 * tokens(t, long); c.total() != want {
		t.Fatalf("total %d; want %d", c.total(), want)
	}
}

// Text whose pieces never repeat is the tokenizer's worst case: counting
// 1 MiB of it stops after TokenizeWork bytes; the library alone (what the
// estimator did before it looked pieces up) tokenizes all of it.
func BenchmarkCountUniqueText(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	var sb strings.Builder
	for sb.Len() < 1<<20 {
		sb.WriteByte(' ')
		for range 3 + rng.IntN(8) {
			sb.WriteByte(byte('a' + rng.IntN(26)))
		}
	}
	s := sb.String()
	encoding()
	b.Run("estimator", func(b *testing.B) {
		b.SetBytes(int64(len(s)))
		b.ReportAllocs()
		for b.Loop() {
			c := newTextCounter()
			c.add(s)
		}
	})
	b.Run("library", func(b *testing.B) {
		b.SetBytes(int64(len(s)))
		b.ReportAllocs()
		for b.Loop() {
			countTokens(s)
		}
	})
}
