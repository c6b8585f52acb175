package provider

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/tidwall/gjson"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/egress"
)

// DefaultValidateTimeout bounds a key check when Validator.Timeout is zero.
const DefaultValidateTimeout = 10 * time.Second

// maxErrorBody is how much of an upstream answer is read: enough for any
// error message, little enough that a hostile endpoint cannot make us buffer
// a large body.
const maxErrorBody = 64 << 10

// maxModelList bounds the model list read to find a model the user named:
// OpenAI's is some 100 KiB, Together's a few MiB. A longer list is not
// judged (the model may be further on).
const maxModelList = 8 << 20

// CodeModelNotFound is the reason of a key check whose key works but whose
// provider does not serve the model named.
const CodeModelNotFound = "model_not_found"

// Validator checks a credential with the cheapest authenticated call its
// provider offers: its family's KeyCheck. It implements ownkey.KeyValidator.
type Validator struct {
	// Clients carries the calls; nil uses egress defaults, which refuse
	// private user endpoints.
	Clients *egress.Clients
	// Families gives each provider's family and endpoint (with the
	// operator's overrides).
	Families *Families
	// Timeout bounds the whole check: connect, request, and reading the
	// answer. Zero means DefaultValidateTimeout.
	Timeout time.Duration
	// Logger receives, at debug level, why a provider could not be
	// reached (the caller is told less); nil means slog.Default().
	Logger *slog.Logger
}

var (
	_ ownkey.KeyValidator   = (*Validator)(nil)
	_ ownkey.KeyCheckCoster = (*Validator)(nil)
)

// KeyCheckCost says what checking a key of p costs its owner: the family's
// note when its check is billed (BilledKeyCheck), else "" (free).
func (v *Validator) KeyCheckCost(p *ownkey.Provider) string {
	if v.Families == nil {
		return ""
	}
	if fam, err := v.Families.Family(p); err == nil {
		if b, ok := fam.(BilledKeyCheck); ok {
			return b.KeyCheckCost()
		}
	}
	return ""
}

var defaultClients = sync.OnceValue(func() *egress.Clients { return egress.New(egress.Options{}) })

// ValidateKey makes one authenticated call to p with c and reports the
// outcome: nil when the provider accepted the key; EUPSTREAM with the
// provider's status and its (scrubbed) message when it did not; EUNAVAILABLE
// when it could not be reached in time. model, when given, is used by the
// families whose cheap check needs one (Bedrock, Azure Anthropic Foundry).
// A family without a free authenticated call checks with a billed one and
// says so (KeyCheckCost).
func (v *Validator) ValidateKey(ctx context.Context, p *ownkey.Provider, c *ownkey.Credential, model string) error {
	if v.Families == nil {
		return ownkey.Errorf(ownkey.EINTERNAL, "the key validator has no provider families")
	}
	fam, err := v.Families.Family(p)
	if err != nil {
		return err
	}
	base, guarded, overridden, err := v.Families.endpoint(p, c)
	if err != nil {
		return err
	}
	chk, err := fam.KeyCheck(p, c, base, overridden, model)
	if err != nil {
		return err
	}
	timeout := v.Timeout
	if timeout <= 0 {
		timeout = DefaultValidateTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	var payload io.Reader
	if chk.Body != nil {
		payload = bytes.NewReader(chk.Body)
	}
	chk.Model = strings.TrimPrefix(chk.Model, p.ID+"/")
	req, err := http.NewRequestWithContext(ctx, chk.Method, chk.URL, payload)
	if err != nil {
		return ownkey.Errorf(ownkey.EINVALID, "%s address %s is not a valid URL", p.Name, redactURL(chk.Origin))
	}
	if chk.Body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "ownkey")
	if err := fam.Authorize(ctx, req, p, c, chk.Body); err != nil {
		return err
	}
	clients := v.Clients
	if clients == nil {
		clients = defaultClients()
	}
	resp, err := clients.For(guarded).Do(req)
	if err != nil {
		// Neither the URL nor the resolved address is quoted: the first
		// may be an operator's internal override, and for a user's own
		// endpoint a finer answer would make this a port scanner.
		logTransportError(ctx, v.Logger, p, c, guarded, err)
		why := transportReason(err, guarded)
		switch {
		case errors.Is(err, context.Canceled):
			why = "the check was canceled"
		case isTimeout(err) && !guarded:
			why = fmt.Sprintf("no answer within %s", timeout)
		}
		return ownkey.Errorf(ownkey.EUNAVAILABLE, "could not reach %s: %s", p.Name, why)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if chk.Model == "" {
			return nil
		}
		return listsModel(chk, p, c, resp)
	}
	// A read cut short by the deadline still leaves what arrived to quote.
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	return judge(chk, p, c, resp.StatusCode, resp.Header, body)
}

// judge reads a key check's answer other than 2xx.
func judge(chk KeyCheck, p *ownkey.Provider, c *ownkey.Credential, status int, header http.Header, body []byte) error {
	msg := UpstreamMessage(body, c, 0)
	if chk.Model != "" && chk.NotServed != nil && chk.NotServed(status, header, body) {
		e := notServed(p, c, chk.Model, status)
		if msg != "" {
			e.Message += " (" + msg + ")"
		}
		return e
	}
	if chk.AuthOnly && status >= 400 && status < 500 && status != http.StatusUnauthorized && status != http.StatusForbidden {
		return nil
	}
	e := &ownkey.Error{Code: ownkey.EUPSTREAM, Status: status}
	if status == http.StatusForbidden && chk.Denied != nil {
		if missing := chk.Denied(header, body); missing != "" {
			e.Reason = "permission_denied"
			e.Message = p.Name + " accepted the key but denied the check: " + ScrubSecrets(missing, c)
			if msg != "" {
				e.Message += " (" + msg + ")"
			}
			return e
		}
	}
	if status == http.StatusUnauthorized || status == http.StatusForbidden {
		e.Reason = "invalid_api_key"
		e.Message = p.Name + " rejected the key"
	} else {
		e.Message = fmt.Sprintf("%s answered the key check with HTTP %d", p.Name, status)
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	if msg != "" {
		e.Message += ": " + msg
	}
	return e
}

// notServed is the error for a key that works with a provider that does
// not serve model.
func notServed(p *ownkey.Provider, c *ownkey.Credential, model string, status int) *ownkey.Error {
	return &ownkey.Error{Code: ownkey.EUPSTREAM, Status: status, Reason: CodeModelNotFound, Param: "model",
		Message: fmt.Sprintf("%s accepted the key but does not serve model %q", p.Name, SafeToken(model, c))}
}

// listsModel reads a 2xx answer to a check that names a model: a model
// list that does not hold it is an error; any other answer (the model's
// own object, a list too long to read whole) is taken as the key working.
func listsModel(chk KeyCheck, p *ownkey.Provider, c *ownkey.Credential, resp *http.Response) error {
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxModelList+1))
	if err != nil || len(body) > maxModelList {
		return nil
	}
	if listed, found := ModelListed(body, chk.Model); !listed || found {
		return nil
	}
	e := notServed(p, c, chk.Model, resp.StatusCode)
	e.Message += " (it is not in the models the key can use)"
	return e
}

// ModelListed reads a provider's model list, OpenAI's {"data":[{"id":…}]}
// or a bare array of such objects: listed is false when body is not one (or
// names no model), found whether model is among them, ignoring case and a
// "models/" prefix.
func ModelListed(body []byte, model string) (listed, found bool) {
	if !gjson.ValidBytes(body) {
		return false, false
	}
	list := gjson.ParseBytes(body)
	if data := list.Get("data"); data.IsArray() {
		list = data
	}
	if !list.IsArray() {
		return false, false
	}
	list.ForEach(func(_, m gjson.Result) bool {
		id := m.Get("id")
		if id.Type != gjson.String {
			return true
		}
		listed = true
		found = strings.EqualFold(id.Str, model) || strings.EqualFold(strings.TrimPrefix(id.Str, "models/"), model)
		return !found
	})
	return listed, found
}

// redactURL drops any user:password an operator may have put in a base URL.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(invalid URL)"
	}
	return u.Redacted()
}
