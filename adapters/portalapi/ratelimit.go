package portalapi

import (
	"math"
	"net"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/amtsbote/amtsbote/config"
)

// Defaults of the limit on failed authentications per client address.
const (
	// DefaultAuthFailureRate is the sustained rate of failed
	// authentications a client address may make, per second.
	DefaultAuthFailureRate = 1.0
	// DefaultAuthFailureBurst is how many failed authentications a client
	// address may make at once.
	DefaultAuthFailureBurst = 20
	// DefaultAuthFailureClients is how many client addresses are tracked;
	// beyond it, new addresses share one budget, so memory stays bounded.
	DefaultAuthFailureClients = 10_000
)

// portalLimiters are the token buckets of the portals with a rate_limit,
// by portal id. The map is built once and only read afterwards; the
// limiters are safe for concurrent use.
type portalLimiters map[string]*rate.Limiter

// newPortalLimiters builds the buckets of portals; a portal whose rate
// limit is the same in prev (the generation before a reload) keeps its
// bucket, so that a reload does not refill it.
func newPortalLimiters(portals []config.Portal, prev *portalSetup) portalLimiters {
	m := portalLimiters{}
	for _, p := range portals {
		if p.RateLimit == nil {
			continue
		}
		if prev != nil {
			if old, ok := prev.cfg.Portal(p.ID); ok && old.RateLimit != nil && *old.RateLimit == *p.RateLimit && prev.limits[p.ID] != nil {
				m[p.ID] = prev.limits[p.ID]
				continue
			}
		}
		m[p.ID] = rate.NewLimiter(rate.Limit(p.RateLimit.PerSecond), p.RateLimit.EffectiveBurst())
	}
	return m
}

// take takes one token of the portal's bucket at now; when none is left
// it takes nothing and returns how long until one is.
func (m portalLimiters) take(portal string, now time.Time) (wait time.Duration, ok bool) {
	lim := m[portal]
	if lim == nil {
		return 0, true
	}
	res := lim.ReserveN(now, 1)
	if !res.OK() {
		return time.Second, false // a burst below 1 is rejected by validation
	}
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return d, false
	}
	return 0, true
}

// failureLimiter limits failed authentications per client address: each
// failure takes a token of the address's bucket, and an address without
// tokens is refused before its key is even looked at. At most max
// addresses are tracked; addresses whose bucket is full again are
// forgotten first, and when every tracked one is still throttled, new
// addresses share the overflow bucket.
type failureLimiter struct {
	limit    rate.Limit
	burst    int
	max      int
	mu       sync.Mutex
	clients  map[string]*rate.Limiter
	overflow *rate.Limiter
}

func newFailureLimiter(perSecond float64, burst, maxClients int) *failureLimiter {
	return &failureLimiter{
		limit:    rate.Limit(perSecond),
		burst:    burst,
		max:      maxClients,
		clients:  make(map[string]*rate.Limiter),
		overflow: rate.NewLimiter(rate.Limit(perSecond), burst),
	}
}

// blocked reports whether client has no failures left at now, and how long
// until it has one again.
func (l *failureLimiter) blocked(client string, now time.Time) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.clients[client]
	if !ok {
		if len(l.clients) < l.max {
			return 0, false // a fresh bucket is full
		}
		lim = l.overflow
	}
	tokens := lim.TokensAt(now)
	if tokens >= 1 {
		return 0, false
	}
	if l.limit <= 0 {
		return time.Minute, true
	}
	return time.Duration((1 - tokens) / float64(l.limit) * float64(time.Second)), true
}

// fail records a failed authentication of client at now.
func (l *failureLimiter) fail(client string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.clients[client]
	if !ok {
		if len(l.clients) >= l.max {
			l.forgetRested(now)
		}
		if len(l.clients) < l.max {
			lim = rate.NewLimiter(l.limit, l.burst)
			l.clients[client] = lim
		} else {
			lim = l.overflow
		}
	}
	lim.AllowN(now, 1)
}

// forgetRested drops the clients whose bucket is full again: they are
// indistinguishable from new ones.
func (l *failureLimiter) forgetRested(now time.Time) {
	for c, lim := range l.clients {
		if lim.TokensAt(now) >= float64(l.burst) {
			delete(l.clients, c)
		}
	}
}

// tracked returns the number of client addresses tracked.
func (l *failureLimiter) tracked() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.clients)
}

// clientAddr is the IP address of the request's peer, the key of the
// failure limit; r.RemoteAddr as is when it has no port.
func clientAddr(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		return remoteAddr
	}
	return host
}

// retryAfterSecondsOf is d in whole seconds, rounded up, at least 1.
func retryAfterSecondsOf(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}
