//go:build benchpprof

// This file is not part of ownkey. bench/run.sh --profile compiles it into
// cmd/ownkey with `go build -tags benchpprof -overlay`, so that a profiling
// build serves net/http/pprof on a side port while the shipped binary, built
// without the tag and the overlay, has no profiling endpoint at all.
package main

import (
	"log/slog"
	"net/http"
	_ "net/http/pprof" // registers /debug/pprof/ on http.DefaultServeMux, which ownkey itself never serves
	"os"
)

func init() {
	addr := os.Getenv("OWNKEY_BENCH_PPROF_ADDR")
	if addr == "" {
		return
	}
	go func() {
		if err := http.ListenAndServe(addr, nil); err != nil {
			slog.Error("bench pprof listener stopped", "addr", addr, "err", err.Error())
		}
	}()
}
