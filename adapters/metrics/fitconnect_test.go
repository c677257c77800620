package metrics_test

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestFitConnect(t *testing.T) {
	clk := &clock{t: time.Now()}
	m := newMetrics(t, &fakeStore{}, clk)
	fc, err := m.RegisterFitConnect([]string{"musterstadt"}, []string{"musterstadt/bau.baugenehmigung/landkreis"})
	if err != nil {
		t.Fatal(err)
	}
	fc.Polled("musterstadt", true)
	fc.Polled("musterstadt", false)
	fc.Fetched("musterstadt")
	fc.Accepted("musterstadt")
	fc.Rejected("musterstadt", "encryption-issue")
	fc.Error("musterstadt", "api")
	fc.Waiting("musterstadt", 3, 25*time.Hour)
	fc.CaseEvent("musterstadt/bau.baugenehmigung/landkreis", "accept")
	fc.Callback("musterstadt/bau.baugenehmigung/landkreis", "new_events", true)
	fc.Callback("musterstadt", "new_submissions", false)
	want := `
# HELP amtsbote_fitconnect_callbacks_total Callbacks of the Zustelldienst by receiver (subscriber or destination), callback (new_submissions, new_events) and outcome (ok, refused).
# TYPE amtsbote_fitconnect_callbacks_total counter
amtsbote_fitconnect_callbacks_total{callback="new_events",outcome="ok",receiver="musterstadt/bau.baugenehmigung/landkreis"} 1
amtsbote_fitconnect_callbacks_total{callback="new_events",outcome="refused",receiver="musterstadt/bau.baugenehmigung/landkreis"} 0
amtsbote_fitconnect_callbacks_total{callback="new_submissions",outcome="ok",receiver="musterstadt"} 0
amtsbote_fitconnect_callbacks_total{callback="new_submissions",outcome="refused",receiver="musterstadt"} 1
# HELP amtsbote_fitconnect_case_events_total Decisions of FIT-Connect recipients on submissions Amtsbote sent, by destination and event (accept, reject).
# TYPE amtsbote_fitconnect_case_events_total counter
amtsbote_fitconnect_case_events_total{destination="musterstadt/bau.baugenehmigung/landkreis",event="accept"} 1
amtsbote_fitconnect_case_events_total{destination="musterstadt/bau.baugenehmigung/landkreis",event="reject"} 0
# HELP amtsbote_fitconnect_oldest_waiting_seconds How long the oldest submission ready for pickup has been waiting at the Zustelldienst since it was submitted (0: none, or not yet known).
# TYPE amtsbote_fitconnect_oldest_waiting_seconds gauge
amtsbote_fitconnect_oldest_waiting_seconds{subscriber="musterstadt"} 90000
# HELP amtsbote_fitconnect_polls_total Polls of a FIT-Connect subscriber for submissions ready for pickup, by outcome (ok, error).
# TYPE amtsbote_fitconnect_polls_total counter
amtsbote_fitconnect_polls_total{outcome="error",subscriber="musterstadt"} 1
amtsbote_fitconnect_polls_total{outcome="ok",subscriber="musterstadt"} 1
# HELP amtsbote_fitconnect_rejected_total FIT-Connect submissions rejected, their reject-submission event queued, by problem type.
# TYPE amtsbote_fitconnect_rejected_total counter
amtsbote_fitconnect_rejected_total{problem="encryption-issue",subscriber="musterstadt"} 1
# HELP amtsbote_fitconnect_waiting_submissions FIT-Connect submissions ready for pickup at the last poll (also those whose accept event is still queued).
# TYPE amtsbote_fitconnect_waiting_submissions gauge
amtsbote_fitconnect_waiting_submissions{subscriber="musterstadt"} 3
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want),
		"amtsbote_fitconnect_callbacks_total", "amtsbote_fitconnect_case_events_total", "amtsbote_fitconnect_oldest_waiting_seconds", "amtsbote_fitconnect_polls_total",
		"amtsbote_fitconnect_rejected_total", "amtsbote_fitconnect_waiting_submissions"); err != nil {
		t.Fatal(err)
	}
}
