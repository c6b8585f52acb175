package provider

import (
	"net/http"
	"strconv"
	"testing"
	"time"
)

func TestRetryAfter(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"0", "0"},
		{"17", "17"},
		{" 120 ", "120"},
		{"007", "7"},
		{"86400", "86400"},
		{"86401", "86400"},
		{"99999999999999999999999999", "86400"},
		{"Wed, 21 Oct 2015 07:28:00 GMT", "Wed, 21 Oct 2015 07:28:00 GMT"},
		{"Wednesday, 21-Oct-15 07:28:00 GMT", "Wed, 21 Oct 2015 07:28:00 GMT"}, // RFC 850
		{"Wed Oct 21 07:28:00 2015", "Wed, 21 Oct 2015 07:28:00 GMT"},          // ANSI C
		{"Fri, 31 Dec 9999 23:59:59 GMT", "86400"},                             // beyond the cap
		{"-1", ""},
		{"1.5", ""},
		{"17 sk-test-0123456789abcdef", ""},
		{"sk-test-0123456789abcdef", ""},
		{"Bearer sk-ant-api03-0123456789", ""},
		{"Wed, 21 Oct 2015 07:28:00 GMT sk-test-0123456789abcdef", ""},
	} {
		h := http.Header{}
		if tc.in != "" {
			h.Set("Retry-After", tc.in)
		}
		if got := RetryAfter(h); got != tc.want {
			t.Errorf("RetryAfter(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// A provider's Retry-After comes out as a capped count of seconds, an HTTP
// date, or nothing: never anything else the provider wrote (a key).
func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"17", "86401", "Wed, 21 Oct 2015 07:28:00 GMT", "Fri, 31 Dec 9999 23:59:59 GMT", "sk-test-0123456789abcdef", "-1", " 5 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		h := http.Header{}
		h.Set("Retry-After", v)
		got := RetryAfter(h)
		if got == "" {
			return
		}
		if n, err := strconv.Atoi(got); err == nil {
			if n < 0 || n > MaxRetryAfter {
				t.Fatalf("RetryAfter(%q) = %q, outside 0..%d", v, got, MaxRetryAfter)
			}
			return
		}
		if ts, err := http.ParseTime(got); err != nil || ts.UTC().Format(http.TimeFormat) != got {
			t.Fatalf("RetryAfter(%q) = %q, neither seconds nor an HTTP date", v, got)
		}
	})
}

func TestRetryAfterDelay(t *testing.T) {
	for _, tc := range []struct {
		in   time.Duration
		want string
	}{
		{0, "0"},
		{time.Nanosecond, "1"},
		{34400 * time.Millisecond, "35"},
		{12 * time.Second, "12"},
		{MaxRetryAfter * time.Second, "86400"},
		{MaxRetryAfter*time.Second + 1, "86400"},
		{time.Duration(1<<63 - 1), "86400"},
		{-time.Second, ""},
	} {
		if got := RetryAfterDelay(tc.in); got != tc.want {
			t.Errorf("RetryAfterDelay(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
