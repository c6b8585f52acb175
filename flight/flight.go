// Package flight coalesces concurrent cache misses for one key into one
// load (golang.org/x/sync/singleflight), so that a cache expiry under load
// costs the store one query per key rather than one per waiting request.
package flight

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/sync/singleflight"
)

// DefaultTimeout bounds one shared load when Group.Timeout is 0.
const DefaultTimeout = 10 * time.Second

// Group runs at most one load per key at a time; callers that ask for a
// key while its load runs wait for that load's result.
//
// Callers that must not share a load started before some event (a cache
// invalidation) put a generation number in the key.
type Group[T any] struct {
	// Timeout bounds a load. The load is shared, so it does not end when
	// the caller that started it goes away; this is what ends it.
	Timeout time.Duration
	g       singleflight.Group
}

// Do returns the result of load for key, running load unless a load of key
// is already running. A caller whose ctx ends stops waiting (with ctx's
// error); the load goes on for the others. load gets a context detached
// from any one caller's, bounded by the Timeout.
func (g *Group[T]) Do(ctx context.Context, key string, load func(context.Context) (T, error)) (T, error) {
	ch := g.g.DoChan(key, func() (_ any, err error) {
		// singleflight re-panics a load's panic on a goroutine of its own
		// when others wait (DoChan), which no recovery middleware can catch
		// and which would end the process: make it this load's error.
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("flight: load of a shared key panicked: %v", p)
			}
		}()
		timeout := g.Timeout
		if timeout <= 0 {
			timeout = DefaultTimeout
		}
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		defer cancel()
		return load(lctx)
	})
	select {
	case r := <-ch:
		v, _ := r.Val.(T)
		return v, r.Err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}
