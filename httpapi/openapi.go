package httpapi

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// The OpenAPI 3.1 document served at GET /openapi.json. It is built once,
// when the server is, from the patterns actually registered on the mux
// (routeMux) and the description of each in operations below: an endpoint
// served without a description appears as "undocumented" and fails
// TestOpenAPICoversEveryRoute (cmd/ownkey), which also checks that every
// description is of an endpoint served and that the documented schemas
// match what the live server answers.

// authKind is who may call an operation.
type authKind int

const (
	public authKind = iota // anyone (health, the document itself)
	user                   // an ownkey API key (or the dashboard's session)
	manage                 // user, with a key that has no daily limits
	admin                  // an admin account's key without limits
	page                   // a dashboard page: its session cookie
)

// param is a query parameter.
type param struct {
	name, desc string
	schema     js
}

// operation describes one route. body and resp name component schemas
// ("" for none); status is the success status (200 unless set).
type operation struct {
	summary, desc string
	tag           string
	auth          authKind
	query         []param
	headers       []param
	body          string
	bodyOptional  bool
	status        int
	resp          string
	// media is the success response's content type when it is not JSON;
	// stream adds text/event-stream beside JSON (chat).
	media  string
	stream bool
	// errs are error statuses of its own, besides those every operation
	// of its kind can answer; upstream adds a default response (a
	// provider's status passed on).
	errs     []int
	upstream bool
	// anthropic: errors come in Anthropic's envelope (the Messages API).
	anthropic bool
	// pending marks an endpoint another branch adds: described so that the
	// document is complete once it lands, and left out until it is served.
	pending bool
}

var (
	tagChat    = "Chat"
	tagKeys    = "Provider keys"
	tagAPIKeys = "API keys"
	tagUsage   = "Usage and billing"
	tagAdmin   = "Admin"
	tagWeb     = "Web search"
	tagHealth  = "Health"
	tagPages   = "Dashboard"
	providerQ  = param{"provider", "the provider id (catalog id, e.g. groq)", str()}
	usageRange = []param{{"from", "start: a date (2025-03-01, a UTC day) or an RFC 3339 time; default 30 UTC days ago", str()}, {"to", "end: a date (included) or an RFC 3339 time (excluded); default now", str()}, {"account_id", "another account's usage (admins only)", integer()}}
	// byokHeaders are the BYOK switch's request headers.
	byokHeaders = []param{
		{"x-use-byok", "true: the caller's own keys only; false: the platform's only; absent: the caller's, else the platform's", str()},
		{"x-byok-provider", "force this provider (chat only)", str()},
	}
)

// operations describes every endpoint, keyed by its mux pattern.
var operations = map[string]operation{
	"GET /healthz": {summary: "Liveness: the process answers", tag: tagHealth, auth: public, resp: "Health"},
	"GET /readyz": {summary: "Readiness: the database answers and usage records can be stored",
		desc: "503 while draining for shutdown, when the database does not answer, or when usage records can be put nowhere; " +
			"200 with status degraded while records wait on disk for the database.", tag: tagHealth, auth: public, resp: "Readiness"},
	"GET /metrics": {summary: "Prometheus metrics", desc: "With OWNKEY_METRICS_TOKEN, only with that token as a bearer token (else 401 metrics_token_required); with OWNKEY_METRICS_ADDR, not here but on that listener.",
		tag: tagHealth, auth: public, media: "text/plain", errs: []int{http.StatusUnauthorized}},
	"GET /openapi.json": {summary: "This document", tag: tagHealth, auth: public, resp: "OpenAPIDocument"},

	"POST /api/v1/chat/completions":      chatOp,
	"POST /v1/chat/completions":          chatOp,
	"GET /api/v1/models":                 modelsOp,
	"GET /v1/models":                     modelsOp,
	"POST /v1/messages":                  messagesOp,
	"POST /api/v1/messages":              messagesOp,
	"POST /v1/messages/count_tokens":     countTokensOp,
	"POST /api/v1/messages/count_tokens": countTokensOp,
	"POST /v1/responses":                 responsesOp,
	"POST /api/v1/responses":             responsesOp,
	"GET /v1/responses/{rest...}":        noStoredOp,
	"POST /v1/responses/{rest...}":       noStoredOp,
	"DELETE /v1/responses/{rest...}":     noStoredOp,
	"GET /api/v1/responses/{rest...}":    noStoredOp,
	"POST /api/v1/responses/{rest...}":   noStoredOp,
	"DELETE /api/v1/responses/{rest...}": noStoredOp,

	"POST /api/web":                webOp,
	"POST /api/v1/web":             webOp,
	"POST /api/v1/data/web/search": webOp,

	"GET /api/user/provider-keys": {summary: "Every provider with the caller's key status (last 4 characters only)", tag: tagKeys, auth: user, resp: "ProviderKeyList"},
	"POST /api/user/provider-keys": {summary: "Store or replace a provider key (checked, encrypted at rest)", tag: tagKeys, auth: manage,
		body: "ProviderKeyRequest", resp: "ProviderKeyChanged"},
	"PATCH /api/user/provider-keys": {summary: "Change a stored key's spend caps", tag: tagKeys, auth: manage,
		body: "ProviderKeyCapsRequest", resp: "ProviderKeyChanged"},
	"DELETE /api/user/provider-keys": {summary: "Delete a stored provider key", tag: tagKeys, auth: manage,
		query: []param{providerQ}, resp: "ProviderKeyDeleted"},
	"POST /api/user/provider-keys/validate": {summary: "Check a key with the provider without storing it",
		desc: "A key the provider refuses, or a provider that cannot be reached, is a 200 with valid: false.", tag: tagKeys, auth: user,
		body: "ValidateKeyRequest", resp: "ValidateKeyResponse"},
	"GET /api/user/me":               {summary: "The caller's account and API key", tag: tagAPIKeys, auth: user, resp: "Me"},
	"GET /api/user/api-keys":         {summary: "The caller's API keys", tag: tagAPIKeys, auth: user, resp: "APIKeyList"},
	"POST /api/user/api-keys":        {summary: "Create an API key (shown once)", tag: tagAPIKeys, auth: manage, body: "CreateAPIKeyRequest", bodyOptional: true, status: http.StatusCreated, resp: "CreatedAPIKey"},
	"PATCH /api/user/api-keys/{id}":  {summary: "Change an API key's daily limits", tag: tagAPIKeys, auth: manage, body: "UpdateAPIKeyRequest", resp: "APIKey"},
	"DELETE /api/user/api-keys/{id}": {summary: "Revoke an API key", tag: tagAPIKeys, auth: manage, resp: "APIKeyRevoked"},
	"GET /api/v1/usage":              {summary: "Usage and spend, in all and per day, model or provider", tag: tagUsage, auth: user, query: append([]param{{"group_by", "day (default), model or provider", enum("day", "model", "provider")}}, usageRange...), resp: "UsageReport"},
	"GET /api/v1/usage/export":       {summary: "The ledger entries of a range as CSV, streamed", tag: tagUsage, auth: user, query: append([]param{{"format", "csv", enum("csv")}}, usageRange...), media: "text/csv"},
	"GET /api/v1/balance":            {summary: "The caller's available balance", tag: tagUsage, auth: user, resp: "Balance"},
	"POST /api/check-balance":        {summary: "The caller's available balance (the product's other name for it)", tag: tagUsage, auth: user, resp: "Balance"},

	"GET /api/admin/accounts":                        {summary: "List accounts", tag: tagAdmin, auth: admin, resp: "AccountList"},
	"POST /api/admin/accounts":                       {summary: "Create an account and its first API key (shown once)", tag: tagAdmin, auth: admin, body: "CreateAccountRequest", status: http.StatusCreated, resp: "CreatedAccount", errs: []int{http.StatusConflict}},
	"GET /api/admin/accounts/{id}":                   {summary: "One account", tag: tagAdmin, auth: admin, resp: "Account"},
	"PATCH /api/admin/accounts/{id}":                 {summary: "Rename an account (names are unique, ignoring case: 409 account_name_taken)", tag: tagAdmin, auth: admin, body: "RenameAccountRequest", resp: "Account", errs: []int{http.StatusConflict}},
	"GET /api/admin/accounts/{id}/api-keys":          {summary: "An account's API keys", tag: tagAdmin, auth: admin, resp: "APIKeyList"},
	"POST /api/admin/accounts/{id}/api-keys":         {summary: "Create an API key for an account (shown once)", tag: tagAdmin, auth: admin, body: "CreateAPIKeyRequest", bodyOptional: true, status: http.StatusCreated, resp: "CreatedAPIKey"},
	"PATCH /api/admin/accounts/{id}/api-keys/{key}":  {summary: "Change an account's API key's daily limits", tag: tagAdmin, auth: admin, body: "UpdateAPIKeyRequest", resp: "APIKey"},
	"DELETE /api/admin/accounts/{id}/api-keys/{key}": {summary: "Revoke an account's API key", tag: tagAdmin, auth: admin, resp: "APIKeyRevoked"},
	"POST /api/admin/accounts/{id}/credit":           {summary: "Add to an account's balance", tag: tagAdmin, auth: admin, body: "AdjustRequest", resp: "Adjusted"},
	"POST /api/admin/accounts/{id}/debit":            {summary: "Take from an account's balance (it may go below zero)", tag: tagAdmin, auth: admin, body: "AdjustRequest", resp: "Adjusted"},
	"PUT /api/admin/prices/{provider}/{model...}": {summary: "Set the operator's price of a model",
		desc: "model is the rest of the path and may hold '/' (openrouter/google/gemini-2.5-pro), sent as is.", tag: tagAdmin, auth: admin, body: "PriceRequest", resp: "Price"},
	"DELETE /api/admin/prices/{provider}/{model...}": {summary: "Remove the operator's price of a model (404 if none)",
		desc: "model is the rest of the path and may hold '/'.", tag: tagAdmin, auth: admin, resp: "PriceDeleted"},
	"GET /api/admin/platform-keys":               {summary: "The platform's provider keys (last 4 characters only)", tag: tagAdmin, auth: admin, resp: "ProviderKeyList"},
	"GET /api/admin/platform-keys/{provider}":    {summary: "The platform's key for one provider", tag: tagAdmin, auth: admin, resp: "ProviderKey"},
	"PUT /api/admin/platform-keys/{provider}":    {summary: "Store the platform's key for a provider", tag: tagAdmin, auth: admin, body: "PlatformKeyRequest", resp: "ProviderKeyChanged"},
	"DELETE /api/admin/platform-keys/{provider}": {summary: "Remove the platform's key for a provider (404 if none)", tag: tagAdmin, auth: admin, resp: "ProviderKeyDeleted"},

	"GET /{$}":                 {summary: "The dashboard (redirects to the sign-in page or the BYOK page)", tag: tagPages, auth: public, media: "text/html"},
	"GET /signin":              {summary: "The sign-in page", tag: tagPages, auth: public, media: "text/html"},
	"POST /signin":             {summary: "Sign in with an API key (form field api_key); sets the session cookie (with Accept: application/json, answers {redirect} or an error)", tag: tagPages, auth: public, body: "SignIn", media: "text/html", status: http.StatusSeeOther},
	"POST /signout":            {summary: "Sign out", tag: tagPages, auth: page, media: "text/html", status: http.StatusSeeOther},
	"GET /byok":                {summary: "The BYOK keys page", tag: tagPages, auth: page, media: "text/html"},
	"GET /usage":               {summary: "The usage page", tag: tagPages, auth: page, media: "text/html"},
	"GET /admin":               {summary: "The admin pages (redirects to /admin/accounts)", tag: tagPages, auth: page, media: "text/html", status: http.StatusSeeOther},
	"GET /admin/accounts":      {summary: "Admin: accounts", tag: tagPages, auth: page, media: "text/html"},
	"GET /admin/accounts/{id}": {summary: "Admin: one account", tag: tagPages, auth: page, media: "text/html"},
	"GET /admin/providers":     {summary: "Admin: providers and platform keys", tag: tagPages, auth: page, media: "text/html"},
	"GET /admin/prices":        {summary: "Admin: the price catalog", tag: tagPages, auth: page, media: "text/html"},
	"GET /assets/":             {summary: "The dashboard's script, style and images (embedded)", tag: tagPages, auth: public, media: "application/octet-stream"},
}

var chatOp = operation{summary: "Create a chat completion (OpenAI Chat Completions)",
	desc: "With \"stream\": true the answer is a text/event-stream of chat.completion.chunk objects ending in data: [DONE]. " +
		"Whose provider key serves it: the x-use-byok header (or body byok.enabled), x-byok-provider (or body byok.provider), " +
		"a provider prefix on the model. Errors after the stream started arrive as an error event.",
	tag: tagChat, auth: user, headers: byokHeaders, body: "ChatCompletionRequest", resp: "ChatCompletion", stream: true,
	errs: []int{http.StatusPaymentRequired, http.StatusNotImplemented, http.StatusBadGateway, http.StatusGatewayTimeout}, upstream: true}

var responsesOp = operation{summary: "Create a model response (OpenAI Responses API), with any provider",
	desc: "Stateless: store:true, previous_response_id, conversation and background:true are refused (400 naming the field). " +
		"openai-responses and azure-responses get the body as it came and their answer is relayed; other providers get it translated into Chat Completions. " +
		"With \"stream\": true the answer is a text/event-stream of Responses events. The BYOK switch and routing are chat's.",
	tag: tagChat, auth: user, headers: byokHeaders, body: "ResponsesRequest", resp: "Response", stream: true,
	errs: []int{http.StatusPaymentRequired, http.StatusNotImplemented, http.StatusBadGateway, http.StatusGatewayTimeout}, upstream: true}

// noStoredOp is the Responses API's endpoints on stored responses:
// ownkey stores none, so they answer 404 response_not_stored.
var noStoredOp = operation{summary: "The Responses API's stored-response endpoints (retrieve, delete, cancel, input items)",
	desc: "ownkey stores no response: always 404 response_not_stored.", tag: tagChat, auth: user, errs: []int{http.StatusNotFound}}

var messagesOp = operation{summary: "Create a message (Anthropic Messages API), with any provider",
	desc: "For the Anthropic SDKs and Claude Code (ANTHROPIC_BASE_URL: this server; the ownkey key in x-api-key or Authorization: Bearer). " +
		"anthropic and azure-anthropic-foundry get the body as it came (anthropic-version and anthropic-beta forwarded) and their answer is relayed; " +
		"other providers get it translated. With \"stream\": true the answer is Anthropic's event stream. Errors are in Anthropic's envelope.",
	tag: tagChat, auth: user,
	headers: append([]param{{"anthropic-version", "forwarded to Anthropic's providers", str()}, {"anthropic-beta", "forwarded to Anthropic's providers", str()}}, byokHeaders...),
	body:    "MessagesRequest", resp: "Message", stream: true, anthropic: true,
	errs: []int{http.StatusPaymentRequired, http.StatusNotImplemented, http.StatusBadGateway, http.StatusGatewayTimeout}, upstream: true}

var countTokensOp = operation{summary: "Count a Messages request's input tokens where it would be routed",
	desc: "Exact from Anthropic's providers, else ownkey's conservative estimate (\"estimated\": true, and X-Ownkey-Token-Count: estimate).",
	tag:  tagChat, auth: user, headers: byokHeaders, body: "CountTokensRequest", resp: "TokenCount", anthropic: true,
	errs: []int{http.StatusNotImplemented, http.StatusBadGateway}, upstream: true}

var modelsOp = operation{summary: "The models the caller's keys (and the platform's) reach",
	tag: tagChat, auth: user, query: []param{{"detailed", "true adds each model's pricing", enum("true", "false")}}, headers: byokHeaders[:1], resp: "ModelList"}

var webOp = operation{summary: "Search the web with the account's own search key (tavily, exa, kagi, perplexity)",
	tag: tagWeb, auth: user, body: "WebSearchRequest", resp: "WebSearchResponse",
	errs: []int{http.StatusPaymentRequired, http.StatusBadGateway, http.StatusGatewayTimeout}, upstream: true}

// js is a JSON Schema (or any JSON object of the document).
type js = map[string]any

func str() js             { return js{"type": "string"} }
func integer() js         { return js{"type": "integer"} }
func boolean() js         { return js{"type": "boolean"} }
func enum(v ...string) js { return js{"type": "string", "enum": v} }
func arr(items js) js     { return js{"type": "array", "items": items} }
func ref(name string) js  { return js{"$ref": "#/components/schemas/" + name} }
func dateTime() js        { return js{"type": "string", "format": "date-time"} }
func nullStr() js         { return js{"type": []string{"string", "null"}} }
func nullTime() js        { return js{"type": []string{"string", "null"}, "format": "date-time"} }
func described(s js, d string) js {
	out := js{"description": d}
	for k, v := range s {
		out[k] = v
	}
	return out
}

// object is a closed object: required members and the others, all
// described by props; extra members are not expected (the test's
// validator refuses them, so a field added to an answer must be added
// here).
func object(required []string, props js) js {
	o := js{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		o["required"] = required
	}
	return o
}

// usd is a decimal string of dollars with nine decimals.
func usd() js { return js{"type": "string", "pattern": `^-?[0-9]+\.[0-9]{9}$`} }

// schemas are the document's component schemas.
func schemas() js {
	limits := object([]string{"usd_per_day", "requests_per_day"}, js{
		"usd_per_day": nullStr(), "requests_per_day": js{"type": []string{"integer", "null"}}})
	caps := object([]string{"usd_per_day", "usd_per_month"}, js{"usd_per_day": nullStr(), "usd_per_month": nullStr()})
	capsUpdate := described(js{"type": "object", "properties": js{"usd_per_day": nullStr(), "usd_per_month": nullStr()}, "additionalProperties": false},
		"a member left out keeps the stored cap; null removes it")
	apiKey := object([]string{"id", "account_id", "name", "last4", "created_at", "last_used_at", "revoked_at", "limits"}, js{
		"id": integer(), "account_id": integer(), "name": str(), "last4": str(), "created_at": dateTime(),
		"last_used_at": nullTime(), "revoked_at": nullTime(), "limits": ref("APIKeyLimits")})
	createdKey := object([]string{"id", "account_id", "name", "last4", "created_at", "last_used_at", "revoked_at", "limits", "key"}, js{
		"id": integer(), "account_id": integer(), "name": str(), "last4": str(), "created_at": dateTime(),
		"last_used_at": nullTime(), "revoked_at": nullTime(), "limits": ref("APIKeyLimits"),
		"key": described(str(), "the new API key: shown this once, never again")})
	providerKeyProps := func(extra js) js {
		p := js{
			"provider": str(), "name": str(), "kind": enum("model", "web_search"), "credential_format": enum("api_key", "json"),
			"credential_fields": arr(object([]string{"name", "required", "secret"}, js{"name": str(), "required": boolean(), "secret": boolean(), "example": str()})),
			"key_hint":          str(), "status": described(str(), "not_configured, configured or disabled"),
			"key_suffix": described(nullStr(), "the key's last 4 characters; the key itself is never returned"),
			"created_at": nullTime(), "updated_at": nullTime(), "last_used_at": nullTime(),
			"spend_cap": ref("SpendCaps"), "spend": ref("Spend"),
			"failing": described(boolean(), "the provider refuses the stored key (since failure.failed_at), until it is replaced or a request with it succeeds"),
			"failure": object([]string{"failed_at", "upstream_status", "message"}, js{"failed_at": dateTime(), "upstream_status": integer(),
				"message": described(str(), "the provider's message, the key scrubbed")}),
			"warning": described(str(), "on storing a key: what looks wrong with it (a key shaped like another provider's)"),
		}
		for k, v := range extra {
			p[k] = v
		}
		return p
	}
	providerKeyRequired := []string{"provider", "name", "kind", "credential_format", "status", "key_suffix", "created_at", "updated_at", "last_used_at", "failing"}
	totals := js{"requests": integer(), "prompt_tokens": integer(), "completion_tokens": integer(), "cached_tokens": integer(),
		"cache_write_tokens": integer(), "reasoning_tokens": integer(), "at_cost_usd": usd(), "charged_usd": usd()}
	totalsRequired := []string{"requests", "prompt_tokens", "completion_tokens", "cached_tokens", "cache_write_tokens", "reasoning_tokens", "at_cost_usd", "charged_usd"}
	bucket := js{"day": str(), "model": str(), "provider": str()}
	for k, v := range totals {
		bucket[k] = v
	}
	amount := js{"type": []string{"string", "number"}, "description": "USD per million tokens, a JSON number or a decimal string, at most 9 decimals"}
	pricing := object([]string{"prompt", "completion", "currency", "unit", "markup"}, js{
		"prompt": js{"type": []string{"number", "null"}}, "completion": js{"type": []string{"number", "null"}},
		"input_cache_read": js{"type": "number"}, "input_cache_write": js{"type": "number"}, "internal_reasoning": js{"type": "number"},
		"currency": enum("USD"), "unit": enum("per_million_tokens"), "markup": js{"type": "number"}})
	account := object([]string{"id", "name", "role", "balance_nano_usd", "metered", "created_at"}, js{
		"id": integer(), "name": str(), "role": enum("admin", "user"),
		"balance_nano_usd": described(integer(), "the balance in nano-dollars (10^-9 USD)"), "metered": boolean(), "created_at": dateTime()})
	return js{
		"Error": object([]string{"error"}, js{"error": object([]string{"message", "type", "param", "code"}, js{
			"message": str(), "type": str(), "param": nullStr(), "code": nullStr()})}),
		"AnyObject":       js{"type": "object"},
		"OpenAPIDocument": js{"type": "object", "required": []string{"openapi", "info", "paths"}},
		"Health":          object([]string{"status"}, js{"status": enum("ok")}),
		"Readiness": object([]string{"status"}, js{"status": str(), "usage_backlog": object(nil, js{
			"queued": integer(), "spilled": integer(), "rejected": integer(), "oldest_spilled_seconds": js{"type": "number"}, "spill_failing": boolean()})}),

		"ChatCompletionRequest": js{"type": "object", "required": []string{"model", "messages"},
			"description": "OpenAI's Chat Completions request; members not listed are passed to the provider as they are (or refused with a 400 naming them where a translation cannot keep them).",
			"properties": js{
				"model":    described(str(), "a model id, optionally with a provider prefix (groq/llama-3.3-70b-versatile) or a web-search suffix (:online)"),
				"messages": arr(js{"type": "object", "required": []string{"role"}, "properties": js{"role": str(), "content": js{"type": []string{"string", "array", "null"}}}}),
				"stream":   boolean(), "stream_options": js{"type": "object"}, "max_tokens": integer(), "max_completion_tokens": integer(),
				"temperature": js{"type": "number"}, "top_p": js{"type": "number"}, "stop": js{"type": []string{"string", "array"}},
				"tools": arr(js{"type": "object"}), "tool_choice": js{"type": []string{"string", "object"}}, "response_format": js{"type": "object"},
				"reasoning_effort": str(),
				"byok":             described(js{"type": "object", "properties": js{"enabled": boolean(), "provider": str()}}, "the BYOK switch, as the x-use-byok and x-byok-provider headers"),
				"webSearch":        described(js{"type": "object"}, "search the web first and add the results for the model to cite"),
			}},
		"ChatCompletion": js{"type": "object", "required": []string{"id", "object", "created", "model", "choices"}, "properties": js{
			"id": str(), "object": enum("chat.completion"), "created": integer(), "model": str(),
			"choices": arr(js{"type": "object", "required": []string{"index", "message", "finish_reason"}, "properties": js{
				"index": integer(), "finish_reason": nullStr(),
				"message": js{"type": "object", "required": []string{"role"}, "properties": js{"role": enum("assistant"), "content": nullStr(),
					"tool_calls": arr(js{"type": "object"}), "reasoning_content": str(), "annotations": arr(js{"type": "object"})}}}}),
			"usage": js{"type": "object", "properties": js{"prompt_tokens": integer(), "completion_tokens": integer(), "total_tokens": integer(),
				"cost": js{"type": "number"}, "is_byok": boolean(), "is_estimated": boolean(),
				"cost_details": js{"type": "object", "properties": js{"upstream_inference_cost": js{"type": "number"}, "markup_rate": js{"type": "number"}}}}},
		}},
		"ResponsesRequest": js{"type": "object", "required": []string{"model", "input"},
			"description": "OpenAI's Responses API request; members not listed are passed on or translated as the provider allows.",
			"properties": js{"model": str(), "input": js{"type": []string{"string", "array"}}, "instructions": str(), "stream": boolean(),
				"store": described(boolean(), "must not be true: ownkey keeps no state"), "max_output_tokens": integer(),
				"tools": arr(js{"type": "object"}), "reasoning": js{"type": "object"}, "byok": js{"type": "object"}}},
		"Response": js{"type": "object", "required": []string{"id", "object", "status", "output"}, "properties": js{
			"id": str(), "object": enum("response"), "created_at": integer(), "status": str(), "model": str(),
			"output": arr(js{"type": "object"}), "usage": js{"type": []string{"object", "null"}}}},
		"AnthropicError": object([]string{"type", "error"}, js{"type": enum("error"), "error": object([]string{"type", "message"}, js{
			"type": str(), "message": str()})}),
		"MessagesRequest": js{"type": "object", "required": []string{"model", "max_tokens", "messages"},
			"description": "Anthropic's Messages request; members not listed are passed through to Anthropic's providers, or translated (or refused, naming them) for the others.",
			"properties": js{"model": str(), "max_tokens": integer(), "messages": arr(js{"type": "object"}),
				"system": js{"type": []string{"string", "array"}}, "stream": boolean(), "tools": arr(js{"type": "object"}),
				"thinking": js{"type": "object"}, "byok": js{"type": "object"}}},
		"CountTokensRequest": js{"type": "object", "required": []string{"model", "messages"}, "properties": js{
			"model": str(), "messages": arr(js{"type": "object"}), "system": js{"type": []string{"string", "array"}}, "tools": arr(js{"type": "object"})}},
		"Message": js{"type": "object", "required": []string{"id", "type", "role", "content", "model", "stop_reason", "usage"}, "properties": js{
			"id": str(), "type": enum("message"), "role": enum("assistant"), "content": arr(js{"type": "object"}), "model": str(),
			"stop_reason": nullStr(), "stop_sequence": nullStr(), "usage": js{"type": "object"}}},
		"TokenCount": object([]string{"input_tokens"}, js{"input_tokens": integer(),
			"estimated": described(boolean(), "present (true) when the count is ownkey's estimate")}),
		"ModelList": object([]string{"object", "data"}, js{"object": enum("list"), "data": arr(ref("Model"))}),
		"Model": object([]string{"id", "object", "created", "owned_by"}, js{"id": str(), "object": enum("model"), "created": integer(),
			"owned_by": described(str(), "the provider that serves it"), "pricing": ref("ModelPricing")}),
		"ModelPricing": pricing,

		"WebSearchRequest": object([]string{"query"}, js{"query": str(), "provider": enum("tavily", "exa", "kagi", "perplexity"),
			"depth": enum("standard", "deep"), "maxResults": integer(), "numResults": integer(), "includeDomains": arr(str()),
			"excludeDomains": arr(str()), "fromDate": str(), "toDate": str(), "includeImages": boolean(), "outputType": enum("searchResults")}),
		"WebSearchResponse": object([]string{"data", "metadata"}, js{
			"data": arr(object([]string{"type", "title", "url", "publishedAt"}, js{"type": enum("text", "image"), "title": str(), "url": str(),
				"snippet": str(), "imageUrl": str(), "publishedAt": nullStr()})),
			"metadata": object([]string{"query", "provider", "depth", "outputType", "timestamp", "cost"}, js{"query": str(), "provider": str(),
				"depth": str(), "outputType": str(), "timestamp": str(), "cost": js{"type": "number"}})}),

		"SpendCaps":          caps,
		"Spend":              object([]string{"usd_today", "usd_this_month"}, js{"usd_today": usd(), "usd_this_month": usd()}),
		"ProviderKey":        object(providerKeyRequired, providerKeyProps(nil)),
		"ProviderKeyChanged": object(append([]string{"success"}, providerKeyRequired...), providerKeyProps(js{"success": boolean()})),
		"ProviderKeyList":    object([]string{"keys"}, js{"keys": arr(ref("ProviderKey"))}),
		"ProviderKeyDeleted": object([]string{"success", "provider"}, js{"success": boolean(), "provider": str()}),
		"ProviderKeyRequest": object([]string{"provider", "key"}, js{"provider": str(),
			"key": described(js{"type": []string{"string", "object"}}, "the key; a JSON object for aws and the Azure providers"), "spend_cap": capsUpdate}),
		"ProviderKeyCapsRequest": object([]string{"provider", "spend_cap"}, js{"provider": str(), "spend_cap": capsUpdate}),
		"PlatformKeyRequest":     object([]string{"key"}, js{"key": js{"type": []string{"string", "object"}}}),
		"ValidateKeyRequest": object([]string{"provider", "key"}, js{"provider": str(), "key": js{"type": []string{"string", "object"}},
			"model": described(str(), "for the providers whose check needs one")}),
		"ValidateKeyResponse": object([]string{"valid", "provider"}, js{"valid": boolean(), "provider": str(), "model": str(),
			"error": str(), "code": described(enum("invalid_api_key", "permission_denied", "model_not_found"), "why the key is not valid, when the provider said"),
			"upstream_status": integer(), "check_cost": described(str(), "what the check cost the key's owner, for a provider without a free authenticated call")}),

		"APIKeyLimits":  limits,
		"APIKey":        apiKey,
		"CreatedAPIKey": createdKey,
		"APIKeyList":    object([]string{"object", "data"}, js{"object": enum("list"), "data": arr(ref("APIKey"))}),
		"APIKeyRevoked": object([]string{"success", "id", "revoked"}, js{"success": boolean(), "id": integer(), "revoked": boolean()}),
		"CreateAPIKeyRequest": object(nil, js{"name": str(), "limits": described(js{"type": "object", "properties": js{
			"usd_per_day": js{"type": []string{"string", "number", "null"}}, "requests_per_day": js{"type": []string{"integer", "null"}}}}, "daily limits (UTC day)")}),
		"UpdateAPIKeyRequest": object([]string{"limits"}, js{"limits": described(js{"type": "object", "properties": js{
			"usd_per_day": js{"type": []string{"string", "number", "null"}}, "requests_per_day": js{"type": []string{"integer", "null"}}}},
			"a member left out stays, null removes it")}),
		"Me":          object([]string{"account", "api_key"}, js{"account": ref("Account"), "api_key": ref("APIKey")}),
		"Account":     account,
		"AccountList": object([]string{"object", "data"}, js{"object": enum("list"), "data": arr(ref("Account"))}),
		"CreateAccountRequest": object([]string{"name"}, js{"name": str(), "role": enum("admin", "user"), "key_name": str(),
			"metered": described(boolean(), "default true: the account pays for its requests from its balance")}),
		"CreatedAccount":       object([]string{"account", "api_key"}, js{"account": ref("Account"), "api_key": ref("CreatedAPIKey")}),
		"RenameAccountRequest": object([]string{"name"}, js{"name": str()}),

		"UsageReport": object([]string{"object", "account_id", "from", "to", "group_by", "totals", "data"}, js{
			"object": enum("usage"), "account_id": integer(), "from": dateTime(), "to": dateTime(), "group_by": enum("day", "model", "provider"),
			"totals": object(totalsRequired, totals), "data": arr(object(totalsRequired, bucket))}),
		"Balance":       object([]string{"usd_balance"}, js{"usd_balance": usd()}),
		"AdjustRequest": object([]string{"amount_usd", "reason"}, js{"amount_usd": js{"type": []string{"string", "number"}, "description": "a positive amount of dollars, at most 9 decimals"}, "reason": str()}),
		"Adjusted": object([]string{"usd_balance", "adjustment"}, js{"usd_balance": usd(), "adjustment": object(
			[]string{"id", "account_id", "amount_nano_usd", "reason", "actor", "created_at"}, js{"id": integer(), "account_id": integer(),
				"amount_nano_usd": integer(), "reason": str(), "actor": str(), "created_at": dateTime()})}),
		"PriceRequest": object([]string{"input", "output"}, js{"input": amount, "output": amount, "cached_input": amount,
			"cache_write": amount, "reasoning": amount, "canonical": str()}),
		"Price": object([]string{"provider", "model", "canonical_id", "source", "pricing"}, js{"provider": str(), "model": str(),
			"canonical_id": str(), "source": str(), "pricing": ref("ModelPricing")}),
		"PriceDeleted": object([]string{"success", "provider", "model"}, js{"success": boolean(), "provider": str(), "model": str()}),
		"SignIn":       object([]string{"api_key"}, js{"api_key": str(), "next": described(str(), "the page to go to after signing in")}),
	}
}

// patternParts splits a mux pattern into its method and an OpenAPI path:
// {name...} becomes {name}, {$} is dropped, a trailing-slash subtree
// ("/assets/") gets a {path} for the rest.
func patternParts(pattern string) (method, path string) {
	method, path, _ = strings.Cut(pattern, " ")
	path = strings.ReplaceAll(path, "{$}", "")
	path = wildcardRest.ReplaceAllString(path, "{$1}")
	if strings.HasSuffix(path, "/") && path != "/" {
		path += "{path}"
	}
	return method, path
}

var (
	wildcardRest = regexp.MustCompile(`\{([a-zA-Z_][a-zA-Z0-9_]*)\.\.\.\}`)
	pathParam    = regexp.MustCompile(`\{([a-zA-Z_][a-zA-Z0-9_]*)\}`)
)

// openAPIDocument builds the document from the registered routes.
func (s *Server) openAPIDocument() []byte {
	paths := js{}
	ids := map[string]int{}
	for _, pattern := range s.mux.patterns {
		op, ok := operations[pattern]
		if !ok {
			op = operation{summary: "undocumented", tag: "Undocumented", auth: user}
		}
		method, path := patternParts(pattern)
		item, _ := paths[path].(js)
		if item == nil {
			item = js{}
			paths[path] = item
		}
		item[strings.ToLower(method)] = op.document(method, path, ids)
	}
	doc := js{
		"openapi": "3.1.0",
		"info": js{
			"title":       "ownkey",
			"version":     "1",
			"description": "A self-hostable, bring-your-own-key LLM API gateway: an OpenAI-compatible chat API over the providers users store their own keys for, their key management, usage and billing, the admin API and the dashboard's pages. Errors are OpenAI's envelope {\"error\":{\"message\",\"type\",\"param\",\"code\"}}.",
		},
		"paths": paths,
		"components": js{
			"schemas": schemas(),
			"securitySchemes": js{
				"bearer":  js{"type": "http", "scheme": "bearer", "description": "an ownkey API key (sk-ownkey-…)"},
				"apiKey":  js{"type": "apiKey", "in": "header", "name": "x-api-key", "description": "an ownkey API key, as Anthropic's SDKs send it"},
				"session": js{"type": "apiKey", "in": "cookie", "name": "ownkey_session", "description": "the dashboard's session; a request that changes something also carries its CSRF token in X-CSRF-Token"},
			},
			"responses": js{
				"Error": js{"description": "an error, in OpenAI's envelope",
					"content": js{"application/json": js{"schema": ref("Error")}}},
				"AnthropicError": js{"description": "an error, in Anthropic's envelope (the Messages API's paths)",
					"content": js{"application/json": js{"schema": ref("AnthropicError")}}},
			},
		},
	}
	b, err := json.MarshalIndent(doc, "", " ")
	if err != nil {
		panic("httpapi: the OpenAPI document does not encode: " + err.Error())
	}
	return append(b, '\n')
}

// document is op as an OpenAPI Operation Object.
func (op operation) document(method, path string, ids map[string]int) js {
	o := js{"summary": op.summary, "tags": []string{op.tag}, "operationId": operationID(method, path, ids)}
	if op.desc != "" {
		o["description"] = op.desc
	}
	var params []js
	for _, m := range pathParam.FindAllStringSubmatch(path, -1) {
		params = append(params, js{"name": m[1], "in": "path", "required": true, "schema": str()})
	}
	for _, q := range op.query {
		params = append(params, js{"name": q.name, "in": "query", "description": q.desc, "schema": q.schema})
	}
	for _, h := range op.headers {
		params = append(params, js{"name": h.name, "in": "header", "description": h.desc, "schema": h.schema})
	}
	if len(params) > 0 {
		o["parameters"] = params
	}
	switch op.auth {
	case user, manage, admin:
		o["security"] = []js{{"bearer": []string{}}, {"apiKey": []string{}}, {"session": []string{}}}
	case page:
		o["security"] = []js{{"session": []string{}}}
	}
	if op.body != "" {
		media := "application/json"
		if op.tag == tagPages {
			media = "application/x-www-form-urlencoded"
		}
		o["requestBody"] = js{"required": !op.bodyOptional, "content": js{media: js{"schema": ref(op.body)}}}
	}
	status := op.status
	if status == 0 {
		status = http.StatusOK
	}
	ok := js{"description": http.StatusText(status)}
	switch {
	case op.media != "":
		ok["content"] = js{op.media: js{"schema": str()}}
	case op.resp != "":
		content := js{"application/json": js{"schema": ref(op.resp)}}
		if op.stream {
			content["text/event-stream"] = js{"schema": described(str(), "server-sent events, one JSON object per data: line, ending with data: [DONE]")}
		}
		ok["content"] = content
	}
	responses := js{strconv.Itoa(status): ok}
	errs := []int{http.StatusMethodNotAllowed}
	if op.body != "" || len(op.query) > 0 || strings.Contains(path, "{") {
		errs = append(errs, http.StatusBadRequest)
	}
	switch op.auth {
	case user:
		errs = append(errs, http.StatusUnauthorized, http.StatusTooManyRequests)
	case manage, admin:
		errs = append(errs, http.StatusUnauthorized, http.StatusForbidden, http.StatusTooManyRequests)
	}
	if strings.Contains(path, "{") {
		errs = append(errs, http.StatusNotFound)
	}
	if op.body != "" {
		errs = append(errs, http.StatusRequestEntityTooLarge)
	}
	if op.auth != public || op.tag == tagChat {
		errs = append(errs, http.StatusServiceUnavailable)
	}
	errs = append(errs, op.errs...)
	slices.Sort(errs)
	errResp, errSchema := "#/components/responses/Error", "Error"
	if op.anthropic {
		errResp, errSchema = "#/components/responses/AnthropicError", "AnthropicError"
	}
	for _, code := range slices.Compact(errs) {
		responses[strconv.Itoa(code)] = js{"$ref": errResp}
	}
	if op.upstream {
		responses["default"] = js{"description": "a provider's error, passed on with its status and message (secrets removed)",
			"content": js{"application/json": js{"schema": ref(errSchema)}}}
	}
	o["responses"] = responses
	return o
}

// operationID is method and path as one identifier (getApiUserProviderKeys),
// made unique.
func operationID(method, path string, ids map[string]int) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(method))
	up := true
	for _, r := range path {
		switch {
		case r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9':
			if up && r >= 'a' && r <= 'z' {
				r -= 'a' - 'A'
			}
			b.WriteRune(r)
			up = false
		default:
			up = true
		}
	}
	id := b.String()
	ids[id]++
	if n := ids[id]; n > 1 {
		id += strconv.Itoa(n)
	}
	return id
}

// handleOpenAPI serves the document.
func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(s.openAPI)))
	_, _ = w.Write(s.openAPI)
}

// OpenAPIOperations lists the pattern of every operation the document
// describes, served or pending (another branch's endpoint that is not
// served yet), for the test that holds the document to the router.
func OpenAPIOperations() (served, pending []string) {
	for p, op := range operations {
		if op.pending {
			pending = append(pending, p)
		} else {
			served = append(served, p)
		}
	}
	slices.Sort(served)
	slices.Sort(pending)
	return served, pending
}
