package outbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Delivery is what a Deliverer receives: one message for one destination.
type Delivery struct {
	MessageID    string
	SubmissionID string
	Topic        string
	Attempt      int // 1-based
	// Payload is the stored payload: the content itself, or for a bundle
	// (Metadata[MetaPayloadFormat]) its description. Deliverers read the
	// content with WriteTo, Open or, entry by entry, Bundle and OpenEntry.
	Payload []byte
	// Metadata is the message's metadata as stored; deliverers only read it.
	Metadata map[string]string

	blobs Blobs // where a bundle's blobs are read from
}

// WithBlobs returns d reading the blobs of its bundle from blobs; the relay
// sets its store.
func (d Delivery) WithBlobs(blobs Blobs) Delivery {
	d.blobs = blobs
	return d
}

// Bundle returns the bundle the payload describes, ok=false for a payload
// that is the content itself. An undecodable bundle is a permanent error.
func (d Delivery) Bundle() (b Bundle, ok bool, err error) {
	if d.Metadata[MetaPayloadFormat] != PayloadFormatBundle {
		return Bundle{}, false, nil
	}
	b, err = ParseBundle(d.Payload)
	if err != nil {
		return Bundle{}, true, Permanent(fmt.Errorf("message %s: %w", d.MessageID, err))
	}
	return b, true, nil
}

// WriteTo writes the content of d to w: the payload, or the ZIP container a
// bundle describes, its blobs streamed chunk by chunk. A missing or
// corrupt blob is a permanent error; other store errors are not.
func (d Delivery) WriteTo(ctx context.Context, w io.Writer) error {
	b, ok, err := d.Bundle()
	switch {
	case err != nil:
		return err
	case !ok:
		_, err := w.Write(d.Payload)
		return err
	case d.blobs == nil:
		return Permanent(fmt.Errorf("message %s: bundle without a blob store", d.MessageID))
	}
	return blobError(b.WriteZIP(ctx, w, d.blobs))
}

// Open returns the content of d as a stream (see WriteTo). Closing it early
// stops the assembly.
func (d Delivery) Open(ctx context.Context) io.ReadCloser {
	if d.Metadata[MetaPayloadFormat] != PayloadFormatBundle {
		return io.NopCloser(bytes.NewReader(d.Payload))
	}
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		pw.CloseWithError(d.WriteTo(ctx, pw))
	}()
	return &assembly{PipeReader: pr, done: done}
}

// assembly is the reader of Open; Close waits until the assembly stopped,
// so that nothing reads the store after it.
type assembly struct {
	*io.PipeReader
	done chan struct{}
}

func (a *assembly) Close() error {
	err := a.PipeReader.Close()
	<-a.done
	return err
}

// OpenEntry returns the content of one entry of d's bundle and its size.
func (d Delivery) OpenEntry(ctx context.Context, e BundleEntry) (io.Reader, int64, error) {
	if !e.IsBlob() {
		return bytes.NewReader(e.Data), int64(len(e.Data)), nil
	}
	if d.blobs == nil {
		return nil, 0, Permanent(fmt.Errorf("message %s: bundle without a blob store", d.MessageID))
	}
	r, err := OpenBlob(ctx, d.blobs, e.Blob)
	if err != nil {
		return nil, 0, blobError(err)
	}
	return blobErrorReader{r}, r.Size(), nil
}

// blobError makes a missing or corrupt blob permanent: retrying cannot
// bring it back.
func blobError(err error) error {
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrBlobCorrupt) {
		return Permanent(err)
	}
	return err
}

// blobErrorReader applies blobError to the errors of r.
type blobErrorReader struct{ r io.Reader }

func (b blobErrorReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		err = blobError(err)
	}
	return n, err
}

// BaseName returns the name, without extension, under which d is delivered
// as a file: its MetaFileName, or else its message id. A MetaFileName that
// does not begin with the message id or holds anything but letters,
// digits, '.', '_' and '-' is a permanent error: it would name another
// message's file or leave the directory.
func (d Delivery) BaseName() (string, error) {
	name, ok := d.Metadata[MetaFileName]
	if !ok {
		return d.MessageID, nil
	}
	if len(name) > 200 || !strings.HasPrefix(name, d.MessageID) || strings.Contains(name, "..") ||
		strings.IndexFunc(name, func(r rune) bool {
			return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '.' || r == '_' || r == '-')
		}) >= 0 {
		return "", Permanent(fmt.Errorf("message %s: invalid %s %q", d.MessageID, MetaFileName, name))
	}
	return name, nil
}

// Deliverer hands a message to a destination. Delivering the same message twice must be
// harmless for the receiver (the message ID stays the same), because delivery is at-least-once.
// An error wrapping ErrPermanent is never retried: the message is dead at once.
type Deliverer interface {
	Deliver(ctx context.Context, d Delivery) error
}

// Prober is an optional capability of a Deliverer: a cheap check, without
// a message, that its destination is reachable again (a broker accepts a
// connection, a receiver's port answers). While the destination's circuit
// is open, the Relay probes every ProbeInterval; a probe that succeeds ends
// the pause at once, and the next delivery (the circuit's probe) decides.
type Prober interface {
	Probe(ctx context.Context) error
}

// DelivererFunc adapts a function to Deliverer.
type DelivererFunc func(ctx context.Context, d Delivery) error

// Deliver calls f.
func (f DelivererFunc) Deliver(ctx context.Context, d Delivery) error { return f(ctx, d) }

// ErrPermanent marks a delivery error that retrying cannot fix (a rejected message,
// a misconfiguration). Wrap it with Permanent.
var ErrPermanent = errors.New("permanent delivery failure")

// RetryAfterError is a delivery error that names when the destination wants the
// next attempt (an HTTP Retry-After): the relay schedules it no earlier than
// that, and no earlier than the retry policy says.
type RetryAfterError interface {
	error
	RetryAfter() time.Duration
}

// Permanent wraps err so that errors.Is(err, ErrPermanent) holds.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrPermanent, err)
}
