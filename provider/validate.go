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
	"sync"
	"time"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/egress"
)

// DefaultValidateTimeout bounds a key check when Validator.Timeout is zero.
const DefaultValidateTimeout = 10 * time.Second

// maxErrorBody is how much of an upstream answer is read: enough for any
// error message, little enough that a hostile endpoint cannot make us buffer
// a large body.
const maxErrorBody = 64 << 10

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
		return nil
	}
	// A read cut short by the deadline still leaves what arrived to quote.
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	return judge(chk, p, c, resp.StatusCode, resp.Header, body)
}

// judge reads a key check's answer other than 2xx.
func judge(chk KeyCheck, p *ownkey.Provider, c *ownkey.Credential, status int, header http.Header, body []byte) error {
	if chk.AuthOnly && status >= 400 && status < 500 && status != http.StatusUnauthorized && status != http.StatusForbidden {
		return nil
	}
	msg := UpstreamMessage(body, c, 0)
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

// redactURL drops any user:password an operator may have put in a base URL.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(invalid URL)"
	}
	return u.Redacted()
}
