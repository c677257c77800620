package adminapi

import (
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// maxThrottled bounds the client addresses a Throttle remembers; beyond it,
// windows that have ended are forgotten first, then the oldest.
const maxThrottled = 10000

// Throttle counts failed keys per client address (an IPv6 address by its
// /64) and refuses an address that has failed Limit times within Window
// until that window ends. The admin API and the console share one, so that
// a key guessed on the login form counts like one sent to the API. Safe for
// concurrent use.
type Throttle struct {
	limit  int
	window time.Duration
	now    func() time.Time

	mu      sync.Mutex
	clients map[netip.Prefix]*throttleWindow
}

type throttleWindow struct {
	start    time.Time
	failures int
}

// NewThrottle returns a Throttle allowing limit failures per window.
func NewThrottle(limit int, window time.Duration) *Throttle {
	return &Throttle{limit: max(limit, 1), window: window, now: time.Now, clients: map[netip.Prefix]*throttleWindow{}}
}

// clientPrefix is the throttled unit of remoteAddr ("host:port").
func clientPrefix(remoteAddr string) netip.Prefix {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Prefix{} // one bucket for what cannot be parsed
	}
	a = a.Unmap()
	if a.Is4() {
		return netip.PrefixFrom(a, 32)
	}
	p, _ := a.Prefix(64)
	return p
}

// Blocked reports whether remoteAddr is refused now, and for how long.
func (t *Throttle) Blocked(remoteAddr string) (time.Duration, bool) {
	if t == nil {
		return 0, false
	}
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	w := t.clients[clientPrefix(remoteAddr)]
	if w == nil || w.failures < t.limit {
		return 0, false
	}
	left := w.start.Add(t.window).Sub(now)
	return left, left > 0
}

// Fail records a failed key from remoteAddr.
func (t *Throttle) Fail(remoteAddr string) {
	if t == nil {
		return
	}
	now := t.now()
	p := clientPrefix(remoteAddr)
	t.mu.Lock()
	defer t.mu.Unlock()
	w := t.clients[p]
	if w == nil || now.Sub(w.start) >= t.window {
		if w == nil && len(t.clients) >= maxThrottled {
			t.forget(now)
		}
		w = &throttleWindow{start: now}
		t.clients[p] = w
	}
	w.failures++
}

// forget drops ended windows, or the oldest when none has ended.
func (t *Throttle) forget(now time.Time) {
	var oldest netip.Prefix
	var oldestStart time.Time
	for p, w := range t.clients {
		if now.Sub(w.start) >= t.window {
			delete(t.clients, p)
			continue
		}
		if oldestStart.IsZero() || w.start.Before(oldestStart) {
			oldest, oldestStart = p, w.start
		}
	}
	if len(t.clients) >= maxThrottled {
		delete(t.clients, oldest)
	}
}

// RetryAfter is the value of a Retry-After header for d: whole seconds, at least 1.
func RetryAfter(d time.Duration) string {
	return strconv.Itoa(max(1, int((d+time.Second-1)/time.Second)))
}

// tooManyFailures is the 429 problem of a throttled address.
func tooManyFailures(d time.Duration) *problemError {
	p := problem(ProblemTooManyRequests, http.StatusTooManyRequests, "too many failed keys from this address; retry later")
	p.header = http.Header{"Retry-After": {RetryAfter(d)}}
	return p
}
