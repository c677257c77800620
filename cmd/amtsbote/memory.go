package main

// heapHeadroom is how much further the heap may grow between two garbage
// collections than Go's default lets it (docs/operations.md#memory).
//
// The gateway's live heap is small (about 8 MiB under load) while each
// submission allocates about 90 KiB (JSON, XML, database buffers): with
// GOGC=100 the collector starts a cycle each time the heap has grown by the
// live heap, about 20 times a second at 1,300 submissions a second, and
// each cycle also shrinks the stacks of idle goroutines, which the next
// request grows again. A block of this size held for the process's life
// counts as live heap, so that a cycle starts only after the heap has grown
// by the live heap plus this much: a third as many cycles at that rate. The
// block is never written, and its pages are handed back to the kernel
// once allocated, so it is never backed by memory; what the process takes
// in addition is this much more garbage between cycles,
// the same whatever the load, where a higher GOGC would scale with the live
// heap (a streamed upload's buffers, for one).
const heapHeadroom = 16 << 20

// reserveHeapHeadroom allocates the headroom for a gateway on PostgreSQL,
// unless GOGC or GOMEMLIMIT is set in the environment: the operator tunes
// the collector then, and a memory limit would count the block against
// itself. The caller keeps the block reachable while it serves
// (runtime.KeepAlive).
//
// Where the heap has freed memory at its top, the allocator may place the
// block over it, and then zeroes the whole block (writes it, so that every
// page becomes resident) because part of the span was used before; in one
// CI run all 4,096 pages were. releasePages drops them again; the block
// reads as zeros either way.
//
// Not with the embedded SQLite database: there the engine reads and writes
// attachments' 512 KiB chunks in the process, and with a headroom of 8 or
// 16 MiB the heap the collector found live after a cycle during a streamed
// 256 MiB upload rose from about 7 to 16–24 MiB (chunks allocated during the
// longer cycles), its peak resident memory from 62–69 to 86–116 MiB.
func reserveHeapHeadroom(postgres bool, getenv func(string) string) []byte {
	if !postgres || getenv("GOGC") != "" || getenv("GOMEMLIMIT") != "" {
		return nil
	}
	b := make([]byte, heapHeadroom)
	releasePages(b)
	return b
}
