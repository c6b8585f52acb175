package sqlstore_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/sqlstore"
	"github.com/ownkey/ownkey/sqlstore/sqltest"
)

func usageRecord(accountID int64, requestID string, createdAt time.Time) *ownkey.UsageRecord {
	return &ownkey.UsageRecord{
		RequestID: requestID, AccountID: accountID, APIKeyID: 7, Provider: "openai",
		ModelRequested: "openai/gpt-4o", ModelServed: "gpt-4o-2024-08-06",
		Usage:     ownkey.Usage{PromptTokens: 10, CompletionTokens: 5, Source: ownkey.UsageFromProvider},
		Status:    200,
		CreatedAt: createdAt,
	}
}

func insertUsage(t *testing.T, db *sqlstore.DB, recs ...*ownkey.UsageRecord) {
	t.Helper()
	if err := db.InsertUsage(ctx, recs); err != nil {
		t.Fatalf("InsertUsage: %v", err)
	}
}

func usageRecords(t *testing.T, db *sqlstore.DB, accountID int64, limit int) []*ownkey.UsageRecord {
	t.Helper()
	recs, err := db.UsageRecords(ctx, accountID, limit)
	if err != nil {
		t.Fatalf("UsageRecords: %v", err)
	}
	return recs
}

func requestIDs(recs []*ownkey.UsageRecord) []string {
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = r.RequestID
	}
	return ids
}

func TestUsageRoundTrip(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		a := createAccount(t, db, "a")
		// Every field differs from its zero value and from the others, and
		// the durations have sub-microsecond parts the store drops.
		full := &ownkey.UsageRecord{
			RequestID: "req-full", AccountID: a.ID, APIKeyID: 42, Provider: "anthropic",
			ModelRequested: "anthropic/claude-sonnet-4", ModelServed: "claude-sonnet-4-20250514",
			Usage: ownkey.Usage{PromptTokens: 1_000_003, CompletionTokens: 2_000_005, CachedTokens: 300_007,
				CacheWriteTokens: 40_009, ReasoningTokens: 5_011, Source: ownkey.UsageEstimated},
			Stream: true, Status: 502, ErrorCode: "stream_truncated",
			UpstreamLatency:    12*time.Second + 345678*time.Microsecond + 999*time.Nanosecond,
			TTFB:               678*time.Millisecond + 901*time.Microsecond + 1*time.Nanosecond,
			ClientDisconnected: true,
			CreatedAt:          t0,
			Charge: ownkey.Charge{AtCost: 123_456_789, Markup: 50_001, Charged: 6_172_840, Basis: ownkey.PriceFallback,
				BYOK: true, Estimated: true},
			Reserved: 9_000_001, LeaseID: 999_999, Settlement: ownkey.SettlementRecovered,
		}
		// A record with every optional field at its zero value.
		bare := &ownkey.UsageRecord{RequestID: "req-bare", AccountID: a.ID,
			Usage: ownkey.Usage{Source: ownkey.UsageNone}, CreatedAt: t0.Add(-time.Hour)}
		insertUsage(t, db, full, bare)

		wantFull := *full
		wantFull.UpstreamLatency = 12*time.Second + 345678*time.Microsecond
		wantFull.TTFB = 678*time.Millisecond + 901*time.Microsecond
		wantFull.CreatedAt = stored(t0)
		wantBare := *bare
		wantBare.CreatedAt = stored(bare.CreatedAt)
		wantBare.Settlement = ownkey.SettlementSettled // the default
		wantEqual(t, "UsageRecords", usageRecords(t, db, a.ID, 10), []*ownkey.UsageRecord{&wantFull, &wantBare})
	})
}

func TestInsertUsageDefaultsCreatedAtToNow(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		a := createAccount(t, db, "a")
		before := stored(ownkey.Now())
		insertUsage(t, db, usageRecord(a.ID, "r1", time.Time{}))
		after := ownkey.Now()
		got := usageRecords(t, db, a.ID, 1)
		if len(got) != 1 || got[0].CreatedAt.Before(before) || got[0].CreatedAt.After(after) {
			t.Fatalf("UsageRecords = %+v; want one record created between %v and %v", got, before, after)
		}
	})
}

func TestInsertUsageIsIdempotent(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		a := createAccount(t, db, "a")
		batch := []*ownkey.UsageRecord{
			usageRecord(a.ID, "r1", t0),
			usageRecord(a.ID, "r2", t0.Add(time.Second)),
			usageRecord(a.ID, "r3", t0.Add(2*time.Second)),
		}
		insertUsage(t, db, batch...)
		// The recorder retries a batch whose commit it did not see succeed:
		// the same records again must not be counted twice.
		insertUsage(t, db, batch...)
		// A retry that is not byte-identical keeps what was stored first.
		changed := usageRecord(a.ID, "r2", t0.Add(time.Second))
		changed.Usage.PromptTokens = 999_999
		insertUsage(t, db, changed, usageRecord(a.ID, "r4", t0.Add(3*time.Second)))
		// Two records with one request id in a single batch: the first wins.
		first, second := usageRecord(a.ID, "r5", t0.Add(4*time.Second)), usageRecord(a.ID, "r5", t0.Add(4*time.Second))
		second.Usage.CompletionTokens = 888_888
		insertUsage(t, db, first, second)

		got := usageRecords(t, db, a.ID, 100)
		wantEqual(t, "request ids", requestIDs(got), []string{"r5", "r4", "r3", "r2", "r1"})
		for _, r := range got {
			if r.Usage.PromptTokens != 10 || r.Usage.CompletionTokens != 5 {
				t.Errorf("%s has usage %+v; a duplicate overwrote the first record", r.RequestID, r.Usage)
			}
		}
	})
}

func TestUsageRecordsOrderAndLimit(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		a := createAccount(t, db, "a")
		// Inserted out of time order, with a tie at t0+1s broken by
		// insertion order (last inserted first).
		insertUsage(t, db,
			usageRecord(a.ID, "mid", t0.Add(time.Second)),
			usageRecord(a.ID, "old", t0),
			usageRecord(a.ID, "new", t0.Add(time.Minute)),
		)
		insertUsage(t, db, usageRecord(a.ID, "mid-later", t0.Add(time.Second)))

		wantEqual(t, "all", requestIDs(usageRecords(t, db, a.ID, 10)), []string{"new", "mid-later", "mid", "old"})
		wantEqual(t, "limit 2", requestIDs(usageRecords(t, db, a.ID, 2)), []string{"new", "mid-later"})
		wantEqual(t, "limit 1", requestIDs(usageRecords(t, db, a.ID, 1)), []string{"new"})

		_, err := db.UsageRecords(ctx, a.ID, 0)
		wantCode(t, err, ownkey.EINVALID)
	})
}

func TestUsageRecordsAreIsolatedByAccount(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		a, b := createAccount(t, db, "a"), createAccount(t, db, "b")
		insertUsage(t, db, usageRecord(a.ID, "a1", t0), usageRecord(b.ID, "b1", t0), usageRecord(a.ID, "a2", t0.Add(time.Second)))

		wantEqual(t, "account a", requestIDs(usageRecords(t, db, a.ID, 10)), []string{"a2", "a1"})
		wantEqual(t, "account b", requestIDs(usageRecords(t, db, b.ID, 10)), []string{"b1"})
		if got := usageRecords(t, db, b.ID+1000, 10); got == nil || len(got) != 0 {
			t.Fatalf("UsageRecords of a missing account = %#v; want an empty non-nil slice", got)
		}

		// Deleting an account deletes its records.
		if _, err := db.SQL().ExecContext(ctx, `DELETE FROM accounts WHERE id = `+strconv.FormatInt(a.ID, 10)); err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "account a after delete", len(usageRecords(t, db, a.ID, 10)), 0)
		wantEqual(t, "account b after deleting a", requestIDs(usageRecords(t, db, b.ID, 10)), []string{"b1"})
	})
}

func TestInsertUsageLargeBatch(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		a := createAccount(t, db, "a")
		const n = 1000 // more than one INSERT statement's worth
		batch := make([]*ownkey.UsageRecord, n)
		for i := range batch {
			batch[i] = usageRecord(a.ID, fmt.Sprintf("r%04d", i), t0.Add(time.Duration(i)*time.Millisecond))
			batch[i].Usage.PromptTokens = int64(i)
		}
		insertUsage(t, db, batch...)
		insertUsage(t, db, batch...)

		got := usageRecords(t, db, a.ID, 2*n)
		if len(got) != n {
			t.Fatalf("stored %d records; want %d", len(got), n)
		}
		for i, r := range got {
			j := n - 1 - i // newest first
			if r.RequestID != fmt.Sprintf("r%04d", j) || r.Usage.PromptTokens != int64(j) {
				t.Fatalf("record %d = %s with %d prompt tokens; want r%04d with %d", i, r.RequestID, r.Usage.PromptTokens, j, j)
			}
		}
	})
}

func TestInsertUsageMissingAccountStoresNothing(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		a := createAccount(t, db, "a")
		batch := make([]*ownkey.UsageRecord, 700)
		for i := range batch {
			batch[i] = usageRecord(a.ID, fmt.Sprintf("r%d", i), t0)
		}
		// In the second INSERT of the transaction, after the first one
		// succeeded.
		batch[650].AccountID = a.ID + 1000
		err := db.InsertUsage(ctx, batch)
		wantCode(t, err, ownkey.ENOTFOUND)
		wantEqual(t, "records stored", len(usageRecords(t, db, a.ID, 1000)), 0)

		batch[650].AccountID = a.ID
		insertUsage(t, db, batch...)
		wantEqual(t, "records stored after the fix", len(usageRecords(t, db, a.ID, 1000)), 700)
	})
}

func TestInsertUsageRejectsInvalidRecords(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		a := createAccount(t, db, "a")
		for name, spoil := range map[string]func(r *ownkey.UsageRecord){
			"no request id":   func(r *ownkey.UsageRecord) { r.RequestID = "" },
			"no account":      func(r *ownkey.UsageRecord) { r.AccountID = 0 },
			"negative acct":   func(r *ownkey.UsageRecord) { r.AccountID = -1 },
			"no source":       func(r *ownkey.UsageRecord) { r.Usage.Source = "" },
			"unknown source":  func(r *ownkey.UsageRecord) { r.Usage.Source = "guess" },
			"negative tokens": func(r *ownkey.UsageRecord) { r.Usage.CachedTokens = -1 },
		} {
			good, bad := usageRecord(a.ID, "good", t0), usageRecord(a.ID, "bad", t0)
			spoil(bad)
			err := db.InsertUsage(ctx, []*ownkey.UsageRecord{good, bad})
			if ownkey.ErrorCode(err) != ownkey.EINVALID {
				t.Errorf("%s: InsertUsage error = %v; want EINVALID", name, err)
			}
		}
		err := db.InsertUsage(ctx, []*ownkey.UsageRecord{usageRecord(a.ID, "good", t0), nil})
		wantCode(t, err, ownkey.EINVALID)
		wantEqual(t, "records stored", len(usageRecords(t, db, a.ID, 10)), 0)
		if err := db.InsertUsage(ctx, nil); err != nil {
			t.Fatalf("InsertUsage(nil) = %v; want nil", err)
		}
	})
}

// BenchmarkInsertUsage measures the recorder's write path on SQLite: one
// transaction per batch of 256 records.
func BenchmarkInsertUsage(b *testing.B) {
	db := sqltest.NewSQLite(b)
	a := &ownkey.Account{Name: "bench"}
	if err := db.CreateAccount(ctx, a, nil); err != nil {
		b.Fatal(err)
	}
	const batchSize = 256
	batch := make([]*ownkey.UsageRecord, batchSize)
	records := 0
	for b.Loop() {
		for i := range batch {
			batch[i] = usageRecord(a.ID, fmt.Sprintf("r%d", records), t0)
			records++
		}
		if err := db.InsertUsage(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(records), "ns/record")
}

// TestInsertUsageEveryChunkSize writes batches whose sizes need every
// prepared chunk size (1 to 128 rows), in turn and again, so that each
// reused statement stores every row of its chunk exactly once.
func TestInsertUsageEveryChunkSize(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		a := createAccount(t, db, "a")
		total := 0
		for round := range 2 {
			for _, n := range []int{1, 3, 255, 77, 2} {
				batch := make([]*ownkey.UsageRecord, n)
				for i := range batch {
					batch[i] = usageRecord(a.ID, fmt.Sprintf("r%d-%d-%d", round, n, i), t0.Add(time.Duration(total+i)*time.Millisecond))
				}
				insertUsage(t, db, batch...)
				total += n
			}
		}
		got := usageRecords(t, db, a.ID, 2*total)
		if len(got) != total {
			t.Fatalf("stored %d records; want %d", len(got), total)
		}
		seen := map[string]bool{}
		for _, r := range got {
			if seen[r.RequestID] {
				t.Fatalf("record %s stored twice", r.RequestID)
			}
			seen[r.RequestID] = true
		}
	})
}

// TestUsageMigrationKeepsRecords: migration 9 rebuilds usage_records on
// SQLite without its CHECK constraints. The records written before it keep
// their ids, fields and order, new ids go on after the old ones, and the
// rules the checks held are still enforced, by InsertUsage, before
// anything is written.
func TestUsageMigrationKeepsRecords(t *testing.T) {
	t.Parallel()
	sqltest.EachDSN(t, func(t *testing.T, dsn string) {
		db := openHandles(t, dsn, 1, false)[0]
		if err := sqlstore.MigrateTo(ctx, db, 8); err != nil {
			t.Fatal(err)
		}
		a := createAccount(t, db, "a")
		var before []*ownkey.UsageRecord
		for i := range 5 {
			r := usageRecord(a.ID, fmt.Sprintf("old-%d", i), t0.Add(time.Duration(i)*time.Second))
			r.Charge = ownkey.Charge{AtCost: 1000, Charged: 50, Markup: 50_000, Basis: ownkey.PriceCatalog, BYOK: true}
			before = append(before, r)
		}
		insertUsage(t, db, before...)
		maxID := func() (id int64) {
			t.Helper()
			if err := db.SQL().QueryRowContext(ctx, `SELECT max(id) FROM usage_records`).Scan(&id); err != nil {
				t.Fatal(err)
			}
			return id
		}
		oldMax := maxID()
		old := usageRecords(t, db, a.ID, 10)

		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "records after the migration", usageRecords(t, db, a.ID, 10), old)
		wantEqual(t, "highest id", maxID(), oldMax)
		insertUsage(t, db, usageRecord(a.ID, "new", t0.Add(time.Hour)))
		if got := maxID(); got != oldMax+1 {
			t.Fatalf("the first new record's id is %d; want %d", got, oldMax+1)
		}
		if db.Dialect() == "sqlite" {
			var schema string
			if err := db.SQL().QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE name = 'usage_records'`).Scan(&schema); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(schema, "CHECK") || !strings.Contains(schema, "AUTOINCREMENT") || !strings.Contains(schema, "REFERENCES accounts") {
				t.Fatalf("usage_records after the migration:\n%s", schema)
			}
		}
		for name, bad := range map[string]func(r *ownkey.UsageRecord){
			"negative tokens": func(r *ownkey.UsageRecord) { r.Usage.CompletionTokens = -1 },
			"negative charge": func(r *ownkey.UsageRecord) { r.Charge.Charged = -1 },
			"unknown source":  func(r *ownkey.UsageRecord) { r.Usage.Source = "guess" },
			"unknown settle":  func(r *ownkey.UsageRecord) { r.Settlement = "maybe" },
		} {
			r := usageRecord(a.ID, "bad-"+name, t0)
			bad(r)
			wantCode(t, db.InsertUsage(ctx, []*ownkey.UsageRecord{usageRecord(a.ID, "good-"+name, t0), r}), ownkey.EINVALID)
		}
		wantEqual(t, "records", len(usageRecords(t, db, a.ID, 100)), 6)
	})
}
