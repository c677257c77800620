package intake_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/intake"
	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/outbox/outboxtest"
	"github.com/amtsbote/amtsbote/transform"
	"github.com/amtsbote/amtsbote/transform/envelope"
)

// versionedMapper is the envelope mapper with a mapping version, marking
// its output with it, as a declarative mapping's fix changes the output.
type versionedMapper struct {
	*envelope.Mapper
	version string
}

func (m versionedMapper) MappingVersion() string { return m.version }

func (m versionedMapper) Map(in transform.Input) (transform.Document, error) {
	doc, err := m.Mapper.Map(in)
	doc.XML = append(doc.XML, []byte("<!-- "+m.version+" -->")...)
	return doc, err
}

func registryWith(t *testing.T, m transform.Mapper) *transform.Registry {
	t.Helper()
	r := transform.NewRegistry()
	if err := r.Register(meldung, m); err != nil {
		t.Fatal(err)
	}
	return r
}

// A dead message mapped with a buggy mapping is mapped again with the
// fixed one: same id and topic, the new XML and version, and the store's
// Remap makes it deliverable with the versions on record.
func TestRemapWithCurrentMapping(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, st outbox.Store) {
		ctx := context.Background()
		cfg := testConfig(t)
		svc, err := intake.New(intake.Config{Config: cfg, Store: st, Product: testProduct,
			Registry: registryWith(t, versionedMapper{envelope.New(), "sha256:buggy"})})
		if err != nil {
			t.Fatal(err)
		}
		rc, err := svc.Accept(ctx, demoRequest(t, meldung))
		if err != nil {
			t.Fatal(err)
		}
		sub, msgs, err := st.Submission(ctx, rc.SubmissionID)
		if err != nil || len(msgs) != 1 {
			t.Fatalf("submission: %d messages, %v", len(msgs), err)
		}
		old := msgs[0]
		if v := old.Metadata[outbox.MetaMappingVersion]; v != "sha256:buggy" {
			t.Fatalf("mapping version at intake = %q", v)
		}
		outboxtest.Kill(t, st, old)

		if _, err := svc.Reconfigure(cfg, registryWith(t, versionedMapper{envelope.New(), "sha256:fixed"})); err != nil {
			t.Fatal(err)
		}
		got, err := svc.Remap(sub, old)
		if err != nil {
			t.Fatalf("Remap: %v", err)
		}
		m := got.Message
		if m.ID != old.ID || m.Topic != old.Topic || m.SubmissionID != sub.ID || got.OldVersion != "sha256:buggy" ||
			got.NewVersion != "sha256:fixed" || m.Metadata[outbox.MetaMappingVersion] != "sha256:fixed" {
			t.Fatalf("remapped = %+v", got)
		}
		if !bytes.Contains(m.Payload, []byte("sha256:fixed")) || bytes.Contains(m.Payload, []byte("sha256:buggy")) {
			t.Fatalf("payload not mapped with the fixed mapping: %s", m.Payload)
		}
		if !bytes.Contains(m.Payload, []byte(old.ID)) {
			t.Errorf("payload does not carry the message id %s", old.ID)
		}
		err = st.Remap(ctx, outbox.RemapRequest{ReplayRequest: outbox.ReplayRequest{ID: m.ID, Topic: m.Topic, By: "erika"},
			Payload: m.Payload, Metadata: m.Metadata, OldVersion: got.OldVersion, NewVersion: got.NewVersion})
		if err != nil {
			t.Fatal(err)
		}
		stored, err := st.Message(ctx, old.ID)
		if err != nil || stored.State != outbox.StatePending || !bytes.Equal(stored.Payload, m.Payload) {
			t.Fatalf("stored after remap: %+v, %v", stored, err)
		}
		events, err := st.Events(ctx, sub.ID)
		if err != nil {
			t.Fatal(err)
		}
		last := events[len(events)-1]
		if last.Kind != outbox.EventReplayed || last.Detail != "re-mapped: mapping sha256:buggy -> sha256:fixed" {
			t.Errorf("last event = %+v", last)
		}

		// The request purged: refused with that reason.
		purged := sub
		purged.Payload = nil
		if _, err := svc.Remap(purged, old); !errors.Is(err, intake.ErrRequestPurged) {
			t.Errorf("remap of a purged request: err = %v, want ErrRequestPurged", err)
		}
		// The destination removed from the configuration: refused.
		cfg2 := testConfig(t)
		route, _ := cfg2.Tenants[0].Route(meldung)
		route.Destinations[0].ID = "anderes"
		if _, err := svc.Reconfigure(cfg2, registryWith(t, envelope.New())); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Remap(sub, old); !errors.Is(err, intake.ErrNotRemappable) {
			t.Errorf("remap to a removed destination: err = %v, want ErrNotRemappable", err)
		}
		// A message not mapped from the request (a follow-up): refused.
		follow := outbox.Message{ID: "x", Topic: config.OfficeMailTopic(tenant), SubmissionID: sub.ID}
		if _, err := svc.Remap(sub, follow); !errors.Is(err, intake.ErrNotRemappable) {
			t.Errorf("remap of a follow-up: err = %v, want ErrNotRemappable", err)
		}
	})
}
