package jsonvalid

import (
	"encoding/binary"
	"testing"
)

// refScanBlock is scanBlock a byte at a time.
func refScanBlock(b *[64]byte) (quotes, backslashes, controls uint64) {
	for k, c := range b {
		if c == '"' {
			quotes |= 1 << k
		}
		if c == '\\' {
			backslashes |= 1 << k
		}
		if c < 0x20 {
			controls |= 1 << k
		}
	}
	return quotes, backslashes, controls
}

// TestScanBlock: every byte value at every position, on backgrounds of
// the bytes that matter and their neighbours, and random blocks.
func TestScanBlock(t *testing.T) {
	var b [64]byte
	check := func() {
		t.Helper()
		q, bs, c := scanBlock(&b)
		wq, wbs, wc := refScanBlock(&b)
		if q != wq || bs != wbs || c != wc {
			t.Fatalf("scanBlock(%q) = %x %x %x, want %x %x %x", b[:], q, bs, c, wq, wbs, wc)
		}
	}
	for _, background := range []byte{'a', 0, 0x1f, ' ', '"', '\\', 0x80, 0xff} {
		for v := range 256 {
			for k := range b {
				for j := range b {
					b[j] = background
				}
				b[k] = byte(v)
				check()
			}
		}
	}
	x := uint64(1)
	for range 100000 {
		for k := 0; k < 64; k += 8 {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			binary.LittleEndian.PutUint64(b[k:], x)
		}
		check()
	}
}

// refEscapedBytes is escapedBytes a bit at a time.
func refEscapedBytes(backslashes, carry uint64) (escaped, carryOut uint64) {
	esc := carry == 1 // whether byte k is escaped
	for k := range 64 {
		bs := backslashes>>k&1 == 1
		if esc && !bs {
			escaped |= 1 << k
		}
		esc = bs && !esc
	}
	if esc {
		carryOut = 1
	}
	return escaped, carryOut
}

func TestEscapedBytes(t *testing.T) {
	x := uint64(88172645463325252)
	for n := range 200000 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b := x
		switch n % 5 {
		case 1:
			b &= x >> 3 // short runs
		case 2:
			b |= x >> 5 // long runs
		case 3:
			b = ^uint64(0) << (x & 63) // a run to the end
		case 4:
			b = ^uint64(0) >> (x & 63) // a run from the start
		}
		for carry := range uint64(2) {
			e, c := escapedBytes(b, carry)
			we, wc := refEscapedBytes(b, carry)
			if e != we || c != wc {
				t.Fatalf("escapedBytes(%064b, %d) = %064b, %d; want %064b, %d", b, carry, e, c, we, wc)
			}
		}
	}
}

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
// scans (stringEnd with its shortcut, by blocks, by words) agree with the
// scan a byte at a time.
func checkStringScans(t *testing.T, data []byte, starts int) {
	t.Helper()
	for i := range min(len(data)+1, starts) {
		want := stringEndBytes(data, i)
		for _, scan := range []struct {
			name string
			end  func([]byte, int) int
		}{{"stringEnd", stringEnd}, {"stringEndBlocks", stringEndBlocks}, {"stringEndWords", stringEndWords}} {
			if got := scan.end(data, i); got != want {
				t.Fatalf("%s(%q, %d) = %d, want %d", scan.name, data, i, got, want)
			}
		}
	}
}

// TestStringScansAgree: random texts of the bytes that matter to a
// string scan, dense and sparse, across block and word boundaries.
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
