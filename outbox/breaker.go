package outbox

import (
	"log/slog"
	"sync"
	"time"
)

// BreakerOptions configure the circuit breaker of a destination: after
// Threshold failed attempts in a row the destination gets no deliveries for a
// pause; then one probe is let through. A failed probe doubles the pause (up
// to MaxPause), a successful one closes the circuit. Messages wait in the
// outbox meanwhile; their own retry schedule is not consumed.
type BreakerOptions struct {
	Threshold int           // consecutive failed attempts that open the circuit; 0 or negative: no breaker
	Pause     time.Duration // first pause; default 30s
	MaxPause  time.Duration // longest pause; default 10m
}

func (o BreakerOptions) withDefaults() BreakerOptions {
	if o.Threshold <= 0 {
		o.Threshold = -1
	}
	if o.Pause <= 0 {
		o.Pause = 30 * time.Second
	}
	if o.MaxPause < o.Pause {
		o.MaxPause = max(10*time.Minute, o.Pause)
	}
	return o
}

// CircuitState is the state of a destination's circuit breaker.
type CircuitState int

// Circuit states.
const (
	CircuitClosed   CircuitState = iota // deliveries flow
	CircuitOpen                         // paused after repeated failures
	CircuitHalfOpen                     // one probe delivery is under way or due
)

func (s CircuitState) String() string {
	switch s {
	case CircuitOpen:
		return "open"
	case CircuitHalfOpen:
		return "half-open"
	}
	return "closed"
}

// breaker is the circuit of one topic, shared by its subscriptions in this process.
type breaker struct {
	topic  string
	opts   BreakerOptions
	logger *slog.Logger

	// wake receives a value when the destination reported itself back, so
	// that the claim loop sends its probe at once.
	wake chan struct{}

	mu        sync.Mutex
	state     CircuitState
	failures  int
	pause     time.Duration
	openUntil time.Time
	probing   bool
}

func newBreaker(topic string, opts BreakerOptions, logger *slog.Logger) *breaker {
	opts = opts.withDefaults()
	return &breaker{topic: topic, opts: opts, logger: logger, pause: opts.Pause, wake: make(chan struct{}, 1)}
}

// allow returns how many of free claim slots may be used now; with 0, wait is
// how long until asking again makes sense (a freed slot also wakes the caller).
func (b *breaker) allow(now time.Time, free int) (limit int, wait time.Duration) {
	if b.opts.Threshold < 0 {
		return free, 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case CircuitOpen:
		if now.Before(b.openUntil) {
			return 0, b.openUntil.Sub(now)
		}
		b.state = CircuitHalfOpen
		fallthrough
	case CircuitHalfOpen:
		if b.probing || free == 0 {
			return 0, b.pause
		}
		b.probing = true
		return 1, 0
	}
	return free, 0
}

// record counts the outcome of an attempt. failed is true for a failure of
// the destination (retry, or dead by an exhausted policy), false when it
// answered (delivered, or rejected the message for good).
func (b *breaker) record(now time.Time, failed bool) {
	if b.opts.Threshold < 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	wasProbe := b.state == CircuitHalfOpen && b.probing
	b.probing = false
	if !failed {
		if b.state != CircuitClosed {
			b.logger.Info("circuit closed: destination answers again", slog.String("topic", b.topic))
		}
		b.state, b.failures, b.pause = CircuitClosed, 0, b.opts.Pause
		return
	}
	b.failures++
	switch {
	case wasProbe:
		b.pause = min(b.pause*2, b.opts.MaxPause)
	case b.state == CircuitClosed && b.failures >= b.opts.Threshold:
	default:
		return
	}
	b.state, b.openUntil = CircuitOpen, now.Add(b.pause)
	b.logger.Warn("circuit opened: destination keeps failing, deliveries paused",
		slog.String("topic", b.topic), slog.Int("failures", b.failures), slog.Duration("pause", b.pause))
}

// back ends the pause of an open circuit because the destination reported
// itself back (a Prober's probe succeeded): the circuit is half-open at
// once, and the next claim sends the probe delivery, whose success closes
// it. It reports whether the circuit was open.
func (b *breaker) back() bool {
	if b.opts.Threshold < 0 {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state != CircuitOpen {
		return false
	}
	b.state, b.probing = CircuitHalfOpen, false
	b.logger.Info("destination reports itself back: probing it now instead of after the pause",
		slog.String("topic", b.topic))
	select {
	case b.wake <- struct{}{}:
	default:
	}
	return true
}

// unclaimed gives back a probe slot that found no message to claim.
func (b *breaker) unclaimed(n int) {
	if n > 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == CircuitHalfOpen {
		b.probing = false
	}
}

// State reports the current state.
func (b *breaker) State() CircuitState {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state
}
