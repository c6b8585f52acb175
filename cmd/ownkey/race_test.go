//go:build race

package main

// raceEnabled: the race detector makes sync.Pool drop objects at random, so
// allocation counts that rely on pooling mean nothing under it.
const raceEnabled = true
