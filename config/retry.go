package config

import "time"

// Retry defaults: back off from 30s to at most hourly attempts and give up
// after a week, long enough to ride out a long weekend or holiday outage of a
// back office.
const (
	defaultRetryInitialInterval = 30 * time.Second
	defaultRetryMaxInterval     = time.Hour
	defaultRetryMultiplier      = 2
	defaultRetryMaxElapsedTime  = 7 * 24 * time.Hour
)

// RetryPolicy is the exponential backoff of failed deliveries to one
// destination. Zero fields mean "use the default", see WithDefaults.
type RetryPolicy struct {
	// InitialInterval is the wait before the first retry. Default 30s.
	InitialInterval Duration `yaml:"initial_interval"`
	// MaxInterval caps the wait between two attempts. Default 1h.
	MaxInterval Duration `yaml:"max_interval"`
	// Multiplier grows the wait after each failed attempt; at least 1. Default 2.
	Multiplier float64 `yaml:"multiplier"`
	// MaxElapsedTime is how long after its acceptance a message is retried
	// before it becomes a dead letter. Default 168h (7d).
	MaxElapsedTime Duration `yaml:"max_elapsed_time"`
}

// WithDefaults returns p with every zero field set to its default.
func (p RetryPolicy) WithDefaults() RetryPolicy {
	if p.InitialInterval.Duration == 0 {
		p.InitialInterval.Duration = defaultRetryInitialInterval
	}
	if p.MaxInterval.Duration == 0 {
		p.MaxInterval.Duration = defaultRetryMaxInterval
	}
	if p.Multiplier == 0 {
		p.Multiplier = defaultRetryMultiplier
	}
	if p.MaxElapsedTime.Duration == 0 {
		p.MaxElapsedTime.Duration = defaultRetryMaxElapsedTime
	}
	return p
}

// validate reports the problems of p under path. Comparisons use the
// effective values, so "initial 2h" with the default maximum of 1h is a
// problem whether or not defaults have been applied.
func (p RetryPolicy) validate(path string, v *validator) {
	v.nonNegative(path+".initial_interval", p.InitialInterval)
	v.nonNegative(path+".max_interval", p.MaxInterval)
	v.nonNegative(path+".max_elapsed_time", p.MaxElapsedTime)
	if p.Multiplier != 0 && !(p.Multiplier >= 1) { // also catches NaN
		v.add(path+".multiplier", "must be at least 1, got %v", p.Multiplier)
	}
	eff := p.WithDefaults()
	if p.InitialInterval.Duration >= 0 && p.MaxInterval.Duration >= 0 && eff.InitialInterval.Duration > eff.MaxInterval.Duration {
		v.add(path+".initial_interval", "must not exceed max_interval (%s > %s)", eff.InitialInterval, eff.MaxInterval)
	}
}
