package main

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

type lockedBuffer struct {
	mu     sync.Mutex
	b      bytes.Buffer
	writes int
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.writes++
	return b.b.Write(p)
}

func (b *lockedBuffer) snapshot() (string, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String(), b.writes
}

func TestLogWriterBatchesLinesAndFlushesOnTime(t *testing.T) {
	var dst lockedBuffer
	l := newLogWriter(&dst, 20*time.Millisecond)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				fmt.Fprintf(l, "{\"g\":%d,\"i\":%d,\"pad\":%q}\n", g, i, strings.Repeat("x", 40))
			}
		}()
	}
	wg.Wait()
	// Written out by the timer, without Close.
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, writes := dst.snapshot()
		if strings.Count(out, "\n") == 800 {
			if writes >= 800/4 {
				t.Fatalf("%d writes for 800 lines: not batched", writes)
			}
			for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
				if !strings.HasPrefix(line, `{"g":`) || !strings.HasSuffix(line, `"}`) {
					t.Fatalf("torn line %q", line)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of 800 lines written out by the timer", strings.Count(out, "\n"))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestLogWriterCloseWritesTheRest(t *testing.T) {
	var dst lockedBuffer
	l := newLogWriter(&dst, time.Hour)
	fmt.Fprintln(l, "last words")
	if out, _ := dst.snapshot(); out != "" {
		t.Fatalf("written before the flush interval: %q", out)
	}
	l.Close()
	if out, _ := dst.snapshot(); out != "last words\n" {
		t.Fatalf("after Close: %q", out)
	}
}
