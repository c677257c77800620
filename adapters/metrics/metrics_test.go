package metrics_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/amtsbote/amtsbote/adapters/metrics"
	"github.com/amtsbote/amtsbote/outbox"
)

const (
	topicFV   = "musterstadt/meldewesen.wohnungsgeberbestaetigung/fachverfahren"
	topicMail = "musterstadt/~mail/office"
)

// fakeStore serves fixed counts and counts its reads.
type fakeStore struct {
	mu    sync.Mutex
	stats []outbox.TopicStats
	err   error
	reads int
}

func (s *fakeStore) Stats(context.Context) ([]outbox.TopicStats, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	return s.stats, s.err
}

type fakeRelay struct {
	running bool
	states  map[string]outbox.CircuitState
}

func (r fakeRelay) CircuitState(topic string) outbox.CircuitState { return r.states[topic] }
func (r fakeRelay) IsRunning() bool                               { return r.running }

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func newMetrics(t *testing.T, st *fakeStore, clk *clock) *metrics.Metrics {
	t.Helper()
	m, err := metrics.New(metrics.Config{
		Topics: []string{topicFV, topicMail},
		Routes: []metrics.Route{{Tenant: "musterstadt", Procedure: "meldewesen.wohnungsgeberbestaetigung"}},
		// buergerportal is changing over to a new key; the old one expires
		// on 2026-12-31 at 00:00 CET.
		PreviousKeys: map[string]time.Time{"buergerportal": time.Date(2026, 12, 30, 23, 0, 0, 0, time.UTC)},
		Store:        st,
		Version:      "1.2.3",
		Now:          clk.now,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.RegisterRelay(fakeRelay{running: true, states: map[string]outbox.CircuitState{topicFV: outbox.CircuitOpen}}); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestSeriesValues feeds requests and attempts, some of them for
// unconfigured routes and topics, and checks every Amtsbote series.
func TestSeriesValues(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)}
	st := &fakeStore{stats: []outbox.TopicStats{
		{Topic: topicFV, Pending: 3, Retrying: 1, Dead: 2, OldestPending: clk.t.Add(-90 * time.Second)},
		{Topic: "elsewhere/x.y/z", Pending: 7}, // not configured: dropped
	}}
	m := newMetrics(t, st, clk)

	submit := func(tenant, procedure string, status int, replayed bool) {
		m.ObserveRequest(metrics.Request{Route: "POST /v1/submissions", Submission: true, Tenant: tenant,
			Procedure: procedure, Status: status, Replayed: replayed, Duration: 20 * time.Millisecond})
	}
	submit("musterstadt", "meldewesen.wohnungsgeberbestaetigung", 202, false)
	submit("musterstadt", "meldewesen.wohnungsgeberbestaetigung", 202, false)
	submit("musterstadt", "meldewesen.wohnungsgeberbestaetigung", 202, true)
	submit("musterstadt", "meldewesen.wohnungsgeberbestaetigung", 422, false)
	submit("", "", 401, false)
	submit("musterstadt", "nicht.konfiguriert", 503, false) // not a configured route: empty labels
	submit("", "", 500, false)
	m.ObserveRequest(metrics.Request{Route: "GET /v1/submissions/{id}", Status: 200, Duration: time.Millisecond})
	m.ObserveRequest(metrics.Request{Status: 404, Duration: time.Millisecond})
	for _, r := range []metrics.Request{
		{Route: "GET /v1/submissions/{id}", Portal: "buergerportal", PreviousKey: true, Status: 200},
		{Route: "GET /v1/submissions/{id}", Portal: "buergerportal", Status: 200}, // its new key
		{Route: "POST /v1/submissions", Submission: true, Portal: "buergerportal", PreviousKey: true, Status: 422},
		{Route: "GET /v1/submissions/{id}", Portal: "unconfigured", PreviousKey: true, Status: 200}, // dropped
	} {
		r.Duration = time.Millisecond
		m.ObserveRequest(r)
	}

	created := clk.t.Add(-10 * time.Second)
	attempt := func(topic string, o outbox.Outcome, err error) {
		m.ObserveAttempt(outbox.Message{Topic: topic, CreatedAt: created},
			outbox.Completion{Topic: topic, Outcome: o, StartedAt: clk.t.Add(-time.Second), FinishedAt: clk.t}, err)
	}
	attempt(topicFV, outbox.OutcomeRetry, nil)
	attempt(topicFV, outbox.OutcomeRetry, nil)
	attempt(topicFV, outbox.OutcomeDelivered, nil)
	attempt(topicFV, outbox.OutcomeDead, nil)
	attempt(topicMail, outbox.OutcomeDelivered, nil)
	attempt(topicFV, outbox.OutcomeDelivered, outbox.ErrLeaseLost) // not recorded
	attempt("other/x.y/z", outbox.OutcomeDelivered, nil)           // not configured: dropped
	// An attempt of a lost process, as the recovering relay observes it.
	m.ObserveAttempt(outbox.Message{Topic: topicFV}, outbox.Completion{Topic: topicFV, Outcome: outbox.OutcomeUnknown}, nil)

	fv, mail := topicFV, topicMail
	want := `
# HELP amtsbote_submissions_total x
# TYPE amtsbote_submissions_total counter
amtsbote_submissions_total{outcome="accepted",procedure="",tenant=""} 0
amtsbote_submissions_total{outcome="error",procedure="",tenant=""} 1
amtsbote_submissions_total{outcome="rejected",procedure="",tenant=""} 2
amtsbote_submissions_total{outcome="replayed",procedure="",tenant=""} 0
amtsbote_submissions_total{outcome="unavailable",procedure="",tenant=""} 1
amtsbote_submissions_total{outcome="accepted",procedure="meldewesen.wohnungsgeberbestaetigung",tenant="musterstadt"} 2
amtsbote_submissions_total{outcome="error",procedure="meldewesen.wohnungsgeberbestaetigung",tenant="musterstadt"} 0
amtsbote_submissions_total{outcome="rejected",procedure="meldewesen.wohnungsgeberbestaetigung",tenant="musterstadt"} 1
amtsbote_submissions_total{outcome="replayed",procedure="meldewesen.wohnungsgeberbestaetigung",tenant="musterstadt"} 1
amtsbote_submissions_total{outcome="unavailable",procedure="meldewesen.wohnungsgeberbestaetigung",tenant="musterstadt"} 0
# HELP amtsbote_delivery_attempts_total x
# TYPE amtsbote_delivery_attempts_total counter
amtsbote_delivery_attempts_total` + sel(fv, "outcome", "dead") + ` 1
amtsbote_delivery_attempts_total` + sel(fv, "outcome", "delivered") + ` 1
amtsbote_delivery_attempts_total` + sel(fv, "outcome", "retry") + ` 2
amtsbote_delivery_attempts_total` + sel(fv, "outcome", "unknown") + ` 1
amtsbote_delivery_attempts_total` + sel(mail, "outcome", "dead") + ` 0
amtsbote_delivery_attempts_total` + sel(mail, "outcome", "delivered") + ` 1
amtsbote_delivery_attempts_total` + sel(mail, "outcome", "retry") + ` 0
amtsbote_delivery_attempts_total` + sel(mail, "outcome", "unknown") + ` 0
# HELP amtsbote_deliveries_total x
# TYPE amtsbote_deliveries_total counter
amtsbote_deliveries_total` + sel(fv, "outcome", "dead") + ` 1
amtsbote_deliveries_total` + sel(fv, "outcome", "delivered") + ` 1
amtsbote_deliveries_total` + sel(mail, "outcome", "dead") + ` 0
amtsbote_deliveries_total` + sel(mail, "outcome", "delivered") + ` 1
# HELP amtsbote_delivery_outcomes_unrecorded_total x
# TYPE amtsbote_delivery_outcomes_unrecorded_total counter
amtsbote_delivery_outcomes_unrecorded_total` + sel(fv) + ` 1
amtsbote_delivery_outcomes_unrecorded_total` + sel(mail) + ` 0
# HELP amtsbote_outbox_pending_messages x
# TYPE amtsbote_outbox_pending_messages gauge
amtsbote_outbox_pending_messages` + sel(fv) + ` 3
amtsbote_outbox_pending_messages` + sel(mail) + ` 0
# HELP amtsbote_outbox_retrying_messages x
# TYPE amtsbote_outbox_retrying_messages gauge
amtsbote_outbox_retrying_messages` + sel(fv) + ` 1
amtsbote_outbox_retrying_messages` + sel(mail) + ` 0
# HELP amtsbote_outbox_dead_messages x
# TYPE amtsbote_outbox_dead_messages gauge
amtsbote_outbox_dead_messages` + sel(fv) + ` 2
amtsbote_outbox_dead_messages` + sel(mail) + ` 0
# HELP amtsbote_outbox_oldest_pending_age_seconds x
# TYPE amtsbote_outbox_oldest_pending_age_seconds gauge
amtsbote_outbox_oldest_pending_age_seconds` + sel(fv) + ` 90
amtsbote_outbox_oldest_pending_age_seconds` + sel(mail) + ` 0
# HELP amtsbote_outbox_stats_up x
# TYPE amtsbote_outbox_stats_up gauge
amtsbote_outbox_stats_up 1
# HELP amtsbote_circuit_state x
# TYPE amtsbote_circuit_state gauge
amtsbote_circuit_state` + sel(fv, "state", "closed") + ` 0
amtsbote_circuit_state` + sel(fv, "state", "half-open") + ` 0
amtsbote_circuit_state` + sel(fv, "state", "open") + ` 1
amtsbote_circuit_state` + sel(mail, "state", "closed") + ` 1
amtsbote_circuit_state` + sel(mail, "state", "half-open") + ` 0
amtsbote_circuit_state` + sel(mail, "state", "open") + ` 0
# HELP amtsbote_relay_running x
# TYPE amtsbote_relay_running gauge
amtsbote_relay_running 1
# HELP amtsbote_portal_previous_key_requests_total x
# TYPE amtsbote_portal_previous_key_requests_total counter
amtsbote_portal_previous_key_requests_total{portal="buergerportal"} 2
# HELP amtsbote_portal_previous_key_expiry_timestamp_seconds x
# TYPE amtsbote_portal_previous_key_expiry_timestamp_seconds gauge
amtsbote_portal_previous_key_expiry_timestamp_seconds{portal="buergerportal"} 1.7986716e+09
`
	names := []string{"amtsbote_submissions_total", "amtsbote_delivery_attempts_total", "amtsbote_deliveries_total",
		"amtsbote_delivery_outcomes_unrecorded_total", "amtsbote_outbox_pending_messages", "amtsbote_outbox_retrying_messages",
		"amtsbote_outbox_dead_messages", "amtsbote_outbox_oldest_pending_age_seconds", "amtsbote_outbox_stats_up",
		"amtsbote_circuit_state", "amtsbote_relay_running",
		"amtsbote_portal_previous_key_requests_total", "amtsbote_portal_previous_key_expiry_timestamp_seconds"}
	if err := testutil.GatherAndCompare(ignoreHelp{m}, strings.NewReader(want), names...); err != nil {
		t.Fatal(err)
	}

	// Histograms: counts and sums.
	for _, c := range []struct {
		name  string
		count uint64
		sum   float64
	}{
		{`amtsbote_intake_duration_seconds{route="POST /v1/submissions"}`, 8, 7*0.02 + 0.001},
		{`amtsbote_intake_duration_seconds{route="GET /v1/submissions/{id}"}`, 4, 0.004},
		{`amtsbote_intake_duration_seconds{route="unmatched"}`, 1, 0.001},
		{`amtsbote_delivery_attempt_duration_seconds` + sel(fv) + ``, 4, 4},
		{`amtsbote_delivery_latency_seconds` + sel(fv) + ``, 1, 10},
		{`amtsbote_delivery_latency_seconds` + sel(mail) + ``, 1, 10},
	} {
		count, sum := histogram(t, m, c.name)
		if count != c.count || sum < c.sum-1e-9 || sum > c.sum+1e-9 {
			t.Errorf("%s: count %d sum %g, want %d and %g", c.name, count, sum, c.count, c.sum)
		}
	}
	if n := testutil.CollectAndCount(m.Registry(), "amtsbote_build_info"); n != 1 {
		t.Errorf("amtsbote_build_info: %d series", n)
	}
}

// TestLint: every metric passes the client library's lint.
func TestLint(t *testing.T) {
	t.Parallel()
	m := newMetrics(t, &fakeStore{}, &clock{t: time.Now()})
	m.ObserveRequest(metrics.Request{Route: "POST /v1/submissions", Submission: true, Status: 202})
	m.ObserveAttempt(outbox.Message{Topic: topicFV, CreatedAt: time.Now()}, outbox.Completion{Outcome: outbox.OutcomeDelivered, StartedAt: time.Now(), FinishedAt: time.Now()}, nil)
	problems, err := testutil.GatherAndLint(m.Registry())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

// TestStoreCache: the store is read at most once per StatsMaxAge; a failed
// read drops the outbox gauges and sets amtsbote_outbox_stats_up to 0.
func TestStoreCache(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	st := &fakeStore{stats: []outbox.TopicStats{{Topic: topicFV, Pending: 1}}}
	m := newMetrics(t, st, clk)
	for range 3 {
		if v := gauge(t, m, "amtsbote_outbox_pending_messages", topicFV); v != 1 {
			t.Fatalf("pending %g, want 1", v)
		}
	}
	if st.reads != 1 {
		t.Fatalf("%d reads of the store within the cache time, want 1", st.reads)
	}
	st.mu.Lock()
	st.err = errors.New("database is down")
	st.mu.Unlock()
	clk.add(6 * time.Second)
	if n := testutil.CollectAndCount(m.Registry(), "amtsbote_outbox_pending_messages"); n != 0 {
		t.Fatalf("%d pending series after a failed read, want none", n)
	}
	if v := testutil.ToFloat64(onlyMetric(t, m, "amtsbote_outbox_stats_up")); v != 0 {
		t.Fatalf("amtsbote_outbox_stats_up %g after a failed read", v)
	}
	if st.reads != 2 {
		t.Fatalf("%d reads, want 2", st.reads)
	}
}

// TestHealth: /healthz always answers; /readyz reports each check.
func TestHealth(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name     string
		db       fakeDB
		running  bool
		stopping bool
		want     int
		check    string
		value    string
	}{
		{"ready", fakeDB{applied: true}, true, false, 200, "database", "ok"},
		{"database down", fakeDB{pingErr: errors.New("connection refused")}, true, false, 503, "database", "unreachable"},
		{"migrations missing", fakeDB{applied: false}, true, false, 503, "migrations", "not applied"},
		{"relay stopped", fakeDB{applied: true}, false, false, 503, "relay", "not running"},
		{"stopping", fakeDB{applied: true}, true, true, 503, "shutdown", "stopping"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := metrics.NewHealth(metrics.HealthConfig{Database: c.db, Relay: fakeRelay{running: c.running}})
			h.SetStopping(c.stopping)
			srv := httptest.NewServer(metrics.NewHandler(newMetrics(t, &fakeStore{}, &clock{t: time.Now()}), h))
			defer srv.Close()
			resp, err := http.Get(srv.URL + "/healthz")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("/healthz: %d", resp.StatusCode)
			}
			res := h.Check(context.Background())
			resp, err = http.Get(srv.URL + "/readyz")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != c.want || res.Checks[c.check] != c.value {
				t.Fatalf("/readyz: %d, checks %v; want %d and %s %q", resp.StatusCode, res.Checks, c.want, c.check, c.value)
			}
			if resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("/readyz Content-Type %q", resp.Header.Get("Content-Type"))
			}
		})
	}
}

type fakeDB struct {
	pingErr error
	applied bool
}

func (d fakeDB) Ping(context.Context) error                      { return d.pingErr }
func (d fakeDB) MigrationsApplied(context.Context) (bool, error) { return d.applied, nil }

// TestIdentityTokensRefused: refused identity tokens are counted by portal
// and reason; requests without a refusal or without a portal are not.
func TestIdentityTokensRefused(t *testing.T) {
	t.Parallel()
	m := newMetrics(t, &fakeStore{}, &clock{t: time.Now()})
	for _, r := range []metrics.Request{
		{Route: "POST /v1/submissions", Submission: true, Portal: "buergerportal", Status: 401, IdentityRefused: "expired"},
		{Route: "POST /v1/submissions", Submission: true, Portal: "buergerportal", Status: 401, IdentityRefused: "expired"},
		{Route: "POST /v1/submissions", Submission: true, Portal: "buergerportal", Status: 401, IdentityRefused: "audience"},
		{Route: "POST /v1/submissions", Submission: true, Portal: "buergerportal", Status: 202},
		{Route: "POST /v1/submissions", Submission: true, Status: 401, IdentityRefused: "missing"},
	} {
		m.ObserveRequest(r)
	}
	want := `
# HELP amtsbote_identity_tokens_refused_total x
# TYPE amtsbote_identity_tokens_refused_total counter
amtsbote_identity_tokens_refused_total{portal="buergerportal",reason="audience"} 1
amtsbote_identity_tokens_refused_total{portal="buergerportal",reason="expired"} 2
`
	if err := testutil.GatherAndCompare(ignoreHelp{m}, strings.NewReader(want), "amtsbote_identity_tokens_refused_total"); err != nil {
		t.Fatal(err)
	}
}
