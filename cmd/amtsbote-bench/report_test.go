package main

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	t.Parallel()
	var hundred []time.Duration
	for i := 100; i >= 1; i-- { // unsorted on purpose
		hundred = append(hundred, time.Duration(i)*time.Millisecond)
	}
	tests := []struct {
		name string
		xs   []time.Duration
		p    float64
		want float64
	}{
		{"p50 of 1..100", hundred, 50, 50},
		{"p99 of 1..100", hundred, 99, 99},
		{"p100 of 1..100", hundred, 100, 100},
		{"p1 of 1..100", hundred, 1, 1},
		{"single", []time.Duration{3 * time.Millisecond}, 99, 3},
		{"p50 of two", []time.Duration{2 * time.Millisecond, time.Millisecond}, 50, 1},
		{"fraction of a ms", []time.Duration{1500 * time.Microsecond}, 50, 1.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.xs, tt.p); got != tt.want {
				t.Errorf("percentile(%v) = %v, want %v", tt.p, got, tt.want)
			}
		})
	}
	if got := percentile(nil, 50); !math.IsNaN(got) {
		t.Errorf("percentile of nothing = %v, want NaN", got)
	}
	if hundred[0] != 100*time.Millisecond {
		t.Error("percentile sorted its input")
	}
}

func TestMedian(t *testing.T) {
	t.Parallel()
	nan := math.NaN()
	tests := []struct {
		xs   []float64
		want float64
	}{
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{7}, 7},
		{[]float64{nan, 5, 1}, 3},
	}
	for _, tt := range tests {
		if got := median(tt.xs); got != tt.want {
			t.Errorf("median(%v) = %v, want %v", tt.xs, got, tt.want)
		}
	}
	if got := median([]float64{nan}); !math.IsNaN(got) {
		t.Errorf("median of NaN only = %v, want NaN", got)
	}
	if got := ratio(1, 0); !math.IsNaN(got) {
		t.Errorf("ratio(1, 0) = %v, want NaN", got)
	}
	if got := ratio(1, 4); got != 0.25 {
		t.Errorf("ratio(1, 4) = %v", got)
	}
}

func TestMedianReport(t *testing.T) {
	t.Parallel()
	run := func(rate, p99 float64, note string) report {
		r := report{Title: "postgres", Runs: 1, Notes: []string{note}}
		r.add("accepted/s", "1/s", rate)
		r.add("intake p99", "ms", p99)
		return r
	}
	m := medianReport("postgres", []report{run(900, 12, "a"), run(1000, 30, "a"), run(800, 11, "b")})
	if m.Runs != 3 || m.get("accepted/s") != 900 || m.get("intake p99") != 12 {
		t.Fatalf("medians: %+v", m)
	}
	if len(m.Notes) != 2 {
		t.Errorf("notes %v, want each once", m.Notes)
	}
	if !math.IsNaN(m.get("no such figure")) {
		t.Error("an absent figure is not NaN")
	}

	var table bytes.Buffer
	if err := writeTable(&table, m); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"postgres (median of 3 run(s))", "accepted/s", "900", "1/s", "note: b"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}

	m.add("unknown", "ms", math.NaN())
	var js bytes.Buffer
	if err := writeJSON(&js, []report{m}); err != nil {
		t.Fatal(err)
	}
	var decoded []struct {
		Title   string
		Figures []struct {
			Name  string
			Value *float64
		}
	}
	if err := json.Unmarshal(js.Bytes(), &decoded); err != nil {
		t.Fatalf("JSON: %v\n%s", err, js.String())
	}
	f := decoded[0].Figures
	if len(f) != 3 || *f[0].Value != 900 || f[2].Value != nil {
		t.Errorf("JSON figures: %s", js.String())
	}
}

func TestWithPoolSize(t *testing.T) {
	t.Parallel()
	got := withPoolSize("postgres://u@127.0.0.1:5432/db?sslmode=disable", 64)
	if !strings.Contains(got, "pool_max_conns=64") || !strings.Contains(got, "sslmode=disable") {
		t.Errorf("withPoolSize: %s", got)
	}
	if got := withPoolSize("postgres://h/db", 0); got != "postgres://h/db" {
		t.Errorf("withPoolSize(0) changed the URL: %s", got)
	}
}

func TestGatewayConfigIsValid(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, c := range []gatewayConfig{
		{Dir: dir, ReceiverURL: "http://127.0.0.1:1/eingang", KeyHash: "sha256:" + strings.Repeat("0", 64), Concurrency: 16, Lease: time.Minute},
		{DatabaseURL: "postgres://postgres@127.0.0.1:5432/x?pool_max_conns=64&sslmode=disable", ReceiverURL: "http://127.0.0.1:1/eingang",
			KeyHash: "sha256:" + strings.Repeat("0", 64), Concurrency: 16, Lease: 10 * time.Second, Clients: 64},
	} {
		path, err := writeGatewayConfig(dir, c)
		if err != nil {
			t.Fatal(err)
		}
		if err := checkConfig(path); err != nil {
			t.Errorf("generated configuration (database %q) is invalid: %v", c.DatabaseURL, err)
		}
	}
}
