package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/amtsbote/amtsbote/outbox"
)

// TestRetentionJobOnStore runs the retention job against a real store: a
// message delivered 31 days ago loses its payload under the default 30 days,
// one delivered yesterday keeps it.
func TestRetentionJobOnStore(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "amtsbote.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	topic := "t/p.q/d"
	deliver := func(at time.Time) (outbox.Submission, outbox.Message) {
		sub := outbox.Submission{ID: uuid.NewString(), PortalID: "p", TenantID: "t", ProcedureID: "p.q",
			RequestHash: []byte{1}, Payload: []byte(`{"name":"Erika"}`), CreatedAt: at}
		m := outbox.Message{ID: uuid.NewString(), Topic: topic, SubmissionID: sub.ID, Payload: []byte("<x/>")}
		if err := s.InTx(ctx, func(tx outbox.Tx) error {
			if _, _, err := tx.CreateSubmission(ctx, sub); err != nil {
				return err
			}
			return tx.InsertMessages(ctx, []outbox.Message{m})
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Claim(ctx, outbox.ClaimParams{Topic: topic, Owner: "o", Limit: 1, Lease: time.Minute}); err != nil {
			t.Fatal(err)
		}
		if err := s.Complete(ctx, outbox.Completion{Topic: topic, ID: m.ID, Owner: "o", Outcome: outbox.OutcomeDelivered,
			StartedAt: at, FinishedAt: at}); err != nil {
			t.Fatal(err)
		}
		return sub, m
	}
	oldSub, _ := deliver(now.Add(-31 * 24 * time.Hour))
	newSub, _ := deliver(now.Add(-24 * time.Hour))

	r, err := outbox.NewRetention(s, outbox.RetentionConfig{After: 30 * 24 * time.Hour, Batch: 1, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.RunOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Messages != 1 || res.Submissions != 1 {
		t.Fatalf("purged %+v, want the old message and its submission", res)
	}
	for _, c := range []struct {
		sub    outbox.Submission
		purged bool
	}{{oldSub, true}, {newSub, false}} {
		got, msgs, err := s.Submission(ctx, c.sub.ID)
		if err != nil {
			t.Fatal(err)
		}
		if (len(got.Payload) == 0) != c.purged || (len(msgs[0].Payload) == 0) != c.purged {
			t.Errorf("submission of %v: request %d bytes, message %d bytes, want purged=%v",
				c.sub.CreatedAt, len(got.Payload), len(msgs[0].Payload), c.purged)
		}
	}
}
