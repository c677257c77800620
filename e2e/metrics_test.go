package e2e

import (
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestMetricsAfterTraffic runs the binary with an HTTP destination whose
// receiver accepts one submission at once, asks for a pause on the first
// attempt of the second (a recorded retry, then delivered) and rejects the
// third (dead). It then scrapes /metrics and checks the value of every
// Amtsbote series, and the health probes, also during shutdown.
func TestMetricsAfterTraffic(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	mode := "ok"
	seen := map[string]int{} // requests per message id
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		mu.Lock()
		defer mu.Unlock()
		id := r.Header.Get("X-Amtsbote-Message-Id")
		seen[id]++
		switch {
		case mode == "pause" && seen[id] == 1:
			w.Header().Set("Retry-After", "1")
			http.Error(w, "busy", http.StatusServiceUnavailable)
		case mode == "reject":
			http.Error(w, "unknown Meldebehörde", http.StatusBadRequest)
		}
	}))
	defer receiver.Close()
	setMode := func(m string) { mu.Lock(); mode = m; mu.Unlock() }

	dir := t.TempDir()
	text := httpConfig(dir, "metrics-key", receiver.URL+"/eingang", "10s")
	text = strings.Replace(text, "shutdown_timeout: 5s", "shutdown_timeout: 5s\n  drain_delay: 2s", 1)
	metricsAddr := freeAddr(t)
	p := start(t, dir, nil, "--config", writeConfig(t, dir, text), "--metrics-listen", metricsAddr)

	submit := func(key string) string {
		code, body := p.post(t, "metrics-key", key, demoBody(t))
		if code != http.StatusAccepted {
			t.Fatalf("POST %s: %d %v", key, code, body)
		}
		return body["id"].(string)
	}
	waitState := func(id, want string) map[string]any {
		var d map[string]any
		waitFor(t, 20*time.Second, id+" "+want, func() bool {
			d = destination(t, p.status(t, "metrics-key", id))
			return d["state"] == want || (want == "dead" && d["state"] == "failed")
		})
		return d
	}

	ok := submit("m-ok")
	waitState(ok, "delivered")
	setMode("pause")
	paused := submit("m-pause")
	if d := waitState(paused, "delivered"); d["attempts"] != 2.0 {
		t.Fatalf("paused submission: %v, want 2 attempts", d)
	}
	setMode("reject")
	rejected := submit("m-reject")
	if d := waitState(rejected, "dead"); d["attempts"] != 1.0 {
		t.Fatalf("rejected submission: %v, want 1 attempt", d)
	}
	if code, _ := p.post(t, "metrics-key", "m-ok", demoBody(t)); code != http.StatusAccepted {
		t.Fatalf("idempotent replay: %d", code)
	}
	if code, _ := p.post(t, "wrong-key", "", demoBody(t)); code != http.StatusUnauthorized {
		t.Fatalf("wrong key: %d", code)
	}

	fv := `destination="fachverfahren",procedure="meldewesen.wohnungsgeberbestaetigung",tenant="musterstadt"`
	route := `procedure="meldewesen.wohnungsgeberbestaetigung",tenant="musterstadt"`
	want := map[string]float64{
		`amtsbote_submissions_total{outcome="accepted",` + route + `}`:          3,
		`amtsbote_submissions_total{outcome="replayed",` + route + `}`:          1,
		`amtsbote_submissions_total{outcome="rejected",` + route + `}`:          0,
		`amtsbote_submissions_total{outcome="error",` + route + `}`:             0,
		`amtsbote_submissions_total{outcome="unavailable",` + route + `}`:       0,
		`amtsbote_submissions_total{outcome="rejected",procedure="",tenant=""}`: 1,
		`amtsbote_submissions_total{outcome="accepted",procedure="",tenant=""}`: 0,
		`amtsbote_delivery_attempts_total{` + fv + `,outcome="delivered"}`:      2,
		`amtsbote_delivery_attempts_total{` + fv + `,outcome="retry"}`:          1,
		`amtsbote_delivery_attempts_total{` + fv + `,outcome="dead"}`:           1,
		`amtsbote_deliveries_total{` + fv + `,outcome="delivered"}`:             2,
		`amtsbote_deliveries_total{` + fv + `,outcome="dead"}`:                  1,
		`amtsbote_delivery_outcomes_unrecorded_total{` + fv + `}`:               0,
		`amtsbote_delivery_attempt_duration_seconds_count{` + fv + `}`:          4,
		`amtsbote_delivery_latency_seconds_count{` + fv + `}`:                   2,
		`amtsbote_intake_duration_seconds_count{route="POST /v1/submissions"}`:  5,
		`amtsbote_outbox_pending_messages{` + fv + `}`:                          0,
		`amtsbote_outbox_retrying_messages{` + fv + `}`:                         0,
		`amtsbote_outbox_dead_messages{` + fv + `}`:                             1,
		`amtsbote_outbox_oldest_pending_age_seconds{` + fv + `}`:                0,
		`amtsbote_outbox_stats_up`:                                              1,
		`amtsbote_circuit_state{` + fv + `,state="closed"}`:                     1,
		`amtsbote_circuit_state{` + fv + `,state="open"}`:                       0,
		`amtsbote_circuit_state{` + fv + `,state="half-open"}`:                  0,
		`amtsbote_relay_running`:                                                1,
	}
	var got map[string]float64
	// The outbox gauges are cached for a few seconds: scrape until they
	// show the dead message, then compare everything.
	waitFor(t, 15*time.Second, "outbox gauges with the dead message", func() bool {
		got = scrape(t, "http://"+metricsAddr+"/metrics")
		return got[`amtsbote_outbox_dead_messages{`+fv+`}`] == 1
	})
	for k, w := range want {
		k = sortedLabels(k)
		if v, ok := got[k]; !ok || v != w {
			t.Errorf("%s = %v (present %v), want %v", k, v, ok, w)
		}
	}
	// The paused message waited at least a second (Retry-After) before its delivery.
	if s := got[sortedLabels(`amtsbote_delivery_latency_seconds_sum{`+fv+`}`)]; s < 1 {
		t.Errorf("latency sum %v, want at least the 1s pause", s)
	}
	if v := got[`amtsbote_build_info{goversion="`+goVersion(got)+`",version="dev"}`]; v != 1 {
		t.Errorf("amtsbote_build_info: %v", got)
	}
	// No series of another tenant, procedure or destination.
	for k := range got {
		if strings.HasPrefix(k, "amtsbote_") && strings.Contains(k, "destination=") &&
			!(strings.Contains(k, `destination="fachverfahren"`) && strings.Contains(k, `procedure="meldewesen.wohnungsgeberbestaetigung"`) &&
				strings.Contains(k, `tenant="musterstadt"`)) {
			t.Errorf("unexpected series %s", k)
		}
	}

	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get("http://" + metricsAddr + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
	}
	// The portal listener also serves the API description.
	resp, err := http.Get("http://" + p.addr + "/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/yaml" {
		t.Fatalf("/openapi.yaml: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}

	// SIGTERM: during the drain delay /readyz says 503 while /healthz still answers.
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "/readyz 503 after SIGTERM", func() bool {
		resp, err := http.Get("http://" + metricsAddr + "/readyz")
		if err != nil {
			t.Fatalf("/readyz refused before it said 503: %v", err)
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusServiceUnavailable
	})
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		t.Fatal("no exit within 60s after SIGTERM")
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	if logs := p.stderr.String(); strings.Contains(logs, "Größmann") {
		t.Errorf("logs contain personal data")
	}
}

// scrape reads an exposition into name{sorted labels} -> value; histograms
// as name_count and name_sum.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse %s: %v", url, err)
	}
	out := map[string]float64{}
	for name, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := func(n string) string { return n + labelString(m.GetLabel()) }
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				out[key(name)] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				out[key(name)] = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				out[key(name+"_count")] = float64(m.GetHistogram().GetSampleCount())
				out[key(name+"_sum")] = m.GetHistogram().GetSampleSum()
			default:
				out[key(name)] = math.NaN()
			}
		}
	}
	return out
}

// labelString writes labels as {a="b",...}, sorted as the parser returns them.
func labelString(ls []*dto.LabelPair) string {
	if len(ls) == 0 {
		return ""
	}
	parts := make([]string, len(ls))
	for i, l := range ls {
		parts[i] = l.GetName() + `="` + l.GetValue() + `"`
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// sortedLabels returns name{labels} with the labels sorted by name, as
// labelString writes them. Label values must not contain commas.
func sortedLabels(sel string) string {
	name, rest, ok := strings.Cut(sel, "{")
	if !ok {
		return sel
	}
	pairs := strings.Split(strings.TrimSuffix(rest, "}"), ",")
	slices.Sort(pairs)
	return name + "{" + strings.Join(pairs, ",") + "}"
}

// goVersion returns the goversion label of amtsbote_build_info.
func goVersion(got map[string]float64) string {
	for k := range got {
		if v, ok := strings.CutPrefix(k, `amtsbote_build_info{goversion="`); ok {
			return v[:strings.Index(v, `"`)]
		}
	}
	return ""
}
