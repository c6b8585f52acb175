package usage

import (
	"bytes"
	"encoding/base64"
	"io"
	"strings"

	"github.com/ownkey/ownkey/jsontext"
)

// A data URL ("data:<media type>[;params][;base64],<data>") carried in a
// JSON string: what the estimator reads of an image, audio or file part.
type dataURL struct {
	mediaType string // lower case; "" when the string is not a data URL
	base64    bool
	// raw is the data as it stands in the JSON text (escapes and all:
	// base64 has no character JSON must escape, but an encoder may write
	// "/" as "\/").
	raw string
}

// parseDataURL reads raw, a JSON string's contents (without quotes, still
// escaped), as a data URL. Only the header is looked at: the data is left
// where it is.
func parseDataURL(raw string) dataURL {
	rest, ok := cutPrefixFold(raw, "data:")
	if !ok {
		return dataURL{}
	}
	comma := strings.IndexByte(rest, ',')
	if comma < 0 || comma > 256 {
		return dataURL{}
	}
	meta := rest[:comma]
	d := dataURL{raw: rest[comma+1:]}
	mt, params, _ := strings.Cut(meta, ";")
	d.mediaType = strings.ToLower(strings.ReplaceAll(mt, `\/`, "/"))
	for params != "" {
		var p string
		p, params, _ = strings.Cut(params, ";")
		if strings.EqualFold(p, "base64") {
			d.base64 = true
		}
	}
	if d.mediaType == "" {
		d.mediaType = "text/plain"
	}
	return d
}

// decodedLen is the data's decoded length in bytes (an upper bound when
// the base64 holds line breaks or escapes).
func (d dataURL) decodedLen() int64 {
	n := int64(len(d.raw))
	if !d.base64 {
		return n
	}
	tail := d.raw[max(0, len(d.raw)-2):]
	pad := int64(len(tail) - len(strings.TrimRight(tail, "=")))
	return max(0, n/4*3+n%4*3/4-pad)
}

// headLimit is how much of an image is decoded to find its size: a JPEG's
// frame header may follow tens of kilobytes of metadata (EXIF, ICC
// profile); one further on is not looked for.
const headLimit = 64 << 10

// head decodes at most limit bytes from the start of the data into buf,
// reusing its storage. A prefix that does not decode (not base64, or
// escaped oddly) gives what decoded before the fault, or nothing.
func (d dataURL) head(buf []byte, limit int) []byte {
	raw := d.raw
	// Enough base64 for limit bytes, ending on a whole quantum.
	if n := (limit + 2) / 3 * 4; len(raw) > n+n/8 {
		raw = raw[:n+n/8] // room for escapes and line breaks
	}
	var text []byte
	if strings.IndexByte(raw, '\\') >= 0 {
		text = jsontext.AppendUnescaped(buf[:0], escapeSafePrefix(raw))
	} else {
		text = append(buf[:0], raw...)
	}
	if !d.base64 {
		return text[:min(len(text), limit)]
	}
	// Base64 decoding in place: the output never outruns the input.
	text = dropBase64Noise(text)
	text = text[:len(text)/4*4]
	n, err := base64.StdEncoding.Decode(text, text)
	if err != nil {
		n, err = base64.RawURLEncoding.Decode(text, text)
		if err != nil {
			return nil
		}
	}
	return text[:min(n, limit)]
}

// escapeSafePrefix is s without a last escape sequence that a cut split.
func escapeSafePrefix(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			continue
		}
		n := 2
		if i+1 < len(s) && s[i+1] == 'u' {
			n = 6
		}
		if i+n > len(s) {
			return s[:i]
		}
		i += n - 1
	}
	return s
}

// dropBase64Noise removes line breaks and spaces (MIME-style base64) in
// place.
func dropBase64Noise(b []byte) []byte {
	if !bytes.ContainsAny(b, " \t\r\n") {
		return b
	}
	out := b[:0]
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			out = append(out, c)
		}
	}
	return out
}

// The per-part costs of what the estimator cannot count as text.
const (
	// AudioTokensPerSecond is Gemini's documented rate for audio input;
	// gpt-4o's audio models count fewer.
	AudioTokensPerSecond = 32
	// audioBytesPerSecondPCM bounds the duration of WAV/PCM audio: 8 kHz,
	// 8-bit mono, the least any speech API takes.
	audioBytesPerSecondPCM = 8_000
	// audioBytesPerSecondCompressed bounds the duration of compressed audio
	// (MP3, Opus, AAC, FLAC, …): 16 kbit/s, below any usual speech bitrate.
	audioBytesPerSecondCompressed = 2_000
	// AudioPartTokens is charged for audio whose length is unknown (no
	// data): one minute.
	AudioPartTokens = 60 * AudioTokensPerSecond

	// FilePageTokens is charged per page of a document: 3,000 tokens of
	// text, the top of Anthropic's documented 1,500–3,000 a page, plus the
	// page as an image (Claude and OpenAI read both), about 1,600.
	FilePageTokens = 4_600
	// fileBytesPerPage bounds the pages of a PDF whose page objects are
	// compressed out of sight: one per 16 KiB.
	fileBytesPerPage = 16 << 10
	// FilePartTokens is charged for a file without data (a file id or
	// URL): one page.
	FilePartTokens = FilePageTokens
)

// audioTokens bounds the tokens of an input_audio part with data d in
// format ("wav", "mp3", …).
func audioTokens(d dataURL, format string) int64 {
	n := d.decodedLen()
	if n <= 0 {
		return AudioPartTokens
	}
	rate := int64(audioBytesPerSecondCompressed)
	if f := strings.ToLower(format); f == "wav" || f == "pcm16" || f == "pcm" || strings.Contains(d.mediaType, "wav") {
		rate = audioBytesPerSecondPCM
	}
	return max(1, ceilDiv(n, rate)) * AudioTokensPerSecond
}

// pdfScanLimit bounds how much of a PDF is decoded to count its pages;
// past it, pages are bounded by size.
const pdfScanLimit = 8 << 20

// pdfPages bounds the pages of the PDF in d: its page objects (/Type
// /Page, not /Pages) in the first pdfScanLimit bytes, or, when none shows
// there (they sit in compressed object streams) or the file goes on, one
// page per fileBytesPerPage of what was not seen.
func pdfPages(d dataURL) int64 {
	raw := d.raw
	if strings.IndexByte(raw, '\\') >= 0 {
		raw = string(jsontext.AppendUnescaped(nil, raw))
	}
	var r io.Reader = strings.NewReader(raw)
	if d.base64 {
		r = base64.NewDecoder(base64.StdEncoding, noiseFilter{r})
	}
	r = io.LimitReader(r, pdfScanLimit)
	// lookahead is what a match needs after its start: "/Type", spaces,
	// "/Page" and the byte after.
	const lookahead = 16
	buf := make([]byte, 64<<10)
	var pages, seen int64
	have := 0
	for {
		n, err := io.ReadFull(r, buf[have:])
		have += n
		seen += int64(n)
		end := have - lookahead
		if err != nil {
			end = have
		}
		pages += countPageObjects(buf[:have], end)
		if err != nil {
			break
		}
		have = copy(buf, buf[end:have])
	}
	if pages == 0 {
		return ceilDiv(max(d.decodedLen(), 1), fileBytesPerPage)
	}
	if rest := d.decodedLen() - seen; seen >= pdfScanLimit && rest > 0 {
		pages += ceilDiv(rest, fileBytesPerPage)
	}
	return pages
}

// countPageObjects counts the page objects of b that start before end.
func countPageObjects(b []byte, end int) int64 {
	var pages int64
	for i := 0; i < end; {
		j := bytes.Index(b[i:], []byte("/Type"))
		if j < 0 || i+j >= end {
			break
		}
		i += j + len("/Type")
		k := i
		for k < len(b) && (b[k] == ' ' || b[k] == '\r' || b[k] == '\n') && k-i < 4 {
			k++
		}
		if bytes.HasPrefix(b[k:], []byte("/Page")) && (k+5 == len(b) || !isNameChar(b[k+5])) {
			pages++
		}
	}
	return pages
}

// noiseFilter drops line breaks and spaces from MIME-style base64.
type noiseFilter struct{ r io.Reader }

func (f noiseFilter) Read(p []byte) (int, error) {
	for {
		n, err := f.r.Read(p)
		if n == 0 {
			return 0, err
		}
		if kept := dropBase64Noise(p[:n]); len(kept) > 0 || err != nil {
			return len(kept), err
		}
	}
}

// isNameChar reports whether c continues a PDF name (/Pages after /Page).
func isNameChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}
