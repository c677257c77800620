package metrics

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/amtsbote/amtsbote/outbox"
)

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", name), help, labels, nil)
}

var (
	descPending = desc("outbox_pending_messages",
		"Messages waiting for delivery (pending or retrying), by destination; from the database, shared by all processes.", topicLabelNames...)
	descRetrying = desc("outbox_retrying_messages",
		"Of the pending messages, those that failed at least once, by destination.", topicLabelNames...)
	descDead = desc("outbox_dead_messages",
		"Dead messages (rejected for good or retries exhausted, not replayed or discarded), by destination.", topicLabelNames...)
	descOldest = desc("outbox_oldest_pending_age_seconds",
		"Age of the oldest pending or retrying message, by destination; 0 when none is pending.", topicLabelNames...)
	descStatsUp = desc("outbox_stats_up",
		"1 if the last read of the outbox counts succeeded, else 0 (and the outbox gauges are absent).")
	descCircuit = desc("circuit_state",
		"Circuit breaker of a destination in this process: 1 for its current state (closed, open, half-open), 0 for the others.",
		append(topicLabelNames, "state")...)
	descRelayRunning = desc("relay_running",
		"1 while this process's relay delivers, else 0.")
)

// storeCollector reads the outbox counts at scrape time, at most once per
// maxAge, within timeout.
type storeCollector struct {
	store   StatsReader
	series  *atomic.Pointer[series]
	timeout time.Duration
	maxAge  time.Duration
	now     func() time.Time
	log     *slog.Logger

	mu      sync.Mutex
	readAt  time.Time
	stats   map[string]outbox.TopicStats
	ok      bool
	lastErr string
}

func newStoreCollector(cfg Config, s *atomic.Pointer[series]) *storeCollector {
	return &storeCollector{store: cfg.Store, series: s, timeout: cfg.StatsTimeout, maxAge: cfg.StatsMaxAge,
		now: cfg.Now, log: cfg.Logger}
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descPending, descRetrying, descDead, descOldest, descStatsUp} {
		ch <- d
	}
}

// read returns the counts per configured topic, read anew when the cached
// ones are older than maxAge.
func (c *storeCollector) read() (map[string]outbox.TopicStats, bool, time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if !c.readAt.IsZero() && now.Sub(c.readAt) < c.maxAge {
		return c.stats, c.ok, c.readAt
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	list, err := c.store.Stats(ctx)
	c.readAt, c.ok = now, err == nil
	if err != nil {
		c.stats = nil
		if msg := err.Error(); msg != c.lastErr {
			c.log.Warn("metrics: reading outbox counts failed", slog.Any("error", err))
			c.lastErr = msg
		}
		return nil, false, now
	}
	if c.lastErr != "" {
		c.log.Info("metrics: reading outbox counts works again")
		c.lastErr = ""
	}
	c.stats = make(map[string]outbox.TopicStats, len(list))
	topics := c.series.Load().topics
	for _, s := range list {
		if _, ok := topics[s.Topic]; ok {
			c.stats[s.Topic] = s
		}
	}
	return c.stats, true, now
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	stats, ok, at := c.read()
	if !ok {
		ch <- prometheus.MustNewConstMetric(descStatsUp, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(descStatsUp, prometheus.GaugeValue, 1)
	for topic, l := range c.series.Load().topics {
		s := stats[topic] // zero for topics with nothing pending or dead
		lv := l.values()
		age := 0.0
		if !s.OldestPending.IsZero() {
			age = max(0, at.Sub(s.OldestPending).Seconds())
		}
		ch <- prometheus.MustNewConstMetric(descPending, prometheus.GaugeValue, float64(s.Pending), lv...)
		ch <- prometheus.MustNewConstMetric(descRetrying, prometheus.GaugeValue, float64(s.Retrying), lv...)
		ch <- prometheus.MustNewConstMetric(descDead, prometheus.GaugeValue, float64(s.Dead), lv...)
		ch <- prometheus.MustNewConstMetric(descOldest, prometheus.GaugeValue, age, lv...)
	}
}

// circuitStates are the state label values of amtsbote_circuit_state.
var circuitStates = []outbox.CircuitState{outbox.CircuitClosed, outbox.CircuitOpen, outbox.CircuitHalfOpen}

// relayCollector reads the relay's circuit states at scrape time; they live
// in memory, so no caching is needed.
type relayCollector struct {
	relay  Relay
	series *atomic.Pointer[series]
}

func (c *relayCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descCircuit
	ch <- descRelayRunning
}

func (c *relayCollector) Collect(ch chan<- prometheus.Metric) {
	running := 0.0
	if c.relay.IsRunning() {
		running = 1
	}
	ch <- prometheus.MustNewConstMetric(descRelayRunning, prometheus.GaugeValue, running)
	for topic, l := range c.series.Load().topics {
		current := c.relay.CircuitState(topic)
		for _, s := range circuitStates {
			v := 0.0
			if s == current {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(descCircuit, prometheus.GaugeValue, v, append(l.values(), s.String())...)
		}
	}
}
