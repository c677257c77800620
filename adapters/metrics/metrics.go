package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/amtsbote/amtsbote/outbox"
)

// Namespace starts the name of every Amtsbote metric.
const Namespace = "amtsbote"

// Outcomes of a submission, the outcome label of amtsbote_submissions_total.
const (
	SubmissionAccepted    = "accepted"    // 202: stored
	SubmissionReplayed    = "replayed"    // 202: an idempotent retry of a stored submission; nothing new stored
	SubmissionRejected    = "rejected"    // 4xx: the portal's request was refused
	SubmissionUnavailable = "unavailable" // 503: database failure or shutdown; the portal retries
	SubmissionError       = "error"       // any other 5xx
)

// submissionOutcomes lists the outcome label values, for pre-initialised series.
var submissionOutcomes = []string{SubmissionAccepted, SubmissionReplayed, SubmissionRejected, SubmissionUnavailable, SubmissionError}

// Final outcomes of a message, the outcome label of amtsbote_deliveries_total.
const (
	DeliveryDelivered = "delivered" // the destination accepted the message
	DeliveryDead      = "dead"      // rejected for good or retries exhausted
)

// attemptOutcomes are the outcome label values of amtsbote_delivery_attempts_total.
var attemptOutcomes = []outbox.Outcome{outbox.OutcomeDelivered, outbox.OutcomeRetry, outbox.OutcomeDead, outbox.OutcomeUnknown}

// Route is a tenant and a procedure it accepts: one configured route.
type Route struct {
	Tenant    string
	Procedure string
}

// StatsReader reads the outbox counts per topic (outbox.Store has it).
type StatsReader interface {
	Stats(ctx context.Context) ([]outbox.TopicStats, error)
}

// Config configures Metrics.
type Config struct {
	// Topics are the topics the relay delivers: "<tenant>/<procedure>/<destination>"
	// and notification topics. Delivery, outbox and circuit series exist for
	// these only; observations of other topics are dropped.
	Topics []string
	// Routes are the configured tenant and procedure pairs; submission
	// series exist for these (and for requests that named none).
	Routes []Route
	// PreviousKeys maps the id of each portal with a previous API key (a
	// key rotation in progress) to when that key expires; the
	// previous-key series exist for these portals.
	PreviousKeys map[string]time.Time
	// Store is read at scrape time for the outbox gauges; nil: no outbox gauges.
	Store StatsReader
	// StatsTimeout bounds one read of Store. Default 2s.
	StatsTimeout time.Duration
	// StatsMaxAge is how long a read of Store is reused by later scrapes. Default 5s.
	StatsMaxAge time.Duration
	// Version is the build's version, a label of amtsbote_build_info.
	Version string
	// Logger receives failures to read the store (on change only). Default: discard.
	Logger *slog.Logger
	// Now is the clock of the age gauges and the stats cache. Default time.Now.
	Now func() time.Time
}

// Metrics holds Amtsbote's collectors in a registry of its own. Its methods
// are safe for concurrent use.
type Metrics struct {
	reg *prometheus.Registry
	// series are the configured topics and routes, replaced as a whole by
	// Reconfigure (a reload); the collectors read them at scrape time.
	series *atomic.Pointer[series]
	// previousKeys: portals with a previous API key.
	previousKeys map[string]bool

	submissions     *prometheus.CounterVec
	intake          *prometheus.HistogramVec
	attempts        *prometheus.CounterVec
	deliveries      *prometheus.CounterVec
	attemptDuration *prometheus.HistogramVec
	latency         *prometheus.HistogramVec
	unrecorded      *prometheus.CounterVec
	previousKeyUse  *prometheus.CounterVec
	configGen       prometheus.Gauge
	reloads         *prometheus.CounterVec
	// identityRefused counts refused identity tokens by portal and reason.
	identityRefused *prometheus.CounterVec
}

// topicLabels are the label values of one topic.
type topicLabels struct{ tenant, procedure, destination string }

func (l topicLabels) values() []string { return []string{l.tenant, l.procedure, l.destination} }

// labelsOf splits a topic into tenant, procedure and destination:
// "musterstadt/~mail/office" gives procedure "~mail", "~portal/p1/callback"
// gives tenant "~portal" and procedure "p1". A topic of fewer parts is the
// destination alone.
func labelsOf(topic string) topicLabels {
	parts := strings.SplitN(topic, "/", 3)
	if len(parts) != 3 {
		return topicLabels{destination: topic}
	}
	return topicLabels{parts[0], parts[1], parts[2]}
}

// topicLabelNames are the labels of per-topic series.
var topicLabelNames = []string{"tenant", "procedure", "destination"}

// New registers every collector but the relay's (RegisterRelay).
func New(cfg Config) (*Metrics, error) {
	if cfg.StatsTimeout <= 0 {
		cfg.StatsTimeout = 2 * time.Second
	}
	if cfg.StatsMaxAge <= 0 {
		cfg.StatsMaxAge = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Version == "" {
		cfg.Version = "dev"
	}
	m := &Metrics{
		reg:    prometheus.NewRegistry(),
		series: &atomic.Pointer[series]{},

		previousKeys: make(map[string]bool, len(cfg.PreviousKeys)),
		submissions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "submissions_total",
			Help: "Submissions (POST /v1/submissions) answered, by tenant, procedure and outcome (accepted, replayed, rejected, unavailable, error). Tenant and procedure are empty when the request named no configured route the portal may use.",
		}, []string{"tenant", "procedure", "outcome"}),
		intake: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "intake_duration_seconds",
			Help:    "Time from receiving a portal API request to its answer, by route pattern (\"unmatched\" for unknown paths and while draining).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "delivery_attempts_total",
			Help: "Delivery attempts whose outcome the relay recorded, by destination and outcome (delivered, retry, dead).",
		}, append(topicLabelNames, "outcome")),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "deliveries_total",
			Help: "Messages that reached a final state through a delivery attempt, by destination and outcome (delivered, dead).",
		}, append(topicLabelNames, "outcome")),
		attemptDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "delivery_attempt_duration_seconds",
			Help:    "Duration of one delivery attempt (including in-process blip retries), by destination.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, topicLabelNames),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "delivery_latency_seconds",
			Help: "Time from a message's acceptance (the 202) to its successful delivery, by destination.",
			Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 1800, 3600,
				4 * 3600, 12 * 3600, 86400, 3 * 86400, 7 * 86400},
		}, topicLabelNames),
		unrecorded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "delivery_outcomes_unrecorded_total",
			Help: "Delivery attempts whose outcome could not be recorded in the store (lease lost or database error); the message is attempted again.",
		}, topicLabelNames),
		previousKeyUse: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "portal_previous_key_requests_total",
			Help: "Requests a portal authenticated with its previous API key (portals[].previous_key) during a key rotation; once it stays at 0, the portal has changed over.",
		}, []string{"portal"}),
		identityRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "identity_tokens_refused_total",
			Help: "Submissions whose applicant identity token (portals[].identity_token) was missing or refused, by portal and reason (expired, audience, signature, ...).",
		}, []string{"portal", "reason"}),
	}
	m.Reconfigure(cfg.Topics, cfg.Routes)
	for _, o := range submissionOutcomes { // requests naming no configured route
		m.submissions.WithLabelValues("", "", o)
	}

	buildInfo := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "build_info",
		Help:        "Always 1; the labels name the running build.",
		ConstLabels: prometheus.Labels{"version": cfg.Version, "goversion": runtime.Version()},
	})
	buildInfo.Set(1)

	previousKeyExpiry := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "portal_previous_key_expiry_timestamp_seconds",
		Help: "When a portal's previous API key (portals[].previous_key) stops working, as a Unix time; only portals with one.",
	}, []string{"portal"})
	for portal, expires := range cfg.PreviousKeys {
		m.previousKeys[portal] = true
		m.previousKeyUse.WithLabelValues(portal)
		previousKeyExpiry.WithLabelValues(portal).Set(float64(expires.UnixNano()) / 1e9)
	}

	m.configGen = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "config_generation",
		Help: "Generation of the configuration in force: 1 at start, one more with every applied reload (SIGHUP, amtsbote reload).",
	})
	m.configGen.Set(1)
	m.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "config_reloads_total",
		Help: "Configuration reloads, by outcome: applied, or refused (invalid, needs a restart, or removing a destination with undelivered messages).",
	}, []string{"outcome"})
	m.reloads.WithLabelValues(ReloadApplied)
	m.reloads.WithLabelValues(ReloadRefused)

	cs := []prometheus.Collector{
		m.submissions, m.intake, m.attempts, m.deliveries, m.attemptDuration, m.latency, m.unrecorded, buildInfo,
		m.previousKeyUse, previousKeyExpiry, m.configGen, m.reloads, m.identityRefused,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	}
	if cfg.Store != nil {
		cs = append(cs, newStoreCollector(cfg, m.series))
	}
	for _, c := range cs {
		if err := m.reg.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: %w", err)
		}
	}
	return m, nil
}

// series are the label values of the configured topics and routes.
type series struct {
	topics map[string]topicLabels
	routes map[Route]bool
}

// Reconfigure replaces the configured topics and routes (a reload): from
// now on observations of these are counted and the gauges report them.
// The counters of new series start at 0; those of removed ones stay
// exported with their last values until the process restarts.
func (m *Metrics) Reconfigure(topics []string, routes []Route) {
	s := &series{topics: make(map[string]topicLabels, len(topics)), routes: make(map[Route]bool, len(routes))}
	for _, t := range topics {
		s.topics[t] = labelsOf(t)
	}
	for _, r := range routes {
		s.routes[r] = true
	}
	// Pre-initialise the counters of every configured series with 0, so that
	// rates and "no delivery in 15m" alerts see them from the start.
	for _, r := range routes {
		for _, o := range submissionOutcomes {
			m.submissions.WithLabelValues(r.Tenant, r.Procedure, o)
		}
	}
	for _, l := range s.topics {
		for _, o := range attemptOutcomes {
			m.attempts.WithLabelValues(append(l.values(), string(o))...)
		}
		m.deliveries.WithLabelValues(append(l.values(), DeliveryDelivered)...)
		m.deliveries.WithLabelValues(append(l.values(), DeliveryDead)...)
		m.unrecorded.WithLabelValues(l.values()...)
	}
	m.series.Store(s)
}

// Outcomes of config_reloads_total.
const (
	ReloadApplied = "applied"
	ReloadRefused = "refused"
)

// ObserveReload counts a configuration reload and, when it was applied,
// sets the generation now in force.
func (m *Metrics) ObserveReload(applied bool, generation int64) {
	if !applied {
		m.reloads.WithLabelValues(ReloadRefused).Inc()
		return
	}
	m.reloads.WithLabelValues(ReloadApplied).Inc()
	m.configGen.Set(float64(generation))
}

// Relay is the part of the outbox relay read at scrape time.
type Relay interface {
	CircuitState(topic string) outbox.CircuitState
	IsRunning() bool
}

// RegisterRelay adds the relay's circuit states and running state. Call it
// once, after the relay was built with ObserveAttempt as its observer.
func (m *Metrics) RegisterRelay(r Relay) error {
	if r == nil {
		return errors.New("metrics: relay is nil")
	}
	if err := m.reg.Register(&relayCollector{relay: r, series: m.series}); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	return nil
}

// Registry is the registry of every collector, for tests and for the handler.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.InstrumentMetricHandler(m.reg, promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		Registry:          m.reg,
		ErrorHandling:     promhttp.ContinueOnError,
		EnableOpenMetrics: true,
	}))
}

// Request is one answered portal API request, as the portal API's observer
// reports it. Its strings come from the configuration and the route table.
type Request struct {
	Route      string // the route pattern; empty for unknown paths and while draining
	Submission bool   // the request was a submission (POST /v1/submissions)
	Portal     string // the authenticated portal; empty when authentication failed
	// PreviousKey: the portal authenticated with its previous API key.
	PreviousKey bool
	Tenant      string // a configured tenant, once the request named one the portal may use
	Procedure   string // a configured procedure of that tenant
	Status      int
	Replayed    bool // an idempotent replay
	Duration    time.Duration
	// IdentityRefused is the reason the applicant's identity token was
	// missing or refused (a fixed vocabulary); empty otherwise.
	IdentityRefused string
}

// ObserveRequest counts a portal API request.
func (m *Metrics) ObserveRequest(r Request) {
	route := r.Route
	if route == "" {
		route = "unmatched"
	}
	m.intake.WithLabelValues(route).Observe(r.Duration.Seconds())
	if r.PreviousKey && m.previousKeys[r.Portal] {
		m.previousKeyUse.WithLabelValues(r.Portal).Inc()
	}
	if r.IdentityRefused != "" && r.Portal != "" {
		m.identityRefused.WithLabelValues(r.Portal, r.IdentityRefused).Inc()
	}
	if !r.Submission {
		return
	}
	rt := Route{Tenant: r.Tenant, Procedure: r.Procedure}
	if !m.series.Load().routes[rt] {
		rt = Route{}
	}
	m.submissions.WithLabelValues(rt.Tenant, rt.Procedure, submissionOutcome(r.Status, r.Replayed)).Inc()
}

// submissionOutcome classifies the answer to a submission.
func submissionOutcome(status int, replayed bool) string {
	switch {
	case status >= 200 && status < 300 && replayed:
		return SubmissionReplayed
	case status >= 200 && status < 300:
		return SubmissionAccepted
	case status == http.StatusServiceUnavailable:
		return SubmissionUnavailable
	case status >= 500:
		return SubmissionError
	}
	return SubmissionRejected
}

// ObserveAttempt counts one delivery attempt; it has the signature of
// outbox.SubscriberConfig.Observe. m is the message as claimed, c the
// attempt's outcome, err set when the outcome could not be recorded.
// Attempts of topics that are not configured are dropped.
func (m *Metrics) ObserveAttempt(msg outbox.Message, c outbox.Completion, err error) {
	l, ok := m.series.Load().topics[msg.Topic]
	if !ok {
		return
	}
	lv := l.values()
	if err != nil {
		m.unrecorded.WithLabelValues(lv...).Inc()
		return
	}
	switch c.Outcome {
	case outbox.OutcomeDelivered, outbox.OutcomeRetry, outbox.OutcomeDead, outbox.OutcomeUnknown:
	default:
		return
	}
	m.attempts.WithLabelValues(append(lv, string(c.Outcome))...).Inc()
	if d := c.FinishedAt.Sub(c.StartedAt); !c.StartedAt.IsZero() && d >= 0 {
		m.attemptDuration.WithLabelValues(lv...).Observe(d.Seconds())
	}
	switch c.Outcome {
	case outbox.OutcomeDelivered:
		m.deliveries.WithLabelValues(append(lv, DeliveryDelivered)...).Inc()
		if d := c.FinishedAt.Sub(msg.CreatedAt); !msg.CreatedAt.IsZero() && d >= 0 {
			m.latency.WithLabelValues(lv...).Observe(d.Seconds())
		}
	case outbox.OutcomeDead:
		m.deliveries.WithLabelValues(append(lv, DeliveryDead)...).Inc()
	}
}
