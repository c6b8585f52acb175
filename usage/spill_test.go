package usage

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/sqlstore"
	"github.com/ownkey/ownkey/sqlstore/sqltest"
	"github.com/prometheus/client_golang/prometheus"
)

// recordsInFiles lists the request ids in the segment files of dir whose
// names start with prefix.
func recordsInFiles(t *testing.T, dir, prefix string) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, prefix+"-*.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range paths {
		recs, _, err := readSegment(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			got = append(got, r.RequestID)
		}
	}
	return got
}

// While the usage table is locked, Record keeps returning (the records go
// to the spill file), and once the lock goes every record is in the table
// exactly once. Before the spill, Record blocked once its queue was full
// and chat stopped.
func TestRecorderSpillsWhileUsageTableLocked(t *testing.T) {
	t.Parallel()
	outage := sqltest.UsageOutage(t)
	sqltest.EachDSN(t, func(t *testing.T, dsn string) {
		db, err := sqlstore.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		a := &ownkey.Account{Name: "a"}
		if err := db.CreateAccount(ctx, a, nil); err != nil {
			t.Fatal(err)
		}
		reg := prometheus.NewRegistry()
		// A queue far smaller than the records sent during the outage.
		r := mustRecorder(t, db, testOptions(t, Options{QueueSize: 64, BatchSize: 32, FlushEvery: 5 * time.Millisecond,
			WriteTimeout: 50 * time.Millisecond, Registerer: reg}))
		release := sqltest.LockUsageTable(t, dsn)

		const producers = 4
		var sent atomic.Int64
		var slowest atomic.Int64
		end := time.Now().Add(outage)
		var wg sync.WaitGroup
		for p := range producers {
			wg.Go(func() {
				for i := 0; time.Now().Before(end); i++ {
					start := time.Now()
					r.Record(newRecord(a.ID, fmt.Sprintf("p%d-%d", p, i)))
					sent.Add(1)
					if d := int64(time.Since(start)); d > slowest.Load() {
						slowest.Store(d)
					}
					time.Sleep(200 * time.Microsecond)
				}
			})
		}
		producersDone := make(chan struct{})
		go func() { wg.Wait(); close(producersDone) }()
		// The table is still locked: every Record must have returned.
		select {
		case <-producersDone:
		case <-time.After(outage + 10*time.Second):
			t.Fatalf("Record blocked while the usage table was locked (%d records sent)", sent.Load())
		}
		b := r.Backlog()
		if b.Spilled == 0 || !b.Degraded() || b.SpillFailing {
			t.Errorf("Backlog during the outage = %+v; want spilled records, degraded, spill working", b)
		}
		if got := gaugeValue(t, reg, "ownkey_usage_spilled_records"); got == 0 {
			t.Error("ownkey_usage_spilled_records = 0 during the outage")
		}
		if got := gaugeValue(t, reg, "ownkey_usage_spill_oldest_age_seconds"); got <= 0 {
			t.Errorf("ownkey_usage_spill_oldest_age_seconds = %v during the outage; want > 0", got)
		}
		release()

		if err := r.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		waitUntil(func() bool { b := r.Backlog(); return b.Spilled == 0 && b.Queued == 0 })
		closeRecorder(t, r)
		var stored, distinct int64
		err = db.SQL().QueryRowContext(ctx, "SELECT count(*), count(DISTINCT request_id) FROM usage_records WHERE account_id = "+fmt.Sprint(a.ID)).Scan(&stored, &distinct)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %v outage: %d records sent, %d stored (%d lost), slowest Record call %v",
			db.Dialect(), outage, sent.Load(), stored, sent.Load()-stored, time.Duration(slowest.Load()))
		if stored != sent.Load() || distinct != stored {
			t.Fatalf("stored %d records (%d distinct); want the %d sent, each once", stored, distinct, sent.Load())
		}
		if files := recordsInFiles(t, r.spill.dir, spillPrefix); len(files) != 0 {
			t.Errorf("spill files still hold %d records after the replay", len(files))
		}
	})
}

// downStore fails every write, as a database that is unreachable.
type downStore struct{}

func (downStore) InsertUsage(context.Context, []*ownkey.UsageRecord) error {
	return fmt.Errorf("dial tcp 10.0.0.1:5432: connect: connection refused")
}
func (downStore) UsageRecords(context.Context, int64, int) ([]*ownkey.UsageRecord, error) {
	return nil, nil
}

// Records spilled by a process that died (the recorder abandoned without
// Close) are replayed by the next one on the same directory; a line torn by
// the crash is skipped and everything before it kept.
func TestRecorderReplaysSpillAfterCrash(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	crashed := mustRecorder(t, downStore{}, Options{SpillDir: dir, Logger: quiet, BatchSize: 8,
		WriteTimeout: time.Second, minBackoff: time.Hour, maxBackoff: time.Hour})
	want := ids("r", 50)
	for _, id := range want {
		crashed.Record(newRecord(1, id))
	}
	if err := crashed.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := crashed.Backlog().Spilled; got != 50 {
		t.Fatalf("spilled %d records; want 50", got)
	}
	// The crash tears the last append.
	paths, _ := filepath.Glob(filepath.Join(dir, spillPrefix+"-*.jsonl"))
	if len(paths) == 0 {
		t.Fatal("no spill file")
	}
	f, err := os.OpenFile(paths[len(paths)-1], os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(`1a2b3c4d {"request_id":"torn","account_id":1,"api_ke`); err != nil {
		t.Fatal(err)
	}
	f.Close()
	// Stop the abandoned recorder's goroutines without letting it touch
	// the files again: its replay waits an hour before the next attempt.
	t.Cleanup(func() {
		stop, cancel := context.WithCancel(ctx)
		cancel()
		crashed.Close(stop)
	})

	store := newFakeStore()
	reg := prometheus.NewRegistry()
	next := mustRecorder(t, store, testOptions(t, Options{SpillDir: dir, Registerer: reg}))
	waitUntil(func() bool { return next.Backlog().Spilled == 0 })
	store.wantStoredOnce(t, want)
	if got := counterValue(next.metrics.corrupt); got != 1 {
		t.Errorf("corrupt lines = %v; want 1 (the torn tail)", got)
	}
	closeRecorder(t, next)
	if left, _ := filepath.Glob(filepath.Join(dir, spillPrefix+"-*.jsonl")); len(left) != 0 {
		t.Errorf("spill files left after the replay: %v", left)
	}
}

// A line whose checksum does not match is skipped, the lines around it kept.
func TestReadSegmentSkipsDamagedLines(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l, err := openSegmentLog(dir, spillPrefix)
	if err != nil {
		t.Fatal(err)
	}
	var recs []*ownkey.UsageRecord
	for _, id := range ids("r", 3) {
		rec := newRecord(7, id)
		rec.CreatedAt = time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
		rec.UpstreamLatency, rec.TTFB, rec.ErrorCode = 1500*time.Microsecond, 20*time.Microsecond, "stream_error"
		recs = append(recs, rec)
	}
	if err := l.append(recs); err != nil {
		t.Fatal(err)
	}
	segs := l.rotate()
	data, err := os.ReadFile(segs[0].path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(data), "\n")
	lines[1] = strings.Replace(lines[1], `"r1"`, `"rX"`, 1) // same length, wrong checksum
	if err := os.WriteFile(segs[0].path, []byte(strings.Join(lines, "")), 0o600); err != nil {
		t.Fatal(err)
	}
	got, bad, err := readSegment(segs[0].path)
	if err != nil {
		t.Fatal(err)
	}
	if bad != 1 || len(got) != 2 || got[0].RequestID != "r0" || got[1].RequestID != "r2" {
		t.Fatalf("read %d records, %d bad; want r0 and r2, 1 bad", len(got), bad)
	}
	if *got[0] != *recs[0] {
		t.Fatalf("record read back as %+v; want %+v", got[0], recs[0])
	}
}

func TestDefaultWriteTimeout(t *testing.T) {
	// Long enough for a healthy database under load, short enough that a
	// locked table spills long before the queue fills at any sane rate.
	if DefaultWriteTimeout < 500*time.Millisecond || DefaultWriteTimeout > 5*time.Second {
		t.Fatalf("DefaultWriteTimeout = %v; want between 500ms and 5s", DefaultWriteTimeout)
	}
}
