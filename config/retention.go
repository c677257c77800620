package config

import "time"

// Defaults of Retention.
const (
	DefaultRetentionPayloads = 30 * 24 * time.Hour
	defaultRetentionInterval = time.Hour
)

// Retention configures the purge of personal data that served its purpose:
// the payloads of delivered messages (the generated XML and xdomea
// containers) and the requests of submissions whose messages are all
// delivered. The audit trail, the states and the metadata stay; dead messages
// keep their payload until they are replayed and delivered, or discarded.
type Retention struct {
	// Payloads is how long a payload is kept after its delivery. Default 30d.
	Payloads Duration `yaml:"payloads"`
	// Interval is how often the purge runs. Default 1h.
	Interval Duration `yaml:"interval"`
}

func (r *Retention) applyDefaults() {
	setDefault(&r.Payloads.Duration, DefaultRetentionPayloads)
	setDefault(&r.Interval.Duration, defaultRetentionInterval)
}

func (r *Retention) validate(path string, v *validator) {
	if r.Payloads.Duration < time.Hour {
		v.add(path+".payloads", "must be at least 1h (got %s)", r.Payloads)
	}
	if r.Interval.Duration < time.Second {
		v.add(path+".interval", "must be at least 1s (got %s)", r.Interval)
	}
}
