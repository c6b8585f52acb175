package responses

// echoMembers are the request members a response object repeats, as
// OpenAI's does, with what it says when the request left one out (the
// API's defaults, or null where that depends on the model).
var echoMembers = [...]struct{ name, absent string }{
	{"instructions", "null"},
	{"max_output_tokens", "null"},
	{"parallel_tool_calls", "true"},
	{"reasoning", `{"effort":null,"summary":null}`},
	{"temperature", "null"},
	{"text", `{"format":{"type":"text"}}`},
	{"tool_choice", `"auto"`},
	{"tools", "[]"},
	{"top_p", "null"},
	{"truncation", `"disabled"`},
	{"user", "null"},
	{"metadata", "{}"},
}

// EchoMembers is how many request members a response repeats: the
// indexes EchoIndex gives are below it.
const EchoMembers = len(echoMembers)

// EchoIndex is the index of the request member name among those a
// response repeats (for Echo), -1 for the others.
func EchoIndex(name string) int {
	for i := range echoMembers {
		if echoMembers[i].name == name {
			return i
		}
	}
	return -1
}

// Echo keeps raw, the JSON value of the request member EchoIndex numbered
// i, for the response objects the writer writes (after Reset; raw is
// copied). A null value is kept as the request's.
func (wr *Writer) Echo(i int, raw []byte) {
	if i < 0 || i >= len(echoMembers) || len(raw) == 0 {
		return
	}
	start := len(wr.echoBuf)
	wr.echoBuf = append(wr.echoBuf, raw...)
	wr.echo[i] = [2]int{start, len(wr.echoBuf)}
}

// appendEcho appends the repeated members, a comma before each.
func (wr *Writer) appendEcho(b []byte) []byte {
	for i := range echoMembers {
		b = append(b, `,"`...)
		b = append(b, echoMembers[i].name...)
		b = append(b, `":`...)
		if sp := wr.echo[i]; sp[1] > 0 {
			b = append(b, wr.echoBuf[sp[0]:sp[1]]...)
		} else {
			b = append(b, echoMembers[i].absent...)
		}
	}
	return b
}
