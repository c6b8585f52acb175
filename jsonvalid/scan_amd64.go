//go:build !purego

package jsonvalid

// blockScan: this platform has a fast scanBlock, so stringEnd goes 64
// bytes at a time. SSE2, which it uses, is part of every amd64 processor.
const blockScan = true

// scanBlock marks the quotes, backslashes and control bytes (below 0x20)
// of b: bit k of each mask for b[k].
//
//go:noescape
func scanBlock(b *[64]byte) (quotes, backslashes, controls uint64)
