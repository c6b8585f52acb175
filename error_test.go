package ownkey

import (
	"errors"
	"fmt"
	"testing"
)

func TestStatusOf(t *testing.T) {
	for code, want := range map[string]int{
		EINVALID: 400, EUNAUTHORIZED: 401, EPAYMENT: 402, EFORBIDDEN: 403, ENOTFOUND: 404, ECONFLICT: 409,
		ETOOLARGE: 413, ERATELIMIT: 429, EINTERNAL: 500, EUPSTREAM: 502, EUNAVAILABLE: 503, ETIMEOUT: 504,
	} {
		if got := StatusOf(&Error{Code: code}); got != want {
			t.Errorf("StatusOf(%s) = %d, want %d", code, got, want)
		}
		// Wrapped, as adapters' callers may see it.
		if got := StatusOf(fmt.Errorf("ctx: %w", &Error{Code: code})); got != want {
			t.Errorf("StatusOf(wrapped %s) = %d, want %d", code, got, want)
		}
	}
	if got := StatusOf(&Error{Code: EUPSTREAM, Status: 429}); got != 429 {
		t.Errorf("an upstream's own status: got %d, want 429", got)
	}
	if got := StatusOf(errors.New("boom")); got != 500 {
		t.Errorf("a non-domain error: got %d, want 500", got)
	}
}
