package outboxtest

import (
	"bytes"
	"errors"
	"maps"
	"strings"
	"testing"

	"github.com/amtsbote/amtsbote/outbox"
)

// testRemap checks Store.Remap: a dead message gets the new payload and
// metadata, keeps its id and attempts, becomes claimable, and its replay
// record names both mapping versions; a message that is not dead is left
// as it is.
func testRemap(t *testing.T, s outbox.Store) {
	topic := topicName()
	m := NewMessage(topic, "")
	m.Metadata[outbox.MetaMappingVersion] = "go:p.q@1"
	other := NewMessage(topic, "")
	Publish(t, s, m)
	Kill(t, s, m)
	Publish(t, s, other)

	md := map[string]string{"k": "v2", outbox.MetaMappingVersion: "sha256:abc"}
	req := outbox.RemapRequest{ReplayRequest: outbox.ReplayRequest{ID: m.ID, By: "erika", Reason: "mapping fixed"},
		Payload: []byte("<y/>"), Metadata: md, OldVersion: "go:p.q@1", NewVersion: "sha256:abc"}
	if err := s.Remap(ctxT(t), req); err != nil {
		t.Fatalf("remap: %v", err)
	}
	got, err := s.Message(ctxT(t), m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != outbox.StatePending || got.Attempts != 1 || got.Topic != topic ||
		!bytes.Equal(got.Payload, []byte("<y/>")) || !maps.Equal(got.Metadata, md) {
		t.Fatalf("after remap: %+v", got)
	}
	claimed := claim(t, s, outbox.ClaimParams{Topic: topic})
	if len(claimed) != 2 {
		t.Fatalf("claimed %d messages, want 2", len(claimed))
	}
	for _, c := range claimed {
		if c.ID == m.ID && !bytes.Equal(c.Payload, []byte("<y/>")) {
			t.Fatalf("claimed payload = %q, want the re-mapped one", c.Payload)
		}
	}
	reps, err := s.Replays(ctxT(t), m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(reps) != 1 || reps[0].By != "erika" || !strings.Contains(reps[0].Reason, "go:p.q@1 -> sha256:abc") ||
		!strings.Contains(reps[0].Reason, "mapping fixed") {
		t.Fatalf("replay records = %+v", reps)
	}

	// Not dead (claimed now): refused, nothing changed.
	req.ID, req.Payload = other.ID, []byte("<z/>")
	if err := s.Remap(ctxT(t), req); !errors.Is(err, outbox.ErrNotReplayable) {
		t.Fatalf("remap of a leased message: err = %v, want ErrNotReplayable", err)
	}
	if got, err := s.Message(ctxT(t), other.ID); err != nil || !bytes.Equal(got.Payload, other.Payload) {
		t.Fatalf("refused remap changed the payload: %q, %v", got.Payload, err)
	}
	if err := s.Remap(ctxT(t), outbox.RemapRequest{ReplayRequest: outbox.ReplayRequest{ID: m.ID, By: "erika"}}); err == nil {
		t.Fatal("remap without payload accepted")
	}
}
