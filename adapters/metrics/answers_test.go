package metrics_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/amtsbote/amtsbote/adapters/metrics"
)

type unmatchedStore struct {
	counts map[string]int
	err    error
}

func (s *unmatchedStore) UnmatchedAnswers(context.Context) (map[string]int, error) {
	return s.counts, s.err
}

func TestAnswers(t *testing.T) {
	m := newMetrics(t, &fakeStore{}, &clock{t: time.Now()})
	st := &unmatchedStore{counts: map[string]int{"musterstadt": 2, "unconfigured": 9}}
	a, err := m.RegisterAnswers(st, []string{"musterstadt", "beispielhausen"}, []string{"http"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	a.ObserveAnswer("musterstadt", "http", metrics.AnswerMatched)
	a.ObserveAnswer("musterstadt", "http", metrics.AnswerUnmatched)
	want := `
# HELP amtsbote_answers_unmatched Answers from the authority that refer to no submission of their tenant, waiting for an operator to assign or discard them, by tenant; from the database, shared by all processes.
# TYPE amtsbote_answers_unmatched gauge
amtsbote_answers_unmatched{tenant="beispielhausen"} 0
amtsbote_answers_unmatched{tenant="musterstadt"} 2
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "amtsbote_answers_unmatched"); err != nil {
		t.Fatal(err)
	}
	if n := testutil.ToFloat64(a.Counter("musterstadt", "http", metrics.AnswerMatched)); n != 1 {
		t.Fatalf("received{matched} = %v, want 1", n)
	}
	if n, err := testutil.GatherAndCount(m.Registry(), "amtsbote_answers_received_total"); err != nil || n != 12 {
		t.Fatalf("received series = %d (%v), want 12 pre-initialised", n, err)
	}
}

func TestAnswersUnmatchedAbsentOnError(t *testing.T) {
	m := newMetrics(t, &fakeStore{}, &clock{t: time.Now()})
	if _, err := m.RegisterAnswers(&unmatchedStore{err: errors.New("down")}, []string{"musterstadt"}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if n, err := testutil.GatherAndCount(m.Registry(), "amtsbote_answers_unmatched"); err != nil || n != 0 {
		t.Fatalf("unmatched series = %d (%v), want none while the store fails", n, err)
	}
}
