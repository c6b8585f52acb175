package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// runHealthcheck asks a running server whether it is alive: GET /healthz,
// success when it answers 200. It is the container image's HEALTHCHECK
// (a distroless image has no shell, curl or wget), and works from a
// systemd ExecStartPost or a script alike. Without --url it asks the
// server this environment configures (OWNKEY_ADDR), on the loopback
// address when it listens on every interface.
func runHealthcheck(args []string) error {
	fs := newFlagSet("healthcheck", `ownkey healthcheck: GET /healthz of a running server; exit status 0 if it answers 200, else 1.

Without --url it asks the server OWNKEY_ADDR (or --addr) configures, on 127.0.0.1 when
it listens on every interface (0.0.0.0:8080, :8080).`)
	addr := fs.String("addr", envOr("OWNKEY_ADDR"), "the server's listen address (env OWNKEY_ADDR)")
	target := fs.String("url", "", "the URL to ask instead (http://127.0.0.1:8080/readyz)")
	timeout := fs.Duration("timeout", 5*time.Second, "how long to wait for the answer")
	_ = fs.Parse(args)
	if fs.NArg() > 0 {
		return fmt.Errorf("healthcheck takes no arguments, got %q", fs.Arg(0))
	}
	u := *target
	if u == "" {
		u = "http://" + loopbackAddr(*addr) + "/healthz"
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %s did not answer: %w", u, err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %s", u, res.Status)
	}
	fmt.Printf("%s: %s\n", u, res.Status)
	return nil
}

// loopbackAddr is the address to reach a server listening on addr from
// the same machine: a wildcard host (":8080", "0.0.0.0:8080", "[::]:8080")
// becomes 127.0.0.1.
func loopbackAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
