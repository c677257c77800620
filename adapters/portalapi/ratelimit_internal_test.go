package portalapi

import (
	"fmt"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/config"
)

func TestFailureLimiterStaysBounded(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newFailureLimiter(1, 2, 100)
	// A flood from 10,000 addresses, two failures each: at most 100 are
	// tracked, the rest share the overflow bucket, which runs dry.
	for i := range 10_000 {
		c := fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
		l.fail(c, now)
		l.fail(c, now)
	}
	if n := l.tracked(); n != 100 {
		t.Fatalf("%d addresses tracked, want 100", n)
	}
	if _, blocked := l.blocked("10.0.0.0", now); !blocked {
		t.Error("a tracked address with no failures left is not blocked")
	}
	if wait, blocked := l.blocked("192.0.2.1", now); !blocked || wait <= 0 {
		t.Errorf("a new address while the table is full = %v, %v; want blocked by the overflow bucket", wait, blocked)
	}
	// Once the buckets are full again, the addresses are forgotten and new
	// ones get their own budget.
	later := now.Add(time.Minute)
	if _, blocked := l.blocked("192.0.2.1", later); blocked {
		t.Error("still blocked after the buckets refilled")
	}
	l.fail("192.0.2.1", later)
	if n := l.tracked(); n != 1 {
		t.Errorf("%d addresses tracked after they rested, want 1", n)
	}
}

func TestPortalLimitersRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m := portalLimiters{}
	if _, ok := m.take("unlimited", now); !ok {
		t.Fatal("a portal without a rate limit was limited")
	}
	for _, tt := range []struct {
		d    time.Duration
		want int
	}{{0, 1}, {time.Millisecond, 1}, {time.Second, 1}, {1001 * time.Millisecond, 2}, {10 * time.Second, 10}} {
		if got := retryAfterSecondsOf(tt.d); got != tt.want {
			t.Errorf("retryAfterSecondsOf(%v) = %d, want %d", tt.d, got, tt.want)
		}
	}
}

func TestClientAddr(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"127.0.0.1:4711": "127.0.0.1", "[::1]:80": "::1", "pipe": "pipe"} {
		if got := clientAddr(in); got != want {
			t.Errorf("clientAddr(%q) = %q, want %q", in, got, want)
		}
	}
}

// A reload keeps the bucket of a portal whose rate limit is unchanged (so
// that reloading does not refill it) and builds a new one for a changed
// limit.
func TestPortalLimitersAcrossReload(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cfg := &config.Config{Portals: []config.Portal{
		{ID: "a", RateLimit: &config.RateLimit{PerSecond: 1, Burst: 1}},
		{ID: "b", RateLimit: &config.RateLimit{PerSecond: 1, Burst: 1}},
	}}
	prev := &portalSetup{cfg: cfg, limits: newPortalLimiters(cfg.Portals, nil)}
	for _, p := range []string{"a", "b"} {
		if _, ok := prev.limits.take(p, now); !ok {
			t.Fatalf("first request of %s limited", p)
		}
	}
	next := &config.Config{Portals: []config.Portal{
		{ID: "a", RateLimit: &config.RateLimit{PerSecond: 1, Burst: 1}},
		{ID: "b", RateLimit: &config.RateLimit{PerSecond: 1, Burst: 2}},
	}}
	limits := newPortalLimiters(next.Portals, prev)
	if _, ok := limits.take("a", now); ok {
		t.Error("unchanged limit refilled by the reload")
	}
	if _, ok := limits.take("b", now); !ok {
		t.Error("changed limit kept the old bucket")
	}
}
