package metrics

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// FitConnect counts what the FIT-Connect subscribers and destinations do
// (the amtsbote_fitconnect_* metrics). It implements fitconnect.Observer;
// its labels are configured subscriber and destination ids and fixed
// kinds.
type FitConnect struct {
	polls     *prometheus.CounterVec
	fetched   *prometheus.CounterVec
	accepted  *prometheus.CounterVec
	rejected  *prometheus.CounterVec
	errors    *prometheus.CounterVec
	waiting   *prometheus.GaugeVec
	oldest    *prometheus.GaugeVec
	cases     *prometheus.CounterVec
	callbacks *prometheus.CounterVec
}

// FitConnect error kinds and case events pre-initialised with 0.
var (
	fitconnectErrorKinds = []string{"api", "token", "store", "conflict", "callback", "event"}
	fitconnectCaseEvents = []string{"accept", "reject"}
)

// Callbacks of FIT-Connect: a subscriber receives new_submissions, a
// destination new_events.
const (
	fitconnectNewSubmissions = "new_submissions"
	fitconnectNewEvents      = "new_events"
)

// RegisterFitConnect registers the FIT-Connect collectors with series for
// the subscribers and the fitconnect destinations (topics) and returns
// their observer.
func (m *Metrics) RegisterFitConnect(subscribers, destinations []string) (*FitConnect, error) {
	f := &FitConnect{
		polls: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "fitconnect_polls_total",
			Help: "Polls of a FIT-Connect subscriber for submissions ready for pickup, by outcome (ok, error)."}, []string{"subscriber", "outcome"}),
		fetched: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "fitconnect_fetched_total",
			Help: "FIT-Connect submissions fetched, decrypted and checked."}, []string{"subscriber"}),
		accepted: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "fitconnect_accepted_total",
			Help: "FIT-Connect submissions stored, their accept-submission event queued."}, []string{"subscriber"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "fitconnect_rejected_total",
			Help: "FIT-Connect submissions rejected, their reject-submission event queued, by problem type."}, []string{"subscriber", "problem"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "fitconnect_errors_total",
			Help: "FIT-Connect failures by kind: api (the Zustelldienst), token, store, conflict, callback (refused callbacks), event (events that do not verify)."}, []string{"subscriber", "kind"}),
		waiting: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: Namespace, Name: "fitconnect_waiting_submissions",
			Help: "FIT-Connect submissions ready for pickup at the last poll (also those whose accept event is still queued)."}, []string{"subscriber"}),
		oldest: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: Namespace, Name: "fitconnect_oldest_waiting_seconds",
			Help: "How long the oldest submission ready for pickup has been waiting at the Zustelldienst since it was submitted (0: none, or not yet known)."}, []string{"subscriber"}),
		cases: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "fitconnect_case_events_total",
			Help: "Decisions of FIT-Connect recipients on submissions Amtsbote sent, by destination and event (accept, reject)."}, []string{"destination", "event"}),
		callbacks: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "fitconnect_callbacks_total",
			Help: "Callbacks of the Zustelldienst by receiver (subscriber or destination), callback (new_submissions, new_events) and outcome (ok, refused)."}, []string{"receiver", "callback", "outcome"}),
	}
	for _, s := range subscribers {
		f.polls.WithLabelValues(s, "ok")
		f.polls.WithLabelValues(s, "error")
		f.fetched.WithLabelValues(s)
		f.accepted.WithLabelValues(s)
		f.waiting.WithLabelValues(s)
		f.oldest.WithLabelValues(s)
		for _, k := range fitconnectErrorKinds {
			f.errors.WithLabelValues(s, k)
		}
		f.callbacks.WithLabelValues(s, fitconnectNewSubmissions, "ok")
		f.callbacks.WithLabelValues(s, fitconnectNewSubmissions, "refused")
	}
	for _, d := range destinations {
		for _, e := range fitconnectCaseEvents {
			f.cases.WithLabelValues(d, e)
		}
		f.errors.WithLabelValues(d, "event")
		f.errors.WithLabelValues(d, "callback")
		f.callbacks.WithLabelValues(d, fitconnectNewEvents, "ok")
		f.callbacks.WithLabelValues(d, fitconnectNewEvents, "refused")
	}
	for _, c := range []prometheus.Collector{f.polls, f.fetched, f.accepted, f.rejected, f.errors, f.waiting, f.oldest, f.cases, f.callbacks} {
		if err := m.reg.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: %w", err)
		}
	}
	return f, nil
}

// Polled counts a poll.
func (f *FitConnect) Polled(subscriber string, ok bool) {
	o := "ok"
	if !ok {
		o = "error"
	}
	f.polls.WithLabelValues(subscriber, o).Inc()
}

// Fetched counts a fetched submission.
func (f *FitConnect) Fetched(subscriber string) { f.fetched.WithLabelValues(subscriber).Inc() }

// Accepted counts an accepted submission.
func (f *FitConnect) Accepted(subscriber string) { f.accepted.WithLabelValues(subscriber).Inc() }

// Rejected counts a rejected submission by problem type (the last part of
// its URI, one of a fixed set).
func (f *FitConnect) Rejected(subscriber, problem string) {
	f.rejected.WithLabelValues(subscriber, problem).Inc()
}

// Error counts a failure.
func (f *FitConnect) Error(subscriber, kind string) { f.errors.WithLabelValues(subscriber, kind).Inc() }

// Waiting sets the waiting gauges.
func (f *FitConnect) Waiting(subscriber string, count int, oldest time.Duration) {
	f.waiting.WithLabelValues(subscriber).Set(float64(count))
	f.oldest.WithLabelValues(subscriber).Set(oldest.Seconds())
}

// CaseEvent counts a recipient's decision.
func (f *FitConnect) CaseEvent(destination, event string) {
	f.cases.WithLabelValues(destination, event).Inc()
}

// Callback counts a callback received, verified (ok) or refused.
func (f *FitConnect) Callback(receiver, callback string, ok bool) {
	o := "ok"
	if !ok {
		o = "refused"
	}
	f.callbacks.WithLabelValues(receiver, callback, o).Inc()
}
