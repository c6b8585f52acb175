package flight

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestDefaultTimeout(t *testing.T) {
	if DefaultTimeout < time.Second || DefaultTimeout > 30*time.Second {
		t.Fatalf("DefaultTimeout = %v, want between 1s and 30s", DefaultTimeout)
	}
}

// TestWaiterLeavesLoadGoesOn: the caller that started a load goes away; a
// caller that joined still gets the result, and the load's context was not
// cancelled with the first caller's.
func TestWaiterLeavesLoadGoesOn(t *testing.T) {
	var g Group[string]
	started, release := make(chan struct{}), make(chan struct{})
	var loads atomic.Int32
	load := func(ctx context.Context) (string, error) {
		if loads.Add(1) == 1 {
			close(started)
		}
		<-release
		return "v", ctx.Err()
	}
	first, cancelFirst := context.WithCancel(context.Background())
	firstErr := make(chan error, 1)
	go func() {
		_, err := g.Do(first, "k", load)
		firstErr <- err
	}()
	<-started
	secondVal := make(chan string, 1)
	go func() {
		v, err := g.Do(context.Background(), "k", load)
		if err != nil {
			v = err.Error()
		}
		secondVal <- v
	}()
	cancelFirst()
	if err := <-firstErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("first caller: %v, want context.Canceled", err)
	}
	close(release)
	if v := <-secondVal; v != "v" {
		t.Fatalf("second caller got %q, want the shared load's value", v)
	}
	if n := loads.Load(); n != 1 {
		t.Fatalf("%d loads, want 1", n)
	}
}

func TestTimeoutEndsALoad(t *testing.T) {
	g := Group[int]{Timeout: 20 * time.Millisecond}
	_, err := g.Do(context.Background(), "k", func(ctx context.Context) (int, error) {
		<-ctx.Done()
		return 0, ctx.Err()
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
}

// TestPanicBecomesError: singleflight would re-panic on a goroutine no
// middleware can recover, ending the process.
func TestPanicBecomesError(t *testing.T) {
	var g Group[int]
	_, err := g.Do(context.Background(), "k", func(context.Context) (int, error) { panic("boom") })
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("err = %v, want the panic as an error", err)
	}
}
