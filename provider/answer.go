package provider

import (
	"strings"

	"github.com/ownkey/ownkey"
)

// Answer is where a Translator puts the answer: the client's ownkey.ChatSink
// (see there for the calls and what their arguments are), with the
// accounting every family needs done here, once: the model served, the
// output counted and sampled, the finish reason, usage, status, error
// code. A Translator calls nothing else to report what the client got.
type Answer struct {
	req  *ownkey.ChatRequest
	res  *ownkey.ChatResult
	sink ownkey.ChatSink
	out  Output
}

// Request is the request being answered.
func (a *Answer) Request() *ownkey.ChatRequest { return a.req }

// Result is the result being filled, for what only the family knows
// (usage reported before the end, a finish reason given before a cut).
func (a *Answer) Result() *ownkey.ChatResult { return a.res }

func (a *Answer) Start(id, model string, created int64) error {
	id, model = a.scrubText(id), a.scrubText(model)
	if model == a.req.Model {
		a.res.ModelServed = a.req.Model
	} else {
		a.res.ModelServed = strings.Clone(model) // model may point into a read buffer
	}
	return a.sink.Start(id, model, created)
}

func (a *Answer) Text(text string) error {
	text = a.scrubLiteral(text)
	a.out.addLiteral(text)
	return a.sink.Text(text)
}

func (a *Answer) Reasoning(text string) error {
	text = a.scrubLiteral(text)
	a.out.addLiteral(text)
	return a.sink.Reasoning(text)
}

func (a *Answer) ToolCall(index int, id, name, args string) error {
	id, name, args = a.scrubText(id), a.scrubText(name), a.scrubLiteral(args)
	a.out.addToolCall(name)
	a.out.addLiteral(args)
	return a.sink.ToolCall(index, id, name, args)
}

// A provider may echo the request's key in its answer (a model repeating
// a key pasted into the prompt, a misbehaving server putting it in the
// model name): what Answer hands the client goes through scrubText (a
// decoded string) or scrubLiteral (a JSON string literal), which replace
// every form of the credential's secrets with ownkey.Redacted. Their cost
// on the common path is one substring search per secret, which fails at
// once for a piece shorter than the key; only a piece holding a secret, or
// an escape that could spell one (\u, \/), is decoded and checked whole.
// A key split across two pieces of a stream is not caught.

func (a *Answer) scrubText(s string) string {
	if c := a.req.Credential; c != nil && (a.holdsSecret(s) || strings.ContainsAny(s, `\%`)) {
		return ScrubSecrets(s, c)
	}
	return s
}

func (a *Answer) scrubLiteral(lit string) string {
	if c := a.req.Credential; c != nil && (a.holdsSecret(lit) || spellsEscaped(lit)) {
		return string(ScrubJSON([]byte(lit), c))
	}
	return lit
}

// spellsEscaped reports whether a JSON literal has an escape that decodes
// to a character a key may hold (\u…, \/); \n, \" and the like cannot.
func spellsEscaped(lit string) bool {
	for i := strings.IndexByte(lit, '\\'); i >= 0 && i+1 < len(lit); {
		if c := lit[i+1]; c == 'u' || c == '/' {
			return true
		}
		j := strings.IndexByte(lit[i+2:], '\\')
		if j < 0 {
			return false
		}
		i += 2 + j
	}
	return false
}

// holdsSecret reports whether s holds one of the credential's secrets as
// it is.
func (a *Answer) holdsSecret(s string) bool {
	c := a.req.Credential
	if c == nil {
		return false
	}
	for _, sec := range [...]ownkey.Secret{c.APIKey, c.SecretAccessKey, c.SessionToken, c.AccessKeyID} {
		if v := sec.Reveal(); v != "" && strings.Contains(s, v) {
			return true
		}
	}
	return false
}

func (a *Answer) ToolArgs(index int, args string) error {
	args = a.scrubLiteral(args)
	a.out.addLiteral(args)
	return a.sink.ToolArgs(index, args)
}

// End closes a complete answer. A non-streaming answer is written here:
// the client has it from now on (Started), or is gone. With a Pricer on
// the request, the answer is priced first and written with its cost and
// its final usage (an estimate when the provider reported none), which the
// ledger then settles as they are.
func (a *Answer) End(finish string, usage ownkey.Usage) error {
	a.res.FinishReason, a.res.Usage = finish, usage
	var cost *ownkey.Charge
	if p := a.req.Pricer; p != nil {
		if usage.IsZero() {
			a.out.Report(a.res) // the output so far, to estimate from
		}
		p.Price(a.req, a.res)
		usage, cost = a.res.Usage, &a.res.Charge
	}
	if a.req.Stream {
		return a.sink.End(finish, usage, cost)
	}
	return a.written(a.sink.End(finish, usage, cost))
}

// Fail ends a stream that cannot be completed: code becomes the result's
// ErrorCode; typ is the error type the client sees.
func (a *Answer) Fail(code, typ, message string) error {
	a.res.ErrorCode = code
	return a.sink.Fail(code, typ, message)
}

// fail is Fail as a stream Step, with the type of ownkey's own failures.
func (a *Answer) fail(code, message string) Step {
	if a.Fail(code, "upstream_error", message) != nil {
		return StepGone
	}
	return StepEnd
}

// RelayEvent writes one event of the provider's stream as it is (see
// Relays).
func (a *Answer) RelayEvent(typ, data []byte) error { return a.sink.RelayEvent(typ, data) }

// RelayBody writes the provider's whole answer as it is (see Relays),
// with its charge beside it when it was priced (Pricer) before.
func (a *Answer) RelayBody(body []byte) error {
	var cost *ownkey.Charge
	if a.res.Priced {
		cost = &a.res.Charge
	}
	return a.written(a.sink.RelayBody(body, cost))
}

// written notes that a non-streaming answer went to the client, or that
// the client left while it was written.
func (a *Answer) written(err error) error {
	a.res.Status, a.res.Started = 200, true
	if err != nil {
		MarkClientGone(a.res)
	}
	return err
}
