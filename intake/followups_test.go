package intake_test

import (
	"context"
	"testing"

	"github.com/amtsbote/amtsbote/outbox"
)

// TestAcceptFollowUps: a protocol's follow-up messages are committed with
// a new submission, linked to it, and not again on a replay.
func TestAcceptFollowUps(t *testing.T) {
	stores(t, func(t *testing.T, st outbox.Store) {
		ctx := context.Background()
		s := newService(t, testConfig(t), st)
		follow := outbox.Message{ID: "0b7d4c1e-6a2f-4f0e-9f53-2d8c7e5a1b94", Topic: "~fitconnect/musterstadt/events",
			Payload: []byte(`{"type":"accept"}`), Metadata: map[string]string{"fitconnect_event": "accept"}}
		req := demoRequest(t, meldung)
		req.IdempotencyKey = "fitconnect-submission-1"
		req.FollowUps = []outbox.Message{follow}
		rc, err := s.Accept(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		_, msgs, err := st.Submission(ctx, rc.SubmissionID)
		if err != nil {
			t.Fatal(err)
		}
		var got *outbox.Message
		for i := range msgs {
			if msgs[i].Topic == follow.Topic {
				got = &msgs[i]
			}
		}
		if got == nil || got.ID != follow.ID || got.SubmissionID != rc.SubmissionID ||
			got.Metadata["fitconnect_event"] != "accept" {
			t.Fatalf("follow-up %+v, want it linked to %s", got, rc.SubmissionID)
		}
		if follow.SubmissionID != "" {
			t.Error("Accept changed the caller's message")
		}
		// A replay stores nothing, also no second follow-up.
		again, err := s.Accept(ctx, req)
		if err != nil || !again.Replayed || again.SubmissionID != rc.SubmissionID {
			t.Fatalf("replay: %+v, %v", again, err)
		}
		_, msgs2, err := st.Submission(ctx, rc.SubmissionID)
		if err != nil || len(msgs2) != len(msgs) {
			t.Fatalf("after the replay %d messages (%v), want %d", len(msgs2), err, len(msgs))
		}
	})
}
