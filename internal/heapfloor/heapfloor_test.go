package heapfloor

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestPercent(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		live, floor uint64
		base, want  int
	}{
		{4 * mib, 64 * mib, 100, 1500},  // small heap: collect at 64 MiB
		{16 * mib, 64 * mib, 100, 300},  // still under the floor
		{32 * mib, 64 * mib, 100, 100},  // half the floor: as before
		{200 * mib, 64 * mib, 100, 100}, // large heap: untouched
		{4 * mib, 64 * mib, 2000, 2000}, // never below the base
		{1, 1 << 40, 100, maxPercent},   // bounded
		{0, 64 * mib, 100, 100},         // nothing measured yet
		{64 * mib, 64 * mib, 50, 50},    // at the floor
		{10 * mib, 64 * mib, 100, 540},  // rounds down: the heap stays under the floor
	} {
		if got := Percent(tc.live, tc.floor, tc.base); got != tc.want {
			t.Errorf("Percent(%d, %d, %d) = %d, want %d", tc.live, tc.floor, tc.base, got, tc.want)
		}
	}
}

// The floor retunes the collector after each cycle, and Stop puts the
// percentage back. (Not parallel: GOGC is the process's.)
func TestFloorTunesAfterACycle(t *testing.T) {
	base := debug.SetGCPercent(100)
	defer debug.SetGCPercent(base)
	if Start(0) != nil {
		t.Fatal("a floor of 0 started")
	}
	f := Start(1 << 30) // far above this test's live heap
	defer f.Stop()
	if g := Start(1 << 30); g != nil {
		g.Stop()
		t.Fatal("a second floor started while one runs")
	}
	deadline := time.Now().Add(10 * time.Second)
	for f.Percent() <= 100 {
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s of collections the percentage is still %d", f.Percent())
		}
		runtime.GC()
		time.Sleep(time.Millisecond) // the finalizer runs on its own goroutine
	}
	if now := debug.SetGCPercent(-1); now != f.Percent() {
		t.Fatalf("the collector runs at GOGC=%d, the floor says it set %d", now, f.Percent())
	} else {
		debug.SetGCPercent(now)
	}
	f.Stop()
	if now := debug.SetGCPercent(100); now != 100 {
		t.Fatalf("after Stop GOGC is %d, want the base 100", now)
	}
	if g := Start(1 << 30); g == nil {
		t.Fatal("no floor could start once the first stopped")
	} else {
		g.Stop()
	}
	// A cycle after Stop changes nothing.
	runtime.GC()
	runtime.GC()
	time.Sleep(10 * time.Millisecond)
	if now := debug.SetGCPercent(100); now != 100 {
		t.Fatalf("a cycle after Stop set GOGC to %d", now)
	}
}

// With the collector off (GOGC=off) there is nothing to tune.
func TestFloorLeavesTheCollectorOff(t *testing.T) {
	base := debug.SetGCPercent(-1)
	defer debug.SetGCPercent(base)
	if f := Start(1 << 30); f != nil {
		f.Stop()
		t.Fatal("a floor started with the collector off")
	}
}

var sink []byte

// Memory goes back to the system once when the process goes quiet after
// allocating, not while it allocates, and not again while it stays quiet.
func TestFloorReleasesWhenIdle(t *testing.T) {
	base := debug.SetGCPercent(100)
	defer debug.SetGCPercent(base)
	const floor = 8 << 20
	f := start(floor, 100*time.Millisecond, func() {})
	defer f.Stop()
	// Busy: more than an eighth of the floor per check.
	busyUntil := time.Now().Add(500 * time.Millisecond)
	for time.Now().Before(busyUntil) {
		for range 64 {
			sink = make([]byte, 64<<10)
		}
		time.Sleep(time.Millisecond)
	}
	if n := f.released.Load(); n != 0 {
		t.Fatalf("memory was released %d times while the process allocated", n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for f.released.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("a quiet process did not release memory")
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // five more quiet checks
	if n := f.released.Load(); n != 1 {
		t.Fatalf("a process that stayed quiet released memory %d times, want once", n)
	}
}
