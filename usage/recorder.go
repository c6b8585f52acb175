// Package usage records what each chat request consumed, off the request's
// hot path and without losing a record, and estimates token counts that a
// provider did not report.
package usage

import (
	"context"
	"errors"
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

	// defaultRetryRejectedEvery is how often records the store refused for
	// good are offered to it again (an account restored from a backup, a
	// constraint relaxed by an upgrade).
	defaultRetryRejectedEvery = 10 * time.Minute

	// replayWriteTimeout bounds one write of the spill's replay.
	replayWriteTimeout = 30 * time.Second

	// DefaultWriteTimeout is Options.WriteTimeout's default.
	DefaultWriteTimeout = 2 * time.Second

	// spillPrefix and rejectedPrefix name the segment files in SpillDir.
	spillPrefix    = "usage-spill"
	rejectedPrefix = "usage-rejected"
)

// Options tune a Recorder. Zero values take the defaults.
type Options struct {
	// SpillDir is the directory of the spill and rejected files (required).
	// It must survive a restart: records in it are not in the store yet.
	SpillDir string
	// BatchSize is the most records written in one InsertUsage call
	// (default 256).
	BatchSize int
	// FlushEvery is the longest a record waits for its batch to fill
	// before it is written anyway (default 50ms).
	FlushEvery time.Duration
	// QueueSize is how many records may wait in memory to be written. Record
	// blocks its caller only when the queue is full, which happens only if
	// the spill file cannot be written either (default 16384).
	QueueSize int
	// WriteTimeout bounds one write to the store; a batch the store has
	// not taken by then is spilled to disk instead (default 2s).
	WriteTimeout time.Duration
	// Logger receives write failures (default slog.Default()).
	Logger *slog.Logger
	// Registerer, if set, gets the recorder's metrics; registering them
	// twice panics, so give each Recorder its own registry.
	Registerer prometheus.Registerer
	// Stored, if set, is told of records once the store holds them
	// (stored by this write or an earlier one), from the recorder's own
	// goroutines: the ledger learns there that a request's charge is
	// settled in the database. It must not block, nor keep recs.
	Stored func(recs []*ownkey.UsageRecord)

	// minBackoff and maxBackoff bound the delay between attempts to
	// replay the spill, or to write a batch when the spill fails too;
	// retryRejectedEvery is how often refused records are retried. Tests
	// shorten them.
	minBackoff, maxBackoff time.Duration
	retryRejectedEvery     time.Duration
}

// Recorder writes usage records to a store in batches from one background
// goroutine. Record only enqueues, so a request never waits for a database
// commit, and no record is dropped:
//
//   - A batch the store does not take within WriteTimeout (an error, a
//     locked table) is appended to a spill file in SpillDir, fsync'd, and
//     while the spill holds anything, new batches follow it there, so that
//     records reach the store in the order they came. A second goroutine
//     replays the spill, oldest segment first, with capped exponential
//     backoff while the store keeps failing, and deletes each segment once
//     the store holds all of it. Replays cannot double-count because the
//     store skips a RequestID it already holds. A new Recorder replays what
//     an earlier process left in SpillDir.
//   - A record the store refuses for good (EINVALID, or ENOTFOUND: its
//     account was deleted) would block every record behind it if retried
//     in line; the batch is written again one record at a time and the
//     refused records go to a rejected file in SpillDir, each logged and
//     counted, and are offered to the store again every 10 minutes.
//   - Only if the spill file cannot be written either does the writer hold
//     its batch and retry, so that the queue fills and Record blocks
//     (backpressure); Backlog reports it, and /readyz fails.
//
// Close the recorder after the HTTP server has stopped serving and before
// closing the store.
type Recorder struct {
	store              ownkey.UsageStore
	stored             func([]*ownkey.UsageRecord)
	log                *slog.Logger
	batchSize          int
	flushEvery         time.Duration
	writeTimeout       time.Duration
	minBackoff         time.Duration
	maxBackoff         time.Duration
	retryRejectedEvery time.Duration

	spill    *segmentLog
	rejected *segmentLog
	// spillFailing is set while the last attempt to put a batch on disk
	// failed: the writer holds it, and Record may soon block.
	spillFailing atomic.Bool
	// inflight holds a token while an InsertUsage call runs, so that a
	// call abandoned after WriteTimeout is never joined by another.
	inflight chan struct{}
	// wake tells the replayer that the spill has something new.
	wake       chan struct{}
	stopReplay chan struct{}
	replayDone chan struct{}

	queue chan *ownkey.UsageRecord
	// accepted counts the records Record has taken. Close sets closedBit
	// in the same atomic operation that reads the count, so every Record
	// either was counted before Close and will be sent on queue, or sees
	// the bit and writes its record itself.
	accepted atomic.Int64
	// closeTotal is accepted as Close found it; -1 until then.
	closeTotal atomic.Int64
	// finished counts the records the writer is done with (stored,
	// spilled or kept as refused): always a prefix of the queue's order.
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

// NewRecorder starts a Recorder writing to store, first queueing for replay
// whatever an earlier process left in opts.SpillDir.
func NewRecorder(store ownkey.UsageStore, opts Options) (*Recorder, error) {
	if opts.SpillDir == "" {
		return nil, errors.New("usage: a spill directory is required")
	}
	r := &Recorder{
		store:              store,
		stored:             opts.Stored,
		log:                opts.Logger,
		batchSize:          opts.BatchSize,
		flushEvery:         opts.FlushEvery,
		writeTimeout:       opts.WriteTimeout,
		minBackoff:         opts.minBackoff,
		maxBackoff:         opts.maxBackoff,
		retryRejectedEvery: opts.retryRejectedEvery,
		inflight:           make(chan struct{}, 1),
		wake:               make(chan struct{}, 1),
		stopReplay:         make(chan struct{}),
		replayDone:         make(chan struct{}),
		closing:            make(chan struct{}),
		flushes:            make(chan flushRequest),
		done:               make(chan struct{}),
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
	if r.writeTimeout <= 0 {
		r.writeTimeout = DefaultWriteTimeout
	}
	if r.minBackoff <= 0 {
		r.minBackoff = defaultMinBackoff
	}
	if r.maxBackoff < r.minBackoff {
		r.maxBackoff = max(defaultMaxBackoff, r.minBackoff)
	}
	if r.retryRejectedEvery <= 0 {
		r.retryRejectedEvery = defaultRetryRejectedEvery
	}
	var err error
	if r.spill, err = openSegmentLog(opts.SpillDir, spillPrefix); err != nil {
		return nil, err
	}
	if r.rejected, err = openSegmentLog(opts.SpillDir, rejectedPrefix); err != nil {
		return nil, err
	}
	if n := r.spill.records.Load(); n > 0 {
		r.log.Warn("usage: replaying usage records spilled by an earlier run", "records", n)
	}
	queueSize := opts.QueueSize
	if queueSize <= 0 {
		queueSize = defaultQueueSize
	}
	r.queue = make(chan *ownkey.UsageRecord, queueSize)
	r.closeTotal.Store(-1)
	r.metrics = newMetrics(opts.Registerer, r)
	go r.run()
	go r.replay()
	return r, nil
}

// Record hands rec to the recorder, which owns it from then on: the caller
// must not change it. A zero CreatedAt is set to now, the time of the
// request rather than of the write. Record returns as soon as rec is queued;
// when the queue is full (the store and the spill file both failing) it
// blocks until there is room, so that requests slow down instead of losing
// their records.
//
// After Close, Record stores rec itself before returning, or spills it for
// the next process to replay.
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
	batch := []*ownkey.UsageRecord{rec}
	refused, unstored, err := r.storeBatch(batch, r.writeTimeout)
	if len(refused) > 0 {
		if kerr := r.rejected.append(refused); kerr == nil {
			return
		}
		unstored = refused
	}
	if len(unstored) == 0 {
		return
	}
	if serr := r.spill.append(unstored); serr != nil {
		r.log.Error("usage: record arrived after the recorder closed and could be neither stored nor spilled; it is lost",
			"request_id", rec.RequestID, "account_id", rec.AccountID, "error", err, "spill_error", serr)
	}
}

// Backlog is what the recorder holds that the store does not have yet.
type Backlog struct {
	// Queued records are in memory: queued, waiting for room in the
	// queue, or being written or spilled.
	Queued int64 `json:"queued"`
	// Spilled records are in the spill file, waiting for the store.
	Spilled int64 `json:"spilled"`
	// Rejected records were refused by the store for good; they are kept
	// in the rejected file and retried.
	Rejected int64 `json:"rejected"`
	// OldestSpilledSeconds is the age of the oldest spilled record.
	OldestSpilledSeconds float64 `json:"oldest_spilled_seconds"`
	// SpillFailing is set when a batch could be written neither to the
	// store nor to the spill file: Record may block.
	SpillFailing bool `json:"spill_failing"`
}

// Degraded reports whether records are waiting on disk or cannot be put
// anywhere.
func (b Backlog) Degraded() bool { return b.Spilled > 0 || b.Rejected > 0 || b.SpillFailing }

// Backlog reports the records not in the store yet.
func (r *Recorder) Backlog() Backlog {
	b := Backlog{
		Queued:       r.pending(),
		Spilled:      r.spill.records.Load(),
		Rejected:     r.rejected.records.Load(),
		SpillFailing: r.spillFailing.Load(),
	}
	if ns := r.spill.oldest.Load(); ns != 0 {
		b.OldestSpilledSeconds = max(0, time.Since(time.Unix(0, ns)).Seconds())
	}
	return b
}

// Flush returns once every record whose Record call returned before Flush
// was called is stored, spilled to disk, or kept as refused, or with ctx's error. It does not wait
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

// Close stops queueing records, stores or spills every record already
// queued, and stops the writer and the replay of the spill. If ctx ends first, Close returns its error while the
// writer goes on trying in the background. Calling Close again waits again.
func (r *Recorder) Close(ctx context.Context) error {
	r.closeOnce.Do(func() {
		r.closeTotal.Store(r.accepted.Or(closedBit))
		close(r.closing)
	})
	if err := r.waitDone(ctx, "close"); err != nil {
		return err
	}
	select {
	case <-r.replayDone:
	case <-ctx.Done():
		return fmt.Errorf("usage: close: replay of the spill still running: %w", ctx.Err())
	}
	// What the spill still holds is replayed by the next process.
	r.spill.close()
	r.rejected.close()
	return nil
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
	defer close(r.stopReplay)
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
			r.deliver(batch)
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

// deliver puts batch where it cannot be lost: in the store if the spill is
// empty and the store takes it within WriteTimeout, else in the spill file.
// It retries, with capped exponential backoff, only when both fail.
func (r *Recorder) deliver(batch []*ownkey.UsageRecord) {
	delay := r.minBackoff
	for attempt := 1; ; attempt++ {
		var err error
		// While the spill holds records, new ones follow them there so
		// that the store gets records in order; when the disk fails, the
		// store is worth a try even out of order.
		if r.spill.empty() || r.spillFailing.Load() {
			var refused []*ownkey.UsageRecord
			refused, batch, err = r.storeBatch(batch, r.writeTimeout)
			r.keepRefused(refused)
			if len(batch) == 0 {
				r.spillFailing.Store(false)
				return
			}
		}
		serr := r.spill.append(batch)
		if serr == nil {
			r.spillFailing.Store(false)
			r.metrics.spilled.Add(float64(len(batch)))
			if err != nil {
				r.log.Warn("usage: store did not take usage records; spilled them to disk",
					"records", len(batch), "error", err)
			}
			r.wakeReplay()
			return
		}
		r.spillFailing.Store(true)
		r.metrics.spillErrors.Inc()
		r.log.Error("usage: usage records could be neither stored nor spilled; holding them and retrying",
			"records", len(batch), "attempt", attempt, "retry_in", delay, "error", err, "spill_error", serr)
		time.Sleep(delay)
		delay = min(2*delay, r.maxBackoff)
	}
}

func (r *Recorder) wakeReplay() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// storeBatch writes batch to the store. It returns the records the store
// refused for good, and, when a write failed otherwise, the records not
// stored with that error. A batch refused for good is written again one
// record at a time so that only the records at fault are set apart.
func (r *Recorder) storeBatch(batch []*ownkey.UsageRecord, timeout time.Duration) (refused, unstored []*ownkey.UsageRecord, err error) {
	err = r.insert(batch, timeout)
	if err == nil {
		return nil, nil, nil
	}
	if !isPermanent(err) {
		return nil, batch, err
	}
	if len(batch) == 1 {
		r.logRefused(batch[0], err)
		return batch, nil, nil
	}
	for i, rec := range batch {
		err := r.insert(batch[i:i+1], timeout)
		switch {
		case err == nil:
		case isPermanent(err):
			r.logRefused(rec, err)
			refused = append(refused, rec)
		default:
			return refused, batch[i:], err
		}
	}
	return refused, nil, nil
}

func (r *Recorder) logRefused(rec *ownkey.UsageRecord, err error) {
	r.log.Error("usage: store refused a usage record; it is kept in the rejected file and retried",
		"request_id", rec.RequestID, "account_id", rec.AccountID, "error", err)
}

// keepRefused appends records the store refused for good to the rejected
// file, retrying until the disk takes them: they are never dropped.
func (r *Recorder) keepRefused(refused []*ownkey.UsageRecord) {
	if len(refused) == 0 {
		return
	}
	delay := r.minBackoff
	for {
		err := r.rejected.append(refused)
		if err == nil {
			r.metrics.rejected.Add(float64(len(refused)))
			return
		}
		r.spillFailing.Store(true)
		r.metrics.spillErrors.Inc()
		r.log.Error("usage: refused usage records could not be kept in the rejected file; retrying",
			"records", len(refused), "retry_in", delay, "error", err)
		time.Sleep(delay)
		delay = min(2*delay, r.maxBackoff)
	}
}

// errStoreBusy is returned when the previous write, abandoned after
// WriteTimeout, has not returned yet.
var errStoreBusy = errors.New("usage: the previous write to the store has not returned yet")

// insert calls InsertUsage, giving up after WriteTimeout. A call that does
// not return by then is left to finish on its own (a driver may not notice
// the cancelled context while it waits on a lock); no other call starts
// until it has. If it stores the batch after all, the copy in the spill is
// skipped when replayed.
func (r *Recorder) insert(batch []*ownkey.UsageRecord, timeout time.Duration) error {
	select {
	case r.inflight <- struct{}{}:
	default:
		r.metrics.writeErrors.Inc()
		return errStoreBusy
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	result := make(chan error, 1)
	go func() {
		start := time.Now()
		err := r.store.InsertUsage(ctx, batch)
		r.metrics.batchSeconds.Observe(time.Since(start).Seconds())
		<-r.inflight // before the result, so that the next write may start
		result <- err
		// Only now: ctx ending before the result means the deadline passed.
		cancel()
	}()
	var err error
	select {
	case err = <-result:
	case <-ctx.Done():
		select {
		case err = <-result:
		default:
			err = fmt.Errorf("usage: store did not answer within %v", timeout)
		}
	}
	if err != nil {
		r.metrics.writeErrors.Inc()
		return err
	}
	r.metrics.written.Add(float64(len(batch)))
	if r.stored != nil {
		r.stored(batch)
	}
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

// replay drains the spill into the store while the store answers, and
// offers the rejected records to the store again every retryRejectedEvery.
func (r *Recorder) replay() {
	defer close(r.replayDone)
	delay := r.minBackoff
	retryRejected := time.NewTicker(r.retryRejectedEvery)
	defer retryRejected.Stop()
	for {
		var wait <-chan time.Time
		var t *time.Timer
		if r.replayLog(r.spill, true, r.replayTimeout()) {
			delay = r.minBackoff
		} else {
			t = time.NewTimer(delay)
			wait = t.C
			delay = min(2*delay, r.maxBackoff)
		}
		select {
		case <-r.stopReplay:
			// The writer has spilled what it could not store: one last
			// try, so that a clean stop leaves nothing behind if it can.
			r.replayLog(r.spill, true, r.writeTimeout)
			return
		case <-r.wake:
		case <-wait:
		case <-retryRejected.C:
			if n := r.rejected.records.Load(); n > 0 {
				r.log.Info("usage: offering refused usage records to the store again", "records", n)
				r.replayLog(r.rejected, false, r.replayTimeout())
			}
		}
		if t != nil {
			t.Stop()
		}
	}
}

// replayTimeout bounds one write of the replay. No request waits on the
// replay, so it waits far longer than the writer: a write that waits on a
// lock goes through the moment the lock goes, where cancelling it every
// WriteTimeout would cost a new connection each time (pgx closes a
// connection whose query was cancelled).
func (r *Recorder) replayTimeout() time.Duration {
	return max(replayWriteTimeout, r.writeTimeout)
}

// replayLog stores the records of every closed segment of l, oldest first,
// deleting each segment once the store holds all of it; records refused for
// good go to the rejected file. With untilEmpty it goes on with segments
// appended meanwhile. It reports false when the store failed, leaving the
// rest for a later attempt.
func (r *Recorder) replayLog(l *segmentLog, untilEmpty bool, timeout time.Duration) bool {
	for {
		segs := l.rotate()
		if len(segs) == 0 {
			return true
		}
		for _, seg := range segs {
			recs, bad, err := readSegment(seg.path)
			if err != nil {
				r.log.Error("usage: cannot read a spill file; will retry", "file", seg.path, "error", err)
				return false
			}
			if bad > 0 {
				r.metrics.corrupt.Add(float64(bad))
				r.log.Warn("usage: skipped unreadable lines in a spill file (a write torn by a crash, or damage)",
					"file", seg.path, "lines", bad, "records", len(recs))
			}
			for len(recs) > 0 {
				chunk := recs[:min(len(recs), r.batchSize)]
				refused, unstored, err := r.storeBatch(chunk, timeout)
				r.keepRefused(refused)
				if len(unstored) > 0 {
					r.log.Warn("usage: replaying spilled usage records failed; will retry",
						"records", l.records.Load(), "error", err)
					return false
				}
				recs = recs[len(chunk):]
			}
			if err := l.remove(seg); err != nil {
				r.log.Error("usage: cannot remove a replayed spill file; will replay it again", "error", err)
				return false
			}
			r.metrics.replayed.Add(float64(seg.records))
		}
		if !untilEmpty {
			return true
		}
	}
}

type metrics struct {
	written      prometheus.Counter
	writeErrors  prometheus.Counter
	rejected     prometheus.Counter
	blocked      prometheus.Counter
	spilled      prometheus.Counter
	replayed     prometheus.Counter
	spillErrors  prometheus.Counter
	corrupt      prometheus.Counter
	batchSeconds prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer, r *Recorder) metrics {
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	}
	m := metrics{
		written: counter("ownkey_usage_records_written_total",
			"Usage records the store accepted (a retried record the store already held counts again)."),
		writeErrors: counter("ownkey_usage_write_errors_total",
			"Failed or timed-out attempts to write a batch of usage records to the store."),
		rejected: counter("ownkey_usage_records_rejected_total",
			"Times the store refused a usage record for good (invalid, or account deleted); the record is kept in the rejected file and retried."),
		blocked: counter("ownkey_usage_record_blocked_total",
			"Calls to record usage that found the queue full and waited for room."),
		spilled: counter("ownkey_usage_records_spilled_total",
			"Usage records written to the spill file because the store did not take them in time."),
		replayed: counter("ownkey_usage_records_replayed_total",
			"Spilled usage records replayed into the store (or set apart as refused)."),
		spillErrors: counter("ownkey_usage_spill_errors_total",
			"Failed attempts to write usage records to the spill or rejected file."),
		corrupt: counter("ownkey_usage_spill_corrupt_lines_total",
			"Unreadable lines skipped while replaying a spill file: a write torn by a crash, or damage."),
		batchSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "ownkey_usage_batch_seconds",
			Help:    "Time taken by each attempt to write a batch of usage records.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
	}
	if reg != nil {
		gauge := func(name, help string, f func() float64) prometheus.Collector {
			return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
		}
		reg.MustRegister(m.written, m.writeErrors, m.rejected, m.blocked, m.spilled, m.replayed,
			m.spillErrors, m.corrupt, m.batchSeconds,
			gauge("ownkey_usage_queue_length",
				"Usage records in memory not yet stored or spilled: queued, waiting for room in the queue, or being written.",
				func() float64 { return float64(r.pending()) }),
			gauge("ownkey_usage_spilled_records",
				"Usage records in the spill file waiting for the store.",
				func() float64 { return float64(r.spill.records.Load()) }),
			gauge("ownkey_usage_rejected_records",
				"Usage records the store refused for good, kept in the rejected file and retried.",
				func() float64 { return float64(r.rejected.records.Load()) }),
			gauge("ownkey_usage_spill_oldest_age_seconds",
				"Age of the oldest usage record in the spill file; 0 when it is empty.",
				func() float64 { return r.Backlog().OldestSpilledSeconds }),
		)
	}
	return m
}
