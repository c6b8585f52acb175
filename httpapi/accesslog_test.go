package httpapi

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"regexp"
	"testing"
	"time"

	"github.com/ownkey/ownkey"
)

// TestAccessLineIsSlogs: the access line written straight as JSON
// (Config.AccessLogJSON) is, byte for byte, the line slog's JSONHandler
// writes from the same fields (the time aside, taken a moment apart), for
// a bare request, a chat request with every optional field, and a failed
// one with a message that needs escaping; and text that is not valid UTF-8
// decodes to what slog's line decodes to.
func TestAccessLineIsSlogs(t *testing.T) {
	chat := func(st *requestState) {
		st.principal = &ownkey.Principal{Account: &ownkey.Account{ID: 7}, APIKey: &ownkey.APIKey{ID: 9}}
		st.chat = chatSummary{served: true, model: "groq/llama-3.3-70b-versatile", stream: true, outcome: ownkey.ChatOutcome{
			Provider: "groq", BYOK: true, Upstream: true, TTFB: 1500 * time.Microsecond, UpstreamLatency: 2 * time.Second,
			Usage: ownkey.Usage{PromptTokens: 1200, CompletionTokens: 34, CachedTokens: 1000, ReasoningTokens: 12, Source: ownkey.UsageFromProvider}}}
	}
	cases := []struct {
		name      string
		path      string
		status    int
		clientRID string
		set       func(*requestState)
		bytesOnly bool // compare decoded, not bytes
	}{
		{"bare", "/healthz", 200, "", func(*requestState) {}, false},
		{"chat", "/api/v1/chat/completions", 200, "client-1", chat, false},
		{"failed", "/v1/chat/completions", 502, "", func(st *requestState) {
			chat(st)
			st.chat.outcome.ErrorCode = "upstream_error"
			st.errMsg = "upstream said \"no\"\n\t<html> & \u2028 \x01 é"
		}, false},
		{"invalid UTF-8", "/v1/chat/completions", 400, "", func(st *requestState) {
			st.errCode, st.errMsg = "invalid_request", "bad \xff\xfe byte"
		}, true},
	}
	timeRE := regexp.MustCompile(`^\{"time":"([^"]+)",`)
	for _, c := range cases {
		var direct, viaSlog bytes.Buffer
		r := httptest.NewRequest("POST", c.path, nil)
		st := &requestState{id: "req_abc_1"}
		c.set(st)
		(&Server{cfg: Config{AccessLogJSON: &direct}}).accessLog(r, st, c.status, 812, 3*time.Millisecond, c.clientRID)
		(&Server{cfg: Config{Logger: slog.New(slog.NewJSONHandler(&viaSlog, nil))}}).accessLog(r, st, c.status, 812, 3*time.Millisecond, c.clientRID)

		m := timeRE.FindStringSubmatch(direct.String())
		if m == nil {
			t.Fatalf("%s: no time first: %s", c.name, direct.String())
		}
		if _, err := time.Parse(time.RFC3339Nano, m[1]); err != nil {
			t.Fatalf("%s: time %q: %v", c.name, m[1], err)
		}
		got := timeRE.ReplaceAllString(direct.String(), `{"time":"T",`)
		want := timeRE.ReplaceAllString(viaSlog.String(), `{"time":"T",`)
		if !c.bytesOnly {
			if got != want {
				t.Fatalf("%s:\n got %s\nwant %s", c.name, got, want)
			}
			continue
		}
		var g, w map[string]any
		if json.Unmarshal([]byte(got), &g) != nil || json.Unmarshal([]byte(want), &w) != nil {
			t.Fatalf("%s: not JSON:\n%s\n%s", c.name, got, want)
		}
		gj, _ := json.Marshal(g)
		wj, _ := json.Marshal(w)
		if !bytes.Equal(gj, wj) || got[len(got)-1] != '\n' {
			t.Fatalf("%s:\n got %s\nwant %s", c.name, got, want)
		}
	}
}

// BenchmarkAccessLine: one chat request's access line, written straight
// as JSON or through slog's JSONHandler.
func BenchmarkAccessLine(b *testing.B) {
	r := httptest.NewRequest("POST", "/api/v1/chat/completions", nil)
	st := &requestState{id: "req_abc_1", principal: &ownkey.Principal{Account: &ownkey.Account{ID: 7}, APIKey: &ownkey.APIKey{ID: 9}},
		chat: chatSummary{served: true, model: "gpt-4o-mini", outcome: ownkey.ChatOutcome{Provider: "openai", BYOK: true, Upstream: true,
			Usage: ownkey.Usage{PromptTokens: 100, CompletionTokens: 20, Source: ownkey.UsageFromProvider}}}}
	for name, s := range map[string]*Server{
		"json": {cfg: Config{AccessLogJSON: discard{}}},
		"slog": {cfg: Config{Logger: slog.New(slog.NewJSONHandler(discard{}, nil))}},
	} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s.accessLog(r, st, 200, 812, time.Millisecond, "")
			}
		})
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
