// Package jsonvalid checks that a JSON text is valid (RFC 8259) and nested
// no deeper than a limit, in one iterative pass that allocates nothing, and
// can report the top-level object's members on the way (CheckMembers).
//
// It exists because the recursive validators and decoders ownkey relies on
// (gjson.Valid, encoding/json) spend a stack frame per level of nesting: a
// body of millions of '[' overflowed the goroutine stack inside
// gjson.ValidBytes, and a Go stack overflow kills the process, not the
// request. Every JSON text from a client or a provider is checked here
// before a recursive parser sees it; a text nested deeper than the limit is
// refused as a whole, after reading only as far as the first level too
// many.
package jsonvalid

import "errors"

// DefaultMaxDepth is the nesting limit used when none is configured: far
// deeper than any real chat request (messages, content parts, tool
// schemas) or provider answer needs, and shallow enough that no recursive
// parser behind the check comes near its stack limit.
const DefaultMaxDepth = 128

// MaxDepthCeiling is the highest limit Check honours: encoding/json, which
// decodes what passed the check, refuses deeper texts itself, so a higher
// limit would admit nothing more.
const MaxDepthCeiling = 10000

var (
	// ErrSyntax: the text is not one valid JSON value.
	ErrSyntax = errors.New("not valid JSON")
	// ErrTooDeep: the text nests objects and arrays deeper than the limit.
	ErrTooDeep = errors.New("JSON nested too deeply")
)

// Depth resolves a configured limit: zero or less means DefaultMaxDepth, and
// the result is at most MaxDepthCeiling.
func Depth(limit int) int {
	if limit <= 0 {
		return DefaultMaxDepth
	}
	return min(limit, MaxDepthCeiling)
}

// Check reports whether data is exactly one JSON value, with optional
// surrounding white space, whose objects and arrays nest at most
// Depth(maxDepth) levels (`[]` is one level, `[[]]` two). It returns nil,
// ErrSyntax or ErrTooDeep, whichever the first offending byte calls for:
// a text that goes too deep before it goes wrong is ErrTooDeep.
//
// Within the limit it accepts exactly what encoding/json.Valid accepts (as
// Valid, it does not require strings to be valid UTF-8);
// FuzzCheck compares the two.
func Check(data []byte, maxDepth int) error {
	return CheckMembers(data, maxDepth, nil)
}

// Member is a member of the top-level object, as offsets into the text:
// data[KeyStart:KeyEnd] is its name with the quotes (escapes not undone),
// data[ValueStart:ValueEnd] its value, white space trimmed.
type Member struct {
	KeyStart, KeyEnd, ValueStart, ValueEnd int
}

// CheckMembers is Check that also calls member, if not nil, with each
// member of the top-level object in order as the check passes it, so that
// a caller that needs the top-level members need not scan the text again.
// Members are reported before the rest of the text is checked: they mean
// nothing unless CheckMembers returns nil.
func CheckMembers(data []byte, maxDepth int, member func(Member)) error {
	maxDepth = Depth(maxDepth)
	// The bit stack lives on the goroutine's stack; the usual limit gets
	// a small one, so that checking a small body does not start by
	// clearing 1 KiB.
	if maxDepth < 4*64 {
		var objects [4]uint64
		return check(data, maxDepth, objects[:], member)
	}
	var objects [MaxDepthCeiling/64 + 1]uint64
	return check(data, maxDepth, objects[:], member)
}

// check is CheckMembers with objects, the bit stack: one bit per open
// container, set for an object, which a ',' or a closing byte must match.
// It has room for maxDepth+1 bits.
func check(data []byte, maxDepth int, objects []uint64, member func(Member)) error {
	depth, i, n := 0, 0, len(data)
	// m is the top-level member being read; inMember is set from its
	// name to the end of its value.
	var m Member
	inMember := false

value:
	for i < n && data[i] <= ' ' && IsSpace(data[i]) {
		i++
	}
	if i >= n {
		return ErrSyntax
	}
	if inMember && depth == 1 {
		m.ValueStart = i
	}
	switch data[i] {
	case '{':
		if depth++; depth > maxDepth {
			return ErrTooDeep
		}
		objects[depth>>6] |= 1 << (depth & 63)
		i = SkipSpace(data, i+1)
		if i < n && data[i] == '}' {
			i++
			depth--
			goto after
		}
		goto key
	case '[':
		if depth++; depth > maxDepth {
			return ErrTooDeep
		}
		objects[depth>>6] &^= 1 << (depth & 63)
		i = SkipSpace(data, i+1)
		if i < n && data[i] == ']' {
			i++
			depth--
			goto after
		}
		goto value
	case '"':
		if i = stringEnd(data, i+1); i < 0 {
			return ErrSyntax
		}
	case 't':
		if i+4 > n || string(data[i:i+4]) != "true" {
			return ErrSyntax
		}
		i += 4
	case 'f':
		if i+5 > n || string(data[i:i+5]) != "false" {
			return ErrSyntax
		}
		i += 5
	case 'n':
		if i+4 > n || string(data[i:i+4]) != "null" {
			return ErrSyntax
		}
		i += 4
	default:
		if i = numberEnd(data, i); i < 0 {
			return ErrSyntax
		}
	}

after: // a value ended at i
	if inMember && depth == 1 {
		m.ValueEnd = i
		member(m)
		inMember = false
	}
	i = SkipSpace(data, i)
	if depth == 0 {
		if i == n {
			return nil
		}
		return ErrSyntax
	}
	if i >= n {
		return ErrSyntax
	}
	if objects[depth>>6]&(1<<(depth&63)) != 0 {
		switch data[i] {
		case ',':
			i = SkipSpace(data, i+1)
			goto key
		case '}':
			i++
			depth--
			goto after
		}
		return ErrSyntax
	}
	switch data[i] {
	case ',':
		i++
		goto value
	case ']':
		i++
		depth--
		goto after
	}
	return ErrSyntax

key: // a member's name is due at i (white space already skipped)
	if i >= n || data[i] != '"' {
		return ErrSyntax
	}
	if depth == 1 && member != nil {
		m.KeyStart = i
		inMember = true
	}
	if i = stringEnd(data, i+1); i < 0 {
		return ErrSyntax
	}
	if depth == 1 {
		m.KeyEnd = i
	}
	i = SkipSpace(data, i)
	if i >= n || data[i] != ':' {
		return ErrSyntax
	}
	i++
	goto value
}

// IsSpace reports whether c is JSON whitespace (RFC 8259: space, tab, line
// feed, carriage return). The one definition every JSON scanner here uses.
func IsSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// SkipSpace returns the index of the first byte at or after i in s that is
// not JSON whitespace (len(s) if there is none).
func SkipSpace[T string | []byte](s T, i int) int {
	for i < len(s) && s[i] <= ' ' && IsSpace(s[i]) {
		i++
	}
	return i
}

// numberEnd returns the index after the number starting at i, or -1 if
// none starts there: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func numberEnd(data []byte, i int) int {
	n := len(data)
	if i < n && data[i] == '-' {
		i++
	}
	switch {
	case i >= n:
		return -1
	case data[i] == '0':
		i++
	case '1' <= data[i] && data[i] <= '9':
		i = digits(data, i+1)
	default:
		return -1
	}
	if i < n && data[i] == '.' {
		if i++; i >= n || !isDigit(data[i]) {
			return -1
		}
		i = digits(data, i+1)
	}
	if i < n && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < n && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if i >= n || !isDigit(data[i]) {
			return -1
		}
		i = digits(data, i+1)
	}
	return i
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func digits(data []byte, i int) int {
	for i < len(data) && isDigit(data[i]) {
		i++
	}
	return i
}
