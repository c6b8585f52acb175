package httpapi

import "testing"

func TestRedactPath(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		// Ordinary paths pass unchanged.
		{"/", "/"},
		{"", ""},
		{"/api/v1/chat/completions", "/api/v1/chat/completions"},
		{"/api/user/provider-keys/validate", "/api/user/provider-keys/validate"},
		{"/api/admin/accounts/12/api-keys/345", "/api/admin/accounts/12/api-keys/345"},
		{"/v1/models/gpt-4o-mini-2024-07-18", "/v1/models/gpt-4o-mini-2024-07-18"},
		{"/v1/models/claude-sonnet-4-5-20250929", "/v1/models/claude-sonnet-4-5-20250929"},
		{"/v1/task-management-service-endpoint", "/v1/task-management-service-endpoint"},
		// Keys, wherever they sit.
		{"/v1/sk-ownkey-CanaryPresentedKeyR7t2Xw9Lm4Qz8Vb3Nc", "/v1/[redacted]"},
		{"/sk-ownkey-CanaryPresentedKeyR7t2Xw9Lm4Qz8Vb3Nc", "/[redacted]"},
		{"/v1/Bearer sk-ownkey-CanaryPresentedKeyR7t2Xw9Lm4Qz8Vb3Nc/x", "/v1/[redacted]/x"},
		{"/v1/sk-proj-abcdEFGH1234ijkl/chat/", "/v1/[redacted]/chat/"},
		{"/v1/sk-ant-api03-AbCdEfGh12345678/a/sk-canary-OPENAI-q7Zr4Lm9Xw2Tv8Nb5Kc1HjYp", "/v1/[redacted]/a/[redacted]"},
		{"/gsk_canaryGROQ-Fh3Jk8Lq2Wm6Zx9Rt4Vb7Ny1P", "/[redacted]"},
		{"/v1/AKIACANARYACCESSKEY1", "/v1/[redacted]"},
		{"/v1/tvly-canaryTAVILY-Mx3Qz8Rv5Tw2Lc9Nk6Jh4Bp7", "/v1/[redacted]"},
		{"/v1/0123456789abcdef0123456789abcdef", "/v1/[redacted]"}, // a hex key (Azure's shape)
		{"/v1/canaryAZUREapikey-Pv6Rz9Tx3Wm8Lq2Nc5Kh7Jb4", "/v1/[redacted]"},
		{"//sk-ownkey-CanaryPresentedKeyR7t2Xw9Lm4Qz8Vb3Nc//", "//[redacted]//"},
	} {
		if got := redactPath(tc.in); got != tc.want {
			t.Errorf("redactPath(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := safeMethod("sk-ownkey-CanaryPresentedKeyR7t2Xw9Lm4Qz8Vb3Nc"); got != "[redacted]" {
		t.Errorf("safeMethod kept a key: %q", got)
	}
	if got := safeMethod("PROPFIND"); got != "PROPFIND" {
		t.Errorf("safeMethod(PROPFIND) = %q", got)
	}
}

// The access log runs redactPath on every request: an ordinary path must
// cost no allocation.
func TestRedactPathOrdinaryPathDoesNotAllocate(t *testing.T) {
	p := "/api/v1/chat/completions"
	if n := testing.AllocsPerRun(100, func() { _ = redactPath(p) }); n != 0 {
		t.Fatalf("redactPath allocated %v times for %s", n, p)
	}
}
