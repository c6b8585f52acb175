// Package heapfloor keeps the Go garbage collector from running more often
// than a heap of a given size needs.
//
// The collector starts a cycle each time the heap has grown by GOGC percent
// of what the last cycle found live, or reached 4 MiB, whichever is more.
// A gateway's live heap is small (a few MiB: connections, pools, the price
// catalog) while it allocates some 15 KB per request, so at GOGC=100 it
// collects every few hundred requests, and each cycle scans every
// goroutine's stack and the live heap again: at c=50 on one core that was
// about a tenth of the CPU a request costs (bench/RESULTS.md, 2026-11-30).
// Raising GOGC alone would also multiply a large live heap (1 MB request
// bodies in flight) by the same factor. A floor does not: after each cycle
// the percentage is set so that the next cycle starts when the heap reaches
// the floor, and never below the base percentage, so a live heap above half
// the floor is collected exactly as before. This is the GC tuner Uber
// described ("How We Saved 70K Cores Across 30 Mission-Critical Services",
// 2021), without the ballast object older versions of the idea used.
// GOMEMLIMIT, when set, still caps the heap: the runtime applies it whatever
// the percentage.
//
// A floor would also keep its garbage resident once the load stops: an idle
// process allocates too little to reach the next cycle, and the runtime's
// scavenger keeps what the heap goal allows. So a floor checks now and then
// whether the process has gone quiet (it allocated less than an eighth of
// the floor since the last check), and then collects once and hands the
// freed memory back to the system (debug.FreeOSMemory). An idle gateway
// holds what it held without a floor.
package heapfloor

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"
)

// maxPercent bounds the percentage set (a live heap of a few KiB under a
// floor of GiBs would ask for an absurd one).
const maxPercent = 100_000

// liveMetric is the heap the last cycle found live, the base of the next
// cycle's goal; allocsMetric all the heap allocated since the start.
const (
	liveMetric   = "/gc/heap/live:bytes"
	allocsMetric = "/gc/heap/allocs:bytes"
)

// IdleCheck is how often a floor looks whether the process has gone quiet.
const IdleCheck = 15 * time.Second

// Percent is the GOGC percentage under which a heap with live bytes live
// next collects when it reaches floor, and never less than base: the goal
// is live × (1 + percent/100). (The runtime adds stacks and globals to live
// when it computes the goal, so the heap stays a little above the floor.)
func Percent(live, floor uint64, base int) int {
	if live == 0 || floor <= live {
		return base
	}
	grow := (floor - live) * 100 / live // floor is at most a few GiB: no overflow
	if grow > maxPercent {
		grow = maxPercent
	}
	if p := int(grow); p > base {
		return p
	}
	return base
}

// Floor is a running tuner; Stop ends it and puts the base percentage back.
type Floor struct {
	floor   uint64
	base    int
	stopped atomic.Bool
	mu      sync.Mutex // serialises the re-tuning with Stop
	sample  [1]metrics.Sample
	percent atomic.Int64 // the percentage last set, for tests and logs
	// quit ends the idle watch; released counts the times it gave
	// memory back (tests); release is debug.FreeOSMemory but in tests.
	quit     chan struct{}
	released atomic.Int64
	release  func()
}

// sentinel is what the collector finds unreachable at the end of each
// cycle: its finalizer runs once per cycle and re-arms itself. It holds a
// pointer, so it is never one of the tiny allocations whose finalizers may
// not run.
type sentinel struct{ f *Floor }

// Start keeps the heap from being collected below floor bytes, from the
// current GOGC percentage up (100 unless GOGC says otherwise). A floor of 0,
// or one started while another runs, starts nothing and returns nil. The caller decides whether an operator's
// own GOGC should win (cmd/ownkey does not start a floor when it is set).
func Start(floor uint64) *Floor {
	return start(floor, IdleCheck, debug.FreeOSMemory)
}

// running is set while a floor runs: GOGC is the process's, so there is one
// floor at most (a second would take the first one's raised percentage for
// its base, and put that back when stopped).
var running atomic.Bool

func start(floor uint64, idleCheck time.Duration, release func()) *Floor {
	if floor == 0 || !running.CompareAndSwap(false, true) {
		return nil
	}
	base := debug.SetGCPercent(100)
	debug.SetGCPercent(base)
	if base < 0 {
		running.Store(false)
		return nil // the collector is off: nothing to tune
	}
	f := &Floor{floor: floor, base: base, quit: make(chan struct{}), release: release}
	f.sample[0].Name = liveMetric
	f.percent.Store(int64(base))
	runtime.SetFinalizer(&sentinel{f: f}, (*sentinel).cycle)
	go f.watchIdle(idleCheck)
	return f
}

// watchIdle gives memory back once each time the process goes quiet: it
// allocated less than an eighth of the floor in one check's time, after
// allocating more than that since the last release.
func (f *Floor) watchIdle(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	sample := []metrics.Sample{{Name: allocsMetric}}
	allocated := func() uint64 {
		metrics.Read(sample)
		if sample[0].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return sample[0].Value.Uint64()
	}
	last, atRelease := allocated(), uint64(0)
	for {
		select {
		case <-f.quit:
			return
		case <-t.C:
		}
		now := allocated()
		quiet := now-last < f.floor/8
		if quiet && now-atRelease >= f.floor/8 {
			f.release()
			f.released.Add(1)
			atRelease = allocated()
			now = atRelease
		}
		last = now
	}
}

func (s *sentinel) cycle() {
	f := s.f
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopped.Load() {
		return
	}
	metrics.Read(f.sample[:])
	if f.sample[0].Value.Kind() == metrics.KindUint64 {
		p := Percent(f.sample[0].Value.Uint64(), f.floor, f.base)
		if int64(p) != f.percent.Load() {
			debug.SetGCPercent(p)
			f.percent.Store(int64(p))
		}
	}
	runtime.SetFinalizer(s, (*sentinel).cycle)
}

// Percent is the GOGC percentage the floor set last.
func (f *Floor) Percent() int { return int(f.percent.Load()) }

// Stop ends the tuning and restores the base percentage.
func (f *Floor) Stop() {
	if f == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopped.Swap(true) {
		return
	}
	close(f.quit)
	debug.SetGCPercent(f.base)
	f.percent.Store(int64(f.base))
	running.Store(false)
}
