package provider

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// MaxRetryAfter caps a delay-seconds Retry-After passed to the client: a
// provider asking for more than a day is wrong or hostile, and a client told
// to wait a year would never come back.
const MaxRetryAfter = 24 * 60 * 60

// RetryAfter returns the provider's Retry-After header in a form fit to pass
// to the client, or "" when it is missing or not one of the two forms HTTP
// allows (RFC 9110 §10.2.3): a delay in whole seconds, capped at
// MaxRetryAfter, or an HTTP date, re-formatted. Nothing else gets through:
// a provider that echoes the caller's key in the header must not hand it to
// the client.
func RetryAfter(h http.Header) string {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return ""
	}
	if v[0] >= '0' && v[0] <= '9' {
		n := 0
		for i := 0; i < len(v); i++ {
			c := v[i]
			if c < '0' || c > '9' {
				return ""
			}
			if n <= MaxRetryAfter {
				n = n*10 + int(c-'0')
			}
		}
		return strconv.Itoa(min(n, MaxRetryAfter))
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return ""
	}
	// A date further off than the cap is the cap, in seconds, as for the
	// other form.
	if time.Until(t) > MaxRetryAfter*time.Second {
		return strconv.Itoa(MaxRetryAfter)
	}
	return t.UTC().Format(http.TimeFormat)
}

// RetryAfterDelay is a delay a provider gave in its error body (Google's
// RetryInfo, "34.4s") as a Retry-After for the client: whole seconds,
// rounded up so that a client waiting that long is not refused again,
// capped at MaxRetryAfter; "" for a negative delay.
func RetryAfterDelay(d time.Duration) string {
	if d < 0 {
		return ""
	}
	if d > MaxRetryAfter*time.Second {
		return strconv.Itoa(MaxRetryAfter)
	}
	return strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10)
}
