package main

import (
	"errors"
	"log/slog"
	"testing"

	"github.com/amtsbote/amtsbote/adapters/adaptertest"
	"github.com/amtsbote/amtsbote/adapters/amqp"
	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/outbox"
)

// TestAMQPMaxMessageBytesFromConfig builds the AMQP deliverer as serve does
// from a destination with amqp.max_message_bytes set, and checks that a
// bundle larger than that is refused as permanent, before any broker is
// needed: the setting reaches the deliverer.
func TestAMQPMaxMessageBytesFromConfig(t *testing.T) {
	tenant := &config.Tenant{ID: "musterstadt"}
	route := &config.Route{Procedure: "test.upload"}
	dest := &config.Destination{ID: "queue", Type: "amqp", AMQP: &config.AMQP{
		URL: config.NewSecret("amqp://guest:guest@127.0.0.1:1/"), Exchange: "fachverfahren", MaxMessageBytes: 1 << 20}}
	d, err := adapters["amqp"](tenant, route, dest, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	m := adaptertest.StageBundle(t, adaptertest.SQLiteSource(t), 1, adaptertest.BundleFiles()...) // over 1 MiB
	err = d.Deliver(t.Context(), m.Delivery)
	if !errors.Is(err, amqp.ErrMessageTooLarge) || !errors.Is(err, outbox.ErrPermanent) {
		t.Fatalf("Deliver = %v, want a permanent ErrMessageTooLarge", err)
	}
}
