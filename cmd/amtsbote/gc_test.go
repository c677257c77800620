package main

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

func TestPercentFor(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		live uint64
		want int
	}{
		{0, 100},         // before the first collection: Go's own goal
		{4 * mib, 1500},  // 4 MiB live: goal 64 MiB
		{10 * mib, 540},  // 10 MiB: 540 % (rounded down from 540.0)
		{31 * mib, 100},  // 31 MiB: 106 %, rounded to 100
		{32 * mib, 100},  // half the floor and more: Go's default
		{500 * mib, 100}, // a large heap is never multiplied
		{1024, 1600},     // a tiny heap: Go's smallest goal, 4 MiB × 16, is the floor
	} {
		if got := percentFor(c.live, 64*mib, 100); got != c.want {
			t.Errorf("percentFor(%d MiB live) = %d, want %d", c.live/mib, got, c.want)
		}
	}
}

// gogc reads the collector's current percent.
func gogc() int {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return int(s[0].Value.Uint64())
}

// waitGOGC collects until the percent satisfies ok: the tuner adjusts in a
// cleanup, after the collection that frees its sentinel.
func waitGOGC(t *testing.T, what string, ok func(int) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok(gogc()) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: GOGC stayed %d", what, gogc())
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
}

// TestHeapFloor runs the tuner on this test binary's heap: a small live heap
// raises GOGC to reach the floor, a live heap over half of it brings Go's
// 100 back, and stopping restores 100. An operator's GOGC turns it off.
func TestHeapFloor(t *testing.T) {
	prev := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(prev) })

	stop, started := startHeapFloor(func(string) (string, bool) { return "50", true }, heapFloor)
	stop()
	if started || gogc() != 100 {
		t.Fatalf("with GOGC set: started %v, GOGC %d; want not started, 100", started, gogc())
	}

	stop, started = startHeapFloor(func(string) (string, bool) { return "", false }, heapFloor)
	if !started {
		t.Fatal("without GOGC: not started")
	}
	defer stop()
	waitGOGC(t, "small live heap", func(p int) bool { return p > 100 })

	ballast := make([]*[1 << 20]byte, 48) // 48 MiB live, over half the floor
	for i := range ballast {
		ballast[i] = new([1 << 20]byte)
	}
	waitGOGC(t, "48 MiB live", func(p int) bool { return p == 100 })
	runtime.KeepAlive(ballast)
	ballast = nil

	waitGOGC(t, "ballast freed", func(p int) bool { return p > 100 })
	stop()
	if p := gogc(); p != 100 {
		t.Fatalf("after stop: GOGC %d, want 100", p)
	}
	runtime.GC()
	time.Sleep(50 * time.Millisecond)
	if p := gogc(); p != 100 {
		t.Fatalf("a collection after stop: GOGC %d, want 100 (the tuner still runs)", p)
	}
}
