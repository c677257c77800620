package outbox

import (
	"errors"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// RetryPolicy is the persistent retry schedule of a destination: exponential backoff
// with jitter from InitialInterval up to MaxInterval; a message still undelivered
// MaxElapsedTime after it was accepted is dead.
type RetryPolicy struct {
	InitialInterval     time.Duration
	MaxInterval         time.Duration
	Multiplier          float64
	RandomizationFactor float64       // jitter: each interval is drawn from [i*(1-f), i*(1+f)]
	MaxElapsedTime      time.Duration // 0 = retry forever
}

// DefaultRetryPolicy rides out a back office that is down from Friday evening to
// Tuesday morning, or over Easter: attempts every hour at most, for a week.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{
		InitialInterval:     30 * time.Second,
		MaxInterval:         time.Hour,
		Multiplier:          2,
		RandomizationFactor: 0.5,
		MaxElapsedTime:      7 * 24 * time.Hour,
	}
}

// Validate reports a policy that cannot schedule anything sensible.
func (p RetryPolicy) Validate() error {
	var errs []error
	if p.InitialInterval < 0 || p.MaxInterval < 0 || p.MaxElapsedTime < 0 {
		errs = append(errs, errors.New("retry intervals must not be negative"))
	}
	if p.MaxInterval < p.InitialInterval {
		errs = append(errs, errors.New("retry max interval is below the initial interval"))
	}
	if p.Multiplier < 1 {
		errs = append(errs, errors.New("retry multiplier must be at least 1"))
	}
	if p.RandomizationFactor < 0 || p.RandomizationFactor >= 1 {
		errs = append(errs, errors.New("retry randomization factor must be in [0, 1)"))
	}
	return errors.Join(errs...)
}

// Next schedules the attempt after a failed one. attempts counts the attempts made,
// including the one that just failed; from is when the retry budget started (the
// message's acceptance, or its last replay). It returns dead=true when the policy
// is exhausted.
func (p RetryPolicy) Next(attempts int, from, now time.Time) (next time.Time, dead bool) {
	b := &backoff.ExponentialBackOff{
		InitialInterval:     p.InitialInterval,
		RandomizationFactor: p.RandomizationFactor,
		Multiplier:          p.Multiplier,
		MaxInterval:         p.MaxInterval,
		MaxElapsedTime:      0, // elapsed time is measured from the persisted creation time below
		Stop:                backoff.Stop,
		Clock:               backoff.SystemClock,
	}
	b.Reset()
	var d time.Duration
	// The interval saturates at MaxInterval long before 64 steps.
	for i := 0; i < min(max(attempts, 1), 64); i++ {
		d = b.NextBackOff()
	}
	next = now.Add(d)
	if p.MaxElapsedTime > 0 && next.Sub(from) > p.MaxElapsedTime {
		return time.Time{}, true
	}
	return next, false
}
