package billing

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/jsontext"
)

// The journal is this replica's record of its holds, so that a hold whose
// request never settled (the process was killed) is settled on the next
// start: <data-dir>/billing-journal, one line per event:
//
//	R <CRC-32C of the JSON, 8 hex digits> <JSON of the hold>\n   a hold, before the upstream call
//	D <request id>\n                                             its record is in the database
//
// A hold is appended with one write() before the request is sent upstream:
// the page cache has it once write returns, so a process killed at any
// point after leaves it for the next start. It is not fsync'd (a sync per
// request would cost more than the request): a power loss can lose the
// last moments' holds, and with them the charge of requests in flight then
// (documented in ARCHITECTURE, "Billing"). A line torn by a crash fails its
// checksum or lacks its newline and is skipped; a torn D line only makes
// the next start settle that hold again, which the database ignores (the
// record's request id is stored already).
//
// The file is rewritten with only the holds still open when it grows past
// journalCompactBytes, and emptied once every hold is settled and stored
// at shutdown or recovered at start.
type journal struct {
	path string

	mu   sync.Mutex
	f    *os.File
	size int64
	line []byte // scratch
	// compacting is set while a compaction reads the file, so that no
	// second one starts.
	compacting bool
}

// journalCompactBytes is the size past which the journal is rewritten:
// about 20,000 requests' lines, a few milliseconds to rewrite.
const journalCompactBytes = 4 << 20

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// journalHold is a hold as the journal writes it.
type journalHold struct {
	RequestID        string            `json:"request_id"`
	AccountID        int64             `json:"account_id"`
	APIKeyID         int64             `json:"api_key_id"`
	LeaseID          int64             `json:"lease_id"`
	Provider         string            `json:"provider"`
	Model            string            `json:"model"`
	Stream           bool              `json:"stream"`
	PromptTokens     int64             `json:"prompt_tokens"`
	CompletionTokens int64             `json:"completion_tokens"`
	CacheWriteTokens int64             `json:"cache_write_tokens"`
	ReasoningTokens  int64             `json:"reasoning_tokens"`
	AtCost           int64             `json:"at_cost_nano"`
	Markup           int64             `json:"markup_ppm"`
	Basis            ownkey.PriceBasis `json:"price_basis"`
	BYOK             bool              `json:"is_byok"`
	Reserved         int64             `json:"reserved_nano"`
	CreatedAt        int64             `json:"created_at_unix_ns"`
}

// appendHoldJSON writes h as journalHold's JSON by hand: this is on every
// metered request's path, and encoding/json would allocate several times.
func appendHoldJSON(b []byte, h *ownkey.Hold, at time.Time) []byte {
	num := func(b []byte, name string, n int64) []byte {
		b = append(b, ',', '"')
		b = append(b, name...)
		b = append(b, '"', ':')
		return strconv.AppendInt(b, n, 10)
	}
	b = append(b, `{"request_id":`...)
	b = jsontext.AppendString(b, h.RequestID)
	b = num(b, "account_id", h.AccountID)
	b = num(b, "api_key_id", h.APIKeyID)
	b = num(b, "lease_id", h.LeaseID)
	b = append(b, `,"provider":`...)
	b = jsontext.AppendString(b, h.Provider)
	b = append(b, `,"model":`...)
	b = jsontext.AppendString(b, h.Model)
	b = append(b, `,"stream":`...)
	b = strconv.AppendBool(b, h.Stream)
	b = num(b, "prompt_tokens", h.Bound.PromptTokens)
	b = num(b, "completion_tokens", h.Bound.CompletionTokens)
	b = num(b, "cache_write_tokens", h.Bound.CacheWriteTokens)
	b = num(b, "reasoning_tokens", h.Bound.ReasoningTokens)
	b = num(b, "at_cost_nano", int64(h.Charge.AtCost))
	b = num(b, "markup_ppm", int64(h.Charge.Markup))
	b = append(b, `,"price_basis":`...)
	b = jsontext.AppendString(b, string(h.Charge.Basis))
	b = append(b, `,"is_byok":`...)
	b = strconv.AppendBool(b, h.Charge.BYOK)
	b = num(b, "reserved_nano", int64(h.Amount()))
	b = num(b, "created_at_unix_ns", at.UnixNano())
	return append(b, '}')
}

// record is the usage record that settles h at the amount it held: what a
// start writes for a hold its killed predecessor left open.
func (h *journalHold) record() *ownkey.UsageRecord {
	return &ownkey.UsageRecord{
		RequestID: h.RequestID, AccountID: h.AccountID, APIKeyID: h.APIKeyID, Provider: h.Provider,
		ModelRequested: h.Model, ModelServed: h.Model, Stream: h.Stream,
		// What the request may have used: the bound the amount was priced
		// from.
		Usage: ownkey.Usage{PromptTokens: h.PromptTokens, CompletionTokens: h.CompletionTokens,
			CacheWriteTokens: h.CacheWriteTokens, ReasoningTokens: h.ReasoningTokens, Source: ownkey.UsageEstimated},
		ErrorCode: CodeRecovered,
		Charge: ownkey.Charge{AtCost: ownkey.NanoUSD(h.AtCost), Markup: ownkey.PPM(h.Markup), Charged: ownkey.NanoUSD(h.Reserved),
			Basis: h.Basis, BYOK: h.BYOK, Estimated: true},
		Reserved: ownkey.NanoUSD(h.Reserved), LeaseID: h.LeaseID, Settlement: ownkey.SettlementRecovered,
		CreatedAt: time.Unix(0, h.CreatedAt).UTC(),
	}
}

// CodeRecovered is the error code of a record settled at its hold on a
// later start: the process serving the request died before it ended.
const CodeRecovered = "ownkey_restarted"

// openJournal opens the journal at path, creating it, and returns the holds
// an earlier process left open (without their D line), oldest first.
func openJournal(path string) (*journal, []*journalHold, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, nil, fmt.Errorf("billing: creating the data directory: %w", err)
	}
	open, end, err := readJournalEnd(path)
	if err != nil {
		return nil, nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("billing: opening the journal: %w", err)
	}
	// Cut a line torn by a crash: a line appended after it would be
	// glued to it and fail its checksum.
	if err := f.Truncate(end); err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("billing: opening the journal: %w", err)
	}
	return &journal{path: path, f: f, size: end}, open, nil
}

// readJournal returns the holds in the journal at path without their D
// line, in the order they were written. A missing file holds none.
func readJournal(path string) ([]*journalHold, error) {
	holds, _, err := readJournalEnd(path)
	return holds, err
}

// readJournalEnd is readJournal, and the offset just past the file's last
// whole line.
func readJournalEnd(path string) ([]*journalHold, int64, error) {
	var o openHolds
	if err := o.scanFile(path, 0, -1); err != nil {
		return nil, 0, err
	}
	var holds []*journalHold
	for _, line := range o.lines {
		if line == nil {
			continue
		}
		var h journalHold
		if json.Unmarshal(line[11:len(line)-1], &h) == nil && h.RequestID != "" {
			holds = append(holds, &h)
		}
	}
	return holds, o.end, nil
}

// openHolds are the R lines of a journal read so far that no D line has
// closed, as they were written (newline included), in order; a closed one
// is nil. The JSON is not decoded: compaction copies the lines as they are.
type openHolds struct {
	lines [][]byte
	index map[string]int
	// end is how many bytes the whole lines read so far take.
	end int64
}

// scanFile reads the journal at path from offset from up to offset to
// (-1: its end). A missing file holds nothing.
func (o *openHolds) scanFile(path string, from, to int64) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("billing: reading the journal: %w", err)
	}
	defer f.Close()
	var r io.Reader = io.NewSectionReader(f, from, 1<<62)
	if to >= 0 {
		r = io.NewSectionReader(f, from, to-from)
	}
	if err := o.scan(r); err != nil {
		return fmt.Errorf("billing: reading the journal: %w", err)
	}
	return nil
}

// scan reads journal lines from r. A line that fails its checksum, or the
// last one without its newline (torn by a crash), is skipped.
func (o *openHolds) scan(r io.Reader) error {
	if o.index == nil {
		o.index = map[string]int{}
	}
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadBytes('\n')
		if err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		o.end += int64(len(line))
		switch {
		case bytes.HasPrefix(line, []byte("D ")):
			if i, ok := o.index[string(line[2:len(line)-1])]; ok {
				o.lines[i] = nil
				delete(o.index, string(line[2:len(line)-1]))
			}
		case bytes.HasPrefix(line, []byte("R ")) && len(line) > 12 && line[10] == ' ':
			var sum [4]byte
			js := line[11 : len(line)-1]
			if _, err := hex.Decode(sum[:], line[2:10]); err != nil ||
				crc32.Checksum(js, crcTable) != uint32(sum[0])<<24|uint32(sum[1])<<16|uint32(sum[2])<<8|uint32(sum[3]) {
				continue
			}
			id, ok := holdID(js)
			if !ok {
				continue
			}
			if i, ok := o.index[id]; ok {
				o.lines[i] = line
				continue
			}
			o.index[id] = len(o.lines)
			o.lines = append(o.lines, line)
		}
	}
}

// holdID reads the request id at the start of a hold's JSON, which
// appendHoldJSON always writes first, without decoding the rest.
func holdID(js []byte) (string, bool) {
	rest, ok := bytes.CutPrefix(js, []byte(`{"request_id":"`))
	if !ok {
		return "", false
	}
	for i := 0; i < len(rest); i++ {
		switch rest[i] {
		case '\\':
			i++
		case '"':
			raw := rest[:i]
			if bytes.IndexByte(raw, '\\') < 0 {
				return string(raw), len(raw) > 0
			}
			id := jsontext.AppendUnescaped(nil, raw)
			return string(id), len(id) > 0
		}
	}
	return "", false
}

// hold appends h's R line, in one write.
func (j *journal) hold(h *ownkey.Hold, at time.Time) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	b := append(j.line[:0], "R 00000000 "...)
	b = appendHoldJSON(b, h, at)
	sum := crc32.Checksum(b[11:], crcTable)
	hex.Encode(b[2:10], []byte{byte(sum >> 24), byte(sum >> 16), byte(sum >> 8), byte(sum)})
	b = append(b, '\n')
	j.line = b
	return j.write(b)
}

// done appends the D lines of the given request ids, in one write, and
// compacts the journal once it has grown past journalCompactBytes.
func (j *journal) done(ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	j.mu.Lock()
	b := j.line[:0]
	for _, id := range ids {
		b = append(b, "D "...)
		b = append(b, id...)
		b = append(b, '\n')
	}
	j.line = b
	err := j.write(b)
	compact := err == nil && j.size > journalCompactBytes && !j.compacting
	j.compacting = j.compacting || compact
	j.mu.Unlock()
	if compact {
		err = j.compact()
	}
	return err
}

func (j *journal) write(b []byte) error {
	if j.f == nil {
		return errors.New("billing: the journal is closed")
	}
	n, err := j.f.Write(b)
	j.size += int64(n)
	if err != nil {
		return fmt.Errorf("billing: writing the journal: %w", err)
	}
	return nil
}

// compact rewrites the journal with only its open holds, their lines copied
// as they are: a new file, fsync'd, renamed over the old one (so that a
// crash leaves one or the other, whole). The bulk of the file is read
// without the lock, so that holds go on being written meanwhile; only the
// lines written during that read, and the rewrite, hold it.
func (j *journal) compact() error {
	j.mu.Lock()
	head := j.size
	j.mu.Unlock()
	var o openHolds
	err := o.scanFile(j.path, 0, head)
	j.mu.Lock()
	defer j.mu.Unlock()
	j.compacting = false
	if err == nil {
		err = o.scanFile(j.path, head, -1)
	}
	if err != nil || j.f == nil {
		return err
	}
	tmp := j.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("billing: compacting the journal: %w", err)
	}
	var size int64
	w := bufio.NewWriter(f)
	for _, line := range o.lines {
		if line != nil {
			n, _ := w.Write(line)
			size += int64(n)
		}
	}
	err = w.Flush()
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, j.path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("billing: compacting the journal: %w", err)
	}
	syncDir(filepath.Dir(j.path))
	nf, err := os.OpenFile(j.path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("billing: reopening the journal: %w", err)
	}
	j.f.Close()
	j.f, j.size = nf, size
	return nil
}

// reset empties the journal: every hold in it is settled and stored, or
// recorded as recovered.
func (j *journal) reset() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.f.Truncate(0); err != nil {
		return fmt.Errorf("billing: emptying the journal: %w", err)
	}
	j.size = 0
	return nil
}

func (j *journal) close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return nil
	}
	err := j.f.Close()
	j.f = nil
	return err
}

// syncDir makes a rename in dir durable; best effort.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}
