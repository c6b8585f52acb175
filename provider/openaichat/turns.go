package openaichat

import (
	"fmt"
	"slices"

	"github.com/ownkey/ownkey"
)

// A Turn is one turn of a conversation as the translating families send
// it (Anthropic's and Bedrock's messages, Gemini's contents): a role and
// its parts, in the family's own type.
type Turn[P any] struct {
	Role  string
	Parts []P
}

// TurnBuilder reads an OpenAI conversation the way every translating
// family must: the legacy function_call refused, system and developer
// messages set apart, each other message converted to parts of a user or
// assistant turn (a tool message's answer belongs to a user turn), and
// consecutive messages of one turn role merged, since these APIs want
// turns that alternate and the answers to one turn's tool calls together
// in the next. In each user turn the tool results go first, as Anthropic
// demands and Gemini expects; merging may have put a text before them.
type TurnBuilder[P any] struct {
	// AssistantRole names the assistant's turns: "assistant", or
	// Gemini's "model".
	AssistantRole string
	// System takes a system or developer message.
	System func(m *Message, at string) error
	// User, Assistant and Tool convert a message of their role; at is
	// its path in the request ("messages[3]"), for errors. A message
	// with no parts adds no turn.
	User, Assistant, Tool func(m *Message, at string) ([]P, error)
	// IsToolResult marks the parts that answer a tool call.
	IsToolResult func(P) bool
}

// Build returns the conversation's turns.
func (b *TurnBuilder[P]) Build(msgs []Message) ([]Turn[P], error) {
	var turns []Turn[P]
	for i := range msgs {
		m := &msgs[i]
		at := fmt.Sprintf("messages[%d]", i)
		if Present(m.FunctionCall) {
			return nil, ownkey.FieldError(at+".function_call", "the legacy function_call is not supported; use tool_calls")
		}
		var role string
		var parts []P
		var err error
		switch m.Role {
		case "system", "developer":
			if err := b.System(m, at); err != nil {
				return nil, err
			}
			continue
		case "user":
			role = "user"
			parts, err = b.User(m, at)
		case "assistant":
			role = b.AssistantRole
			parts, err = b.Assistant(m, at)
		case "tool":
			role = "user"
			parts, err = b.Tool(m, at)
		default:
			return nil, RoleError(at, m.Role)
		}
		if err != nil {
			return nil, err
		}
		if len(parts) == 0 {
			continue
		}
		if n := len(turns); n > 0 && turns[n-1].Role == role {
			turns[n-1].Parts = append(turns[n-1].Parts, parts...)
			continue
		}
		turns = append(turns, Turn[P]{Role: role, Parts: parts})
	}
	for i := range turns {
		if turns[i].Role == "user" {
			slices.SortStableFunc(turns[i].Parts, func(x, y P) int {
				return rank(b.IsToolResult(y)) - rank(b.IsToolResult(x))
			})
		}
	}
	return turns, nil
}

func rank(b bool) int {
	if b {
		return 1
	}
	return 0
}
