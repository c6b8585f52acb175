package usage

import (
	"encoding/base64"
	"testing"

	"github.com/ownkey/ownkey"
)

// FuzzEstimate feeds the estimator any request body, model and output: it
// reads client bytes (the request, its data URLs and image headers), so it
// must not fail, and it must not count less than nothing, whatever it is
// given.
func FuzzEstimate(f *testing.F) {
	png := base64.StdEncoding.EncodeToString(pngHead(640, 480))
	jpeg := base64.StdEncoding.EncodeToString(jpegHead(800, 600, 30))
	for _, seed := range []struct{ model, body string }{
		{"gpt-4o", `{"messages":[{"role":"system","content":"Be brief."},{"role":"user","name":"a","content":"hi"}]}`},
		{"claude-sonnet-4-5", `{"messages":[{"role":"user","content":[{"type":"text","text":"look"},` +
			`{"type":"image_url","image_url":{"url":"data:image/png;base64,` + png + `","detail":"high"}},` +
			`{"type":"image_url","image_url":"data:image\/jpeg;base64,` + jpeg + `"}]}],"tool_choice":"required",` +
			`"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"a":{"type":"string","enum":["x"]}}}}}]}`},
		{"gpt-4o", `{"messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"UklGRg==","format":"wav"}},` +
			`{"type":"file","file":{"filename":"a.pdf","file_data":"data:application/pdf;base64,JVBERi0xLjQKL1R5cGUgL1BhZ2UK"}},` +
			`{"type":"file","file":{"file_data":"data:text/plain,hello%20world"}}]}],"response_format":{"type":"json_schema","json_schema":{"schema":{}}}}`},
		{"gemini-3-pro", `{"messages":[{"role":"assistant","tool_calls":[{"function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c","content":"ok"}],` +
			`"tools":[{"type":"function","function":{"name":"f","parameters":{"$defs":{"D":{"anyOf":[{"type":"null"}]}},"properties":{"p":{"items":{"type":"string"}}}}}}]}`},
		{"x", `not json`},
		{"", `{"messages":"x"}`},
	} {
		f.Add(seed.model, []byte(seed.body), []byte("The answer is 42."), int64(17), 1)
	}
	f.Fuzz(func(t *testing.T, model string, body, sample []byte, total int64, calls int) {
		res := &ownkey.ChatResult{OutputSample: sample, OutputBytes: total, OutputToolCalls: calls}
		u := Estimate(model, body, res)
		if u.PromptTokens < 0 || u.Source != ownkey.UsageEstimated {
			t.Fatalf("usage = %+v", u)
		}
		if total >= 0 && calls >= 0 && u.CompletionTokens < 0 {
			t.Fatalf("completion = %d for %d bytes and %d calls", u.CompletionTokens, total, calls)
		}
		if again := Estimate(model, body, res); again != u {
			t.Fatalf("estimates differ: %+v, then %+v", u, again)
		}
	})
}

// FuzzImageSize reads image headers, and data URLs into them, as the
// estimator does for a client's images and files.
func FuzzImageSize(f *testing.F) {
	for _, head := range [][]byte{pngHead(1, 1), gifHead(2, 3), jpegHead(4, 5, 10), webpHead("VP8 ", 6, 7),
		webpHead("VP8L", 8, 9), webpHead("VP8X", 10, 11), []byte("%PDF-1.4 /Type /Page /Type/Pages")} {
		f.Add(head, "data:image/png;base64,"+base64.StdEncoding.EncodeToString(head))
	}
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x01}, `data:,a\u00`)
	f.Fuzz(func(t *testing.T, head []byte, url string) {
		if w, h, ok := imageSize(head); ok != (w > 0 && h > 0) || w < 0 || h < 0 || w > 1<<20 || h > 1<<20 {
			t.Fatalf("imageSize = %d×%d %v", w, h, ok)
		}
		d := parseDataURL(url)
		if got := d.head(nil, 64); len(got) > 64 {
			t.Fatalf("head is %d bytes, over its limit", len(got))
		}
		imageSize(d.head(make([]byte, 0, 16), headLimit))
		if d.decodedLen() < 0 || pdfPages(d) < 1 {
			t.Fatalf("%+v: %d bytes, %d pages", d, d.decodedLen(), pdfPages(d))
		}
	})
}

// FuzzPieces holds nextPiece to the tokenizer library: the pieces cover
// the text, each ends where a token of the library's encoding ends, and
// counting piece by piece gives the library's count of the whole.
func FuzzPieces(f *testing.F) {
	for _, s := range pieceSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkPieces(t, s)
	})
}
