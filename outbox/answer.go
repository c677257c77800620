package outbox

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// AnswerState is where a stored answer from the authority stands.
type AnswerState string

// States of an Answer: matched (to a submission, when received) or
// unmatched; an operator assigns an unmatched answer to a submission or
// discards it.
const (
	AnswerMatched   AnswerState = "matched"
	AnswerUnmatched AnswerState = "unmatched"
	AnswerAssigned  AnswerState = "assigned"
	AnswerDiscarded AnswerState = "discarded"
)

// Valid reports whether s is one of the AnswerState constants.
func (s AnswerState) Valid() bool {
	switch s {
	case AnswerMatched, AnswerUnmatched, AnswerAssigned, AnswerDiscarded:
		return true
	}
	return false
}

// Answer is an answer from the authority (a Fachverfahren's or DMS's
// Eingangsbestätigung, Aktenzeichen, formelle Prüfung, Bescheid or import
// confirmation) as stored: idempotent by Tenant and MessageID.
type Answer struct {
	ID        string // Amtsbote's id (UUID)
	Tenant    string // the tenant of the destination that sent it
	Source    string // the destination that sent it, "<procedure>/<destination>"
	Channel   string // http, inbox or amqp
	MessageID string // the answer's own message id, unique per tenant
	// BodySHA256 is the SHA-256 of the body as received, which tells a
	// redelivery from a conflicting reuse of MessageID.
	BodySHA256  []byte
	MessageType string // e.g. "xbau.prozessnachrichten.aktenzeichen.1121"
	// Status is the step the answer reports: one of the answer statuses of
	// intake (received, case_number, incomplete, decided, rejected, filed).
	Status string
	// Reference is what the answer refers to: the message id of the
	// original message (the 0200's UUID, the xdomea ProzessID).
	Reference string
	// SubmissionID and RefMessage are the submission and outbox message it
	// refers to, once matched or assigned; empty while unmatched.
	SubmissionID string
	RefMessage   string
	State        AnswerState
	// Detail is the answer's facts as JSON (Aktenzeichen, missing
	// documents, decision, DMS id), shown to the portal; sealed at rest
	// with encryption.
	Detail []byte
	// Payload is the body as received; sealed at rest with encryption,
	// removed by retention and discard. Empty where a read leaves it out.
	Payload    []byte
	ReceivedAt time.Time
	// ResolvedAt, ResolvedBy and Reason record an operator's assignment or
	// discard.
	ResolvedAt time.Time
	ResolvedBy string
	Reason     string
	// PurgedAt is when retention or a discard removed Payload.
	PurgedAt time.Time
	// Attachments are the files of a Bescheid, stored as blobs of the
	// submission; recorded once the answer has a submission.
	Attachments []AnswerAttachment
}

// AnswerAttachment is a file of an answer, stored as a blob.
type AnswerAttachment struct {
	Index    int // position in the answer, from 0
	BlobID   string
	FileName string
	MIMEType string
	Size     int64
}

// Kinds of AnswerEvent.
const (
	AnswerEventReceived  = "received"  // stored; Detail is the state
	AnswerEventConflict  = "conflict"  // the message id came again with another body
	AnswerEventAssigned  = "assigned"  // an operator assigned it; Detail is the reason
	AnswerEventDiscarded = "discarded" // an operator discarded it; Detail is the reason
	AnswerEventPurged    = "purged"    // retention removed its payload and attachments
)

// AnswerEvent is one entry of an answer's own audit trail.
type AnswerEvent struct {
	Seq      int64
	AnswerID string
	Kind     string // one of the AnswerEvent constants
	Actor    string // "answers:<tenant>/<procedure>/<destination>" or the operator
	Detail   string
	At       time.Time
}

// AnswerTarget is what a referenced outbox message belongs to.
type AnswerTarget struct {
	MessageID    string
	Topic        string
	SubmissionID string
	Tenant       string
	PortalID     string
}

// AnswerFilter selects answers for ListAnswers.
type AnswerFilter struct {
	// State, when set, lists only answers in it.
	State AnswerState
	// Tenant, when set, lists only the tenant's answers.
	Tenant string
	// Limit is the page size: 0 means DefaultListLimit; larger than
	// MaxListLimit means MaxListLimit.
	Limit int
	// After is the cursor returned with the previous page.
	After string
}

// PageLimit is the effective page size of f.
func (f AnswerFilter) PageLimit() int { return ListFilter{Limit: f.Limit}.PageLimit() }

// Errors of the answer methods.
var (
	// ErrAnswerResolved: the answer is not unmatched (matched, assigned or
	// discarded already), so it cannot be assigned or discarded.
	ErrAnswerResolved = errors.New("answer is not unmatched")
)

// AnswerStore reads and resolves stored answers.
type AnswerStore interface {
	// AnswerTarget returns the submission message id belongs to
	// (ErrNotFound if no message of a submission has that id, ErrAmbiguous
	// if several have).
	AnswerTarget(ctx context.Context, messageID string) (AnswerTarget, error)
	// SubmissionTarget returns the submission id as an AnswerTarget
	// without a message (ErrNotFound if there is none).
	SubmissionTarget(ctx context.Context, submissionID string) (AnswerTarget, error)
	// Answer returns the answer id with its payload and attachments
	// (ErrNotFound if there is none).
	Answer(ctx context.Context, id string) (Answer, error)
	// SubmissionAnswers returns the answers of a submission, oldest first,
	// with their attachments, without payloads.
	SubmissionAnswers(ctx context.Context, submissionID string) ([]Answer, error)
	// ListAnswers returns the answers matching f, oldest first, without
	// payloads, and the cursor of the next page ("" on the last).
	ListAnswers(ctx context.Context, f AnswerFilter) ([]Answer, string, error)
	// AnswerEvents returns an answer's audit trail, oldest first.
	AnswerEvents(ctx context.Context, answerID string) ([]AnswerEvent, error)
	// UnmatchedAnswers counts the unmatched answers per tenant (tenants
	// without any are left out).
	UnmatchedAnswers(ctx context.Context) (map[string]int, error)
	// DiscardAnswer discards an unmatched answer and removes its payload,
	// recording AnswerEventDiscarded by by with reason. It returns
	// ErrNotFound or ErrAnswerResolved.
	DiscardAnswer(ctx context.Context, id, by, reason string) error
}

// AnswerTx is the part of Tx that stores answers.
type AnswerTx interface {
	// InsertAnswer stores a, its attachments (whose blobs the transaction
	// inserted before) and AnswerEventReceived; for an answer with a
	// submission also EventAnswer in the submission's audit trail, which
	// the reactor turns into a portal callback. If the tenant has an answer
	// with a.MessageID, nothing is stored and that one is returned with
	// created=false.
	InsertAnswer(ctx context.Context, a Answer) (stored Answer, created bool, err error)
	// RecordAnswerEvent appends e to an answer's audit trail.
	RecordAnswerEvent(ctx context.Context, e AnswerEvent) error
	// AssignAnswer assigns the unmatched answer a.ID to a.SubmissionID
	// (and a.RefMessage), recording a.ResolvedBy and a.Reason, its
	// attachments (blobs inserted before), AnswerEventAssigned and
	// EventAnswer. It returns ErrNotFound or ErrAnswerResolved.
	AssignAnswer(ctx context.Context, a Answer) error
}

// ActorAnswers is the actor of an answer received from a destination.
func ActorAnswers(tenant, source string) string { return "answers:" + tenant + "/" + source }

// AnswerCursor is the position after an answer in ListAnswers order
// (receipt time, then id).
type AnswerCursor struct {
	ReceivedAt time.Time
	ID         string
}

// String encodes c as an opaque cursor.
func (c AnswerCursor) String() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.ReceivedAt.UnixMicro(), 10) + "/" + c.ID))
}

// ParseAnswerCursor decodes a cursor of ListAnswers; "" is the start.
func ParseAnswerCursor(s string) (AnswerCursor, error) {
	if s == "" {
		return AnswerCursor{}, nil
	}
	bad := fmt.Errorf("list answers: %w", ErrInvalidCursor)
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return AnswerCursor{}, bad
	}
	us, id, ok := strings.Cut(string(raw), "/")
	n, err := strconv.ParseInt(us, 10, 64)
	if !ok || err != nil || n < 0 || id == "" {
		return AnswerCursor{}, bad
	}
	return AnswerCursor{ReceivedAt: time.UnixMicro(n).UTC(), ID: id}, nil
}
