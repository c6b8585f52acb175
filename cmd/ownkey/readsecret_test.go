package main

import (
	"bytes"
	"strings"
	"testing"
)

// readSecret takes at most maxSecretBytes from a pipe, trims one line break,
// and never writes the key (or a prompt) anywhere when stdin is not a
// terminal; its errors do not quote what it read.
func TestReadSecretLimit(t *testing.T) {
	const secret = "sk-proj-SECRETSECRET"
	for _, c := range []struct {
		in      string
		want    string
		wantErr string
	}{
		{secret + "\r\n", secret, ""},
		{secret, secret, ""},
		{strings.Repeat("k", maxSecretBytes), strings.Repeat("k", maxSecretBytes), ""},
		// The limit counts what stdin holds, its line break included.
		{strings.Repeat("k", maxSecretBytes) + "\n", "", "more than"},
		{secret + strings.Repeat("k", maxSecretBytes), "", "more than"},
		{"\n", "", "no key"},
	} {
		var stderr bytes.Buffer
		got, err := readSecret(strings.NewReader(c.in), &stderr, "prompt: ")
		if stderr.Len() != 0 {
			t.Errorf("readSecret wrote %q to stderr for piped input", stderr.String())
		}
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) || strings.Contains(err.Error(), "SECRET") {
				t.Errorf("readSecret(%d bytes) error %v, want %q without the input", len(c.in), err, c.wantErr)
			}
			continue
		}
		if err != nil || string(got) != c.want {
			t.Errorf("readSecret(%d bytes) = %d bytes, %v; want %d bytes", len(c.in), len(got), err, len(c.want))
		}
	}
}
