package config

import "time"

// Intake shares the portal API's request bodies among the portals, so that
// one portal (a broken or hostile one) cannot stop intake for the others:
// memory is reserved as a body arrives, not as it is announced; each portal
// may hold only its share of that memory and of the uploads in progress;
// and a body that arrives below a minimum rate is cut off.
type Intake struct {
	// MaxInflightBytes bounds the request bodies held in memory by all
	// requests together, reserved in steps of 64 KiB as they arrive. A
	// request that finds no room within InflightWait gets 503. Default four
	// times server.max_body_bytes; at least max_body_bytes plus 576 KiB.
	MaxInflightBytes int64 `yaml:"max_inflight_bytes"`
	// PortalInflightBytes bounds the part of MaxInflightBytes one portal's
	// requests may hold together; beyond it, its requests wait and then get
	// 429. Default half of MaxInflightBytes; at most MaxInflightBytes.
	PortalInflightBytes int64 `yaml:"portal_inflight_bytes"`
	// InflightWait is how long a request waits for room in those budgets,
	// and for an upload slot (PortalMaxUploads, MaxUploads). Default 10s.
	InflightWait Duration `yaml:"inflight_wait"`
	// MaxUploads bounds the submissions in progress (from authentication to
	// the answer) of all portals together; beyond it, after InflightWait,
	// 503. Default 256.
	MaxUploads int `yaml:"max_uploads"`
	// PortalMaxUploads bounds those of one portal; beyond it, after
	// InflightWait, 429. Default 32; at most MaxUploads.
	PortalMaxUploads int `yaml:"portal_max_uploads"`
	// BodyBufferBytes is the part of a JSON body kept in memory while it
	// arrives; the rest is spooled to an encrypted temporary file (unlinked
	// at once, its key only in memory) until the body is complete, and the
	// memory for all of it is reserved only then. Default 256 KiB; at least
	// 64 KiB; server.max_body_bytes turns spooling off.
	BodyBufferBytes int64 `yaml:"body_buffer_bytes"`
	// SpoolDir is the directory of those files. Default: the system's
	// temporary directory (TMPDIR).
	SpoolDir string `yaml:"spool_dir"`
	// MinBodyRate is the slowest a request body may arrive on average, in
	// bytes per second, once BodyRateGrace has passed: a body must have
	// arrived to (elapsed - BodyRateGrace) × MinBodyRate bytes at any time,
	// else its connection is cut (408). Default 1024.
	MinBodyRate int64 `yaml:"min_body_rate"`
	// BodyRateGrace is the time a body may take before MinBodyRate applies
	// (a slow start, one stalled packet). Default 10s.
	BodyRateGrace Duration `yaml:"body_rate_grace"`
}

// Defaults of Intake.
const (
	defaultInflightWait     = 10 * time.Second
	defaultMaxUploads       = 256
	defaultPortalMaxUploads = 32
	defaultMinBodyRate      = 1024
	defaultBodyRateGrace    = 10 * time.Second
	defaultBodyBufferBytes  = 256 << 10
)

// Defaults of the database deadlines.
const (
	defaultRequestTimeout   = 5 * time.Second
	defaultAcquireTimeout   = 3 * time.Second
	defaultStatementTimeout = 30 * time.Second
)

// applyDefaults sets the unset fields of i; maxBody is server.max_body_bytes
// with its default applied.
func (i *Intake) applyDefaults(maxBody int64) {
	setDefault(&i.MaxInflightBytes, max(4*maxBody, maxBody+576<<10))
	setDefault(&i.PortalInflightBytes, max(i.MaxInflightBytes/2, min(maxBody+576<<10, i.MaxInflightBytes)))
	setDefault(&i.InflightWait.Duration, defaultInflightWait)
	setDefault(&i.MaxUploads, defaultMaxUploads)
	setDefault(&i.PortalMaxUploads, min(defaultPortalMaxUploads, i.MaxUploads))
	setDefault(&i.MinBodyRate, defaultMinBodyRate)
	setDefault(&i.BodyRateGrace.Duration, defaultBodyRateGrace)
	setDefault(&i.BodyBufferBytes, defaultBodyBufferBytes)
}

func (i *Intake) validate(path string, maxBody int64, v *validator) {
	if i.MaxInflightBytes < maxBody+576<<10 {
		v.add(path+".max_inflight_bytes", "must be at least server.max_body_bytes plus 576 KiB (%d), got %d",
			maxBody+576<<10, i.MaxInflightBytes)
	}
	if i.PortalInflightBytes <= 0 || i.PortalInflightBytes > i.MaxInflightBytes {
		v.add(path+".portal_inflight_bytes", "must be from 1 to max_inflight_bytes (%d), got %d",
			i.MaxInflightBytes, i.PortalInflightBytes)
	}
	v.positive(path+".inflight_wait", i.InflightWait)
	if i.MaxUploads <= 0 {
		v.add(path+".max_uploads", "must be positive, got %d", i.MaxUploads)
	}
	if i.PortalMaxUploads <= 0 || i.PortalMaxUploads > i.MaxUploads {
		v.add(path+".portal_max_uploads", "must be from 1 to max_uploads (%d), got %d", i.MaxUploads, i.PortalMaxUploads)
	}
	if i.MinBodyRate <= 0 {
		v.add(path+".min_body_rate", "must be positive, got %d", i.MinBodyRate)
	}
	v.positive(path+".body_rate_grace", i.BodyRateGrace)
	if i.BodyBufferBytes < 64<<10 {
		v.add(path+".body_buffer_bytes", "must be at least 65536 (64 KiB), got %d", i.BodyBufferBytes)
	}
}

// validateTimeouts checks the database deadlines: each positive, the
// pool's acquire timeout within the request's budget, and the budget
// shorter than the server's write timeout, so that its 503 is written
// before the connection's write deadline.
func (d *Database) validateTimeouts(path string, writeTimeout Duration, v *validator) {
	if writeTimeout.Duration > 0 && d.RequestTimeout.Duration >= writeTimeout.Duration {
		v.add(path+".request_timeout", "must be shorter than server.write_timeout (%s), got %s", writeTimeout, d.RequestTimeout)
	}
	v.positive(path+".request_timeout", d.RequestTimeout)
	v.positive(path+".acquire_timeout", d.AcquireTimeout)
	v.positive(path+".statement_timeout", d.StatementTimeout)
	if d.AcquireTimeout.Duration > d.RequestTimeout.Duration {
		v.add(path+".acquire_timeout", "must not be longer than request_timeout (%s), got %s", d.RequestTimeout, d.AcquireTimeout)
	}
}
