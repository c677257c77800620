package main

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
)

// heapFloor is the heap size below which serve's garbage collector does not
// collect unless GOGC is set. The gateway's live heap is small (about 10 MiB)
// while every request allocates (JSON, XML, database buffers), so with Go's
// default GOGC of 100 it collects many times a second under load, and each
// collection also scans every goroutine's stack. A floor of 64 MiB leaves
// Go's behaviour unchanged for a live heap above half of it (a large streamed
// upload, many tenants), unlike a higher GOGC, which multiplies every heap.
const heapFloor = 32 << 20

// goMinHeap is Go's smallest heap goal at GOGC=100; it scales with GOGC, so a
// percent above floor/goMinHeap × 100 would put the goal above the floor.
const goMinHeap = 4 << 20

// floorTuner keeps the collector's heap goal at floor or more: after each
// collection it sets GOGC so that the next goal is floor while the live heap
// is below half of it, and to base (Go's 100) above. It is the "GC tuner" of
// services with small heaps and high allocation rates; GOMEMLIMIT, where set,
// still caps the heap.
type floorTuner struct {
	floor   uint64
	base    int
	stopped atomic.Bool

	mu      sync.Mutex
	percent int // last set, guarded by mu
	sample  []metrics.Sample
}

// sentinel is collected by every garbage collection; its cleanup adjusts the
// tuner and arms the next one.
type sentinel struct{ _ *byte }

// running is the process's tuner: the collector's percent is global, so
// serves in one process (tests) share one tuner, started by the first and
// stopped by the last.
var running struct {
	sync.Mutex
	tuner *floorTuner
	users int
}

// startHeapFloor starts the floor unless GOGC is in the environment (lookup is
// os.LookupEnv: an operator's GOGC wins). stop ends it and restores the percent
// it found; started reports whether it runs.
func startHeapFloor(lookup func(string) (string, bool), floor uint64) (stop func(), started bool) {
	if _, ok := lookup("GOGC"); ok {
		return func() {}, false
	}
	running.Lock()
	defer running.Unlock()
	if running.users == 0 {
		t := &floorTuner{floor: floor, sample: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}}
		t.base = debug.SetGCPercent(100)
		debug.SetGCPercent(t.base)
		t.percent = t.base
		t.adjust()
		t.arm()
		running.tuner = t
	}
	running.users++
	var once sync.Once
	return func() { once.Do(releaseHeapFloor) }, true
}

// releaseHeapFloor ends one user's floor; the last stops the tuner and
// restores the percent it found.
func releaseHeapFloor() {
	running.Lock()
	defer running.Unlock()
	running.users--
	if running.users > 0 {
		return
	}
	t := running.tuner
	running.tuner = nil
	t.stopped.Store(true)
	t.mu.Lock()
	defer t.mu.Unlock()
	debug.SetGCPercent(t.base)
	t.percent = t.base
}

// arm allocates a sentinel whose cleanup runs after the next collection.
func (t *floorTuner) arm() {
	runtime.AddCleanup(&sentinel{}, func(t *floorTuner) {
		if t.stopped.Load() {
			return
		}
		t.adjust()
		t.arm()
	}, t)
}

// adjust sets the percent for the live heap of the last collection.
func (t *floorTuner) adjust() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped.Load() {
		return
	}
	metrics.Read(t.sample)
	var live uint64
	if t.sample[0].Value.Kind() == metrics.KindUint64 {
		live = t.sample[0].Value.Uint64()
	}
	p := percentFor(live, t.floor, t.base)
	if p != t.percent {
		debug.SetGCPercent(p)
		t.percent = p
	}
}

// percentFor is the GOGC that puts the heap goal, live × (1 + p/100), at
// floor, and never below base nor above the percent at which Go's smallest
// goal (goMinHeap × p/100) passes the floor. It is rounded down to
// tens so that small changes of the live heap do not reset the collector's
// pacing. Before the first collection the live heap reads 0: base, so that
// the first goal is Go's (4 MiB), not a multiple of it.
func percentFor(live, floor uint64, base int) int {
	if live == 0 || base < 0 {
		return base
	}
	if live*uint64(100+base) >= floor*100 {
		return base
	}
	p := int((floor-live)*100/live) / 10 * 10
	return min(max(p, base), int(floor*100/goMinHeap))
}
