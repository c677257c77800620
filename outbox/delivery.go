package outbox

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Delivery is what a Deliverer receives: one message for one destination.
type Delivery struct {
	MessageID    string
	SubmissionID string
	Topic        string
	Attempt      int // 1-based
	Payload      []byte
	Metadata     map[string]string
}

// Deliverer hands a message to a destination. Delivering the same message twice must be
// harmless for the receiver (the message ID stays the same), because delivery is at-least-once.
// An error wrapping ErrPermanent is never retried: the message is dead at once.
type Deliverer interface {
	Deliver(ctx context.Context, d Delivery) error
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
