package metrics_test

import (
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/amtsbote/amtsbote/adapters/metrics"
)

// ignoreHelp gathers m with every help text replaced by "x", so that expected
// expositions need not repeat them.
type ignoreHelp struct{ m *metrics.Metrics }

func (g ignoreHelp) Gather() ([]*dto.MetricFamily, error) {
	mfs, err := g.m.Registry().Gather()
	for _, mf := range mfs {
		x := "x"
		mf.Help = &x
	}
	return mfs, err
}

// family returns the gathered family name.
func family(t *testing.T, m *metrics.Metrics, name string) *dto.MetricFamily {
	t.Helper()
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf
		}
	}
	t.Fatalf("no metric %s", name)
	return nil
}

// histogram returns count and sum of the series sel, written as
// name{label="value",...} with the labels in any order.
func histogram(t *testing.T, m *metrics.Metrics, sel string) (uint64, float64) {
	t.Helper()
	name, labels := parseSelector(t, sel)
	for _, s := range family(t, m, name).GetMetric() {
		if matches(s, labels) {
			return s.GetHistogram().GetSampleCount(), s.GetHistogram().GetSampleSum()
		}
	}
	t.Fatalf("no series %s", sel)
	return 0, 0
}

// gauge returns the value of the gauge name of topic.
func gauge(t *testing.T, m *metrics.Metrics, name, topic string) float64 {
	t.Helper()
	want := topicLabels(topic)
	for _, s := range family(t, m, name).GetMetric() {
		if matches(s, want) {
			return s.GetGauge().GetValue()
		}
	}
	t.Fatalf("no series %s for %s", name, topic)
	return 0
}

// onlyMetric collects the single series of name as a collector for testutil.ToFloat64.
func onlyMetric(t *testing.T, m *metrics.Metrics, name string) prometheus.Collector {
	t.Helper()
	mf := family(t, m, name)
	if len(mf.GetMetric()) != 1 {
		t.Fatalf("%s has %d series", name, len(mf.GetMetric()))
	}
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: "copy"}, func() float64 {
		return mf.GetMetric()[0].GetGauge().GetValue()
	})
}

func matches(s *dto.Metric, want map[string]string) bool {
	got := map[string]string{}
	for _, lp := range s.GetLabel() {
		got[lp.GetName()] = lp.GetValue()
	}
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

var labelPair = regexp.MustCompile(`(\w+)="([^"]*)"`)

// parseSelector splits name{a="b",...} into the name and its labels.
func parseSelector(t *testing.T, sel string) (string, map[string]string) {
	t.Helper()
	name, rest, ok := strings.Cut(sel, "{")
	labels := map[string]string{}
	if !ok {
		return name, labels
	}
	for _, m := range labelPair.FindAllStringSubmatch(strings.TrimSuffix(rest, "}"), -1) {
		labels[m[1]] = m[2]
	}
	return name, labels
}

// topicLabels are the labels of a three-part topic.
func topicLabels(topic string) map[string]string {
	p := strings.SplitN(topic, "/", 3)
	return map[string]string{"tenant": p[0], "procedure": p[1], "destination": p[2]}
}

// sel writes the labels of topic and the extra name-value pairs as a
// selector, sorted by name as the exposition format has them.
func sel(topic string, extra ...string) string {
	labels := topicLabels(topic)
	for i := 0; i+1 < len(extra); i += 2 {
		labels[extra[i]] = extra[i+1]
	}
	names := make([]string, 0, len(labels))
	for k := range labels {
		names = append(names, k)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = k + `="` + labels[k] + `"`
	}
	return "{" + strings.Join(parts, ",") + "}"
}
