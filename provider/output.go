package provider

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/jsontext"
)

// SampleLimit bounds ChatResult.OutputSample.
const SampleLimit = 16 << 10

// Output counts the text an answer delivered (content, reasoning, tool
// names and arguments) and keeps its first bytes, and counts the tool
// calls: ChatResult.OutputBytes, OutputSample and OutputToolCalls, from
// which completion tokens are estimated when the provider reports no
// usage. The zero Output is ready to use.
type Output struct {
	bytes   int64
	calls   int
	sample  []byte
	scratch []byte // unescaped text
}

// AddJSON counts the contents of a JSON string (raw, without its quotes),
// unescaped first when escaped says it holds an escape.
func (o *Output) AddJSON(raw []byte, escaped bool) {
	if len(raw) == 0 {
		return
	}
	if escaped {
		o.scratch = jsontext.AppendUnescaped(o.scratch[:0], raw)
		raw = o.scratch
	}
	add(o, raw)
}

// AddToolName counts a tool call whose function name is the contents of
// a JSON string (raw, as AddJSON takes it). A call's name comes once, with
// the call's first fragment.
func (o *Output) AddToolName(raw []byte, escaped bool) {
	o.calls++
	o.AddJSON(raw, escaped)
}

// addToolCall counts a tool call named name (a plain string).
func (o *Output) addToolCall(name string) {
	o.calls++
	add(o, name)
}

// addLiteral counts the JSON string literal lit (quotes included);
// anything else counts nothing.
func (o *Output) addLiteral(lit string) {
	if len(lit) <= 2 || lit[0] != '"' {
		return
	}
	raw := lit[1 : len(lit)-1]
	if strings.IndexByte(raw, '\\') < 0 {
		add(o, raw)
		return
	}
	o.scratch = jsontext.AppendUnescaped(o.scratch[:0], raw)
	add(o, o.scratch)
}

func add[T string | []byte](o *Output, text T) {
	o.bytes += int64(len(text))
	room := SampleLimit - len(o.sample)
	if room <= 0 || len(text) == 0 {
		return
	}
	if len(text) > room {
		text = text[:room]
		// Drop a last character the cut left incomplete (at most 3 bytes).
		for i := 0; i < utf8.UTFMax-1 && len(text) > 0; i++ {
			last := string(text[max(0, len(text)-utf8.UTFMax):])
			if r, size := utf8.DecodeLastRuneInString(last); r != utf8.RuneError || size > 1 {
				break
			}
			text = text[:len(text)-1]
		}
	}
	o.sample = append(o.sample, text...)
}

// Report puts what was counted into res (the sample copied, in one
// allocation of its size), unless nothing was: then res keeps what another
// count put there.
func (o *Output) Report(res *ownkey.ChatResult) {
	if o.bytes == 0 && o.calls == 0 {
		return
	}
	res.OutputBytes, res.OutputToolCalls = o.bytes, o.calls
	res.OutputSample = bytes.Clone(o.sample)
}

// Reset empties o for another answer, keeping its buffers unless one grew
// large.
func (o *Output) Reset() {
	*o = Output{sample: keep(o.sample), scratch: keep(o.scratch)}
}

// keepCap is the largest buffer pooled state keeps.
const keepCap = 256 << 10

func keep(b []byte) []byte {
	if cap(b) > keepCap {
		return nil
	}
	return b[:0]
}

// Bytes is the output counted so far.
func (o *Output) Bytes() int64 { return o.bytes }

// Sample is the output kept so far (at most SampleLimit bytes); valid until
// the next call.
func (o *Output) Sample() []byte { return o.sample }
