package openaichat

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/ownkey/ownkey"
)

// The checks every translating family (anthropic, bedrock, gemini,
// responses) makes of a request the same way, so that a client gets the
// same error for the same mistake whichever provider serves it.

// RoleError is the error for messages[i] (at) whose role no translating
// family serves: the legacy function role, or anything but system,
// developer, user, assistant and tool.
func RoleError(at, role string) error {
	if role == "function" {
		return ownkey.FieldError(at+".role", "the legacy function role is not supported; use tool messages")
	}
	return ownkey.FieldError(at+".role", "role must be system, developer, user, assistant or tool")
}

// TextParts reads content that may hold only text (system, developer and
// tool messages), as Parts does, refusing a part of any other type.
func (m *Message) TextParts(at string) (text string, parts []ContentPart, err error) {
	text, parts, err = m.Parts(at)
	if err != nil {
		return "", nil, err
	}
	for j, p := range parts {
		if p.Type != "text" {
			return "", nil, ownkey.FieldError(fmt.Sprintf("%s.content[%d].type", at, j), "only text parts are allowed here, not %q", p.Type)
		}
	}
	return text, parts, nil
}

// FunctionParameters checks tools[i] (at) as a function tool, the only
// kind a translating family serves: its type, its name, and its
// parameters, a JSON Schema object when present. It returns the
// parameters, trimmed, or nil when there are none.
func (t *Tool) FunctionParameters(at string) (json.RawMessage, error) {
	if t.Type != "function" {
		return nil, ownkey.FieldError(at+".type", "only function tools are supported, not %q", t.Type)
	}
	if t.Function == nil || t.Function.Name == "" {
		return nil, ownkey.FieldError(at+".function.name", "a function tool needs a name")
	}
	p := bytes.TrimSpace(t.Function.Parameters)
	if !Present(p) {
		return nil, nil
	}
	if p[0] != '{' {
		return nil, ownkey.FieldError(at+".function.parameters", "parameters must be a JSON Schema object")
	}
	return p, nil
}
