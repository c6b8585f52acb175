package usage

import (
	"math"
	"math/bits"
	"sync"

	"github.com/tidwall/gjson"
	"github.com/tiktoken-go/tokenizer"
)

// Token costs the estimator adds to the text it counts. OpenAI's own
// accounting (the openai-cookbook "How to count tokens" recipe for the gpt-4o
// family) is 3 tokens of framing per message plus its role, 1 more when the
// message has a name, and 3 to prime the reply; the estimator charges at
// least that much everywhere.
const (
	// perMessageTokens frames a message; its role is counted on top, so a
	// message with one of the usual one-token roles (system, developer,
	// user, assistant, tool) costs 4 tokens before its content.
	perMessageTokens = 3
	perNameTokens    = 1
	// replyPrimingTokens start the assistant's reply.
	replyPrimingTokens = 3
	// perToolCallTokens frames each tool call an assistant message carries,
	// on top of the function's name and arguments.
	perToolCallTokens = 3

	// ImagePartTokens is charged for each image part, whatever its size or
	// detail, because the estimator does not decode images. It is at least
	// the largest image on gpt-4o at high detail (2048×768 → 8 tiles:
	// 85 + 8×170 = 1,445; a 1024×1024 image costs 765) and about Claude's
	// cost of its largest image before it resizes (≈1,600). Models that
	// inflate image token counts for pricing (gpt-4o-mini, gpt-4.1-mini)
	// charge more, but OpenAI always reports usage, so their counts never
	// come from here.
	ImagePartTokens = 1_600
	// AudioPartTokens is charged for each input_audio part: one minute of
	// audio at Gemini's 32 tokens a second (gpt-4o audio counts about 10).
	// Longer audio costs more than this.
	AudioPartTokens = 1_920
	// FilePartTokens is charged for each file part (a PDF, say): one dense
	// page as both text and page image, as Claude and OpenAI bill PDFs.
	// Files of many pages cost more than this.
	FilePartTokens = 3_000
)

// encoding is o200k_base, the encoding of OpenAI's current models. Its
// vocabulary is compiled into the binary (no download at run time) but takes
// tens of milliseconds and tens of megabytes to build, so it is built on
// first use.
var encoding = sync.OnceValue(func() tokenizer.Codec {
	enc, err := tokenizer.Get(tokenizer.O200kBase)
	if err != nil {
		panic("usage: o200k_base encoding missing from github.com/tiktoken-go/tokenizer: " + err.Error())
	}
	// Invalid UTF-8 (a sample cut inside a character) is counted as U+FFFD,
	// the way the bytes would read after a round trip through JSON.
	enc.SetErrorMode(tokenizer.ErrorModeReplace)
	return enc
})

// countTokens is the number of o200k_base tokens in s. Should the tokenizer
// fail, it falls back to the length in bytes, which byte-level BPE never
// exceeds.
func countTokens(s string) int64 {
	if s == "" {
		return 0
	}
	n, err := encoding().Count(s)
	if err != nil {
		return int64(len(s))
	}
	return int64(n)
}

// EstimatePrompt estimates the prompt tokens of an OpenAI chat completions
// request body, for when the provider reports no usage. It counts, with
// o200k_base, the text of every message (string content, text and refusal
// parts, name, tool calls' function names and arguments, any other field as
// its JSON text, tool results), the JSON of the tool and function
// definitions and of a json_schema response format; it adds OpenAI's
// framing (see perMessageTokens) and a fixed cost per image, audio and file
// part (ImagePartTokens, AudioPartTokens, FilePartTokens).
//
// A body that is not JSON or has no messages array is counted as text
// whole. The count is o200k_base's: providers whose tokenizers are less
// efficient (Claude's, Llama's, Gemini's) count more tokens for the same
// text.
func EstimatePrompt(body []byte) int64 {
	if len(body) == 0 {
		return 0
	}
	// One copy: every gjson result below points into it.
	s := string(body)
	if !gjson.Valid(s) {
		return countTokens(s)
	}
	var n int64
	hasMessages := false
	gjson.Parse(s).ForEach(func(key, value gjson.Result) bool {
		switch key.String() {
		case "messages":
			if value.IsArray() {
				hasMessages = true
				value.ForEach(func(_, m gjson.Result) bool {
					n += estimateMessage(m)
					return true
				})
			}
		case "tools", "functions":
			n += countJSON(value)
		case "response_format":
			n += countJSON(value.Get("json_schema"))
		}
		return true
	})
	if !hasMessages {
		return countTokens(s)
	}
	return n + replyPrimingTokens
}

func estimateMessage(m gjson.Result) int64 {
	if !m.IsObject() {
		return perMessageTokens + countJSON(m)
	}
	n := int64(perMessageTokens)
	m.ForEach(func(key, value gjson.Result) bool {
		switch key.String() {
		case "content":
			n += estimateContent(value)
		case "name":
			n += countJSON(value) + perNameTokens
		case "tool_calls":
			value.ForEach(func(_, call gjson.Result) bool {
				n += estimateCall(call)
				return true
			})
		case "function_call": // the deprecated single call
			n += perToolCallTokens + countJSON(value.Get("name")) + countJSON(value.Get("arguments"))
		default: // role, tool_call_id, refusal, and whatever comes next
			n += countJSON(value)
		}
		return true
	})
	return n
}

// estimateCall counts a tool call: the function's name and arguments, or
// the whole call as JSON when it is not a function call (custom tools).
func estimateCall(call gjson.Result) int64 {
	if fn := call.Get("function"); fn.IsObject() {
		return perToolCallTokens + countJSON(fn.Get("name")) + countJSON(fn.Get("arguments"))
	}
	return perToolCallTokens + countJSON(call)
}

func estimateContent(content gjson.Result) int64 {
	if !content.IsArray() {
		return countJSON(content)
	}
	var n int64
	content.ForEach(func(_, part gjson.Result) bool {
		switch part.Get("type").String() {
		case "text":
			n += countJSON(part.Get("text"))
		case "refusal":
			n += countJSON(part.Get("refusal"))
		case "image_url", "input_image", "image":
			n += ImagePartTokens
		case "input_audio", "audio":
			n += AudioPartTokens
		case "file", "input_file":
			n += FilePartTokens
		default:
			n += countJSON(part)
		}
		return true
	})
	return n
}

// countJSON counts a string's text, nothing for a missing value or null,
// and anything else as its JSON text.
func countJSON(v gjson.Result) int64 {
	switch v.Type {
	case gjson.Null:
		return 0
	case gjson.String:
		return countTokens(v.Str)
	default:
		return countTokens(v.Raw)
	}
}

// EstimateCompletion estimates the completion tokens of a response of which
// sample is the start and totalBytes the length (content, reasoning and tool
// arguments). When the sample is shorter than the output, its count is
// scaled up in proportion, rounding up. With no sample at all it returns
// totalBytes/2 rounded up, a deliberately high bound (text averages about
// four bytes a token).
func EstimateCompletion(sample []byte, totalBytes int64) int64 {
	if len(sample) == 0 {
		if totalBytes <= 0 {
			return 0
		}
		return totalBytes/2 + totalBytes%2
	}
	n := countTokens(string(sample))
	if totalBytes <= int64(len(sample)) {
		return n
	}
	return mulDivCeil(n, totalBytes, int64(len(sample)))
}

// mulDivCeil is ⌈a×b/c⌉ for positive arguments, without overflowing in the
// product, saturating at math.MaxInt64.
func mulDivCeil(a, b, c int64) int64 {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	if hi >= uint64(c) {
		return math.MaxInt64
	}
	q, r := bits.Div64(hi, lo, uint64(c))
	if r != 0 {
		q++
	}
	if q > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(q)
}
