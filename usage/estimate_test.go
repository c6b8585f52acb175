package usage

import (
	"encoding/json"
	"math"
	"math/big"
	"strings"
	"testing"
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

func TestEstimatePromptTwoMessages(t *testing.T) {
	body := chatBody(t,
		msg{"role": "system", "content": "You are a helpful assistant."},
		msg{"role": "user", "content": "hello world"},
	)
	// 3 to prime the reply, and per message 3 + 1 for the role + content.
	const want = 3 + (4 + 6) + (4 + 2)
	if got := EstimatePrompt(body); got != want {
		t.Fatalf("EstimatePrompt = %d; want %d", got, want)
	}
}

func TestEstimatePromptCountsEveryText(t *testing.T) {
	system := "You are terse.\nAnswer in \"quotes\" — café ☕."
	question := "What's the weather in Paris and in 東京?"
	args1, args2 := `{"city":"Paris"}`, `{"city":"Tokyo","unit":"celsius"}`
	result := `{"temp_c": 21, "sky": "clear"}`
	tools := []any{map[string]any{"type": "function", "function": map[string]any{
		"name": "get_weather", "description": "Current weather for a city.",
		"parameters": map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}},
	}}}
	body := mustJSON(t, map[string]any{
		"model": "gpt-4o",
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
	toolsJSON := string(mustJSON(t, tools))

	want := int64(3) + // reply priming
		3 + tokens(t, "developer") + tokens(t, system) +
		3 + tokens(t, "user") + tokens(t, "alice") + 1 + tokens(t, question) + tokens(t, "Be brief.") +
		3 + tokens(t, "assistant") +
		2*(3+tokens(t, "get_weather")) + tokens(t, args1) + tokens(t, args2) +
		3 + tokens(t, "tool") + tokens(t, "call_1") + tokens(t, result) +
		3 + tokens(t, "tool") + tokens(t, "call_2") + tokens(t, result) +
		tokens(t, toolsJSON)
	if got := EstimatePrompt(body); got != want {
		t.Fatalf("EstimatePrompt = %d; want %d", got, want)
	}
}

func TestEstimatePromptMediaParts(t *testing.T) {
	text := "Compare these."
	image := func(url string) map[string]any {
		return map[string]any{"type": "image_url", "image_url": map[string]any{"url": url, "detail": "low"}}
	}
	body := chatBody(t, msg{"role": "user", "content": []any{
		map[string]any{"type": "text", "text": text},
		image("https://example.com/a.png"),
		// The base64 payload is not tokenized as text.
		image("data:image/png;base64," + strings.Repeat("iVBORw0KGgo", 10_000)),
		map[string]any{"type": "input_audio", "input_audio": map[string]any{"data": strings.Repeat("UklGR", 1000), "format": "wav"}},
		map[string]any{"type": "file", "file": map[string]any{"file_data": strings.Repeat("JVBERi0", 1000), "filename": "a.pdf"}},
	}})
	want := 3 + 4 + tokens(t, text) + 2*ImagePartTokens + AudioPartTokens + FilePartTokens
	if got := EstimatePrompt(body); got != want {
		t.Fatalf("EstimatePrompt = %d; want %d", got, want)
	}
}

func TestEstimatePromptFallsBackToWholeBody(t *testing.T) {
	for name, body := range map[string]string{
		"not JSON":            `{"messages": [{"role": "user", "content": "hi"`,
		"no messages":         `{"model": "gpt-4o", "prompt": "Say hello to the world"}`,
		"messages not a list": `{"model": "gpt-4o", "messages": "hello"}`,
	} {
		if got, want := EstimatePrompt([]byte(body)), tokens(t, body); got != want {
			t.Errorf("%s: EstimatePrompt = %d; want the whole body's %d tokens", name, got, want)
		}
	}
	if got := EstimatePrompt(nil); got != 0 {
		t.Errorf("EstimatePrompt(nil) = %d; want 0", got)
	}
}

// Growing a request, by whole words, messages, parts or tools, never lowers
// the estimate. (BPE itself is not monotonic inside a word: a word's prefix
// can take more tokens than the word.)
func TestEstimatePromptIsMonotonic(t *testing.T) {
	words := strings.Fields(`The quick brown fox jumps over the lazy dog; 1234567 naïve coöperation 東京 🙂 {"a":[1,2]} internationalization`)
	var messages []msg
	last := EstimatePrompt(chatBody(t))
	check := func(what string, strict bool, body []byte) {
		t.Helper()
		got := EstimatePrompt(body)
		if got < last || strict && got == last {
			t.Fatalf("after %s the estimate went from %d to %d", what, last, got)
		}
		last = got
	}
	for i := range 3 {
		messages = append(messages, msg{"role": "user", "content": ""})
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
	check("adding tools", true, mustJSON(t, map[string]any{"messages": messages, "tools": []any{map[string]any{"type": "function"}}}))
}

func TestEstimatePromptAtLeastExactText(t *testing.T) {
	// Whatever the framing, the estimate covers the exact tokens of all the
	// text that reaches the model.
	texts := []string{"Summarise the following text.", strings.Repeat("Lorem ipsum dolor sit amet, consectetur adipiscing elit. ", 200), "日本語のテキストも数えます。"}
	var messages []msg
	var exact int64
	for _, s := range texts {
		messages = append(messages, msg{"role": "user", "content": s})
		exact += tokens(t, s)
	}
	if got := EstimatePrompt(chatBody(t, messages...)); got < exact+int64(len(texts))*4+3 {
		t.Fatalf("EstimatePrompt = %d; want at least %d text tokens + %d framing", got, exact, len(texts)*4+3)
	}
}

func TestEstimateCompletion(t *testing.T) {
	hw := []byte("hello world") // 11 bytes, 2 tokens
	for _, c := range []struct {
		name   string
		sample []byte
		total  int64
		want   int64
	}{
		{"nothing", nil, 0, 0},
		{"whole output", hw, 11, 2},
		{"total below sample", hw, 5, 2},
		{"twice the sample", hw, 22, 4},
		{"one byte more rounds up", hw, 12, 3},                  // ⌈2×12/11⌉
		{"no sample", nil, 7, 4},                                // ⌈7/2⌉
		{"no sample, even", []byte{}, 1000, 500},                // 1000/2
		{"no overflow", hw, math.MaxInt64, 1676976733973595602}, // ⌈2×(2⁶³−1)/11⌉
	} {
		if got := EstimateCompletion(c.sample, c.total); got != c.want {
			t.Errorf("%s: EstimateCompletion(%q, %d) = %d; want %d", c.name, c.sample, c.total, got, c.want)
		}
	}
	// A sample cut inside a character still counts.
	if got := EstimateCompletion([]byte("東京\xe4\xba"), 8); got < 1 {
		t.Errorf("EstimateCompletion of a cut sample = %d; want at least 1", got)
	}
}

func TestEstimateCompletionIsMonotonic(t *testing.T) {
	sample := []byte("The answer is 42, as computed by Deep Thought over 7.5 million years.")
	last := int64(0)
	for total := int64(len(sample)); total < 100_000; total += 997 {
		got := EstimateCompletion(sample, total)
		if got < last {
			t.Fatalf("EstimateCompletion(sample, %d) = %d, below %d for less output", total, got, last)
		}
		last = got
	}
	last = 0
	var grown []byte
	for _, w := range strings.Fields(string(sample)) {
		grown = append(grown, w+" "...)
		got := EstimateCompletion(grown, int64(len(grown)))
		if got < last {
			t.Fatalf("EstimateCompletion(%q) = %d, below %d for a shorter output", grown, got, last)
		}
		last = got
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
}

func BenchmarkEstimatePrompt(b *testing.B) {
	body := chatBody(b,
		msg{"role": "system", "content": "You are a helpful assistant."},
		msg{"role": "user", "content": "What is the capital of France? Answer in one word."},
	)
	encoding()
	b.ReportAllocs()
	for b.Loop() {
		EstimatePrompt(body)
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
		EstimatePrompt(body)
	}
}
