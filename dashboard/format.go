package dashboard

import (
	"hash/fnv"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/ownkey/ownkey"
)

// usd writes an amount of nano-dollars exactly, as "$0.00045" or
// "$12.50": the nine-decimal value with trailing zeros cut but at least
// cents; never through a float.
func usd(n ownkey.NanoUSD) string {
	s := string(ownkey.AppendDecimal(nil, int64(n), 9))
	dot := strings.IndexByte(s, '.')
	switch {
	case dot < 0:
		s += ".00"
	case len(s)-dot == 2:
		s += "0"
	}
	if strings.HasPrefix(s, "-") {
		return "-$" + s[1:]
	}
	return "$" + s
}

// perMTok writes a price in nano-dollars per million tokens as a decimal
// of dollars ("2.5"), exactly.
func perMTok(n ownkey.NanoUSD) string { return string(ownkey.AppendDecimal(nil, int64(n), 9)) }

// percent writes a rate in parts per million as a percentage ("5%",
// "2.5%"), exactly.
func percent(r ownkey.PPM) string { return string(ownkey.AppendDecimal(nil, int64(r), 4)) + "%" }

// count writes a whole number with thin separators: 1 234 567.
func count(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteRune(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// when writes a time in UTC, to the second; "never" for none.
func when(t any) string {
	switch v := t.(type) {
	case time.Time:
		if v.IsZero() {
			return "never"
		}
		return v.UTC().Format("2006-01-02 15:04:05 UTC")
	case *time.Time:
		if v == nil {
			return "never"
		}
		return when(*v)
	}
	return ""
}

// hues is how many badge and chart colours the style sheet defines
// (.hue-0 … .hue-11).
const hues = 12

// hue picks a provider's colour class from its id: the same everywhere,
// badge and chart alike.
func hue(id string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	return "hue-" + strconv.Itoa(int(h.Sum32()%hues))
}

// monogram is a provider's badge text: the initials of its first two
// words ("AWS Bedrock" → "AB", "Z.AI (GLM)" → "ZA"), or for one word its
// first letter and its next capital ("OpenAI" → "OA", "SambaNova" → "SN")
// or second letter ("Groq" → "Gr"). No logo files: the badges are text.
func monogram(name string) string {
	if i := strings.IndexByte(name, '('); i > 0 {
		name = name[:i]
	}
	words := strings.FieldsFunc(name, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	switch {
	case len(words) == 0:
		return "?"
	case len(words) >= 2:
		return strings.ToUpper(firstRune(words[0]) + firstRune(words[1]))
	}
	w := []rune(words[0])
	if len(w) == 1 {
		return strings.ToUpper(string(w))
	}
	for _, r := range w[1:] {
		if unicode.IsUpper(r) {
			return strings.ToUpper(string(w[0])) + string(r)
		}
	}
	return strings.ToUpper(string(w[0])) + strings.ToLower(string(w[1]))
}

func firstRune(s string) string {
	for _, r := range s {
		return string(r)
	}
	return ""
}
