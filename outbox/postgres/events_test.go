package postgres

import (
	"testing"

	"github.com/amtsbote/amtsbote/outbox/outboxtest"
)

// TestEventRowsPerSubmission: a delivered submission stores one event row
// (accepted); its transformed, attempt and delivered events are derived from
// the message and attempt rows, each with a position of its own.
func TestEventRowsPerSubmission(t *testing.T) {
	f := newPipeFixture(t)
	id := outboxtest.DeliveredSubmission(t, f.s)
	if n := f.count(t, `SELECT count(*) FROM outbox_events WHERE submission_id = $1`, id); n != 1 {
		t.Errorf("%d event rows, want 1 (accepted)", n)
	}
	positions := `SELECT count(DISTINCT p) FROM (
		SELECT seq AS p FROM outbox_events WHERE submission_id = $1
		UNION ALL SELECT event_seq FROM outbox_messages WHERE submission_id = $1
		UNION ALL SELECT a.event_seq FROM outbox_attempts a JOIN outbox_messages m ON m.seq = a.message_seq WHERE m.submission_id = $1
		UNION ALL SELECT a.final_event_seq FROM outbox_attempts a JOIN outbox_messages m ON m.seq = a.message_seq WHERE m.submission_id = $1
	) x`
	if n := f.count(t, positions, id); n != 8 {
		t.Errorf("%d distinct positions, want 8 (one per event)", n)
	}
}
