package portalapi

import (
	"context"
	"errors"
	"testing"
	"time"

	"golang.org/x/sync/semaphore"
)

// TestBoundedWaitAtOnce: with room, the acquisitions of a submission (an
// upload slot, then its body's first step) set no timer; they were two
// context.WithTimeout per submission.
func TestBoundedWaitAtOnce(t *testing.T) {
	if raceDetector {
		t.Skip("allocations are counted without the race detector")
	}
	s := newIntakeShares(1<<20, 1<<20, time.Minute, 4, 4)
	ctx := context.Background()
	allocs := testing.AllocsPerRun(100, func() {
		res, err := s.begin(ctx, "portal")
		if err != nil {
			t.Fatal(err)
		}
		if err := res.grow(ctx, budgetStep); err != nil {
			t.Fatal(err)
		}
		res.done()
	})
	if allocs > 1 { // the reservation
		t.Errorf("begin, grow and done with room: %.0f allocations, want at most 1", allocs)
	}
}

// TestBoundedWait covers the ways of boundedWait: at once, after a wait
// for a release, refused after the bound, and refused for a parent that is
// done even when there is room (as Acquire refuses).
func TestBoundedWait(t *testing.T) {
	t.Parallel()
	sem := semaphore.NewWeighted(1)

	w := boundedWait{parent: context.Background(), wait: time.Minute}
	if err := w.acquire(sem, 1); err != nil || w.ctx != nil {
		t.Fatalf("with room: %v, timer set %v", err, w.ctx != nil)
	}
	go func() { time.Sleep(10 * time.Millisecond); sem.Release(1) }()
	if err := w.acquire(sem, 1); err != nil || w.ctx == nil {
		t.Fatalf("after a release: %v, timer set %v", err, w.ctx != nil)
	}
	w.done()

	short := boundedWait{parent: context.Background(), wait: 20 * time.Millisecond}
	defer short.done()
	if err := short.acquire(sem, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("full beyond the bound: %v, want the deadline", err)
	}
	sem.Release(1)

	parent, cancel := context.WithCancel(context.Background())
	cancel()
	gone := boundedWait{parent: parent, wait: time.Minute}
	defer gone.done()
	if err := gone.acquire(sem, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("parent done: %v, want its error", err)
	}
	if !sem.TryAcquire(1) {
		t.Fatal("the refused acquisition took the room")
	}
}
