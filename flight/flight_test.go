package flight

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDefaultTimeout(t *testing.T) {
	if DefaultTimeout < time.Second || DefaultTimeout > 30*time.Second {
		t.Fatalf("DefaultTimeout = %v, want between 1s and 30s", DefaultTimeout)
	}
}

// TestWaiterLeavesLoadGoesOn: the caller that started a load goes away; it
// gets its context's error at once, and the load, which others may be
// waiting for, is not cancelled with it.
func TestWaiterLeavesLoadGoesOn(t *testing.T) {
	var g Group[string]
	started, release, loaded := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	first, cancelFirst := context.WithCancel(context.Background())
	firstErr := make(chan error, 1)
	go func() {
		_, err := g.Do(first, "k", func(ctx context.Context) (string, error) {
			close(started)
			<-release
			loaded <- ctx.Err()
			return "v", nil
		})
		firstErr <- err
	}()
	<-started
	cancelFirst()
	if err := <-firstErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("first caller: %v, want context.Canceled", err)
	}
	close(release)
	if err := <-loaded; err != nil {
		t.Fatalf("the shared load's context ended with its first caller: %v", err)
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
