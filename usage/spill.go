package usage

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ownkey/ownkey"
)

// A segment log keeps usage records on local disk while the store cannot
// take them: the spill (records waiting for the store to answer) and the
// rejected log (records the store refused for good, kept and retried).
//
// It is a directory of append-only segment files named
// <prefix>-<20-digit sequence>.jsonl. Each line is one record:
//
//	<CRC-32C of the JSON, 8 lowercase hex digits> <space> <JSON object> \n
//
// Appends go to the newest segment and are fsync'd once per batch; a segment
// is never appended to again once it is rotated out, or after a restart, so
// a line torn by a crash can only be the last of its file, and it is
// ignored. Segments are replayed oldest first and deleted once every record
// in them is stored, which is harmless to repeat after a crash between the
// two because the store skips request ids it already holds.
type segmentLog struct {
	dir, prefix string

	mu     sync.Mutex
	next   uint64 // sequence number of the next segment
	active *os.File
	// activeSeg is the segment being appended to, if any; closed are the
	// segments that take no more appends, oldest first.
	activeSeg *segment
	closed    []*segment

	records atomic.Int64 // records in every segment
	// oldest is the creation time (unix ns) of the oldest record held,
	// 0 when empty.
	oldest atomic.Int64
}

type segment struct {
	seq     uint64
	path    string
	records int64
	oldest  time.Time
}

// maxSegmentRecords bounds a segment, and so the memory one replay step
// reads, to a few megabytes.
const maxSegmentRecords = 8192

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// spillRecord is a UsageRecord as written to a segment. It has its own type
// so that the file format stays put when UsageRecord's Go fields change.
type spillRecord struct {
	RequestID          string       `json:"request_id"`
	AccountID          int64        `json:"account_id"`
	APIKeyID           int64        `json:"api_key_id"`
	Provider           string       `json:"provider"`
	ModelRequested     string       `json:"model_requested"`
	ModelServed        string       `json:"model_served"`
	Usage              ownkey.Usage `json:"usage"`
	Stream             bool         `json:"stream"`
	Status             int          `json:"status"`
	ErrorCode          string       `json:"error_code,omitempty"`
	UpstreamLatencyUS  int64        `json:"upstream_latency_us"`
	TTFBUS             int64        `json:"ttfb_us"`
	ClientDisconnected bool         `json:"client_disconnected"`
	CreatedAt          time.Time    `json:"created_at"`
	// The ledger entry (omitted when zero, so that lines written before
	// billing read as they did).
	Charge     *spillCharge      `json:"charge,omitempty"`
	Reserved   int64             `json:"reserved_nano,omitempty"`
	LeaseID    int64             `json:"lease_id,omitempty"`
	Settlement ownkey.Settlement `json:"settlement,omitempty"`
}

// spillCharge is an ownkey.Charge as written to a segment: amounts in
// nano-USD, the rate in parts per million (the estimate flag is the
// usage's source).
type spillCharge struct {
	AtCost  int64             `json:"at_cost_nano"`
	Charged int64             `json:"charged_nano"`
	Markup  int64             `json:"markup_ppm"`
	Basis   ownkey.PriceBasis `json:"price_basis,omitempty"`
	BYOK    bool              `json:"is_byok"`
}

func toSpill(r *ownkey.UsageRecord) spillRecord {
	s := spillRecord{
		RequestID: r.RequestID, AccountID: r.AccountID, APIKeyID: r.APIKeyID, Provider: r.Provider,
		ModelRequested: r.ModelRequested, ModelServed: r.ModelServed, Usage: r.Usage, Stream: r.Stream,
		Status: r.Status, ErrorCode: r.ErrorCode, UpstreamLatencyUS: r.UpstreamLatency.Microseconds(),
		TTFBUS: r.TTFB.Microseconds(), ClientDisconnected: r.ClientDisconnected, CreatedAt: r.CreatedAt,
		Reserved: int64(r.Reserved), LeaseID: r.LeaseID, Settlement: r.Settlement,
	}
	if c := r.Charge; c != (ownkey.Charge{}) {
		s.Charge = &spillCharge{AtCost: int64(c.AtCost), Charged: int64(c.Charged), Markup: int64(c.Markup), Basis: c.Basis, BYOK: c.BYOK}
	}
	return s
}

func (s *spillRecord) record() *ownkey.UsageRecord {
	r := &ownkey.UsageRecord{
		RequestID: s.RequestID, AccountID: s.AccountID, APIKeyID: s.APIKeyID, Provider: s.Provider,
		ModelRequested: s.ModelRequested, ModelServed: s.ModelServed, Usage: s.Usage, Stream: s.Stream,
		Status: s.Status, ErrorCode: s.ErrorCode, UpstreamLatency: time.Duration(s.UpstreamLatencyUS) * time.Microsecond,
		TTFB: time.Duration(s.TTFBUS) * time.Microsecond, ClientDisconnected: s.ClientDisconnected, CreatedAt: s.CreatedAt,
		Reserved: ownkey.NanoUSD(s.Reserved), LeaseID: s.LeaseID, Settlement: s.Settlement,
	}
	if c := s.Charge; c != nil {
		r.Charge = ownkey.Charge{AtCost: ownkey.NanoUSD(c.AtCost), Charged: ownkey.NanoUSD(c.Charged), Markup: ownkey.PPM(c.Markup),
			Basis: c.Basis, BYOK: c.BYOK, Estimated: s.Usage.Source == ownkey.UsageEstimated}
	}
	return r
}

// openSegmentLog opens, creating it if need be, the log of the segments in
// dir whose names start with prefix. Segments left by an earlier process are
// counted and queued for replay; new appends go to a new segment.
func openSegmentLog(dir, prefix string) (*segmentLog, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("usage: creating spill directory: %w", err)
	}
	l := &segmentLog{dir: dir, prefix: prefix, next: 1}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("usage: reading spill directory: %w", err)
	}
	for _, e := range entries {
		seq, ok := l.parseName(e.Name())
		if !ok {
			continue
		}
		seg := &segment{seq: seq, path: filepath.Join(dir, e.Name())}
		recs, _, err := readSegment(seg.path)
		if err != nil {
			return nil, err
		}
		seg.records = int64(len(recs))
		seg.oldest = oldestOf(recs)
		l.closed = append(l.closed, seg)
		l.next = max(l.next, seq+1)
	}
	slices.SortFunc(l.closed, func(a, b *segment) int { return cmpUint(a.seq, b.seq) })
	l.recount()
	return l, nil
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (l *segmentLog) parseName(name string) (uint64, bool) {
	rest, ok := strings.CutPrefix(name, l.prefix+"-")
	if !ok {
		return 0, false
	}
	digits, ok := strings.CutSuffix(rest, ".jsonl")
	if !ok {
		return 0, false
	}
	seq, err := strconv.ParseUint(digits, 10, 64)
	return seq, err == nil
}

func oldestOf(recs []*ownkey.UsageRecord) time.Time {
	var oldest time.Time
	for _, r := range recs {
		if oldest.IsZero() || r.CreatedAt.Before(oldest) {
			oldest = r.CreatedAt
		}
	}
	return oldest
}

// recount refreshes the counters from the segments; l.mu is held (or the
// log is not shared yet).
func (l *segmentLog) recount() {
	var n int64
	var oldest time.Time
	segs := l.closed
	if l.activeSeg != nil {
		segs = append(slices.Clip(segs), l.activeSeg)
	}
	for _, s := range segs {
		n += s.records
		if !s.oldest.IsZero() && (oldest.IsZero() || s.oldest.Before(oldest)) {
			oldest = s.oldest
		}
	}
	l.records.Store(n)
	if oldest.IsZero() {
		l.oldest.Store(0)
	} else {
		l.oldest.Store(oldest.UnixNano())
	}
}

// empty reports whether the log holds no segment at all.
func (l *segmentLog) empty() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.activeSeg == nil && len(l.closed) == 0
}

// append writes recs to the newest segment and fsyncs it. On error the
// records may or may not be in the file (replaying them twice is harmless),
// and the segment is closed so that later appends never follow a torn line.
func (l *segmentLog) append(recs []*ownkey.UsageRecord) error {
	if len(recs) == 0 {
		return nil
	}
	var buf bytes.Buffer
	for _, r := range recs {
		j, err := json.Marshal(toSpill(r))
		if err != nil {
			return fmt.Errorf("usage: encoding a spilled record: %w", err)
		}
		var sum [4]byte
		crc := crc32.Checksum(j, crcTable)
		sum[0], sum[1], sum[2], sum[3] = byte(crc>>24), byte(crc>>16), byte(crc>>8), byte(crc)
		buf.WriteString(hex.EncodeToString(sum[:]))
		buf.WriteByte(' ')
		buf.Write(j)
		buf.WriteByte('\n')
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.activeSeg != nil && l.activeSeg.records >= maxSegmentRecords {
		l.closeActive()
	}
	if l.active == nil {
		if err := l.createActive(); err != nil {
			return err
		}
	}
	_, err := l.active.Write(buf.Bytes())
	if err == nil {
		err = l.active.Sync()
	}
	if err != nil {
		l.closeActive()
		return fmt.Errorf("usage: writing spill file: %w", err)
	}
	seg := l.activeSeg
	seg.records += int64(len(recs))
	if o := oldestOf(recs); seg.oldest.IsZero() || o.Before(seg.oldest) {
		seg.oldest = o
	}
	l.recount()
	return nil
}

func (l *segmentLog) createActive() error {
	seq := l.next
	path := filepath.Join(l.dir, fmt.Sprintf("%s-%020d.jsonl", l.prefix, seq))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("usage: creating spill file: %w", err)
	}
	l.next++
	// The new name must survive a crash as well as the lines in it.
	if err := syncDir(l.dir); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("usage: creating spill file: %w", err)
	}
	l.active = f
	l.activeSeg = &segment{seq: seq, path: path}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// closeActive moves the active segment to the closed ones; l.mu is held.
func (l *segmentLog) closeActive() {
	if l.active == nil {
		return
	}
	l.active.Close()
	l.active = nil
	if l.activeSeg.records > 0 {
		l.closed = append(l.closed, l.activeSeg)
	} else {
		// Nothing was spilled in it (its first write failed): a torn
		// line at most, which must not be replayed.
		os.Remove(l.activeSeg.path)
	}
	l.activeSeg = nil
	l.recount()
}

// rotate closes the active segment and returns every closed segment,
// oldest first, for replay.
func (l *segmentLog) rotate() []*segment {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closeActive()
	return slices.Clone(l.closed)
}

// remove deletes a replayed segment.
func (l *segmentLog) remove(seg *segment) error {
	if err := os.Remove(seg.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("usage: removing replayed spill file: %w", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = slices.DeleteFunc(l.closed, func(s *segment) bool { return s == seg })
	l.recount()
	return nil
}

// close closes the active segment's file; what it holds stays for the next
// process to replay.
func (l *segmentLog) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closeActive()
}

// readSegment reads a segment's records in order. bad counts the lines it
// skipped: a torn last line (a crash in the middle of an append), or a line
// whose checksum or JSON does not hold.
func readSegment(path string) (recs []*ownkey.UsageRecord, bad int, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, fmt.Errorf("usage: reading spill file: %w", err)
	}
	for len(data) > 0 {
		line, rest, complete := bytes.Cut(data, []byte{'\n'})
		data = rest
		if !complete {
			bad++ // torn tail
			break
		}
		rec, ok := decodeLine(line)
		if !ok {
			bad++
			continue
		}
		recs = append(recs, rec)
	}
	return recs, bad, nil
}

func decodeLine(line []byte) (*ownkey.UsageRecord, bool) {
	const sumLen = 8
	if len(line) < sumLen+2 || line[sumLen] != ' ' {
		return nil, false
	}
	var sum [4]byte
	if _, err := hex.Decode(sum[:], line[:sumLen]); err != nil {
		return nil, false
	}
	body := line[sumLen+1:]
	want := uint32(sum[0])<<24 | uint32(sum[1])<<16 | uint32(sum[2])<<8 | uint32(sum[3])
	if crc32.Checksum(body, crcTable) != want {
		return nil, false
	}
	var s spillRecord
	if err := json.Unmarshal(body, &s); err != nil {
		return nil, false
	}
	return s.record(), true
}
