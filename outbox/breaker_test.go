package outbox

import (
	"log/slog"
	"testing"
	"time"
)

func TestBreaker(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1_700_000_000, 0)
	b := newBreaker("t/p.q/d", BreakerOptions{Threshold: 3, Pause: time.Second, MaxPause: 3 * time.Second}, slog.New(slog.DiscardHandler))
	step := func(what string, now time.Time, free, wantLimit int, wantState CircuitState) {
		t.Helper()
		limit, _ := b.allow(now, free)
		if limit != wantLimit || b.State() != wantState {
			t.Fatalf("%s: allow = %d in %v, want %d in %v", what, limit, b.State(), wantLimit, wantState)
		}
	}
	step("closed", t0, 4, 4, CircuitClosed)
	b.record(t0, true)
	b.record(t0, true)
	step("two failures", t0, 4, 4, CircuitClosed)
	b.record(t0, false) // an answer resets the count
	b.record(t0, true)
	b.record(t0, true)
	step("count reset by success", t0, 4, 4, CircuitClosed)
	b.record(t0, true)
	step("threshold reached", t0, 4, 0, CircuitOpen)
	step("still paused", t0.Add(999*time.Millisecond), 4, 0, CircuitOpen)
	step("probe", t0.Add(time.Second), 4, 1, CircuitHalfOpen)
	step("one probe at a time", t0.Add(time.Second), 3, 0, CircuitHalfOpen)
	b.record(t0.Add(time.Second), true)
	step("failed probe doubles the pause", t0.Add(2500*time.Millisecond), 4, 0, CircuitOpen)
	step("second probe", t0.Add(3*time.Second), 4, 1, CircuitHalfOpen)
	b.record(t0.Add(3*time.Second), true)
	step("pause capped", t0.Add(6*time.Second), 4, 1, CircuitHalfOpen)
	b.unclaimed(0)
	step("a probe that found nothing is given back", t0.Add(6*time.Second), 4, 1, CircuitHalfOpen)
	b.record(t0.Add(6*time.Second), false)
	step("successful probe closes", t0.Add(6*time.Second), 4, 4, CircuitClosed)

	off := newBreaker("x", BreakerOptions{}, slog.New(slog.DiscardHandler))
	for range 10 {
		off.record(t0, true)
	}
	if l, _ := off.allow(t0, 4); l != 4 {
		t.Fatalf("disabled breaker limits to %d", l)
	}
}
