package openaichat

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// The parts of this test's conversations are strings: "r:" marks a tool
// result; the message at index i gives "<role><i>".
func testTurns(t *testing.T, body string) ([]Turn[string], []string, error) {
	t.Helper()
	r, err := Decode([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	var system []string
	conv := func(tag string) func(m *Message, at string) ([]string, error) {
		return func(m *Message, at string) ([]string, error) {
			text, _, _ := m.Parts(at)
			if text == "" {
				return nil, nil // a message with nothing to send adds no turn
			}
			return []string{tag + strings.TrimPrefix(at, "messages")}, nil
		}
	}
	b := TurnBuilder[string]{
		AssistantRole: "model",
		System: func(m *Message, at string) error {
			system = append(system, at)
			return nil
		},
		User: conv("u"), Assistant: conv("a"), Tool: conv("r:"),
		IsToolResult: func(p string) bool { return strings.HasPrefix(p, "r:") },
	}
	turns, err := b.Build(r.Messages)
	return turns, system, err
}

// Consecutive messages of one turn role merge; a tool answer joins the user
// turn, before the user's own text; the assistant's turns take the
// family's role name; empty messages add nothing; system and developer
// messages go apart.
func TestTurnBuilder(t *testing.T) {
	turns, system, err := testTurns(t, `{"messages":[`+
		`{"role":"system","content":"s"},{"role":"user","content":"q"},{"role":"developer","content":"d"},{"role":"user","content":"q2"},`+
		`{"role":"assistant","content":"call"},{"role":"user","content":"and"},{"role":"tool","tool_call_id":"c","content":"42"},`+
		`{"role":"assistant","content":""},{"role":"assistant","content":"done"}]}`)
	if err != nil {
		t.Fatal(err)
	}
	want := []Turn[string]{
		{Role: "user", Parts: []string{"u[1]", "u[3]"}},
		{Role: "model", Parts: []string{"a[4]"}},
		{Role: "user", Parts: []string{"r:[6]", "u[5]"}},
		{Role: "model", Parts: []string{"a[8]"}},
	}
	if !reflect.DeepEqual(turns, want) || fmt.Sprint(system) != "[messages[0] messages[2]]" {
		t.Fatalf("turns %v, system %v", turns, system)
	}
}

func TestTurnBuilderRefuses(t *testing.T) {
	_, _, err := testTurns(t, `{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":null,"function_call":{"name":"f","arguments":"{}"}}]}`)
	fieldErr(t, err, "messages[1].function_call", "the legacy function_call is not supported; use tool_calls")
	_, _, err = testTurns(t, `{"messages":[{"role":"robot","content":"q"}]}`)
	fieldErr(t, err, "messages[0].role", "role must be system, developer, user, assistant or tool")
}
