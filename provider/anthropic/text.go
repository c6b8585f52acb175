package anthropic

import "github.com/ownkey/ownkey/jsonvalid"

// memberRaw returns the raw JSON text of the member key of the object obj,
// or "" when obj has no such member. obj must be valid JSON (the stream
// validates each event first). It exists because gjson unescapes every
// string it returns, an allocation per text delta that the adapter does not
// need: a delta's JSON string is copied to the client as it came.
func memberRaw(obj, key string) string {
	i := jsonvalid.SkipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return ""
	}
	i++
	for {
		i = jsonvalid.SkipSpace(obj, i)
		if i >= len(obj) || obj[i] != '"' {
			return ""
		}
		end := stringEnd(obj, i)
		name := obj[i+1 : end-1]
		i = jsonvalid.SkipSpace(obj, end)
		if i >= len(obj) || obj[i] != ':' {
			return ""
		}
		i = jsonvalid.SkipSpace(obj, i+1)
		vend := valueEnd(obj, i)
		if name == key {
			return obj[i:vend]
		}
		i = jsonvalid.SkipSpace(obj, vend)
		if i >= len(obj) || obj[i] != ',' {
			return ""
		}
		i++
	}
}

// stringEnd returns the index just past the string that opens at s[i].
func stringEnd(s string, i int) int {
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(s)
}

// valueEnd returns the index just past the value that starts at s[i].
func valueEnd(s string, i int) int {
	if i >= len(s) {
		return i
	}
	switch s[i] {
	case '"':
		return stringEnd(s, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(s); j++ {
			switch s[j] {
			case '"':
				j = stringEnd(s, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return len(s)
	}
	j := i
	for j < len(s) && s[j] != ',' && s[j] != '}' && s[j] != ']' && s[j] != ' ' && s[j] != '\t' && s[j] != '\n' && s[j] != '\r' {
		j++
	}
	return j
}
