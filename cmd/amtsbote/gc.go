package main

import "runtime/debug"

// defaultGCPercent is serve's GOGC unless the environment sets one. The
// gateway's live heap is small (tens of MiB) while it allocates for every
// request (JSON, XML, database buffers): with Go's default of 100 it
// collects dozens of times a second under load, and every collection also
// scans each goroutine's stack and shrinks the ones that then grow again.
// At 400 the heap grows to five times the live heap between collections,
// which at that size is little memory for a quarter of the collections.
const defaultGCPercent = 400

// setGCPercent sets defaultGCPercent unless GOGC is in the environment
// (lookup is os.LookupEnv); it returns the percent it set, or 0. GOMEMLIMIT,
// where set, still caps the heap.
func setGCPercent(lookup func(string) (string, bool)) int {
	if _, ok := lookup("GOGC"); ok {
		return 0
	}
	debug.SetGCPercent(defaultGCPercent)
	return defaultGCPercent
}
