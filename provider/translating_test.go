package provider

import (
	"strings"
	"testing"

	"github.com/ownkey/ownkey"
)

func TestUnreadableEvent(t *testing.T) {
	for _, tc := range []struct {
		data  string
		depth int
		want  string
	}{
		{`{"a":[1]}`, 0, ""},
		{`{not json`, 0, "Acme sent a stream event that is not valid JSON"},
		{strings.Repeat("[", 129) + strings.Repeat("]", 129), 0, "Acme sent a stream event nested deeper than 128 levels"},
		{`[[[]]]`, 2, "Acme sent a stream event nested deeper than 2 levels"},
		{`[[[]]]`, 3, ""},
	} {
		if got := UnreadableEvent("Acme", []byte(tc.data), tc.depth); got != tc.want {
			t.Errorf("UnreadableEvent(%.20s, %d) = %q, want %q", tc.data, tc.depth, got, tc.want)
		}
	}
}

func TestReported(t *testing.T) {
	if got := Reported(ownkey.Usage{}); got != (ownkey.Usage{}) {
		t.Fatalf("all-zero usage reported as %+v", got)
	}
	in := ownkey.Usage{PromptTokens: 3, CachedTokens: 1}
	if got := Reported(in); got != (ownkey.Usage{PromptTokens: 3, CachedTokens: 1, Source: ownkey.UsageFromProvider}) {
		t.Fatalf("Reported(%+v) = %+v", in, got)
	}
}
