package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"text/tabwriter"
	"time"
)

// percentile returns the p-th percentile (0 < p <= 100) of xs by the
// nearest-rank method; NaN for no samples. xs is not modified.
func percentile(xs []time.Duration, p float64) float64 {
	if len(xs) == 0 || p <= 0 || p > 100 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return ms(s[max(rank, 1)-1])
}

// ms is d in milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// median returns the median of xs (the mean of the middle two for an even
// count), ignoring NaNs; NaN when nothing is left.
func median(xs []float64) float64 {
	s := make([]float64, 0, len(xs))
	for _, x := range xs {
		if !math.IsNaN(x) {
			s = append(s, x)
		}
	}
	if len(s) == 0 {
		return math.NaN()
	}
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// ratio is a/b, NaN when either is unknown or b is zero.
func ratio(a, b float64) float64 {
	if math.IsNaN(a) || math.IsNaN(b) || b == 0 {
		return math.NaN()
	}
	return a / b
}

// figure is one measured value of a run.
type figure struct {
	Name  string  `json:"name"`
	Unit  string  `json:"unit"`
	Value float64 `json:"value"`
}

// report is the figures of one run, or the medians of several, in print order.
type report struct {
	Title   string   `json:"title"`
	Runs    int      `json:"runs"`
	Notes   []string `json:"notes,omitempty"`
	Figures []figure `json:"figures"`
}

// add appends a figure.
func (r *report) add(name, unit string, v float64) {
	r.Figures = append(r.Figures, figure{Name: name, Unit: unit, Value: v})
}

// get returns the value of the named figure, NaN if absent.
func (r *report) get(name string) float64 {
	for _, f := range r.Figures {
		if f.Name == name {
			return f.Value
		}
	}
	return math.NaN()
}

// medianReport combines runs figure by figure into their medians, keeping the
// order of the first run; notes of all runs are kept once each.
func medianReport(title string, runs []report) report {
	out := report{Title: title, Runs: len(runs)}
	if len(runs) == 0 {
		return out
	}
	for _, f := range runs[0].Figures {
		vals := make([]float64, 0, len(runs))
		for _, r := range runs {
			vals = append(vals, r.get(f.Name))
		}
		out.add(f.Name, f.Unit, median(vals))
	}
	for _, r := range runs {
		for _, n := range r.Notes {
			if !slices.Contains(out.Notes, n) {
				out.Notes = append(out.Notes, n)
			}
		}
	}
	return out
}

// writeTable prints r as an aligned two-column table.
func writeTable(w io.Writer, r report) error {
	if _, err := fmt.Fprintf(w, "%s (median of %d run(s))\n", r.Title, r.Runs); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	for _, f := range r.Figures {
		fmt.Fprintf(tw, "  %s\t%s\t %s\t\n", f.Name, formatValue(f.Value), f.Unit)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, n := range r.Notes {
		if _, err := fmt.Fprintf(w, "  note: %s\n", n); err != nil {
			return err
		}
	}
	return nil
}

func formatValue(v float64) string {
	switch {
	case math.IsNaN(v):
		return "-"
	case v == math.Trunc(v) && math.Abs(v) < 1e12:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

// jsonFigure is a figure as written by writeJSON: NaN becomes null.
type jsonFigure struct {
	Name  string   `json:"name"`
	Unit  string   `json:"unit"`
	Value *float64 `json:"value"`
}

// writeJSON writes the reports as one JSON document.
func writeJSON(w io.Writer, reports []report) error {
	type jsonReport struct {
		Title   string       `json:"title"`
		Runs    int          `json:"runs"`
		Notes   []string     `json:"notes,omitempty"`
		Figures []jsonFigure `json:"figures"`
	}
	out := make([]jsonReport, 0, len(reports))
	for _, r := range reports {
		jr := jsonReport{Title: r.Title, Runs: r.Runs, Notes: r.Notes}
		for _, f := range r.Figures {
			jf := jsonFigure{Name: f.Name, Unit: f.Unit}
			if !math.IsNaN(f.Value) {
				v := f.Value
				jf.Value = &v
			}
			jr.Figures = append(jr.Figures, jf)
		}
		out = append(out, jr)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
