package provider

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
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

// keyCheckPath overrides the openai-compatible check (GET {base}/models) for
// providers that serve their model list without authentication, where it
// would accept any key.
var keyCheckPath = map[string]string{
	"openrouter": "/key", // GET /api/v1/key: the calling key's own details
}

// Validator checks a credential with the cheapest authenticated call its
// provider offers. It implements ownkey.KeyValidator.
type Validator struct {
	// Clients carries the calls; nil uses egress defaults, which refuse
	// private user endpoints.
	Clients  *egress.Clients
	BaseURLs ownkey.BaseURLs
	// Timeout bounds the whole check: connect, request, and reading the
	// answer. Zero means DefaultValidateTimeout.
	Timeout time.Duration
	// Logger receives, at debug level, why a provider could not be
	// reached (the caller is told less); nil means slog.Default().
	Logger *slog.Logger
}

var _ ownkey.KeyValidator = (*Validator)(nil)

var defaultClients = sync.OnceValue(func() *egress.Clients { return egress.New(egress.Options{}) })

// keyCheck is one provider's check request and how to read its answer.
type keyCheck struct {
	method string
	url    string
	body   []byte
	// origin is the address named when it is not a valid URL.
	origin string
	// authOnly: only 401/403 say anything about the key; any other 4xx means
	// the key got past authentication and the request failed for another
	// reason (Foundry without a model: the deployment name is a guess).
	authOnly bool
}

// ValidateKey makes one authenticated call to p with c and reports the
// outcome: nil when the provider accepted the key; EUPSTREAM with the
// provider's status and its (scrubbed) message when it did not; EUNAVAILABLE
// when it could not be reached in time. model, when given, is used by the
// families whose cheap check needs one (Bedrock, Azure Anthropic Foundry).
// Searches made by the web-search checks may cost the key's owner a credit.
func (v *Validator) ValidateKey(ctx context.Context, p *ownkey.Provider, c *ownkey.Credential, model string) error {
	base, guarded, err := Endpoint(p, c, v.BaseURLs)
	if err != nil {
		return err
	}
	chk, err := v.keyCheck(p, c, base, model)
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
	if chk.body != nil {
		payload = bytes.NewReader(chk.body)
	}
	req, err := http.NewRequestWithContext(ctx, chk.method, chk.url, payload)
	if err != nil {
		return ownkey.Errorf(ownkey.EINVALID, "%s address %s is not a valid URL", p.Name, redactURL(chk.origin))
	}
	if chk.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "ownkey")
	if err := Authorize(ctx, req, p, c, chk.body); err != nil {
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
	return chk.judge(p, c, resp.StatusCode, body)
}

func (v *Validator) keyCheck(p *ownkey.Provider, c *ownkey.Credential, base, model string) (keyCheck, error) {
	get := func(path string) keyCheck { return keyCheck{method: http.MethodGet, url: base + path, origin: base} }
	post := func(path, body string) keyCheck {
		return keyCheck{method: http.MethodPost, url: base + path, body: []byte(body), origin: base}
	}
	switch p.Wire {
	case ownkey.WireOpenAI, ownkey.WireOpenAIResponses:
		if path, ok := keyCheckPath[p.ID]; ok {
			return get(path), nil
		}
		return get("/models"), nil
	case ownkey.WireAnthropic:
		if !p.UserEndpoint {
			return get("/v1/models"), nil
		}
		// Foundry serves no /v1/models: ask for one token instead.
		deployment, _ := json.Marshal(cmp.Or(model, "ownkey-key-check"))
		chk := post("/v1/messages", `{"model":`+string(deployment)+`,"max_tokens":1,"messages":[{"role":"user","content":"ping"}]}`)
		chk.authOnly = model == ""
		return chk, nil
	case ownkey.WireAzure, ownkey.WireAzureResponses:
		if c.APIVersion == "" {
			return keyCheck{}, ownkey.FieldError("key.apiVersion", "%s credential has no apiVersion", p.Name)
		}
		q := "?api-version=" + url.QueryEscape(c.APIVersion)
		switch c.APIVersion {
		case "v1", "latest", "preview":
			// Versionless "v1" API: its routes live under /openai/v1.
			return get("/openai/v1/models" + q), nil
		}
		return get("/openai/models" + q), nil
	case ownkey.WireGemini:
		return get("/v1beta/models?pageSize=1"), nil
	case ownkey.WireBedrock:
		if model != "" {
			return post("/model/"+EscapePathSegment(model)+"/converse",
				`{"messages":[{"role":"user","content":[{"text":"ping"}]}],"inferenceConfig":{"maxTokens":1}}`), nil
		}
		// Without a model, list models on the control plane (it signs with
		// the same service name). An operator's override replaces both
		// planes, as a local fake would serve both.
		control := base
		if _, overridden := v.BaseURLs.For(p); !overridden {
			region, err := awsRegion(p, c)
			if err != nil {
				return keyCheck{}, err
			}
			control = "https://bedrock." + region + ".amazonaws.com"
		}
		return keyCheck{method: http.MethodGet, url: control + "/foundation-models", origin: control}, nil
	case ownkey.WireTavily:
		return post("/search", `{"query":"ownkey key check","max_results":1}`), nil
	case ownkey.WireExa:
		return post("/search", `{"query":"ownkey key check","numResults":1}`), nil
	case ownkey.WireKagi:
		return get("/v0/search?q=ownkey&limit=1"), nil
	case ownkey.WirePerplexity:
		return post("/search", `{"query":"ownkey key check","max_results":1}`), nil
	}
	return keyCheck{}, ownkey.Errorf(ownkey.EINTERNAL, "no key check for wire family %q", p.Wire)
}

func (chk keyCheck) judge(p *ownkey.Provider, c *ownkey.Credential, status int, body []byte) error {
	if chk.authOnly && status >= 400 && status < 500 && status != http.StatusUnauthorized && status != http.StatusForbidden {
		return nil
	}
	msg := UpstreamMessage(body, c, 0)
	e := &ownkey.Error{Code: ownkey.EUPSTREAM, Status: status}
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
