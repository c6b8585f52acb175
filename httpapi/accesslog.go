package httpapi

import (
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/ownkey/ownkey/jsontext"
	"github.com/ownkey/ownkey/telemetry"
)

// accessLog writes the request's one log line: what was asked and
// answered, who asked (account and API key ids, never a key), the error
// the response carried and, for a chat request, the provider, model,
// whether it streamed, whose key served it, the tokens and where they came
// from, and the upstream times. Durations are whole microseconds.
//
// With Config.AccessLogJSON the line is written there straight, as the
// JSON slog's JSONHandler would write (TestAccessLineIsSlogs holds the two
// to the same fields): slog's generic handler took four times as long as
// appending the known fields, on every request. Otherwise it goes through
// Logger's handler, built here rather than with LogAttrs, which walks the
// stack for a source line the access log has no use for.
func (s *Server) accessLog(r *http.Request, st *requestState, status int, bytes int64, d time.Duration, clientRID string) {
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelWarn
	}
	now := time.Now()
	if w := s.cfg.AccessLogJSON; w != nil {
		line := accessLines.Get().(*jsonLine)
		line.b = append(line.b[:0], `{"time":`...)
		line.b = append(line.b, '"')
		line.b = now.AppendFormat(line.b, time.RFC3339Nano)
		line.b = append(line.b, `","level":`...)
		line.b = jsontext.AppendString(line.b, level.String())
		line.b = append(line.b, `,"msg":"request"`...)
		accessFields(line, r, st, status, bytes, d, clientRID)
		line.b = append(line.b, '}', '\n')
		_, _ = w.Write(line.b)
		if cap(line.b) <= 16<<10 {
			accessLines.Put(line)
		}
		return
	}
	var attrs slogAttrs
	attrs.a = attrs.buf[:0]
	accessFields(&attrs, r, st, status, bytes, d, clientRID)
	rec := slog.NewRecord(now, level, "request", 0)
	rec.AddAttrs(attrs.a...)
	_ = s.cfg.Logger.Handler().Handle(r.Context(), rec)
}

// accessFieldWriter takes the access line's fields, in order: slog
// attributes or JSON members.
type accessFieldWriter interface {
	str(key, value string)
	num(key string, value int64)
	flag(key string, value bool)
}

// accessFields writes the access line's fields to f.
func accessFields(f accessFieldWriter, r *http.Request, st *requestState, status int, bytes int64, d time.Duration, clientRID string) {
	f.str("request_id", st.id)
	f.str("method", safeMethod(r.Method))
	f.str("path", redactPath(r.URL.Path))
	f.num("status", int64(status))
	f.num("bytes", bytes)
	f.num("duration_us", d.Microseconds())
	if clientRID != "" {
		f.str("client_request_id", clientRID)
	}
	if p := st.principal; p != nil {
		f.num("account_id", p.Account.ID)
		f.num("api_key_id", p.APIKey.ID)
	}
	code := st.errCode
	if c := &st.chat; c.served {
		o := &c.outcome
		model := c.model
		if carriesKey(r, model) {
			model = "[redacted]"
		}
		f.str("model", telemetry.SafeText(model))
		f.flag("stream", c.stream)
		if o.Provider != "" {
			f.str("provider", o.Provider)
			f.flag("byok", o.BYOK)
		}
		if o.Upstream {
			f.str("usage_source", string(o.Usage.Source))
			f.num("prompt_tokens", o.Usage.PromptTokens)
			f.num("completion_tokens", o.Usage.CompletionTokens)
			if o.Usage.CachedTokens > 0 {
				f.num("cached_tokens", o.Usage.CachedTokens)
			}
			if o.Usage.ReasoningTokens > 0 {
				f.num("reasoning_tokens", o.Usage.ReasoningTokens)
			}
			f.num("ttfb_us", o.TTFB.Microseconds())
			f.num("upstream_us", o.UpstreamLatency.Microseconds())
		}
		if code == "" {
			// A failure the answer itself carried (mid-stream), the
			// client leaving, or the provider's error without a code.
			code = o.ErrorCode
		}
	}
	if code == "" {
		code = st.errKind
	}
	if code != "" {
		f.str("error_code", code)
	}
	if st.errMsg != "" {
		f.str("error", st.errMsg)
	}
}

// slogAttrs collects the fields as slog attributes; 24 is more than a line
// ever has, so that they are not allocated.
type slogAttrs struct {
	buf [24]slog.Attr
	a   []slog.Attr
}

func (s *slogAttrs) str(k, v string)       { s.a = append(s.a, slog.String(k, v)) }
func (s *slogAttrs) num(k string, v int64) { s.a = append(s.a, slog.Int64(k, v)) }
func (s *slogAttrs) flag(k string, v bool) { s.a = append(s.a, slog.Bool(k, v)) }

// jsonLine appends the fields as JSON members. The keys are the constants
// above, which need no escaping.
type jsonLine struct{ b []byte }

var accessLines = sync.Pool{New: func() any { return &jsonLine{b: make([]byte, 0, 512)} }}

func (l *jsonLine) key(k string) {
	l.b = append(l.b, ',', '"')
	l.b = append(l.b, k...)
	l.b = append(l.b, '"', ':')
}

func (l *jsonLine) str(k, v string) {
	l.key(k)
	l.b = jsontext.AppendString(l.b, v)
}

func (l *jsonLine) num(k string, v int64) {
	l.key(k)
	l.b = strconv.AppendInt(l.b, v, 10)
}

func (l *jsonLine) flag(k string, v bool) {
	l.key(k)
	l.b = strconv.AppendBool(l.b, v)
}
