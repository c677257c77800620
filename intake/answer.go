package intake

import (
	"context"
	"errors"
)

// This file is the contract of the second use case of intake, "receive an
// answer from the authority" (a Fachverfahren's or DMS's Eingangsbestätigung,
// Aktenzeichen, formelle Prüfung, Bescheid or xdomea import confirmation).
// Every inbound answer channel (HTTP, file inbox, AMQP) hands the raw body
// to an AnswerReceiver and keeps only its protocol: the receiver parses,
// matches and stores the answer in one transaction before it returns.

// Channels of AnswerSource.Channel.
const (
	AnswerChannelHTTP  = "http"  // POST /v1/answers
	AnswerChannelInbox = "inbox" // a polled directory
	AnswerChannelAMQP  = "amqp"  // a RabbitMQ queue
)

// AnswerSource says where an answer came from: the destination whose
// credential or channel delivered it, and so the tenant it may refer to.
type AnswerSource struct {
	Tenant      string // tenant ID of the destination
	Destination string // destination ID within the tenant's route
	// Procedure, optional, is the procedure of the destination's route
	// (destination ids are unique per route); with it the answer's source
	// is recorded as "<procedure>/<destination>".
	Procedure string
	Channel   string // one of the AnswerChannel constants
}

// AnswerReceipt says what became of a received answer. It is returned only
// once the answer is committed.
type AnswerReceipt struct {
	// ID is Amtsbote's id of the stored answer.
	ID string
	// Duplicate: the answer's own message id was received before with the
	// same body; nothing changed.
	Duplicate bool
	// Matched: the answer refers to a known submission of the source's
	// tenant, SubmissionID. Otherwise it is stored as unmatched for an
	// operator to assign or discard.
	Matched      bool
	SubmissionID string
}

// AnswerReceiver receives answers; intake's answer service implements it,
// and the inbound channels declare what they need of it.
type AnswerReceiver interface {
	// Receive parses body (contentType: an XML or JSON media type, or ""
	// to detect it), matches and stores it. Errors: *AnswerError (the body
	// is not an acceptable answer: permanent, nothing stored),
	// ErrAnswerConflict (permanent, recorded), ErrUnavailable (retry
	// later, nothing stored).
	Receive(ctx context.Context, src AnswerSource, body []byte, contentType string) (AnswerReceipt, error)
}

// ErrAnswerConflict: an answer with the same message id was received before
// with a different body. The conflict is recorded in the audit trail;
// nothing else changes.
var ErrAnswerConflict = errors.New("answer message id reused with a different body")

// AnswerError is a body that is not an acceptable answer: not well-formed,
// too large or too deep, a DTD, a wrong namespace or unknown message type,
// or a required element missing. Nothing was stored.
type AnswerError struct {
	// Path locates the problem: an element path such as
	// "/xbau:prozessnachrichten.aktenzeichen.1121/bezug/referenz" for
	// XML, an RFC 6901 JSON pointer for JSON, or "" for the whole body.
	Path string
	// Reason says what is wrong, without echoing the body's content.
	Reason string
	// Err, optional, is the underlying error.
	Err error
}

// Error returns the path and the reason.
func (e *AnswerError) Error() string {
	if e.Path == "" {
		return "invalid answer: " + e.Reason
	}
	return "invalid answer at " + e.Path + ": " + e.Reason
}

// Unwrap returns Err.
func (e *AnswerError) Unwrap() error { return e.Err }
