package openaicompat

import (
	"bytes"
	"encoding/binary"
	"math/bits"

	"github.com/ownkey/ownkey/jsontext"
)

// chunkInfo is what inspect learned about one chunk or body.
type chunkInfo struct {
	// ok is false when data is not a JSON object inspect could read to its
	// end; the other fields then describe only the part before.
	ok      bool
	isError bool
	// choices counts the elements of "choices"; absent counts as empty.
	choices int
	// data[usageKey:usageEnd] is the `"usage": {…}` member when usage is an
	// object; usageEnd is 0 otherwise.
	usageKey, usageEnd int
}

// The containers inspect descends into. Any other object or array is
// skipped whole, without looking inside.
const (
	inRoot      = iota // the chunk, or the whole response
	inChoices          // root.choices
	inChoice           // an element of choices
	inDelta            // choice.delta (stream) or choice.message (response)
	inToolCalls        // delta.tool_calls
	inToolCall         // an element of tool_calls
	inFunction         // tool_call.function
)

// The keys inspect acts on, by container.
const (
	kOther            = iota
	kID               // root
	kCreated          // root
	kModel            // root
	kError            // root
	kUsage            // root
	kChoices          // root
	kDelta            // choice: delta or message
	kFinishReason     // choice
	kContent          // delta: content or refusal
	kReasoningContent // delta
	kReasoning        // delta
	kToolCalls        // delta
	kFunction         // tool call
	kArguments        // function
	kName             // function
)

// maxDepth is how deep the containers inspect descends into go: root,
// choices, choice, delta, tool_calls, tool call, function.
const maxDepth = 7

func keyIn(container uint8, key []byte) uint8 {
	switch container {
	case inRoot:
		switch string(key) {
		case "id":
			return kID
		case "created":
			return kCreated
		case "model":
			return kModel
		case "error":
			return kError
		case "usage":
			return kUsage
		case "choices":
			return kChoices
		}
	case inChoice:
		switch string(key) {
		case "delta", "message":
			return kDelta
		case "finish_reason":
			return kFinishReason
		}
	case inDelta:
		switch string(key) {
		case "content", "refusal":
			return kContent
		case "reasoning_content":
			return kReasoningContent
		case "reasoning":
			return kReasoning
		case "tool_calls":
			return kToolCalls
		}
	case inToolCall:
		if string(key) == "function" {
			return kFunction
		}
	case inFunction:
		switch string(key) {
		case "arguments":
			return kArguments
		case "name":
			return kName
		}
	}
	return kOther
}

// child is the container that a value opening with c ('{' or '[') under key
// in container is, or false when inspect has no use for what is inside.
func child(container, key uint8, c byte) (uint8, bool) {
	switch {
	case container == inRoot && key == kChoices && c == '[':
		return inChoices, true
	case container == inChoices && c == '{':
		return inChoice, true
	case container == inChoice && key == kDelta && c == '{':
		return inDelta, true
	case container == inDelta && key == kToolCalls && c == '[':
		return inToolCalls, true
	case container == inToolCalls && c == '{':
		return inToolCall, true
	case container == inToolCall && key == kFunction && c == '{':
		return inFunction, true
	}
	return 0, false
}

// path is where inspect is in the chunk: everything it needs to go on
// reading from a given offset.
type path struct {
	containers [maxDepth]uint8
	keys       [maxDepth]uint8
	depth      int  // index of the innermost container; -1 before the root
	expectKey  bool // next is a key (else a value, or ',' or a closing)
	choices    int
}

// A mark is a place in the tail of a chunk (what follows the text of its
// first delta) where reading can resume: the start of a top-level value,
// with nothing to account for between the tail's start and there.
type mark struct {
	off, keyOff int // of the value and of its key, from the tail's start
	path        path
}

const maxMarks = 4

// inspect reads, in one pass over data, what accounting needs: id, created,
// model, error, usage, and per choice the finish reason and the output text
// (content, refusal, reasoning, tool-call names and arguments). It serves streamed
// chunks (choices[].delta) and whole responses (choices[].message) alike.
//
// It runs on every chunk of every stream, so it is one loop over the tokens
// with the path in a small struct, which allows two shortcuts. Consecutive
// chunks of a stream are byte for byte the same up to the text (id, object,
// created, model, fingerprint, choice index, "content":), and mostly after
// it too (logprobs, finish_reason, usage all null), up to a last top-level
// value that varies (OpenAI's obfuscation padding). So:
//
//   - when a chunk starts with the bytes that preceded the first value of the
//     delta in the last chunk read whole, reading resumes there, with the
//     path saved then;
//   - when, after that value (the text), the chunk goes on like the last
//     one did past its text, reading skips to the last top-level value
//     before they differ, with the path saved there, provided nothing in
//     between called for accounting.
//
// Identical bytes read the same, so no result changes: what the skipped
// bytes set (id, created, model) was set from the same bytes before, and
// skipped tails hold nothing to count. FuzzInspectShortcuts checks this
// against reading every chunk whole.
func (x *exchange) inspect(data []byte) (ci chunkInfo) {
	s := scanner{b: data}
	p := path{depth: -1}
	resumed := false
	if r := x.resume; len(r) > 0 && !x.noShortcuts && len(data) > len(r) && bytes.Equal(data[:len(r)], r) {
		p, s.i, resumed = x.resumePath, len(r), true
	}
	var (
		saved, sawUsageOrError bool
		rootKeyAt              int
		// firstValue: the next value is the one at the resume point.
		firstValue = resumed
		// tailFrom is where the tail starts (0: not tracked); effects
		// counts what was accounted for, so that marks are set only where
		// nothing was since the tail's start (tailEffects).
		tailFrom, effects, tailEffects int
		marks                          [maxMarks]mark
		nMarks                         int
		// The current delta's reasoning counts when the delta closes: as
		// reasoning_content, or else reasoning (some servers send both).
		reasoningContent, reasoning []byte
		rcEscaped, rEscaped         bool
	)
loop:
	for {
		c := s.peek()
		if s.bad {
			break loop
		}
		if p.depth < 0 {
			if c != '{' {
				break loop
			}
			p.depth, p.containers[0], p.keys[0], p.expectKey = 0, inRoot, kOther, true
			s.i++
			continue
		}
		container, key := p.containers[p.depth], p.keys[p.depth]
		atFirstValue := firstValue
		firstValue = false
		switch c {
		case '"':
			at := s.i
			raw, escaped := s.str()
			if s.bad {
				break loop
			}
			if p.expectKey {
				p.keys[p.depth], p.expectKey = kOther, false
				if !escaped { // none of the names looked for has an escape
					p.keys[p.depth] = keyIn(container, raw)
				}
				if !s.consume(':') {
					break loop
				}
				switch {
				case p.depth == 0:
					rootKeyAt = at
					if k := p.keys[0]; k == kUsage || k == kError {
						sawUsageOrError = true
					}
					if tailFrom > 0 && effects == tailEffects && nMarks < maxMarks {
						marks[nMarks] = mark{off: s.i - tailFrom, keyOff: at - tailFrom, path: p}
						nMarks++
					}
				case container == inDelta && !resumed && !saved && !sawUsageOrError && p.choices == 1 && x.req.Stream:
					// The first value of the first delta: where the next
					// chunk can resume.
					x.resume = append(x.resume[:0], data[:s.i]...)
					x.resumePath, saved, firstValue = p, true, true
				}
				continue
			}
			switch {
			case container == inDelta && key == kContent, container == inFunction && key == kArguments:
				x.output(raw, escaped)
				if atFirstValue && key == kContent {
					// The text at the resume point: the tail starts here.
					if resumed && x.skipTail(&s, &p, &rootKeyAt) {
						continue
					}
					tailFrom, tailEffects = s.i, effects
					continue
				}
				effects++
			case container == inFunction && key == kName:
				// A call's name comes with its first fragment: it counts
				// the call.
				x.counted.AddToolName(raw, escaped)
				effects++
			case container == inDelta && key == kReasoningContent:
				reasoningContent, rcEscaped = raw, escaped
			case container == inDelta && key == kReasoning:
				reasoning, rEscaped = raw, escaped
			case container == inChoice && key == kFinishReason:
				effects++
				// A stream's finish reason is the last one given; a whole
				// response's is its first choice's.
				if len(raw) > 0 && (x.req.Stream || p.choices == 1) {
					x.sawFinish = true
					if escaped || x.res.FinishReason != string(raw) {
						x.res.FinishReason = x.decoded(raw, escaped)
					}
				}
			case container == inRoot && key == kID:
				effects++
				x.id = append(x.id[:0], data[at:s.i]...)
			case container == inRoot && key == kModel:
				effects++
				if len(raw) > 0 && x.res.ModelServed == "" {
					x.res.ModelServed = x.decoded(raw, escaped)
					x.model = append(x.model[:0], data[at:s.i]...)
				}
			case container == inRoot && key == kError:
				effects++
				ci.isError = len(raw) > 0
			}
		case '{', '[':
			next, descend := child(container, key, c)
			if !descend || p.depth+1 == maxDepth {
				raw := s.skip()
				if s.bad {
					break loop
				}
				switch {
				case container == inRoot && key == kError && c == '{':
					effects++
					ci.isError = true
				case container == inRoot && key == kUsage && c == '{':
					effects++
					ci.usageKey, ci.usageEnd = rootKeyAt, s.i
					// All-zero usage is no usage: it must not replace a
					// real one.
					if u := ParseUsage(raw); !u.IsZero() {
						x.usage = append(x.usage[:0], raw...)
						x.res.Usage = u
					}
				}
				continue
			}
			s.i++
			p.depth++
			p.containers[p.depth], p.keys[p.depth], p.expectKey = next, kOther, c == '{'
			switch next {
			case inChoice:
				effects++
				p.choices++
			case inDelta:
				reasoningContent, reasoning = nil, nil
			default:
				effects++ // tool calls: their arguments count
			}
		case '}', ']':
			if container == inDelta && (len(reasoningContent) > 0 || len(reasoning) > 0) {
				effects++
				if len(reasoningContent) > 0 {
					x.output(reasoningContent, rcEscaped)
				} else {
					x.output(reasoning, rEscaped)
				}
			}
			s.i++
			if p.depth--; p.depth < 0 {
				ci.ok = onlySpace(data[s.i:])
				break loop
			}
		case ',':
			s.i++
			switch p.containers[p.depth] {
			case inChoices, inToolCalls:
			default:
				p.expectKey = true
			}
		default: // a number or a literal
			raw := s.skip()
			if s.bad || len(raw) == 0 {
				break loop
			}
			if container == inRoot && key == kCreated && (raw[0] == '-' || '0' <= raw[0] && raw[0] <= '9') {
				effects++
				x.created = append(x.created[:0], raw...)
			}
		}
	}
	if !resumed && !saved {
		x.resume = x.resume[:0]
	}
	// The tail just read whole becomes the one the next chunks are
	// compared with.
	if tailFrom > 0 {
		x.tail, x.nMarks = x.tail[:0], 0
		if ci.ok {
			x.tail = append(x.tail, data[tailFrom:]...)
			x.marks, x.nMarks = marks, nMarks
		}
	} else if !resumed {
		x.tail, x.nMarks = x.tail[:0], 0
	}
	ci.choices = p.choices
	return ci
}

// skipTail moves s past the part of the tail that is the same as in the
// last tail read whole, to the last mark inside it, and reports whether it
// did.
func (x *exchange) skipTail(s *scanner, p *path, rootKeyAt *int) bool {
	if x.nMarks == 0 {
		return false
	}
	same := commonPrefix(s.b[s.i:], x.tail)
	for i := x.nMarks - 1; i >= 0; i-- {
		if m := &x.marks[i]; m.off <= same {
			*rootKeyAt = s.i + m.keyOff
			s.i += m.off
			*p = m.path
			return true
		}
	}
	return false
}

// commonPrefix is the length of the longest common prefix of a and b.
func commonPrefix(a, b []byte) int {
	n := min(len(a), len(b))
	i := 0
	for ; i+8 <= n; i += 8 {
		if d := binary.LittleEndian.Uint64(a[i:]) ^ binary.LittleEndian.Uint64(b[i:]); d != 0 {
			return i + bits.TrailingZeros64(d)/8
		}
	}
	for i < n && a[i] == b[i] {
		i++
	}
	return i
}

func onlySpace(b []byte) bool { return len(bytes.TrimSpace(b)) == 0 }

// decoded is a JSON string's contents as a Go string.
func (x *exchange) decoded(raw []byte, escaped bool) string {
	if !escaped {
		return string(raw)
	}
	x.scratch = jsontext.AppendUnescaped(x.scratch[:0], raw)
	return string(x.scratch)
}
