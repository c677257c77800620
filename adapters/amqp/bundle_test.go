package amqp_test

import (
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/amtsbote/amtsbote/adapters/adaptertest"
	"github.com/amtsbote/amtsbote/adapters/amqp"
	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/outbox"
)

// newLimitedDeliverer is newDeliverer with a MaxMessageBytes.
func newLimitedDeliverer(t *testing.T, brokerURL, exchange, routingKey string, maxBytes int64) *amqp.Deliverer {
	t.Helper()
	d, err := amqp.New(amqp.Config{
		Settings:        config.AMQP{URL: config.NewSecret(brokerURL), Exchange: exchange, RoutingKey: routingKey},
		Logger:          slog.New(slog.DiscardHandler),
		MaxMessageBytes: maxBytes,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

// A bundle is published as its ZIP container, its blobs read from a real
// store; the message carries the usual properties.
func TestDeliverBundle(t *testing.T) {
	t.Parallel()
	u := brokerURL(t)
	top := declareTopology(t, u)
	d := newDeliverer(t, u, top.exchange, top.routingKey, nil)
	m := adaptertest.StageBundle(t, adaptertest.SQLiteSource(t), 1, adaptertest.BundleFiles()...)
	if err := d.Deliver(t.Context(), m.Delivery); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	got := top.consume(t, 1)[0]
	if got.MessageId != m.Delivery.MessageID || got.ContentType != "application/zip" ||
		got.Headers[amqp.HeaderSubmissionID] != m.Delivery.SubmissionID {
		t.Errorf("message_id %q, content_type %q, headers %v; want %s, application/zip, submission %s",
			got.MessageId, got.ContentType, got.Headers, m.Delivery.MessageID, m.Delivery.SubmissionID)
	}
	unzipped := adaptertest.UnzipBody(t, []adaptertest.Received{{MessageID: got.MessageId, Body: got.Body}})
	m.Check(t, unzipped)
}

// A bundle larger than MaxMessageBytes is refused permanently: before the
// broker is contacted where its files alone exceed the maximum, after
// assembling it where the container's headers tip it over; nothing is
// published.
func TestBundleTooLarge(t *testing.T) {
	t.Parallel()
	files := adaptertest.BundleFiles()
	var blobBytes int64
	for _, f := range files {
		blobBytes += f.Size
	}
	t.Run("files exceed", func(t *testing.T) {
		t.Parallel()
		// No broker listens: the size alone decides.
		d := newLimitedDeliverer(t, closedPortURL(t, "x"), "fachverfahren", "", blobBytes-1)
		m := adaptertest.StageBundle(t, adaptertest.NewMemBlobs(), 1, files...)
		err := d.Deliver(t.Context(), m.Delivery)
		if !errors.Is(err, outbox.ErrPermanent) || !errors.Is(err, amqp.ErrMessageTooLarge) {
			t.Fatalf("Deliver = %v, want a permanent ErrMessageTooLarge", err)
		}
	})
	t.Run("container exceeds", func(t *testing.T) {
		t.Parallel()
		u := brokerURL(t)
		top := declareTopology(t, u)
		d := newLimitedDeliverer(t, u, top.exchange, top.routingKey, blobBytes)
		m := adaptertest.StageBundle(t, adaptertest.NewMemBlobs(), 1, files...)
		err := d.Deliver(t.Context(), m.Delivery)
		if !errors.Is(err, outbox.ErrPermanent) || !errors.Is(err, amqp.ErrMessageTooLarge) {
			t.Fatalf("Deliver = %v, want a permanent ErrMessageTooLarge", err)
		}
		// The limit leaves room for the container: the same bundle fits.
		d = newLimitedDeliverer(t, u, top.exchange, top.routingKey, blobBytes+64<<10)
		if err := d.Deliver(t.Context(), m.Delivery); err != nil {
			t.Fatalf("Deliver with room for the container: %v", err)
		}
		if got := top.consume(t, 1); got[0].MessageId != m.Delivery.MessageID {
			t.Errorf("consumed %s, want %s", got[0].MessageId, m.Delivery.MessageID)
		}
	})
}

func TestNewRefusesNegativeMaxMessageBytes(t *testing.T) {
	t.Parallel()
	_, err := amqp.New(amqp.Config{
		Settings:        config.AMQP{URL: config.NewSecret("amqp://u:p@127.0.0.1:5672/"), Exchange: "x"},
		MaxMessageBytes: -1,
	})
	if err == nil || !strings.Contains(err.Error(), "max message bytes") {
		t.Errorf("New = %v, want an error about max message bytes", err)
	}
}
