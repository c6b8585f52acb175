//go:build !purego

#include "textflag.h"

// func scanBlock(b *[64]byte) (quotes, backslashes, controls uint64)
//
// Sixteen bytes at a time: compare each byte with '"', with '\\', and
// with its minimum with 0x1f (equal when it is 0x1f or less), and gather
// the comparisons' high bits. X15 is left alone: Go code keeps zero there.
TEXT ·scanBlock(SB), NOSPLIT, $0-32
	MOVQ  b+0(FP), SI
	MOVOU quoteBytes<>(SB), X13
	MOVOU backslashBytes<>(SB), X14
	MOVOU lastControlBytes<>(SB), X12

// MARK(off, q, bs, c): the masks of the 16 bytes at off(SI), in q, bs, c.
#define MARK(off, q, bs, c) \
	MOVOU    off(SI), X0 \
	MOVO     X0, X1 \
	PCMPEQB  X13, X1 \
	PMOVMSKB X1, q \
	MOVO     X0, X2 \
	PCMPEQB  X14, X2 \
	PMOVMSKB X2, bs \
	MOVO     X0, X3 \
	PMINUB   X12, X3 \
	PCMPEQB  X0, X3 \
	PMOVMSKB X3, c

// ADD(shift): the masks in R11-R13 into R8-R10, at bit shift.
#define ADD(shift) \
	SHLQ $shift, R11 \
	SHLQ $shift, R12 \
	SHLQ $shift, R13 \
	ORQ  R11, R8 \
	ORQ  R12, R9 \
	ORQ  R13, R10

	MARK(0, R8, R9, R10)
	MARK(16, R11, R12, R13)
	ADD(16)
	MARK(32, R11, R12, R13)
	ADD(32)
	MARK(48, R11, R12, R13)
	ADD(48)
	MOVQ R8, quotes+8(FP)
	MOVQ R9, backslashes+16(FP)
	MOVQ R10, controls+24(FP)
	RET

DATA quoteBytes<>+0(SB)/8, $0x2222222222222222
DATA quoteBytes<>+8(SB)/8, $0x2222222222222222
GLOBL quoteBytes<>(SB), RODATA|NOPTR, $16

DATA backslashBytes<>+0(SB)/8, $0x5c5c5c5c5c5c5c5c
DATA backslashBytes<>+8(SB)/8, $0x5c5c5c5c5c5c5c5c
GLOBL backslashBytes<>(SB), RODATA|NOPTR, $16

DATA lastControlBytes<>+0(SB)/8, $0x1f1f1f1f1f1f1f1f
DATA lastControlBytes<>+8(SB)/8, $0x1f1f1f1f1f1f1f1f
GLOBL lastControlBytes<>(SB), RODATA|NOPTR, $16
