// Package bench holds ownkey's proxy-overhead benchmark (run.sh) and
// micro-benchmarks of costs it found on the request path.
package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/sqlstore"
)

// BenchmarkInsertUsageSQLite measures what storing one usage record costs on
// SQLite, per record, at the batch sizes the usage recorder writes: 256 (its
// default under load) down to 1 (a quiet gateway). At c=50 every chat
// request pays this on the gateway's CPU, so it bounds throughput directly.
//
//	go test -run '^$' -bench InsertUsage -benchtime 20000x ./bench/
func BenchmarkInsertUsageSQLite(b *testing.B) {
	for _, batch := range []int{1, 16, 64, 256} {
		b.Run("batch="+strconv.Itoa(batch), func(b *testing.B) {
			ctx := context.Background()
			db, err := sqlstore.Open(ctx, filepath.Join(b.TempDir(), "ownkey.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			if err := db.Migrate(ctx); err != nil {
				b.Fatal(err)
			}
			acct := &ownkey.Account{Name: "bench", Role: ownkey.RoleUser}
			if err := db.CreateAccount(ctx, acct, nil); err != nil {
				b.Fatal(err)
			}
			recs := make([]*ownkey.UsageRecord, batch)
			for i := range recs {
				recs[i] = &ownkey.UsageRecord{
					AccountID: acct.ID, Provider: "openai", ModelRequested: "gpt-4o-mini", ModelServed: "gpt-4o-mini",
					Usage:  ownkey.Usage{PromptTokens: 12, CompletionTokens: 14, Source: ownkey.UsageFromProvider},
					Status: 200, UpstreamLatency: 180 * time.Microsecond, TTFB: 150 * time.Microsecond,
				}
			}
			n := 0
			for b.Loop() {
				for _, r := range recs {
					n++
					r.RequestID = fmt.Sprintf("req_0123456789ab%x", n)
					r.CreatedAt = time.Now()
				}
				if err := db.InsertUsage(ctx, recs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/record")
		})
	}
}
