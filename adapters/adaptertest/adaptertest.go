package adaptertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/amtsbote/amtsbote/outbox"
)

// Received is one message as the receiving side got it.
type Received struct {
	// MessageID is the message id as the receiver saw it (a header, a file
	// name, a message property): what it deduplicates by.
	MessageID string
	// Body is the payload bytes as received.
	Body []byte
	// Header, optional, is the transport's metadata as received (HTTP
	// headers), for Harness.Unbundle.
	Header http.Header
}

// Harness builds the adapter under test and its receiving side.
type Harness struct {
	// New returns a fresh Deliverer, with a receiving side of its own that
	// nothing else delivers to, and a function returning everything that
	// receiving side has got so far, in any order. A receiver that keeps
	// one copy per message id (a file per id) may report a redelivered
	// message once; one that records every request reports it each time.
	// Required.
	New func(t *testing.T) (outbox.Deliverer, func() []Received)
	// NewStalled, optional, returns a Deliverer whose receiving side accepts
	// the delivery but never answers, with the adapter's own timeout far
	// longer than the test runs. It lets the suite cancel the context of a
	// delivery in flight; without it only an already cancelled context is
	// checked.
	NewStalled func(t *testing.T) outbox.Deliverer
	// Unbundle, optional, enables the bundle cases: messages whose payload
	// is an outbox.Bundle, their attachments stored as blobs and streamed
	// at delivery. Given what New's receiving side got for one message (the
	// entries of its function with that message id; possibly none, or an
	// incomplete part), it returns the files that arrived, by bundle entry
	// name ("<message id>.xml", "anlagen/<attachment id>/<file name>"); for
	// a ZIP container its entries (ZIPDigests). It must not fail the test
	// for a missing file: the suite decides what must have arrived.
	Unbundle func(t *testing.T, got []Received) map[string]Digest
	// Blobs, optional, returns where the bundle cases store their blobs: a
	// real store (InStore). Default: NewMemBlobs. The case with a corrupt
	// blob always uses MemBlobs.
	Blobs func(t *testing.T) BlobSource
}

// Prompt is how long Deliver may take to return once its context is
// cancelled. It is generous, for loaded CI machines running with -race: it
// catches a Deliver that ignores its context, not a slow one.
const Prompt = 10 * time.Second

// Run runs the contract suite against the adapter of h.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.New == nil {
		t.Fatal("adaptertest: Harness.New is nil")
	}
	t.Run("DeliverArrivesExactly", func(t *testing.T) { testDeliverArrivesExactly(t, h) })
	t.Run("RedeliveryIsHarmless", func(t *testing.T) { testRedeliveryIsHarmless(t, h) })
	t.Run("CancelledContext", func(t *testing.T) { testCancelledContext(t, h) })
	t.Run("CancelInFlight", func(t *testing.T) { testCancelInFlight(t, h) })
	t.Run("ConcurrentDeliveries", func(t *testing.T) { testConcurrentDeliveries(t, h) })
	t.Run("BundleArrivesExactly", func(t *testing.T) { testBundleArrivesExactly(t, h) })
	t.Run("BundleMissingBlobIsPermanent", func(t *testing.T) { testBundleMissingBlob(t, h) })
	t.Run("BundleCorruptBlobIsPermanent", func(t *testing.T) { testBundleCorruptBlob(t, h) })
}

// Delivery returns a delivery of a new message with an XML payload, as the
// relay hands it to a Deliverer on the first attempt.
func Delivery(n int) outbox.Delivery {
	id, submission := uuid.NewString(), uuid.NewString()
	return outbox.Delivery{
		MessageID:    id,
		SubmissionID: submission,
		Topic:        "musterstadt/meldewesen.wohnungsgeberbestaetigung/adaptertest",
		Attempt:      1,
		Payload: fmt.Appendf(nil, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"+
			"<ab:einreichung.0001 xmlns:ab=\"urn:amtsbote:adaptertest:1\" nummer=\"%d\">"+
			"<ab:name>Müller-Lüdenscheidt, Zoë</ab:name><ab:id>%s</ab:id></ab:einreichung.0001>\n", n, id),
		Metadata: map[string]string{
			outbox.MetaSubmissionID: submission,
			outbox.MetaContentType:  "application/xml",
		},
	}
}

// byID groups what was received by message id.
func byID(got []Received) map[string][]Received {
	m := make(map[string][]Received)
	for _, r := range got {
		m[r.MessageID] = append(m[r.MessageID], r)
	}
	return m
}

// checkArrived checks that every received copy of d is d.Payload exactly,
// and that at least one arrived; it returns the number of copies.
func checkArrived(t *testing.T, got map[string][]Received, d outbox.Delivery) int {
	t.Helper()
	copies := got[d.MessageID]
	if len(copies) == 0 {
		t.Errorf("message %s did not arrive", d.MessageID)
		return 0
	}
	for i, c := range copies {
		if !bytes.Equal(c.Body, d.Payload) {
			t.Errorf("message %s, copy %d: body = %q, want %q", d.MessageID, i+1, c.Body, d.Payload)
		}
	}
	return len(copies)
}

func testDeliverArrivesExactly(t *testing.T, h Harness) {
	t.Parallel()
	dlv, received := h.New(t)
	d := Delivery(1)
	if err := dlv.Deliver(t.Context(), d); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	got := received()
	if len(got) != 1 {
		t.Errorf("received %d messages, want 1", len(got))
	}
	checkArrived(t, byID(got), d)
}

func testRedeliveryIsHarmless(t *testing.T, h Harness) {
	t.Parallel()
	dlv, received := h.New(t)
	d := Delivery(1)
	for attempt := 1; attempt <= 2; attempt++ {
		d.Attempt = attempt
		if err := dlv.Deliver(t.Context(), d); err != nil {
			t.Fatalf("attempt %d: Deliver: %v", attempt, err)
		}
	}
	got := received()
	ids := byID(got)
	if len(ids) != 1 {
		t.Errorf("received message ids %v, want only %s", keys(ids), d.MessageID)
	}
	if n := checkArrived(t, ids, d); n > 2 {
		t.Errorf("received %d copies of a message delivered twice", n)
	}
}

func testCancelledContext(t *testing.T, h Harness) {
	t.Parallel()
	dlv, _ := h.New(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	checkCancelled(t, func() error { return dlv.Deliver(ctx, Delivery(1)) })
}

func testCancelInFlight(t *testing.T, h Harness) {
	if h.NewStalled == nil {
		t.Skip("the harness has no stalled receiver (Harness.NewStalled)")
	}
	t.Parallel()
	dlv := h.NewStalled(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	timer := time.AfterFunc(50*time.Millisecond, cancel)
	defer timer.Stop()
	checkCancelled(t, func() error { return dlv.Deliver(ctx, Delivery(1)) })
}

// checkCancelled checks that deliver, whose context is or will be cancelled,
// returns within Prompt with an error that is not permanent.
func checkCancelled(t *testing.T, deliver func() error) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- deliver() }()
	select {
	case err := <-done:
		switch {
		case err == nil:
			t.Error("Deliver with a cancelled context succeeded, want an error")
		case errors.Is(err, outbox.ErrPermanent):
			t.Errorf("Deliver with a cancelled context: %v: permanent, want retryable", err)
		}
	case <-time.After(Prompt):
		t.Errorf("Deliver did not return within %s of the context's cancellation", Prompt)
	}
}

func testConcurrentDeliveries(t *testing.T, h Harness) {
	t.Parallel()
	dlv, received := h.New(t)
	const n = 16
	deliveries := make([]outbox.Delivery, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range deliveries {
		deliveries[i] = Delivery(i)
		wg.Go(func() { errs[i] = dlv.Deliver(t.Context(), deliveries[i]) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("delivery %d (%s): %v", i, deliveries[i].MessageID, err)
		}
	}
	got := byID(received())
	if len(got) != n {
		t.Errorf("received %d message ids, want %d", len(got), n)
	}
	for _, d := range deliveries {
		if c := checkArrived(t, got, d); c > 1 {
			t.Errorf("message %s delivered once arrived %d times", d.MessageID, c)
		}
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// LargeFileSize is the size of the large attachment of the bundle cases:
// more than two chunks, the last one short.
const LargeFileSize = 2*outbox.BlobChunkSize + 12345

// BundleFiles returns the attachments of the bundle cases: a file of
// several chunks, a small one with a name that is not ASCII, and an empty
// one without a media type.
func BundleFiles() []File {
	return []File{
		{Name: "Lageplan.pdf", MIMEType: "application/pdf", Size: LargeFileSize, Seed: 1},
		{Name: "Grundriss Erdgeschoß.png", MIMEType: "image/png", Size: 4321, Seed: 2},
		{Name: "leer.txt", Size: 0, Seed: 3},
	}
}

// blobSource returns the harness's blob source, or MemBlobs.
func (h Harness) blobSource(t *testing.T) BlobSource {
	if h.Blobs != nil {
		return h.Blobs(t)
	}
	return NewMemBlobs()
}

// unbundled returns what arrived of message id, by entry name.
func (h Harness) unbundled(t *testing.T, received func() []Received, id string) map[string]Digest {
	t.Helper()
	return h.Unbundle(t, byID(received())[id])
}

func testBundleArrivesExactly(t *testing.T, h Harness) {
	if h.Unbundle == nil {
		t.Skip("the harness cannot unbundle (Harness.Unbundle)")
	}
	t.Parallel()
	dlv, received := h.New(t)
	m := StageBundle(t, h.blobSource(t), 1, BundleFiles()...)
	if err := dlv.Deliver(t.Context(), m.Delivery); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	if ids := byID(received()); len(ids) != 1 {
		t.Errorf("received message ids %v, want only %s", keys(ids), m.Delivery.MessageID)
	}
	m.Check(t, h.unbundled(t, received, m.Delivery.MessageID))
}

func testBundleMissingBlob(t *testing.T, h Harness) {
	if h.Unbundle == nil {
		t.Skip("the harness cannot unbundle (Harness.Unbundle)")
	}
	t.Parallel()
	dlv, received := h.New(t)
	files := BundleFiles()
	files[1].Unstored = true
	m := StageBundle(t, h.blobSource(t), 1, files...)
	err := dlv.Deliver(t.Context(), m.Delivery)
	if !errors.Is(err, outbox.ErrPermanent) {
		t.Fatalf("Deliver of a bundle whose blob is not stored = %v, want a permanent error", err)
	}
	missing := m.Files[1].EntryName()
	if d, ok := h.unbundled(t, received, m.Delivery.MessageID)[missing]; ok {
		t.Errorf("the missing file %s arrived (%v)", missing, d)
	}
}

func testBundleCorruptBlob(t *testing.T, h Harness) {
	if h.Unbundle == nil {
		t.Skip("the harness cannot unbundle (Harness.Unbundle)")
	}
	t.Parallel()
	dlv, received := h.New(t)
	blobs := NewMemBlobs()
	m := StageBundle(t, blobs, 1, BundleFiles()...)
	corrupt := m.Files[0]
	blobs.Corrupt(t, corrupt.Blob)
	err := dlv.Deliver(t.Context(), m.Delivery)
	if !errors.Is(err, outbox.ErrPermanent) || !errors.Is(err, outbox.ErrBlobCorrupt) {
		t.Fatalf("Deliver of a bundle with a corrupt blob = %v, want a permanent error wrapping ErrBlobCorrupt", err)
	}
	// The corruption shows only at the blob's end, after its bytes were
	// streamed: the receiver must still not get the file whole.
	if d, ok := h.unbundled(t, received, m.Delivery.MessageID)[corrupt.EntryName()]; ok {
		t.Errorf("the corrupt file %s arrived (%v)", corrupt.EntryName(), d)
	}
}
