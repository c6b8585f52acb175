package billing

import (
	"bytes"
	"encoding/hex"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ownkey/ownkey"
)

// FuzzJournalScan reads back journal bytes as a crash can leave them: torn
// lines, damaged checksums, D lines for unknown ids, ids with escapes. The
// reader must not panic, must keep only lines whose checksum holds, and a
// torn tail must not hide a good line written after it.
func FuzzJournalScan(f *testing.F) {
	at := time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)
	good := func(id string) []byte {
		b := append([]byte(nil), "R 00000000 "...)
		b = appendHoldJSON(b, hold(&ownkey.Account{ID: 7}, id, 1500), at)
		sum := crc32.Checksum(b[11:], crcTable)
		hex.Encode(b[2:10], []byte{byte(sum >> 24), byte(sum >> 16), byte(sum >> 8), byte(sum)})
		return append(b, '\n')
	}
	f.Add(append(good("q1"), "D q1\n"...))
	f.Add(append(append(good("q1"), good(`q"2\u00e9`)...), "R 1234"...))
	f.Add([]byte("R 00000000 {\"request_id\":\"bad\"}\nD \nD x\n"))
	f.Add(good("q1")[:40])
	f.Add([]byte("R zzzzzzzz {\"request_id\":\"\\\n"))
	tail := good("fuzz-tail")
	// One file per fuzzing process, rewritten for each input (inputs run
	// one at a time in a process): a TempDir per input is slow.
	path := filepath.Join(f.TempDir(), journalFile)
	f.Fuzz(func(t *testing.T, data []byte) {
		var o openHolds
		if err := o.scan(bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		open := 0
		for _, line := range o.lines {
			if line == nil {
				continue
			}
			open++
			if !bytes.HasPrefix(line, []byte("R ")) || line[len(line)-1] != '\n' {
				t.Fatalf("kept a line that is not a whole R line: %q", line)
			}
			var sum [4]byte
			if _, err := hex.Decode(sum[:], line[2:10]); err != nil ||
				crc32.Checksum(line[11:len(line)-1], crcTable) != uint32(sum[0])<<24|uint32(sum[1])<<16|uint32(sum[2])<<8|uint32(sum[3]) {
				t.Fatalf("kept a line whose checksum fails: %q", line)
			}
		}
		if open != len(o.index) {
			t.Fatalf("%d open lines, %d in the index", open, len(o.index))
		}
		// end is just past the last whole line: what a start keeps
		// when it cuts a torn one.
		if o.end > int64(len(data)) || o.end > 0 && data[o.end-1] != '\n' || bytes.IndexByte(data[o.end:], '\n') >= 0 {
			t.Fatalf("end %d of %d bytes: %q", o.end, len(data), data)
		}

		// The file path: a torn or damaged prefix, then a newline and a
		// good hold. readJournal decodes what scan keeps.
		file := append(append(append([]byte(nil), data...), '\n'), tail...)
		if err := os.WriteFile(path, file, 0o600); err != nil {
			t.Fatal(err)
		}
		holds, err := readJournal(path)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, h := range holds {
			found = found || h.RequestID == "fuzz-tail"
		}
		if !found {
			t.Fatalf("the good hold after %q was not read back: %+v", data, holds)
		}
	})
}
