package outboxtest

import (
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/outbox"
)

// testMakeDue: MakeDue makes a waiting message due at once without an
// attempt and wakes the topic; a leased, delivered, dead or unknown message
// is left as it is.
func testMakeDue(t *testing.T, s outbox.Store) {
	later := time.Now().Add(time.Hour)
	makeDue := func(t *testing.T, topic, id string, want bool) {
		t.Helper()
		got, err := s.MakeDue(ctxT(t), topic, id)
		if err != nil || got != want {
			t.Fatalf("MakeDue(%s) = %v, %v; want %v", id, got, err, want)
		}
	}
	read := func(t *testing.T, id string) outbox.Message {
		t.Helper()
		m, err := s.Message(ctxT(t), id)
		if err != nil {
			t.Fatalf("read %s: %v", id, err)
		}
		return m
	}

	t.Run("retrying", func(t *testing.T) {
		topic := topicName()
		m := NewMessage(topic, "")
		Publish(t, s, m)
		claim(t, s, outbox.ClaimParams{Topic: topic})
		complete(t, s, outbox.Completion{Topic: topic, ID: m.ID, Outcome: outbox.OutcomeRetry, Error: "not yet", NextAttemptAt: later})
		if got := claim(t, s, outbox.ClaimParams{Topic: topic}); len(got) != 0 {
			t.Fatalf("claimed before MakeDue: %v", ids(got))
		}
		ch, stop := s.Watch(topic)
		defer stop()
		makeDue(t, topic, m.ID, true)
		select {
		case <-ch:
		case <-time.After(5 * time.Second):
			t.Fatal("watch not signalled after MakeDue")
		}
		if got := read(t, m.ID); got.State != outbox.StateRetrying || got.Attempts != 1 || got.NextAttemptAt.After(time.Now()) {
			t.Fatalf("after MakeDue: state %s, %d attempts, next %v", got.State, got.Attempts, got.NextAttemptAt)
		}
		if due, ok, err := s.NextDue(ctxT(t), topic); err != nil || !ok || due.After(time.Now()) {
			t.Fatalf("NextDue = %v, %v, %v; want now", due, ok, err)
		}
		got := claim(t, s, outbox.ClaimParams{Topic: topic, Owner: "owner-b"})
		sameIDs(t, "claim after MakeDue", got, m)
		if atts, err := s.Attempts(ctxT(t), m.ID); err != nil || len(atts) != 1 {
			t.Fatalf("attempts = %d, %v; MakeDue must record none", len(atts), err)
		}
	})

	t.Run("pending in the future", func(t *testing.T) {
		topic := topicName()
		m := NewMessage(topic, "")
		m.NextAttemptAt = later
		Publish(t, s, m)
		if got := claim(t, s, outbox.ClaimParams{Topic: topic}); len(got) != 0 {
			t.Fatalf("claimed before MakeDue: %v", ids(got))
		}
		makeDue(t, topic, m.ID, true)
		sameIDs(t, "claim after MakeDue", claim(t, s, outbox.ClaimParams{Topic: topic}), m)
	})

	t.Run("already due stays due", func(t *testing.T) {
		topic := topicName()
		m := NewMessage(topic, "")
		m.NextAttemptAt = time.Now().Add(-time.Hour)
		Publish(t, s, m)
		before := read(t, m.ID).NextAttemptAt
		makeDue(t, topic, m.ID, true)
		if got := read(t, m.ID).NextAttemptAt; !got.Equal(before) {
			t.Fatalf("next attempt moved from %v to %v", before, got)
		}
	})

	t.Run("leased", func(t *testing.T) {
		topic := topicName()
		m := NewMessage(topic, "")
		Publish(t, s, m)
		claim(t, s, outbox.ClaimParams{Topic: topic})
		makeDue(t, topic, m.ID, false)
		if got := claim(t, s, outbox.ClaimParams{Topic: topic, Owner: "owner-b"}); len(got) != 0 {
			t.Fatalf("MakeDue freed a leased message: %v", ids(got))
		}
		// The owner still completes it.
		complete(t, s, outbox.Completion{Topic: topic, ID: m.ID, Outcome: outbox.OutcomeDelivered})
	})

	for _, outcome := range []outbox.Outcome{outbox.OutcomeDelivered, outbox.OutcomeDead} {
		t.Run(string(outcome), func(t *testing.T) {
			topic := topicName()
			m := NewMessage(topic, "")
			Publish(t, s, m)
			claim(t, s, outbox.ClaimParams{Topic: topic})
			c := outbox.Completion{Topic: topic, ID: m.ID, Outcome: outcome}
			if outcome == outbox.OutcomeDead {
				c.Error = "400 Bad Request"
			}
			complete(t, s, c)
			before := read(t, m.ID)
			makeDue(t, topic, m.ID, false)
			if got := read(t, m.ID); got.State != before.State || !got.NextAttemptAt.Equal(before.NextAttemptAt) {
				t.Fatalf("MakeDue changed a finished message: %s/%v, was %s/%v", got.State, got.NextAttemptAt, before.State, before.NextAttemptAt)
			}
		})
	}

	t.Run("unknown or on another topic", func(t *testing.T) {
		topic := topicName()
		m := NewMessage(topic, "")
		m.NextAttemptAt = later
		Publish(t, s, m)
		makeDue(t, topic, "no-such-message", false)
		makeDue(t, topicName(), m.ID, false)
		if got := claim(t, s, outbox.ClaimParams{Topic: topic}); len(got) != 0 {
			t.Fatalf("MakeDue on another topic made the message due: %v", ids(got))
		}
	})
}
