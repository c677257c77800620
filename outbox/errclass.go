package outbox

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"os"
)

// ErrorClass is the classified reason of a failed delivery attempt: what a
// portal may see of it. The error's text, which may name hosts, ports, paths
// and quote the receiver, is for operators only.
type ErrorClass string

// Error classes. docs/api.md lists them for portals.
const (
	// ClassReceiverUnavailable: the receiver could not be reached (refused,
	// reset, name not found, broker down) or answered that it is unavailable
	// (5xx, 429, 408).
	ClassReceiverUnavailable ErrorClass = "receiver_unavailable"
	// ClassReceiverRejected: the receiver refused the message for good (4xx,
	// a negative acknowledgement); it is not retried.
	ClassReceiverRejected ErrorClass = "receiver_rejected"
	// ClassTimeout: the receiver did not answer in time.
	ClassTimeout ErrorClass = "timeout"
	// ClassStorageUnavailable: a file or directory could not be written (a
	// file drop that is missing, unwritable or full).
	ClassStorageUnavailable ErrorClass = "storage_unavailable"
	// ClassInvalidMessage: the message itself cannot be delivered (it
	// contradicts the destination's rules, an attachment is missing); it is
	// not retried.
	ClassInvalidMessage ErrorClass = "invalid_message"
	// ClassOutcomeUnknown: the process making the attempt was lost before it
	// recorded the outcome; the receiver may have the message.
	ClassOutcomeUnknown ErrorClass = "outcome_unknown"
	// ClassInternalError: Amtsbote failed (a panic in a deliverer).
	ClassInternalError ErrorClass = "internal_error"
	// ClassDeliveryFailed: any other failure.
	ClassDeliveryFailed ErrorClass = "delivery_failed"
)

// ErrorClasses lists every class, for documentation and tests.
var ErrorClasses = []ErrorClass{ClassReceiverUnavailable, ClassReceiverRejected, ClassTimeout,
	ClassStorageUnavailable, ClassInvalidMessage, ClassOutcomeUnknown, ClassInternalError, ClassDeliveryFailed}

// Classifier is implemented by delivery errors that know their class; an
// adapter's typed errors (an HTTP status, a broker's nack) implement it.
type Classifier interface {
	ErrorClass() ErrorClass
}

// classified is an error with a class given by the deliverer.
type classified struct {
	class ErrorClass
	err   error
}

func (c classified) Error() string          { return c.err.Error() }
func (c classified) Unwrap() error          { return c.err }
func (c classified) ErrorClass() ErrorClass { return c.class }

// Classify returns err marked with class (nil for a nil err); the mark is
// kept through wrapping and outranks what ClassifyError would infer.
func Classify(class ErrorClass, err error) error {
	if err == nil {
		return nil
	}
	return classified{class: class, err: err}
}

// ClassifyError returns the class of a delivery error: the class its chain
// declares (Classifier), else one inferred from the standard error types:
// timeouts, network errors, file system errors, panics and permanent
// errors. Empty for nil.
func ClassifyError(err error) ErrorClass {
	if err == nil {
		return ""
	}
	var c Classifier
	if errors.As(err, &c) && c.ErrorClass() != "" {
		return c.ErrorClass()
	}
	var ne net.Error
	var pe panicError
	var fe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		return ClassInternalError
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return ClassTimeout
	case isNetError(err):
		return ClassReceiverUnavailable
	case errors.As(err, &fe), errors.As(err, &le):
		return ClassStorageUnavailable
	case errors.Is(err, ErrPermanent):
		return ClassReceiverRejected
	}
	return ClassDeliveryFailed
}

// isNetError reports whether err comes from the network: a failed dial, a
// reset connection, an unknown host.
func isNetError(err error) bool {
	var op *net.OpError
	var dns *net.DNSError
	var ae *net.AddrError
	return errors.As(err, &op) || errors.As(err, &dns) || errors.As(err, &ae)
}

// HTTPStatusRetryable reports whether an HTTP receiver's status other than
// 2xx is worth retrying: 408, 425, 429 and every 5xx. Every other one is a
// refusal for good.
func HTTPStatusRetryable(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooEarly, http.StatusTooManyRequests:
		return true
	}
	return code >= 500 && code <= 599
}

// HTTPStatusClass is what portals see of an HTTP receiver's status other
// than 2xx: a timeout (408), an unavailable receiver (the other retryable
// ones) or a refusal (receiver_rejected).
func HTTPStatusClass(code int) ErrorClass {
	switch {
	case code == http.StatusRequestTimeout:
		return ClassTimeout
	case HTTPStatusRetryable(code):
		return ClassReceiverUnavailable
	}
	return ClassReceiverRejected
}
