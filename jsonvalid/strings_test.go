package jsonvalid

import (
	"encoding/binary"
	"testing"
)

func TestHexQuad(t *testing.T) {
	for _, background := range []string{"0000", "aaaa", "FFFF", "9fA0"} {
		for lane := range 4 {
			for v := range 256 {
				q := []byte(background)
				q[lane] = byte(v)
				if got, want := hexQuad(binary.LittleEndian.Uint32(q)), isHex(byte(v)); got != want {
					t.Fatalf("hexQuad(%q) = %v, want %v", q, got, want)
				}
			}
		}
	}
}

// checkStringScans: from each of the first starts of data, the string
// scans (stringEnd with its shortcut, by words) agree with the scan a byte
// at a time.
func checkStringScans(t *testing.T, data []byte, starts int) {
	t.Helper()
	for i := range min(len(data)+1, starts) {
		want := stringEndBytes(data, i)
		for _, scan := range []struct {
			name string
			end  func([]byte, int) int
		}{{"stringEnd", stringEnd}, {"stringEndWords", stringEndWords}} {
			if got := scan.end(data, i); got != want {
				t.Fatalf("%s(%q, %d) = %d, want %d", scan.name, data, i, got, want)
			}
		}
	}
}

// TestStringScansAgree: random texts of the bytes that matter to a
// string scan, dense and sparse, across word boundaries.
func TestStringScansAgree(t *testing.T) {
	specials := []byte("\\\\\\\"\"u0aeEF]# /n\x1f\x00\x7f\xc3\xff")
	x := uint64(7)
	next := func() uint64 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		return x
	}
	var data []byte
	for n := range 8000 {
		data = data[:0]
		size := int(next() % 300)
		density := uint64(1 + n%16) // one byte in density is special
		for range size {
			if r := next(); r%density == 0 {
				data = append(data, specials[r>>8%uint64(len(specials))])
			} else {
				data = append(data, 'a'+byte(r>>8%3))
			}
		}
		checkStringScans(t, data, 80)
	}
}

func TestStringEndShortcut(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{
		{`role":"user"}`, 5}, {`abc`, -1}, {"ab\x01cdefgh\"", -1}, {`ab\"cdefgh"`, 11},
		{`abcdefgh"`, 9}, {`abcdefg"`, 8}, {`a\u00e9b"`, 9}, {`\\"`, 3}, {`\"`, -1},
	} {
		if got := stringEnd([]byte(tc.in), 0); got != tc.want {
			t.Errorf("stringEnd(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}
