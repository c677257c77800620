package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/outbox/outboxtest"
)

// TestEventRowsPerSubmission: a delivered submission stores one event row
// (accepted); its transformed, attempt and delivered events are derived from
// the message and attempt rows, each with a position of its own.
func TestEventRowsPerSubmission(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "amtsbote.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	id := outboxtest.DeliveredSubmission(t, s)
	count := func(query string) int {
		t.Helper()
		var n int
		if err := s.read.QueryRowContext(ctx, query, id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(`SELECT count(*) FROM outbox_events WHERE submission_id = ?1`); n != 1 {
		t.Errorf("%d event rows, want 1 (accepted)", n)
	}
	positions := `SELECT count(DISTINCT p) FROM (
		SELECT seq AS p FROM outbox_events WHERE submission_id = ?1
		UNION ALL SELECT event_seq FROM outbox_messages WHERE submission_id = ?1
		UNION ALL SELECT a.event_seq FROM outbox_attempts a JOIN outbox_messages m ON m.seq = a.message_seq WHERE m.submission_id = ?1
		UNION ALL SELECT a.final_event_seq FROM outbox_attempts a JOIN outbox_messages m ON m.seq = a.message_seq WHERE m.submission_id = ?1
	)`
	if n := count(positions); n != 8 {
		t.Errorf("%d distinct positions, want 8 (one per event)", n)
	}
}

// TestEventSeqsWithoutCounterRow: where the counter of outbox_events has no
// row in sqlite_sequence (removed by hand), positions start above every
// position taken, stored or derived, and the trail stays in order.
func TestEventSeqsWithoutCounterRow(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "amtsbote.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	outboxtest.DeliveredSubmission(t, s)
	sub, m := outboxtest.NewSubmission(""), outboxtest.NewMessage("t/p.q/d", "")
	m.SubmissionID = sub.ID
	if err := s.InTx(ctx, func(tx outbox.Tx) error {
		if _, _, err := tx.CreateSubmission(ctx, sub); err != nil {
			return err
		}
		return tx.InsertMessages(ctx, []outbox.Message{m})
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Claim(ctx, outbox.ClaimParams{Topic: m.Topic, Owner: "o", Lease: time.Minute, Limit: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.write.ExecContext(ctx, `DELETE FROM sqlite_sequence WHERE name = 'outbox_events'`); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := s.Complete(ctx, outbox.Completion{Topic: m.Topic, ID: m.ID, Owner: "o", Outcome: outbox.OutcomeDelivered,
		StartedAt: now, FinishedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordAccess(ctx, outbox.Event{SubmissionID: sub.ID, MessageID: m.ID, Topic: m.Topic,
		Kind: outbox.EventPayloadViewed, Actor: "op"}); err != nil {
		t.Fatal(err)
	}
	ev, err := s.Events(ctx, sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []outbox.EventKind{outbox.EventAccepted, outbox.EventTransformed, outbox.EventAttempt, outbox.EventDelivered,
		outbox.EventPayloadViewed}
	if len(ev) != len(want) {
		t.Fatalf("trail %+v", ev)
	}
	for i, e := range ev {
		if e.Kind != want[i] || (i > 0 && e.Seq <= ev[i-1].Seq) {
			t.Errorf("event %d: %s seq %d, want %s after seq %d", i, e.Kind, e.Seq, want[i], ev[max(i-1, 0)].Seq)
		}
	}
}
