package usage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/sqlstore"
	"github.com/ownkey/ownkey/sqlstore/sqltest"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

var ctx = context.Background()

// testOptions sends the recorder's log to the test's output and shortens
// the retry delays, whose shape the tests do not check.
func testOptions(t *testing.T, o Options) Options {
	o.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	o.minBackoff, o.maxBackoff = time.Millisecond, 4*time.Millisecond
	return o
}

// mustRecorder starts a recorder, spilling to a temporary directory unless
// opts names one.
func mustRecorder(t testing.TB, store ownkey.UsageStore, opts Options) *Recorder {
	t.Helper()
	if opts.SpillDir == "" {
		opts.SpillDir = t.TempDir()
	}
	r, err := NewRecorder(store, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func newRecord(accountID int64, requestID string) *ownkey.UsageRecord {
	return &ownkey.UsageRecord{
		RequestID: requestID, AccountID: accountID, APIKeyID: 1, Provider: "openai",
		ModelRequested: "openai/gpt-4o", ModelServed: "gpt-4o",
		Usage:  ownkey.Usage{PromptTokens: 12, CompletionTokens: 34, Source: ownkey.UsageFromProvider},
		Status: 200,
	}
}

// fakeStore is an in-memory ownkey.UsageStore that can fail, refuse records,
// or hold every call until released.
type fakeStore struct {
	mu        sync.Mutex
	calls     int
	failFirst int             // calls that fail with a transient error
	refuse    map[string]bool // request ids refused for good
	delivered map[string]int  // successful calls that carried each id
	stored    []string        // ids in the order first stored

	entered chan struct{} // if set, every call sends on it first
	gate    chan struct{} // if set, every call waits for it to be closed
}

func newFakeStore() *fakeStore { return &fakeStore{delivered: map[string]int{}} }

func (s *fakeStore) InsertUsage(ctx context.Context, recs []*ownkey.UsageRecord) error {
	if s.entered != nil {
		s.entered <- struct{}{}
	}
	if s.gate != nil {
		<-s.gate
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.calls <= s.failFirst {
		return errors.New("sqlstore: commit: database is locked")
	}
	for _, r := range recs {
		if s.refuse[r.RequestID] {
			return ownkey.FieldError("usage_source", "refused")
		}
	}
	for _, r := range recs {
		if s.delivered[r.RequestID] == 0 {
			s.stored = append(s.stored, r.RequestID)
		}
		s.delivered[r.RequestID]++
	}
	return nil
}

func (s *fakeStore) UsageRecords(context.Context, int64, int) ([]*ownkey.UsageRecord, error) {
	return nil, errors.New("not implemented")
}

// wantStoredOnce checks that the store got exactly ids, each in one
// successful call.
func (s *fakeStore) wantStoredOnce(t *testing.T, ids []string) {
	t.Helper()
	s.wantStored(t, ids)
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, n := range s.delivered {
		if n != 1 {
			t.Errorf("record %s was delivered in %d successful writes; want 1", id, n)
		}
	}
}

// wantStored checks that the store got exactly ids, in one write or more.
func (s *fakeStore) wantStored(t *testing.T, ids []string) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !sameSet(s.stored, ids) {
		t.Fatalf("stored %d records; want %d; missing %v; unexpected %v",
			len(s.stored), len(ids), firstMissing(ids, s.stored), firstMissing(s.stored, ids))
	}
}

// firstMissing lists up to 10 ids of want that got lacks.
func firstMissing(want, got []string) []string {
	var missing []string
	for _, id := range want {
		if !slices.Contains(got, id) && len(missing) < 10 {
			missing = append(missing, id)
		}
	}
	return missing
}

func sameSet(got, want []string) bool {
	got, want = slices.Clone(got), slices.Clone(want)
	slices.Sort(got)
	slices.Sort(want)
	return slices.Equal(got, want)
}

func ids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return out
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	_ = c.Write(&m)
	return m.GetCounter().GetValue()
}

// waitUntil polls cond; the test's own timeout bounds it.
func waitUntil(cond func() bool) {
	for !cond() {
		time.Sleep(time.Millisecond)
	}
}

func closeRecorder(t *testing.T, r *Recorder) {
	t.Helper()
	if err := r.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func TestRecorderStoresEveryRecordOnce(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) { recordConcurrently(t, db) })
}

func recordConcurrently(t *testing.T, db *sqlstore.DB) {
	accounts := make([]*ownkey.Account, 2)
	for i := range accounts {
		accounts[i] = &ownkey.Account{Name: fmt.Sprintf("a%d", i)}
		if err := db.CreateAccount(ctx, accounts[i], nil); err != nil {
			t.Fatal(err)
		}
	}
	// A small queue and batches, so that writers block and batches fill
	// while records keep coming.
	r := mustRecorder(t, db, testOptions(t, Options{BatchSize: 64, QueueSize: 128}))
	const goroutines, perGoroutine = 8, 250
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range perGoroutine {
				r.Record(newRecord(accounts[g%2].ID, fmt.Sprintf("g%d-%d", g, i)))
			}
		})
	}
	wg.Wait()
	closeRecorder(t, r)

	for a, account := range accounts {
		recs, err := db.UsageRecords(ctx, account.ID, 10*goroutines*perGoroutine)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for g := a; g < goroutines; g += 2 {
			want = append(want, ids(fmt.Sprintf("g%d-", g), perGoroutine)...)
		}
		var got []string
		for _, rec := range recs {
			got = append(got, rec.RequestID)
			if rec.Usage.PromptTokens != 12 || rec.Usage.CompletionTokens != 34 || rec.CreatedAt.IsZero() {
				t.Fatalf("stored record %+v; want the recorded usage and a creation time", rec)
			}
		}
		if len(got) != len(want) || !sameSet(got, want) {
			t.Fatalf("account %d: stored %d records; want exactly the %d recorded", a, len(got), len(want))
		}
	}
}

func TestRecorderRetriesFailedWrites(t *testing.T) {
	t.Parallel()
	store := newFakeStore()
	store.failFirst = 3
	r := mustRecorder(t, store, testOptions(t, Options{BatchSize: 10, FlushEvery: time.Hour}))
	want := ids("r", 95)
	for _, id := range want {
		r.Record(newRecord(1, id))
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// The failed batch went to the spill, and the batches after it
	// followed; the replay stores them once the store answers.
	waitUntil(func() bool { return r.Backlog().Spilled == 0 })
	store.wantStoredOnce(t, want)
	if got := counterValue(r.metrics.writeErrors); got != 3 {
		t.Errorf("write errors = %v; want 3", got)
	}
	if got := counterValue(r.metrics.written); got != 95 {
		t.Errorf("records written = %v; want 95", got)
	}
	closeRecorder(t, r)
}

// A record the store refuses for good must not hold up the others, and is
// never dropped: it is kept in the rejected file, counted, and offered to
// the store again later.
func TestRecorderKeepsRefusedRecords(t *testing.T) {
	t.Parallel()
	store := newFakeStore()
	store.refuse = map[string]bool{"r3": true, "r7": true}
	dir := t.TempDir()
	reg := prometheus.NewRegistry()
	opts := testOptions(t, Options{SpillDir: dir, BatchSize: 10, FlushEvery: time.Hour, Registerer: reg})
	opts.retryRejectedEvery = 20 * time.Millisecond
	r := mustRecorder(t, store, opts)
	for _, id := range ids("r", 10) {
		r.Record(newRecord(1, id))
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	store.wantStoredOnce(t, []string{"r0", "r1", "r2", "r4", "r5", "r6", "r8", "r9"})
	if got := counterValue(r.metrics.rejected); got < 2 {
		t.Errorf("ownkey_usage_records_rejected_total = %v; want at least 2", got)
	}
	if b := r.Backlog(); b.Rejected != 2 || !b.Degraded() {
		t.Errorf("Backlog = %+v; want 2 rejected records, degraded", b)
	}
	if got := gaugeValue(t, reg, "ownkey_usage_rejected_records"); got != 2 {
		t.Errorf("ownkey_usage_rejected_records = %v; want 2", got)
	}
	if got := recordsInFiles(t, dir, rejectedPrefix); !sameSet(got, []string{"r3", "r7"}) {
		t.Errorf("rejected files hold %v; want r3 and r7", got)
	}

	// The store takes them once it no longer refuses them.
	store.mu.Lock()
	store.refuse = nil
	store.mu.Unlock()
	waitUntil(func() bool { return r.Backlog().Rejected == 0 })
	store.wantStoredOnce(t, ids("r", 10))
	closeRecorder(t, r)
	if got := recordsInFiles(t, dir, rejectedPrefix); len(got) != 0 {
		t.Errorf("rejected files still hold %v after the store took them", got)
	}
}

// A record whose account was deleted while it waited in the queue must not
// hold up the others forever.
func TestRecorderSurvivesDeletedAccount(t *testing.T) {
	t.Parallel()
	db := sqltest.NewSQLite(t)
	a := &ownkey.Account{Name: "a"}
	if err := db.CreateAccount(ctx, a, nil); err != nil {
		t.Fatal(err)
	}
	r := mustRecorder(t, db, testOptions(t, Options{FlushEvery: time.Hour}))
	r.Record(newRecord(a.ID, "ok1"))
	r.Record(newRecord(a.ID+1000, "orphan"))
	r.Record(newRecord(a.ID, "ok2"))
	closeRecorder(t, r)
	recs, err := db.UsageRecords(ctx, a.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, rec := range recs {
		got = append(got, rec.RequestID)
	}
	if !sameSet(got, []string{"ok1", "ok2"}) {
		t.Fatalf("stored %v; want ok1 and ok2", got)
	}
	if got := counterValue(r.metrics.rejected); got != 1 {
		t.Errorf("rejected = %v; want 1", got)
	}
}

func TestRecorderCloseDrains(t *testing.T) {
	t.Parallel()
	store := newFakeStore()
	// Neither the batch size nor the timer would write these records.
	r := mustRecorder(t, store, testOptions(t, Options{BatchSize: 1000, FlushEvery: time.Hour}))
	want := ids("r", 300)
	for _, id := range want {
		r.Record(newRecord(1, id))
	}
	closeRecorder(t, r)
	store.wantStoredOnce(t, want)

	// After Close, Record stores the record before it returns.
	r.Record(newRecord(1, "late"))
	store.wantStoredOnce(t, append(want, "late"))
	if err := r.Flush(ctx); err != nil {
		t.Fatalf("Flush after Close: %v", err)
	}
	closeRecorder(t, r) // a second Close is harmless
}

func TestRecorderFlush(t *testing.T) {
	t.Parallel()
	store := newFakeStore()
	r := mustRecorder(t, store, testOptions(t, Options{BatchSize: 1000, FlushEvery: time.Hour}))
	defer closeRecorder(t, r)
	if err := r.Flush(ctx); err != nil {
		t.Fatalf("Flush with nothing recorded: %v", err)
	}
	first := ids("a", 10)
	for _, id := range first {
		r.Record(newRecord(1, id))
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// Flush did not wait for a full batch or the hour-long timer.
	store.wantStoredOnce(t, first)

	second := ids("b", 5)
	for _, id := range second {
		r.Record(newRecord(1, id))
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	store.wantStoredOnce(t, append(first, second...))
}

func TestRecorderFlushGivesUpWithItsContext(t *testing.T) {
	t.Parallel()
	store := newFakeStore()
	store.gate = make(chan struct{})
	r := mustRecorder(t, store, testOptions(t, Options{FlushEvery: time.Hour}))
	r.Record(newRecord(1, "r1"))
	short, cancel := context.WithCancel(ctx)
	cancel()
	if err := r.Flush(short); !errors.Is(err, context.Canceled) {
		t.Fatalf("Flush with a cancelled context and a stuck store = %v; want context.Canceled", err)
	}
	close(store.gate)
	closeRecorder(t, r)
	store.wantStoredOnce(t, []string{"r1"})
}

// When neither the store nor the spill file takes records, the writer holds
// its batch and Record blocks rather than drop a record; the backlog says so.
func TestRecorderBackpressure(t *testing.T) {
	t.Parallel()
	store := newFakeStore()
	store.entered = make(chan struct{}, 100)
	store.gate = make(chan struct{})
	reg := prometheus.NewRegistry()
	dir := filepath.Join(t.TempDir(), "spill")
	r := mustRecorder(t, store, testOptions(t, Options{SpillDir: dir, BatchSize: 1, QueueSize: 1,
		WriteTimeout: time.Millisecond, Registerer: reg}))
	// The spill directory is gone: appends to the spill fail.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}

	r.Record(newRecord(1, "r1"))
	<-store.entered // the writer holds r1 and the store does not answer
	r.Record(newRecord(1, "r2"))
	// The queue (one slot) is full and the writer is stuck: r3 must wait.
	r3Returned := make(chan struct{})
	go func() {
		r.Record(newRecord(1, "r3"))
		close(r3Returned)
	}()
	waitUntil(func() bool { return counterValue(r.metrics.blocked) == 1 })
	waitUntil(func() bool { return r.Backlog().SpillFailing })
	select {
	case <-r3Returned:
		t.Fatal("Record returned although the queue was full and both the store and the spill failed")
	default:
	}
	if got := gaugeValue(t, reg, "ownkey_usage_queue_length"); got != 3 {
		t.Errorf("ownkey_usage_queue_length = %v; want 3 (one being written, one queued, one waiting)", got)
	}

	close(store.gate)
	<-r3Returned
	closeRecorder(t, r)
	// r1's first write, abandoned after WriteTimeout, may have stored it
	// as well as the retry: the store skips the second (not the fake).
	store.wantStored(t, []string{"r1", "r2", "r3"})
	if got := gaugeValue(t, reg, "ownkey_usage_queue_length"); got != 0 {
		t.Errorf("ownkey_usage_queue_length after Close = %v; want 0", got)
	}
	if r.Backlog().SpillFailing {
		t.Error("Backlog still says the spill is failing after the store took everything")
	}
}

func gaugeValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name {
			return f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("metric %s is not registered", name)
	return 0
}

func TestRecorderRegistersMetrics(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	r := mustRecorder(t, newFakeStore(), testOptions(t, Options{Registerer: reg}))
	r.Record(newRecord(1, "r1"))
	closeRecorder(t, r)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range families {
		names = append(names, f.GetName())
	}
	for _, want := range []string{
		"ownkey_usage_queue_length", "ownkey_usage_records_written_total", "ownkey_usage_write_errors_total",
		"ownkey_usage_batch_seconds", "ownkey_usage_records_rejected_total", "ownkey_usage_record_blocked_total",
		"ownkey_usage_spilled_records", "ownkey_usage_rejected_records", "ownkey_usage_spill_oldest_age_seconds",
		"ownkey_usage_records_spilled_total", "ownkey_usage_records_replayed_total", "ownkey_usage_spill_errors_total",
		"ownkey_usage_spill_corrupt_lines_total",
	} {
		if !slices.Contains(names, want) {
			t.Errorf("metric %s not registered; have %v", want, names)
		}
	}
}

// Not parallel: it replaces the domain clock.
func TestRecordStampsCreationTime(t *testing.T) {
	requestTime := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	saved := ownkey.Now
	ownkey.Now = func() time.Time { return requestTime }
	defer func() { ownkey.Now = saved }()

	db := sqltest.NewSQLite(t)
	a := &ownkey.Account{Name: "a"}
	if err := db.CreateAccount(ctx, a, nil); err != nil {
		t.Fatal(err)
	}
	r := mustRecorder(t, db, testOptions(t, Options{}))
	explicit := newRecord(a.ID, "explicit")
	explicit.CreatedAt = requestTime.Add(-time.Hour)
	r.Record(newRecord(a.ID, "stamped"))
	r.Record(explicit)
	closeRecorder(t, r)
	recs, err := db.UsageRecords(ctx, a.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || !recs[0].CreatedAt.Equal(requestTime) || !recs[1].CreatedAt.Equal(requestTime.Add(-time.Hour)) {
		t.Fatalf("stored %+v; want the stamped record at %v and the other at its own time", recs, requestTime)
	}
}

type discardStore struct{}

func (discardStore) InsertUsage(context.Context, []*ownkey.UsageRecord) error { return nil }
func (discardStore) UsageRecords(context.Context, int64, int) ([]*ownkey.UsageRecord, error) {
	return nil, nil
}

// BenchmarkRecord measures what a request pays to record its usage: the
// enqueue, with the writer draining into a store that costs nothing.
func BenchmarkRecord(b *testing.B) {
	r := mustRecorder(b, discardStore{}, Options{SpillDir: b.TempDir()})
	defer r.Close(ctx)
	rec := newRecord(1, "bench")
	rec.CreatedAt = time.Now()
	b.ReportAllocs()
	for b.Loop() {
		r.Record(rec)
	}
}

func BenchmarkRecordParallel(b *testing.B) {
	r := mustRecorder(b, discardStore{}, Options{SpillDir: b.TempDir()})
	defer r.Close(ctx)
	rec := newRecord(1, "bench")
	rec.CreatedAt = time.Now()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r.Record(rec)
		}
	})
}
