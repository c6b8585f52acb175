package jsonvalid

// MemberRaw returns the raw JSON text of the member key of the object obj
// (a string with its quotes and escapes), or "" when obj has no such
// member. Only the top level is searched, and the first member of that
// name wins. obj must be valid JSON: the adapters check each provider
// event first (Check). It exists because gjson unescapes every string it
// returns, an allocation per text delta that an adapter does not need: a
// delta's JSON string is copied to the client as it came.
func MemberRaw(obj, key string) string {
	i := SkipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return ""
	}
	i++
	for {
		i = SkipSpace(obj, i)
		if i >= len(obj) || obj[i] != '"' {
			return ""
		}
		end := memberStringEnd(obj, i)
		name := obj[i+1 : end-1]
		i = SkipSpace(obj, end)
		if i >= len(obj) || obj[i] != ':' {
			return ""
		}
		i = SkipSpace(obj, i+1)
		vend := memberValueEnd(obj, i)
		if name == key {
			return obj[i:vend]
		}
		i = SkipSpace(obj, vend)
		if i >= len(obj) || obj[i] != ',' {
			return ""
		}
		i++
	}
}

// memberStringEnd returns the index just past the string that opens at s[i].
func memberStringEnd(s string, i int) int {
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

// memberValueEnd returns the index just past the value that starts at s[i].
func memberValueEnd(s string, i int) int {
	if i >= len(s) {
		return i
	}
	switch s[i] {
	case '"':
		return memberStringEnd(s, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(s); j++ {
			switch s[j] {
			case '"':
				j = memberStringEnd(s, j) - 1
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
