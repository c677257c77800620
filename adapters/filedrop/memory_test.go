package filedrop_test

import (
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/adapters/adaptertest"
)

// memoryFileSize is the attachment of TestDeliverBundleMemory: far more
// than what streaming holds (a few chunks), far less than a test machine has.
const memoryFileSize = 64 << 20

// heapPeak samples the live heap (HeapAlloc) until stop is called and
// returns the highest value seen.
func heapPeak() (stop func() uint64) {
	var (
		peak uint64
		wg   sync.WaitGroup
	)
	done := make(chan struct{})
	wg.Go(func() {
		var ms runtime.MemStats
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	})
	return func() uint64 {
		close(done)
		wg.Wait()
		return peak
	}
}

// TestDeliverBundleMemory delivers a bundle with a 64 MiB attachment from a
// real store and checks that the heap never grew by half of it: the blob is
// streamed into the file, not assembled in memory.
func TestDeliverBundleMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 64 MiB attachment; skipped with -short")
	}
	root := t.TempDir()
	d := newDeliverer(t, root)
	m := adaptertest.StageBundle(t, adaptertest.SQLiteSource(t), 1,
		adaptertest.File{Name: "Bauzeichnungen.pdf", MIMEType: "application/pdf", Size: memoryFileSize, Seed: 64})

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	stop := heapPeak()
	err := d.Deliver(t.Context(), m.Delivery)
	peak := stop()
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	t.Logf("heap before %d KiB, peak %d KiB; allocated %d KiB during Deliver",
		before.HeapAlloc>>10, peak>>10, (after.TotalAlloc-before.TotalAlloc)>>10)
	if grown := int64(peak) - int64(before.HeapAlloc); grown >= memoryFileSize/2 {
		t.Errorf("the heap grew by %d MiB during Deliver of a %d MiB attachment, want < %d MiB",
			grown>>20, memoryFileSize>>20, memoryFileSize>>21)
	}
	checkZIPFile(t, deliveredFile(root, m), m)
}
