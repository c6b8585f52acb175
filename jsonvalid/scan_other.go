//go:build !amd64 || purego

package jsonvalid

// blockScan: no fast scanBlock here; stringEnd goes a word at a time, which
// beats marking 64 bytes in portable Go. scanBlock is kept, plain, so that
// the block scan builds and is tested everywhere.
const blockScan = false

// scanBlock marks the quotes, backslashes and control bytes (below 0x20)
// of b: bit k of each mask for b[k].
func scanBlock(b *[64]byte) (quotes, backslashes, controls uint64) {
	for k, c := range b {
		switch {
		case c == '"':
			quotes |= 1 << k
		case c == '\\':
			backslashes |= 1 << k
		case c < 0x20:
			controls |= 1 << k
		}
	}
	return quotes, backslashes, controls
}
