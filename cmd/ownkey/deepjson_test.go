package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// procUsage is a process's CPU time so far and its peak resident set.
type procUsage struct {
	cpu     time.Duration
	peakRSS int64 // bytes (VmHWM)
}

func readProcUsage(t *testing.T, pid int) procUsage {
	t.Helper()
	var u procUsage
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	// utime and stime are fields 14 and 15; the command name before them
	// is in parentheses.
	f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	u.cpu = time.Duration(ut+st) * 10 * time.Millisecond // USER_HZ is 100 on Linux
	status, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			u.peakRSS = kb << 10
		}
	}
	return u
}

// postJSON posts body with p's admin key and returns the status and the
// decoded error envelope (zero if the answer is not one).
func postJSON(t *testing.T, p *ownkeyProc, path string, body []byte) (int, apiError) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, p.URL()+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+p.AdminKey)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Use-Byok", "true")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		exited, exitErr := p.Exited()
		t.Fatalf("POST %s: %v (process exited: %v %v)\nstderr tail:\n%s", path, err, exited, exitErr, tail(p.Stderr(), 2000))
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var e apiError
	_ = json.Unmarshal(raw, &e)
	return resp.StatusCode, e
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// deepChatBody is a chat request whose JSON nests exactly depth levels (the
// object itself, messages, a message, and an extra field nesting arrays).
func deepChatBody(depth int) []byte {
	inner := depth - 3
	return []byte(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi","x":` +
		strings.Repeat("[", inner) + strings.Repeat("]", inner) + `}]}`)
}

func wantTooDeep(t *testing.T, status int, e apiError, limit int) {
	t.Helper()
	want := "request body is nested deeper than " + strconv.Itoa(limit) + " levels"
	if status != http.StatusBadRequest || e.Error.Message != want || e.Error.Type != "invalid_request_error" ||
		e.Error.Code == nil || *e.Error.Code != "json_too_deep" || e.Error.Param != nil {
		t.Fatalf("got %d %+v, want 400 %q with code json_too_deep and param null", status, e.Error, want)
	}
}

// wantRouted checks that a chat body passed the JSON checks and reached
// routing, which refuses it for want of a stored provider key.
func wantRouted(t *testing.T, status int, e apiError) {
	t.Helper()
	if status != http.StatusBadRequest || !strings.HasPrefix(e.Error.Message, "no BYOK provider found for model") {
		t.Fatalf("got %d %+v, want the body past the JSON check and refused by routing", status, e.Error)
	}
}

// TestDeepJSONDoesNotKillTheProcess is issue 8 finding 1: a chat body of
// 6,000,000 '[' overflowed the goroutine stack in gjson's recursive
// validator, which killed the process. It must be a 400 naming the limit,
// and the process must go on serving.
func TestDeepJSONDoesNotKillTheProcess(t *testing.T) {
	p := mustStartOwnkey(t, map[string]string{"OWNKEY_DATA_DIR": t.TempDir()})
	pid := p.cmd.Process.Pid
	before := readProcUsage(t, pid)
	start := time.Now()
	status, e := postJSON(t, p, "/api/v1/chat/completions", bytes.Repeat([]byte("["), 6_000_000))
	elapsed := time.Since(start)
	after := readProcUsage(t, pid)
	if exited, err := p.Exited(); exited {
		t.Fatalf("ownkey died (%v)\nstderr tail:\n%s", err, tail(p.Stderr(), 2000))
	}
	wantTooDeep(t, status, e, 128)
	t.Logf("6,000,000 '[': 400 in %s wall, %s CPU; peak RSS %d MiB before, %d MiB after",
		elapsed.Round(time.Millisecond), after.cpu-before.cpu, before.peakRSS>>20, after.peakRSS>>20)

	// The deepest body accepted goes on to routing (no provider key is
	// stored, so routing refuses it); one level more is refused.
	before = readProcUsage(t, pid)
	status, e = postJSON(t, p, "/api/v1/chat/completions", deepChatBody(128))
	after = readProcUsage(t, pid)
	wantRouted(t, status, e)
	t.Logf("128 levels (%d bytes): accepted, %s CPU, peak RSS %d MiB after", len(deepChatBody(128)), after.cpu-before.cpu, after.peakRSS>>20)
	status, e = postJSON(t, p, "/api/v1/chat/completions", deepChatBody(129))
	wantTooDeep(t, status, e, 128)

	// Key-management bodies have the same limit.
	status, e = postJSON(t, p, "/api/user/provider-keys",
		[]byte(`{"provider":"openai","key":`+strings.Repeat("[", 128)+strings.Repeat("]", 128)+`}`))
	wantTooDeep(t, status, e, 128)

	// And the process still serves.
	resp, err := http.Get(p.URL() + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz after the deep bodies: %v %v", resp, err)
	}
	resp.Body.Close()
}

// TestMaxJSONDepthIsConfigurable raises the limit with OWNKEY_MAX_JSON_DEPTH.
func TestMaxJSONDepthIsConfigurable(t *testing.T) {
	p := mustStartOwnkey(t, map[string]string{"OWNKEY_DATA_DIR": t.TempDir(), "OWNKEY_MAX_JSON_DEPTH": "300"})
	status, e := postJSON(t, p, "/api/v1/chat/completions", deepChatBody(300))
	wantRouted(t, status, e)
	status, e = postJSON(t, p, "/api/v1/chat/completions", deepChatBody(301))
	wantTooDeep(t, status, e, 300)

	for _, bad := range []string{"0", "-1", "x", "10001"} {
		q := startOwnkey(t, map[string]string{"OWNKEY_DATA_DIR": t.TempDir(), "OWNKEY_MAX_JSON_DEPTH": bad})
		if q.Addr != "" || !strings.Contains(q.Stderr()+q.Stdout(), "OWNKEY_MAX_JSON_DEPTH") {
			t.Fatalf("OWNKEY_MAX_JSON_DEPTH=%s: started or did not name the variable\n%s", bad, q.Stderr())
		}
	}
}
