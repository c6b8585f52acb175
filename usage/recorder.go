// Package usage records what each chat request consumed, off the request's
// hot path and without losing a record, and estimates token counts that a
// provider did not report.
package usage

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ownkey/ownkey"
	"github.com/prometheus/client_golang/prometheus"
)

const (
	defaultBatchSize  = 256
	defaultFlushEvery = 50 * time.Millisecond
	defaultQueueSize  = 16384

	defaultMinBackoff = 50 * time.Millisecond
	defaultMaxBackoff = 5 * time.Second

	// attemptTimeout bounds one InsertUsage call, so that a connection that
	// hangs is retried rather than waited on forever.
	attemptTimeout = 30 * time.Second
	// lateWriteTimeout bounds the synchronous write of a record that
	// arrives after Close, retries included.
	lateWriteTimeout = 10 * time.Second
)

// Options tune a Recorder. Zero values take the defaults.
type Options struct {
	// BatchSize is the most records written in one InsertUsage call
	// (default 256).
	BatchSize int
	// FlushEvery is the longest a record waits for its batch to fill
	// before it is written anyway (default 50ms).
	FlushEvery time.Duration
	// QueueSize is how many records may wait to be written before Record
	// blocks its caller (default 16384).
	QueueSize int
	// Logger receives write failures (default slog.Default()).
	Logger *slog.Logger
	// Registerer, if set, gets the recorder's metrics; registering them
	// twice panics, so give each Recorder its own registry.
	Registerer prometheus.Registerer

	// minBackoff and maxBackoff bound the delay between attempts to write
	// a batch; tests shorten them.
	minBackoff, maxBackoff time.Duration
}

// Recorder writes usage records to a store in batches from one background
// goroutine. Record only enqueues, so a request never waits for a database
// commit, yet no record is dropped: a full queue blocks Record instead, and
// a failed write is retried, with capped exponential backoff, until it
// succeeds. Retries cannot double-count because the store skips a
// RequestID it already holds.
//
// A record the store refuses for good (EINVALID, or ENOTFOUND: its account
// was deleted) would block every record behind it if retried; the batch is
// written again one record at a time and only the refused records are
// dropped, each logged and counted in ownkey_usage_records_rejected_total.
//
// Close the recorder after the HTTP server has stopped serving and before
// closing the store.
type Recorder struct {
	store      ownkey.UsageStore
	log        *slog.Logger
	batchSize  int
	flushEvery time.Duration
	minBackoff time.Duration
	maxBackoff time.Duration

	queue chan *ownkey.UsageRecord
	// accepted counts the records Record has taken. Close sets closedBit
	// in the same atomic operation that reads the count, so every Record
	// either was counted before Close and will be sent on queue, or sees
	// the bit and writes its record itself.
	accepted atomic.Int64
	// closeTotal is accepted as Close found it; -1 until then.
	closeTotal atomic.Int64
	// finished counts the records the writer is done with (stored or
	// rejected): always a prefix of the queue's order.
	finished  atomic.Int64
	closeOnce sync.Once
	closing   chan struct{}
	flushes   chan flushRequest
	done      chan struct{}
	metrics   metrics
}

const closedBit = int64(1) << 62

// flushRequest asks the writer to close done once it has finished the first
// target records.
type flushRequest struct {
	target int64
	done   chan struct{}
}

// NewRecorder starts a Recorder writing to store.
func NewRecorder(store ownkey.UsageStore, opts Options) *Recorder {
	r := &Recorder{
		store:      store,
		log:        opts.Logger,
		batchSize:  opts.BatchSize,
		flushEvery: opts.FlushEvery,
		minBackoff: opts.minBackoff,
		maxBackoff: opts.maxBackoff,
		closing:    make(chan struct{}),
		flushes:    make(chan flushRequest),
		done:       make(chan struct{}),
	}
	if r.log == nil {
		r.log = slog.Default()
	}
	if r.batchSize <= 0 {
		r.batchSize = defaultBatchSize
	}
	if r.flushEvery <= 0 {
		r.flushEvery = defaultFlushEvery
	}
	if r.minBackoff <= 0 {
		r.minBackoff = defaultMinBackoff
	}
	if r.maxBackoff < r.minBackoff {
		r.maxBackoff = max(defaultMaxBackoff, r.minBackoff)
	}
	queueSize := opts.QueueSize
	if queueSize <= 0 {
		queueSize = defaultQueueSize
	}
	r.queue = make(chan *ownkey.UsageRecord, queueSize)
	r.closeTotal.Store(-1)
	r.metrics = newMetrics(opts.Registerer, r.pending)
	go r.run()
	return r
}

// Record hands rec to the recorder, which owns it from then on: the caller
// must not change it. A zero CreatedAt is set to now, the time of the
// request rather than of the write. Record returns as soon as rec is queued;
// when the queue is full it blocks until there is room, so that a store
// that cannot keep up slows requests down instead of losing their records.
//
// After Close, Record writes rec itself before returning, retrying for up
// to 10 seconds; a record it still cannot store is logged as lost.
func (r *Recorder) Record(rec *ownkey.UsageRecord) {
	if rec == nil {
		return
	}
	if rec.CreatedAt.IsZero() {
		rec.CreatedAt = ownkey.Now()
	}
	if r.accepted.Add(1)&closedBit != 0 {
		r.recordLate(rec)
		return
	}
	select {
	case r.queue <- rec:
	default:
		r.metrics.blocked.Inc()
		r.queue <- rec
	}
}

func (r *Recorder) recordLate(rec *ownkey.UsageRecord) {
	ctx, cancel := context.WithTimeout(context.Background(), lateWriteTimeout)
	defer cancel()
	batch := []*ownkey.UsageRecord{rec}
	if err := r.insertRetrying(ctx, batch); err != nil {
		if isPermanent(err) {
			r.reject(rec, err)
			return
		}
		r.log.Error("usage: record arrived after the recorder closed and could not be stored; it is lost",
			"request_id", rec.RequestID, "account_id", rec.AccountID, "error", err)
	}
}

// Flush returns once every record whose Record call returned before Flush
// was called is stored (or rejected), or with ctx's error. It does not wait
// for a batch to fill or for FlushEvery.
func (r *Recorder) Flush(ctx context.Context) error {
	target := r.accepted.Load()
	if target&closedBit != 0 {
		return r.waitDone(ctx, "flush")
	}
	req := flushRequest{target: target, done: make(chan struct{})}
	select {
	case r.flushes <- req:
	case <-r.done:
		// Close ran meanwhile and the writer drained everything.
		return nil
	case <-ctx.Done():
		return fmt.Errorf("usage: flush: %d records not stored yet: %w", r.pending(), ctx.Err())
	}
	select {
	case <-req.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("usage: flush: %d records not stored yet: %w", r.pending(), ctx.Err())
	}
}

// Close stops queueing records, stores every record already queued, and
// stops the writer. If ctx ends first, Close returns its error while the
// writer goes on trying in the background. Calling Close again waits again.
func (r *Recorder) Close(ctx context.Context) error {
	r.closeOnce.Do(func() {
		r.closeTotal.Store(r.accepted.Or(closedBit))
		close(r.closing)
	})
	return r.waitDone(ctx, "close")
}

func (r *Recorder) waitDone(ctx context.Context, op string) error {
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("usage: %s: %d records not stored yet: %w", op, r.pending(), ctx.Err())
	}
}

// pending is how many queued records are not stored yet, counting those
// Record is blocked on and the batch being written.
func (r *Recorder) pending() int64 {
	accepted := r.accepted.Load()
	if accepted&closedBit != 0 {
		// Records taken after Close are written by Record itself.
		accepted = r.closeTotal.Load()
	}
	return max(0, accepted-r.finished.Load())
}

// run is the writer: it batches records by size or age, whichever comes
// first, and writes each batch until it is stored.
func (r *Recorder) run() {
	defer close(r.done)
	var (
		batch      = make([]*ownkey.UsageRecord, 0, r.batchSize)
		timer      = time.NewTimer(time.Hour)
		received   int64
		finished   int64
		waiters    []flushRequest
		closing    = r.closing
		closeTotal = int64(-1)
	)
	timer.Stop()
	flush := func() {
		if len(batch) > 0 {
			timer.Stop()
			r.write(batch)
			finished += int64(len(batch))
			r.finished.Store(finished)
			// A new array: the store may still hold the old one.
			batch = make([]*ownkey.UsageRecord, 0, r.batchSize)
		}
		kept := waiters[:0]
		for _, w := range waiters {
			if w.target <= finished {
				close(w.done)
			} else {
				kept = append(kept, w)
			}
		}
		waiters = kept
	}
	for {
		if received == closeTotal {
			flush()
			// Every Flush waiting now was asked before Close and is owed
			// no more than closeTotal records.
			for _, w := range waiters {
				close(w.done)
			}
			return
		}
		select {
		case rec := <-r.queue:
			received++
			if len(batch) == 0 {
				timer.Reset(r.flushEvery)
			}
			batch = append(batch, rec)
			if len(batch) >= r.batchSize {
				flush()
			}
		case <-timer.C:
			flush()
		case w := <-r.flushes:
			waiters = append(waiters, w)
		case <-closing:
			closeTotal = r.closeTotal.Load()
			closing = nil
		}
		// A waiting Flush is owed the records received so far; the records
		// it is owed that are still in the queue come in later rounds.
		for _, w := range waiters {
			if w.target <= received {
				flush()
				break
			}
		}
	}
}

// write stores batch, retrying until the store takes it. If the store
// refuses the batch for good, the records are written one by one so that
// only those at fault are dropped.
func (r *Recorder) write(batch []*ownkey.UsageRecord) {
	err := r.insertRetrying(context.Background(), batch)
	if err == nil {
		return
	}
	if len(batch) == 1 {
		r.reject(batch[0], err)
		return
	}
	for _, rec := range batch {
		if err := r.insertRetrying(context.Background(), []*ownkey.UsageRecord{rec}); err != nil {
			r.reject(rec, err)
		}
	}
}

// insertRetrying calls InsertUsage until it succeeds, fails for good, or
// ctx ends, waiting longer after each failure.
func (r *Recorder) insertRetrying(ctx context.Context, batch []*ownkey.UsageRecord) error {
	delay := r.minBackoff
	for attempt := 1; ; attempt++ {
		err := r.insert(ctx, batch)
		if err == nil || isPermanent(err) {
			return err
		}
		r.log.Warn("usage: storing usage records failed; retrying",
			"records", len(batch), "attempt", attempt, "retry_in", delay, "error", err)
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return err
		}
		delay = min(2*delay, r.maxBackoff)
	}
}

func (r *Recorder) insert(ctx context.Context, batch []*ownkey.UsageRecord) error {
	ctx, cancel := context.WithTimeout(ctx, attemptTimeout)
	defer cancel()
	start := time.Now()
	err := r.store.InsertUsage(ctx, batch)
	r.metrics.batchSeconds.Observe(time.Since(start).Seconds())
	if err != nil {
		r.metrics.writeErrors.Inc()
		return err
	}
	r.metrics.written.Add(float64(len(batch)))
	return nil
}

// isPermanent reports whether retrying the same records cannot help: a
// record is invalid, or its account no longer exists.
func isPermanent(err error) bool {
	switch ownkey.ErrorCode(err) {
	case ownkey.EINVALID, ownkey.ENOTFOUND:
		return true
	}
	return false
}

func (r *Recorder) reject(rec *ownkey.UsageRecord, err error) {
	r.metrics.rejected.Inc()
	r.log.Error("usage: store refused a usage record; it is dropped",
		"request_id", rec.RequestID, "account_id", rec.AccountID, "error", err)
}

type metrics struct {
	written      prometheus.Counter
	writeErrors  prometheus.Counter
	rejected     prometheus.Counter
	blocked      prometheus.Counter
	batchSeconds prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer, pending func() int64) metrics {
	m := metrics{
		written: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ownkey_usage_records_written_total",
			Help: "Usage records the store accepted (a retried record the store already held counts again).",
		}),
		writeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ownkey_usage_write_errors_total",
			Help: "Failed attempts to write a batch of usage records.",
		}),
		rejected: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ownkey_usage_records_rejected_total",
			Help: "Usage records the store refused for good (invalid, or account deleted) and that were dropped.",
		}),
		blocked: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ownkey_usage_record_blocked_total",
			Help: "Calls to record usage that found the queue full and waited for room.",
		}),
		batchSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "ownkey_usage_batch_seconds",
			Help:    "Time taken by each attempt to write a batch of usage records.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
	}
	if reg != nil {
		queueLength := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "ownkey_usage_queue_length",
			Help: "Usage records taken but not yet stored: queued, waiting for room in the queue, or being written.",
		}, func() float64 { return float64(pending()) })
		reg.MustRegister(m.written, m.writeErrors, m.rejected, m.blocked, m.batchSeconds, queueLength)
	}
	return m
}
