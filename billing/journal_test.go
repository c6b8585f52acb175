package billing

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ownkey/ownkey"
)

func TestJournalHoldsAndDone(t *testing.T) {
	path := filepath.Join(t.TempDir(), journalFile)
	j, open, err := openJournal(path)
	if err != nil || len(open) != 0 {
		t.Fatal(open, err)
	}
	a := &ownkey.Account{ID: 7}
	at := time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)
	for _, id := range []string{"q1", "q2", `q"3`} {
		h := hold(a, id, 1500)
		h.LeaseID, h.Model = 9, "m\u00e9\n<x>"
		if err := j.hold(h, at); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.done([]string{"q2"}); err != nil {
		t.Fatal(err)
	}
	j.close()
	// What a crash can leave: a line torn in the middle, a damaged line.
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString("R 00000000 {\"request_id\":\"bad\"}\n") // wrong checksum
	f.WriteString("R 1234")                                // torn, no newline
	f.Close()

	open, err = readJournal(path)
	if err != nil || len(open) != 2 || open[0].RequestID != "q1" || open[1].RequestID != `q"3` {
		t.Fatalf("open holds %+v, %v", open, err)
	}
	// A start cuts the torn line, so that the next hold is read.
	j, open, err = openJournal(path)
	if err != nil || len(open) != 2 {
		t.Fatalf("reopened: %+v, %v", open, err)
	}
	if err := j.hold(hold(a, "q4", 1), at); err != nil {
		t.Fatal(err)
	}
	j.close()
	if open, err = readJournal(path); err != nil || len(open) != 3 || open[2].RequestID != "q4" {
		t.Fatalf("a hold after the torn line: %+v, %v", open, err)
	}
	open = open[:2]
	h := open[0]
	want := journalHold{RequestID: "q1", AccountID: 7, APIKeyID: 3, LeaseID: 9, Provider: "openai", Model: "m\u00e9\n<x>", Stream: true,
		PromptTokens: 1100, CompletionTokens: 64, AtCost: 30000, Markup: 50000, Basis: ownkey.PriceCatalog, BYOK: true,
		Reserved: 1500, CreatedAt: at.UnixNano()}
	if *h != want {
		t.Fatalf("read back %+v\nwant %+v", *h, want)
	}
	// The hand-written JSON is what encoding/json reads and writes.
	line := string(appendHoldJSON(nil, hold(a, "x", 1), at))
	var back journalHold
	if err := json.Unmarshal([]byte(line), &back); err != nil || back.RequestID != "x" || back.Reserved != 1 {
		t.Fatalf("%s: %v", line, err)
	}
}

// Compaction keeps exactly the open holds, readable as before.
func TestJournalCompact(t *testing.T) {
	path := filepath.Join(t.TempDir(), journalFile)
	j, _, err := openJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	a := &ownkey.Account{ID: 1}
	var ids []string
	for i := range 100 {
		id := "q" + strings.Repeat("x", i)
		ids = append(ids, id)
		if err := j.hold(hold(a, id, 1), time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.done(ids[:99]); err != nil {
		t.Fatal(err)
	}
	before, _ := os.Stat(path)
	if err := j.compact(); err != nil {
		t.Fatal(err)
	}
	after, _ := os.Stat(path)
	if after.Size() >= before.Size()/50 {
		t.Fatalf("compacted from %d to %d bytes", before.Size(), after.Size())
	}
	if err := j.hold(hold(a, "later", 1), time.Now()); err != nil {
		t.Fatal(err)
	}
	j.close()
	open, err := readJournal(path)
	if err != nil || len(open) != 2 || open[0].RequestID != ids[99] || open[1].RequestID != "later" {
		t.Fatalf("after compaction: %+v, %v", open, err)
	}
}

func TestBound(t *testing.T) {
	mini := ownkey.Prices{Input: ownkey.PriceOf(150_000_000), Output: ownkey.PriceOf(600_000_000)}
	sonnet := ownkey.Prices{Input: ownkey.PriceOf(3_000_000_000), CachedInput: ownkey.PriceOf(300_000_000),
		CacheWrite: ownkey.PriceOf(3_750_000_000), Output: ownkey.PriceOf(15_000_000_000)}
	thinker := ownkey.Prices{Input: ownkey.PriceOf(1), Output: ownkey.PriceOf(2), Reasoning: ownkey.PriceOf(3)}
	for _, c := range []struct {
		name   string
		bytes  int
		max    int64
		p      ownkey.Prices
		want   ownkey.Usage
		charge ownkey.NanoUSD // at the default markup
	}{
		// (976 + 1024) × 0.15 + 64 × 0.60 = 338.4 µ$ → 5% = 16920 n$.
		{"max_tokens", 976, 64, mini, ownkey.Usage{PromptTokens: 2000, CompletionTokens: 64}, 16_920},
		// 2000 × 0.15 + 32768 × 0.60 = 19960.8 µ$ → 998040 n$.
		{"no max_tokens", 976, 0, mini, ownkey.Usage{PromptTokens: 2000, CompletionTokens: DefaultMaxOutputTokens}, 998_040},
		// Cache writes cost more than input: every prompt token counts as
		// one. 2000 × 3.75 + 100 × 15 = 9000 µ$ → 450000 n$.
		{"cache write dearest", 976, 100, sonnet, ownkey.Usage{PromptTokens: 2000, CacheWriteTokens: 2000, CompletionTokens: 100}, 450_000},
		{"reasoning dearest", 0, 10, thinker, ownkey.Usage{PromptTokens: 1024, CompletionTokens: 10, ReasoningTokens: 10}, 1},
	} {
		got := Bound(c.bytes, c.max, c.p)
		c.want.Source = ownkey.UsageEstimated
		if got != c.want {
			t.Errorf("%s: Bound = %+v, want %+v", c.name, got, c.want)
		}
		q := ownkey.Quote{AtCost: c.p, MarkupBase: c.p}
		if ch := q.Charge(got, ownkey.DefaultBYOKMarkup); ch.Charged != c.charge {
			t.Errorf("%s: held %d, want %d", c.name, ch.Charged, c.charge)
		}
	}
}

// Holds written while a compaction reads the file are kept; holds done
// meanwhile are dropped.
func TestJournalCompactWhileWriting(t *testing.T) {
	path := filepath.Join(t.TempDir(), journalFile)
	j, _, err := openJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	a := &ownkey.Account{ID: 1}
	want := map[string]bool{}
	stop := make(chan struct{})
	compacted := make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-stop:
				compacted <- n
				return
			default:
			}
			if err := j.compact(); err != nil {
				t.Error(err)
			}
			n++
		}
	}()
	for i := range 3000 {
		id := "q" + strconv.Itoa(i)
		if err := j.hold(hold(a, id, 1), time.Now()); err != nil {
			t.Fatal(err)
		}
		if i%10 == 0 {
			want[id] = true
		} else if err := j.done([]string{id}); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	if n := <-compacted; n < 2 {
		t.Logf("only %d compactions ran", n)
	}
	j.close()
	open, err := readJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, h := range open {
		got[h.RequestID] = true
	}
	if len(got) != len(want) {
		t.Fatalf("%d open holds after compactions, want %d", len(got), len(want))
	}
	for id := range want {
		if !got[id] {
			t.Fatalf("open hold %s lost", id)
		}
	}
}

// done compacts on its own once the journal passes journalCompactBytes, and
// not before: the limit holds the file's size without a rewrite per request.
func TestJournalCompactsPastItsLimit(t *testing.T) {
	path := filepath.Join(t.TempDir(), journalFile)
	j, _, err := openJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.close()
	a := &ownkey.Account{ID: 1}
	if err := j.hold(hold(a, "open", 1), time.Now()); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		id := "q" + strconv.Itoa(i)
		if err := j.hold(hold(a, id, 1), time.Now()); err != nil {
			t.Fatal(err)
		}
		grown := j.size
		if err := j.done([]string{id}); err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if grown+int64(len("D \n")+len(id)) <= journalCompactBytes {
			if st.Size() != grown+int64(len("D \n")+len(id)) {
				t.Fatalf("the journal changed size to %d below its limit (%d written)", st.Size(), grown)
			}
			continue
		}
		if st.Size() >= 1<<10 || j.size != st.Size() {
			t.Fatalf("past its limit the journal is %d bytes on disk, %d counted", st.Size(), j.size)
		}
		break
	}
	open, err := readJournal(path)
	if err != nil || len(open) != 1 || open[0].RequestID != "open" {
		t.Fatalf("after compaction: %+v, %v", open, err)
	}
}
