package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Process-level tests run the real ownkey binary: what a crash, a kill -9,
// two replicas or two CLI runs at once do can only be seen from outside the
// process. buildOwnkey builds the binary once per test run.

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
	buildDir  string
)

// TestMain removes the binary built for process tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// ownkeyBinary returns the path of a freshly built ownkey binary.
func ownkeyBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "ownkey-bin-")
		if buildErr != nil {
			return
		}
		buildPath = filepath.Join(buildDir, "ownkey")
		out, err := exec.Command("go", "build", "-o", buildPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

// procEnv is a minimal environment for a child ownkey: PATH and HOME from
// this process, every OWNKEY_* variable dropped, then env added.
func procEnv(env map[string]string) []string {
	out := []string{}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "OWNKEY_") {
			continue
		}
		out = append(out, kv)
	}
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// runOwnkey runs an ownkey CLI command to completion and returns its
// combined output and exit error.
func runOwnkey(t testing.TB, env map[string]string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(ownkeyBinary(t), args...)
	cmd.Env = procEnv(env)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// ownkeyProc is a running `ownkey serve`.
type ownkeyProc struct {
	t        testing.TB
	cmd      *exec.Cmd
	Addr     string // host:port it listens on
	AdminKey string // from the first-start banner, if this start bootstrapped
	stdout   *syncBuffer
	stderr   *syncBuffer
	exited   chan struct{}
	exitErr  error
}

// URL is the server's base URL.
func (p *ownkeyProc) URL() string { return "http://" + p.Addr }

// Stdout and Stderr are what the process printed so far (stderr is the log).
func (p *ownkeyProc) Stdout() string { return p.stdout.String() }
func (p *ownkeyProc) Stderr() string { return p.stderr.String() }

// Exited reports whether the process has ended, and its error.
func (p *ownkeyProc) Exited() (bool, error) {
	select {
	case <-p.exited:
		return true, p.exitErr
	default:
		return false, nil
	}
}

// Wait waits up to d for the process to exit and returns its error; it
// fails the test if the process is still running then.
func (p *ownkeyProc) Wait(d time.Duration) error {
	p.t.Helper()
	select {
	case <-p.exited:
		return p.exitErr
	case <-time.After(d):
		p.t.Fatalf("ownkey still running after %s\nstderr:\n%s", d, p.Stderr())
		return nil
	}
}

// Kill sends SIGKILL (a crash: nothing is flushed) and waits for the exit.
func (p *ownkeyProc) Kill() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// Stop sends SIGTERM (graceful shutdown) and waits up to 30 s for the exit.
func (p *ownkeyProc) Stop() error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return p.exitErr
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("ownkey did not stop within 30 s of SIGTERM")
	}
}

// startOwnkey starts `ownkey serve` on a free loopback port with env (plus
// OWNKEY_ADDR=127.0.0.1:0 unless env sets it) and waits until it logs that
// it is listening. If the process exits first, startOwnkey returns it with
// Addr empty so that the caller can assert on the refusal; use
// mustStartOwnkey when it must come up. The process is killed at cleanup.
func startOwnkey(t testing.TB, env map[string]string, args ...string) *ownkeyProc {
	t.Helper()
	full := map[string]string{"OWNKEY_ADDR": "127.0.0.1:0", "OWNKEY_LOG_FORMAT": "json"}
	for k, v := range env {
		full[k] = v
	}
	cmd := exec.Command(ownkeyBinary(t), append([]string{"serve"}, args...)...)
	cmd.Env = procEnv(full)
	p := &ownkeyProc{t: t, cmd: cmd, stdout: &syncBuffer{}, stderr: &syncBuffer{}, exited: make(chan struct{})}
	cmd.Stdout = p.stdout
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	listening := make(chan string, 1)
	go func() {
		// Copy the log, watching for the listening line.
		sc := bufio.NewScanner(errPipe)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			p.stderr.Write(append(append([]byte{}, line...), '\n'))
			if bytes.Contains(line, []byte(`"ownkey listening"`)) {
				var rec struct {
					Addr string `json:"addr"`
				}
				if json.Unmarshal(line, &rec) == nil && rec.Addr != "" {
					select {
					case listening <- rec.Addr:
					default:
					}
				}
			}
		}
		_, _ = io.Copy(p.stderr, errPipe)
		p.exitErr = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		if done, _ := p.Exited(); !done {
			p.Kill()
		}
	})
	select {
	case p.Addr = <-listening:
	case <-p.exited:
		return p
	case <-time.After(60 * time.Second):
		t.Fatalf("ownkey did not start listening within 60 s\nstderr:\n%s", p.Stderr())
	}
	// The banner is printed before the listening line.
	for _, f := range strings.Fields(p.Stdout()) {
		if strings.HasPrefix(f, "sk-ownkey-") {
			p.AdminKey = f
		}
	}
	return p
}

// mustStartOwnkey is startOwnkey for a process that must come up.
func mustStartOwnkey(t testing.TB, env map[string]string, args ...string) *ownkeyProc {
	t.Helper()
	p := startOwnkey(t, env, args...)
	if p.Addr == "" {
		t.Fatalf("ownkey exited before listening (%v)\nstderr:\n%s", p.exitErr, p.Stderr())
	}
	return p
}

func TestProcessStartsAndStopsGracefully(t *testing.T) {
	dir := t.TempDir()
	p := mustStartOwnkey(t, map[string]string{"OWNKEY_DATA_DIR": dir})
	if p.AdminKey == "" {
		t.Fatalf("first start printed no admin key:\n%s", p.Stdout())
	}
	if _, err := os.Stat(filepath.Join(dir, "master.key")); err != nil {
		t.Fatalf("first start wrote no key file: %v", err)
	}
	if err := p.Stop(); err != nil {
		t.Fatalf("graceful stop: %v\nstderr:\n%s", err, p.Stderr())
	}
	if !strings.Contains(p.Stderr(), `"stopped"`) {
		t.Fatalf("no stop line in the log:\n%s", p.Stderr())
	}
	// A second start on the same data directory bootstraps nothing.
	q := mustStartOwnkey(t, map[string]string{"OWNKEY_DATA_DIR": dir})
	if q.AdminKey != "" {
		t.Fatal("second start printed an admin key again")
	}
}
