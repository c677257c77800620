package metrics

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// UnmatchedAnswersReader counts the unmatched answers per tenant
// (outbox.Store has it).
type UnmatchedAnswersReader interface {
	UnmatchedAnswers(ctx context.Context) (map[string]int, error)
}

var descUnmatchedAnswers = desc("answers_unmatched",
	"Answers from the authority that refer to no submission of their tenant, waiting for an operator to assign or discard them, by tenant; from the database, shared by all processes.",
	"tenant")

// Outcomes of amtsbote_answers_received_total.
const (
	AnswerMatched     = "matched"     // stored and matched to a submission
	AnswerUnmatched   = "unmatched"   // stored unmatched
	AnswerDuplicate   = "duplicate"   // received before with the same body; nothing changed
	AnswerInvalid     = "invalid"     // not an acceptable answer; nothing stored
	AnswerConflict    = "conflict"    // its message id came before with another body; recorded
	AnswerUnavailable = "unavailable" // the store failed; the sender retries
)

var answerOutcomes = []string{AnswerMatched, AnswerUnmatched, AnswerDuplicate, AnswerInvalid, AnswerConflict, AnswerUnavailable}

// Answers counts the answers received (amtsbote_answers_received_total)
// and reports the unmatched ones (amtsbote_answers_unmatched).
type Answers struct {
	received *prometheus.CounterVec
}

// ObserveAnswer counts an answer of tenant received over channel with
// outcome (one of the Answer constants).
func (a *Answers) ObserveAnswer(tenant, channel, outcome string) {
	a.received.WithLabelValues(tenant, channel, outcome).Inc()
}

// RegisterAnswers registers the answer metrics with series for tenants
// and channels, the unmatched gauge read from r at scrape time.
func (m *Metrics) RegisterAnswers(r UnmatchedAnswersReader, tenants, channels []string, logger *slog.Logger) (*Answers, error) {
	a := &Answers{received: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "answers_received_total",
		Help: "Answers from the authority received, by tenant, channel (http, inbox, amqp) and outcome (matched, unmatched, duplicate, invalid, conflict, unavailable)."},
		[]string{"tenant", "channel", "outcome"})}
	for _, t := range tenants {
		for _, c := range channels {
			for _, o := range answerOutcomes {
				a.received.WithLabelValues(t, c, o)
			}
		}
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	c := &unmatchedCollector{store: r, tenants: tenants, timeout: 2 * time.Second, maxAge: 5 * time.Second, now: time.Now, log: logger}
	for _, col := range []prometheus.Collector{a.received, c} {
		if err := m.reg.Register(col); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// unmatchedCollector reads the unmatched answers at scrape time, at most
// once per maxAge.
type unmatchedCollector struct {
	store   UnmatchedAnswersReader
	tenants []string
	timeout time.Duration
	maxAge  time.Duration
	now     func() time.Time
	log     *slog.Logger

	mu     sync.Mutex
	readAt time.Time
	counts map[string]int
	ok     bool
}

func (c *unmatchedCollector) Describe(ch chan<- *prometheus.Desc) { ch <- descUnmatchedAnswers }

func (c *unmatchedCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	now := c.now()
	if c.readAt.IsZero() || now.Sub(c.readAt) >= c.maxAge {
		ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
		counts, err := c.store.UnmatchedAnswers(ctx)
		cancel()
		if err != nil && c.ok {
			c.log.Warn("metrics: reading unmatched answers failed", slog.Any("error", err))
		}
		c.readAt, c.counts, c.ok = now, counts, err == nil
	}
	counts, ok := c.counts, c.ok
	c.mu.Unlock()
	if !ok {
		return // absent, as the outbox gauges when amtsbote_outbox_stats_up is 0
	}
	for _, t := range c.tenants {
		ch <- prometheus.MustNewConstMetric(descUnmatchedAnswers, prometheus.GaugeValue, float64(counts[t]), t)
	}
}

// Counter returns the counter of tenant, channel and outcome (for tests).
func (a *Answers) Counter(tenant, channel, outcome string) prometheus.Counter {
	return a.received.WithLabelValues(tenant, channel, outcome)
}
