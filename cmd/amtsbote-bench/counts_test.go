package main

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestParseStatementMetrics(t *testing.T) {
	exposition := `# HELP amtsbote_db_statements_total Statements sent to PostgreSQL.
# TYPE amtsbote_db_statements_total counter
amtsbote_db_statements_total 1234
amtsbote_db_round_trips_total 1.5e+06
amtsbote_db_statements_total_other 7
amtsbote_requests_total{route="submit"} 99
`
	c := costs{statements: math.NaN(), roundTrips: math.NaN()}
	if err := parseStatementMetrics(strings.NewReader(exposition), &c); err != nil {
		t.Fatal(err)
	}
	if c.statements != 1234 || c.roundTrips != 1.5e6 {
		t.Errorf("statements %v, round trips %v; want 1234, 1.5e6", c.statements, c.roundTrips)
	}
	c = costs{statements: math.NaN(), roundTrips: math.NaN()}
	if err := parseStatementMetrics(strings.NewReader("amtsbote_requests_total 3\n"), &c); err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(c.statements) || !math.IsNaN(c.roundTrips) {
		t.Errorf("without the counters: statements %v, round trips %v; want NaN", c.statements, c.roundTrips)
	}
}

func TestAddCosts(t *testing.T) {
	before := costs{statements: 100, roundTrips: 80, commits: 10, rowsFetched: 0, walRecords: 1000, walBytes: 1e6, walSyncs: 5,
		gatewayCPU: time.Second, databaseCPU: 2 * time.Second, harnessCPU: 0, machineCPU: 10 * time.Second}
	after := costs{statements: 1100, roundTrips: 880, commits: 210, rowsFetched: 1600, walRecords: 6000, walBytes: 2e6, walSyncs: 25,
		gatewayCPU: 2 * time.Second, databaseCPU: 4 * time.Second, harnessCPU: time.Second, machineCPU: 14 * time.Second}
	var r report
	addCosts(&r, before, after, 100)
	for name, want := range map[string]float64{
		"statements per submission":                10,
		"round trips per submission":               8,
		"commits per submission":                   2,
		"rows fetched per submission":              16,
		"WAL records per submission (server-wide)": 50,
		"machine CPU per delivered submission":     40,
		"  gateway CPU per delivered submission":   10,
		"  database CPU per delivered submission":  20,
		"  harness CPU per delivered submission":   10,
	} {
		if got := r.get(name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	before.databaseCPU = -1 // no server visible
	r = report{}
	addCosts(&r, before, after, 100)
	if got := r.get("  database CPU per delivered submission"); !math.IsNaN(got) {
		t.Errorf("database CPU without a visible server = %v, want NaN", got)
	}
}

func TestProcCPU(t *testing.T) {
	// Burn a little CPU so that this process has used at least one tick.
	deadline := time.Now().Add(50 * time.Millisecond)
	for x := 0; time.Now().Before(deadline); x++ {
		_ = x * x
	}
	if got := procCPU("self"); got <= 0 {
		t.Errorf("procCPU(self) = %v, want > 0", got)
	}
	if got := procCPU("0"); got != -1 {
		t.Errorf("procCPU of no process = %v, want -1", got)
	}
}
