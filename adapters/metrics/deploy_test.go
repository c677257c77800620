package metrics_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/amtsbote/amtsbote/adapters/metrics"
	"github.com/amtsbote/amtsbote/outbox"
)

const (
	dashboardFile = "../../deploy/grafana/amtsbote-dashboard.json"
	rulesFile     = "../../deploy/prometheus/amtsbote.rules.yaml"
	rulesTestFile = "../../deploy/prometheus/amtsbote.rules.test.yaml"
	runbooksFile  = "../../docs/runbooks.md"
)

// exposedNames gathers a Metrics with every collector registered and one
// observation of each kind, and returns the names Prometheus stores:
// histograms as name_bucket, name_sum and name_count.
func exposedNames(t *testing.T) map[string]bool {
	t.Helper()
	clk := &clock{t: time.Now()}
	m := newMetrics(t, &fakeStore{}, clk)
	m.ObserveRequest(metrics.Request{Route: "POST /v1/submissions", Submission: true, Status: 202})
	m.ObserveRequest(metrics.Request{Route: "POST /v1/submissions", Submission: true, Portal: "buergerportal", Status: 401, IdentityRefused: "audience"})
	m.ObserveAttempt(outbox.Message{Topic: topicFV, CreatedAt: clk.t}, outbox.Completion{Outcome: outbox.OutcomeDelivered, StartedAt: clk.t, FinishedAt: clk.t}, nil)
	fc, err := m.RegisterFitConnect([]string{"musterstadt"}, []string{topicFV})
	if err != nil {
		t.Fatal(err)
	}
	fc.Rejected("musterstadt", "hash-mismatch")
	if _, err := m.RegisterAnswers(&unmatchedStore{counts: map[string]int{}}, []string{"musterstadt"}, []string{"http"}, nil); err != nil {
		t.Fatal(err)
	}
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
		if mf.GetType().String() == "HISTOGRAM" {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				names[mf.GetName()+s] = true
			}
		}
	}
	return names
}

// metricName matches the metric names of Amtsbote in PromQL; label names
// and values never start with amtsbote_.
var metricName = regexp.MustCompile(`\bamtsbote_[a-z0-9_]+\b`)

// checkQuery reports a query that names no metric or one that is not exposed.
func checkQuery(t *testing.T, where, expr string, exposed map[string]bool) {
	t.Helper()
	names := metricName.FindAllString(expr, -1)
	if len(names) == 0 {
		t.Errorf("%s: query names no amtsbote metric: %s", where, expr)
	}
	for _, n := range names {
		if !exposed[n] {
			t.Errorf("%s: metric %s does not exist (query %s)", where, n, expr)
		}
	}
}

// TestDashboard: the dashboard parses, every panel has a query, and every
// metric its queries name is one the registry exposes. With promtool, every
// query must also parse as PromQL.
func TestDashboard(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string `json:"title"`
		UID    string `json:"uid"`
		Panels []struct {
			Type    string `json:"type"`
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Name  string `json:"name"`
				Type  string `json:"type"`
				Query any    `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	if dash.Title == "" || dash.UID == "" || len(dash.Panels) == 0 {
		t.Fatalf("dashboard lacks title, uid or panels")
	}
	exposed := exposedNames(t)
	var exprs []string
	for _, p := range dash.Panels {
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			checkQuery(t, "panel "+p.Title, tg.Expr, exposed)
			exprs = append(exprs, tg.Expr)
		}
	}
	for _, v := range dash.Templating.List {
		if q, ok := v.Query.(string); ok && v.Type == "query" {
			checkQuery(t, "variable "+v.Name, q, exposed)
		}
	}
	// Every Amtsbote metric is on the dashboard.
	for name := range exposed {
		histogramPart := false
		for _, s := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(name, s); ok && exposed[base] {
				histogramPart = true
			}
		}
		if strings.HasPrefix(name, "amtsbote_") && !histogramPart && !strings.Contains(string(raw), name) {
			t.Errorf("metric %s is not on the dashboard", name)
		}
	}

	promtool := promtoolPath(t)
	// promtool parses each query as the expression of a recording rule.
	var b strings.Builder
	b.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	for i, e := range exprs {
		q, _ := json.Marshal(e) // a JSON string is a YAML string
		fmt.Fprintf(&b, "      - record: dashboard:query%d\n        expr: %s\n", i, q)
	}
	path := filepath.Join(t.TempDir(), "dashboard.rules.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "check", "rules", path).CombinedOutput(); err != nil {
		t.Fatalf("dashboard queries are not valid PromQL: %v\n%s", err, out)
	}
}

// TestAlertRules: the rules file parses; every alert has a severity, a
// summary, a description and a runbook in docs/runbooks.md, and names only
// exposed metrics; the required alerts exist. With promtool, the file passes
// promtool check rules and its unit tests (promtool test rules).
func TestAlertRules(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				For         string            `yaml:"for"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	dec.KnownFields(true)
	if err := dec.Decode(&file); err != nil {
		t.Fatalf("rules YAML: %v", err)
	}
	runbooks, err := os.ReadFile(runbooksFile)
	if err != nil {
		t.Fatal(err)
	}
	anchors := markdownAnchors(string(runbooks))
	exposed := exposedNames(t)
	alerts := map[string]bool{}
	for _, g := range file.Groups {
		for _, r := range g.Rules {
			alerts[r.Alert] = true
			checkQuery(t, "alert "+r.Alert, r.Expr, exposed)
			if _, err := time.ParseDuration(r.For); err != nil {
				t.Errorf("alert %s: for %q: %v", r.Alert, r.For, err)
			}
			if s := r.Labels["severity"]; s != "warning" && s != "critical" {
				t.Errorf("alert %s: severity %q", r.Alert, s)
			}
			if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("alert %s: summary or description missing", r.Alert)
			}
			file, anchor, _ := strings.Cut(r.Annotations["runbook_url"], "#")
			if file != "docs/runbooks.md" || !anchors[anchor] {
				t.Errorf("alert %s: runbook_url %q is not a heading of %s", r.Alert, r.Annotations["runbook_url"], runbooksFile)
			}
		}
	}
	for _, want := range []string{"AmtsboteDestinationStalled", "AmtsboteDeadLetters", "AmtsboteIntakeErrors", "AmtsboteOldestPendingAge"} {
		if !alerts[want] {
			t.Errorf("alert %s is missing", want)
		}
	}

	promtool := promtoolPath(t)
	if out, err := exec.Command(promtool, "check", "rules", rulesFile).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
	cmd := exec.Command(promtool, "test", "rules", filepath.Base(rulesTestFile))
	cmd.Dir = filepath.Dir(rulesTestFile)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}
}

// promtoolPath returns promtool or skips the rest of the test: it comes
// with Prometheus (Debian: apt-get install prometheus).
func promtoolPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("promtool not found; .ci/run installs it (Debian package prometheus)")
		}
		t.Skip("promtool not found (Debian package prometheus): PromQL syntax and rule unit tests skipped")
	}
	return p
}

// markdownAnchors returns the GitHub anchors of the headings of a Markdown text.
func markdownAnchors(md string) map[string]bool {
	anchors := map[string]bool{}
	drop := regexp.MustCompile(`[^a-z0-9 _-]`)
	for line := range strings.SplitSeq(md, "\n") {
		if !strings.HasPrefix(line, "#") {
			continue
		}
		h := strings.ToLower(strings.TrimSpace(strings.TrimLeft(line, "#")))
		anchors[strings.ReplaceAll(drop.ReplaceAllString(h, ""), " ", "-")] = true
	}
	return anchors
}
