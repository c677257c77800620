package outboxtest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/outbox"
)

// NewEventsFollowUpgradedTrail checks a trail written before migration 009
// (audit events derived from rows): the store's fixture holds submission s1
// (portal p, tenant t, procedure bau) with the 15 stored events before, and
// its message m2 on topic t/bau/amqp, due again. A delivered attempt of m2
// must add its attempt and delivered events after them without storing an
// event row (eventRows counts the stored ones), and a stored event after
// those must take a number above theirs.
func NewEventsFollowUpgradedTrail(t *testing.T, s outbox.Store, before []outbox.Event, eventRows func() int) {
	t.Helper()
	ctx := context.Background()
	const topic = "t/bau/amqp"
	rows := eventRows()
	got, err := s.Claim(ctx, outbox.ClaimParams{Topic: topic, Owner: "o3", Lease: time.Minute, Limit: 1})
	if err != nil || len(got) != 1 {
		t.Fatalf("claim m2: %v %v", got, err)
	}
	done := time.Now().UTC().Truncate(time.Microsecond)
	if err := s.Complete(ctx, outbox.Completion{Topic: topic, ID: "m2", Owner: "o3", Outcome: outbox.OutcomeDelivered,
		StartedAt: done, FinishedAt: done}); err != nil {
		t.Fatal(err)
	}
	after, err := s.Events(ctx, "s1")
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before)+2 || !reflect.DeepEqual(after[:len(before)], before) {
		t.Fatalf("trail after a new attempt: %+v", after)
	}
	last := before[len(before)-1].Seq
	for i, want := range []outbox.Event{
		{SubmissionID: "s1", PortalID: "p", Tenant: "t", Procedure: "bau", MessageID: "m2", Topic: topic,
			Kind: outbox.EventAttempt, Attempt: 2, Outcome: outbox.OutcomeDelivered, Actor: "relay:o3", At: done},
		{SubmissionID: "s1", PortalID: "p", Tenant: "t", Procedure: "bau", MessageID: "m2", Topic: topic,
			Kind: outbox.EventDelivered, Actor: "relay:o3", At: done},
	} {
		e := after[len(before)+i]
		if e.Seq <= last {
			t.Errorf("%s event: seq %d, not after %d", e.Kind, e.Seq, last)
		}
		last, e.Seq = e.Seq, 0
		if !reflect.DeepEqual(e, want) {
			t.Errorf("new event:\n got %+v\nwant %+v", e, want)
		}
	}
	if n := eventRows(); n != rows {
		t.Errorf("%d event rows after a delivered attempt, was %d: its events are derived", n, rows)
	}
	if err := s.RecordAccess(ctx, outbox.Event{SubmissionID: "s1", MessageID: "m2", Topic: topic,
		Kind: outbox.EventPayloadViewed, Actor: "console:op"}); err != nil {
		t.Fatal(err)
	}
	after, err = s.Events(ctx, "s1")
	if err != nil || len(after) != len(before)+3 || after[len(after)-1].Kind != outbox.EventPayloadViewed ||
		after[len(after)-1].Seq <= last {
		t.Fatalf("trail after an access: %+v, %v", after, err)
	}
}

// TrailsUnchanged checks that the store reads each submission's trail as
// before (a migration must not change a recorded trail).
func TrailsUnchanged(t *testing.T, s outbox.Store, before map[string][]outbox.Event) {
	t.Helper()
	for id, want := range before {
		after, err := s.Events(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(after, want) {
			t.Errorf("trail of %s after the migration:\n got %+v\nwant %+v", id, after, want)
		}
	}
}
