package outbox

import (
	"errors"
	"fmt"
	"time"
)

// State is where a Message stands in its delivery lifecycle:
// pending -> delivered, or pending -> retrying -> ... -> delivered | dead;
// dead -> pending (replay) or discarded.
type State string

// Delivery states of a Message.
const (
	StatePending   State = "pending"   // stored, not yet attempted
	StateRetrying  State = "retrying"  // attempted and failed; next attempt scheduled
	StateDelivered State = "delivered" // the destination accepted it (final)
	StateDead      State = "dead"      // failed permanently or exhausted its retry policy (final until replayed)
	StateDiscarded State = "discarded" // a dead message an operator gave up; its payload is removed (final)
)

// Final reports whether no further delivery attempt will be made.
func (s State) Final() bool { return s == StateDelivered || s == StateDead || s == StateDiscarded }

// MetaAttempt is set on the messages the Subscriber hands out to watermill
// consumers: the number of this attempt, starting at 1. The Relay's
// deliverers read Delivery.Attempt instead.
const MetaAttempt = "outbox_attempt"

// Message is one delivery of one payload to one destination (its topic).
type Message struct {
	ID            string // UUID, unique per topic; stays the same across retries and replays so receivers can deduplicate
	Topic         string // destination key, "<tenant>/<procedure>/<destination>" for submissions
	SubmissionID  string // empty for messages published without a submission
	Payload       []byte
	Metadata      map[string]string
	State         State
	Attempts      int       // attempts made so far
	NextAttemptAt time.Time // when the message is due (pending or retrying)
	LastError     string
	// LastErrorClass is the classified reason of LastError, the part of it
	// that portals see; empty when LastError is.
	LastErrorClass ErrorClass
	CreatedAt      time.Time
	UpdatedAt      time.Time
	DeliveredAt    time.Time // zero unless delivered
	// RetryFrom is when the retry budget (RetryPolicy.MaxElapsedTime) started:
	// CreatedAt, or the last replay, which gives a dead message a fresh budget.
	RetryFrom time.Time
	// LeaseOwner and LeaseUntil, when set on a message given to
	// Tx.InsertMessages, store it leased to LeaseOwner until LeaseUntil (its
	// lease taken at the insert): a message handed to this process's relay
	// (Relay.Offer). Insert-only: stores do not fill them when reading.
	LeaseOwner string
	LeaseUntil time.Time
}

// Outcome is the result of one delivery attempt.
type Outcome string

// Outcomes of an Attempt.
const (
	OutcomeDelivered Outcome = "delivered"
	OutcomeRetry     Outcome = "retry"
	OutcomeDead      Outcome = "dead"
	// OutcomeUnknown: the process making the attempt was lost (killed, its
	// lease ran out) before it recorded the outcome; the receiver may or may
	// not have the message. It is attempted again at once.
	OutcomeUnknown Outcome = "unknown"
)

// State is the message state an outcome leads to.
func (o Outcome) State() (State, error) {
	switch o {
	case OutcomeDelivered:
		return StateDelivered, nil
	case OutcomeRetry, OutcomeUnknown:
		return StateRetrying, nil
	case OutcomeDead:
		return StateDead, nil
	}
	return "", fmt.Errorf("unknown outcome %q", o)
}

// Attempt is the record of one delivery attempt, kept for the status API and operators.
type Attempt struct {
	MessageID  string
	Number     int // 1-based
	Owner      string
	StartedAt  time.Time
	FinishedAt time.Time
	Outcome    Outcome
	Error      string     // for operators: may name hosts, paths and receiver texts
	ErrorClass ErrorClass // for portals: the classified reason of Error
}

// Submission is the stored record of an accepted portal submission.
type Submission struct {
	ID             string
	PortalID       string
	TenantID       string
	ProcedureID    string
	IdempotencyKey string // empty when the portal sent none
	RequestHash    []byte // SHA-256 of the canonical request, to tell a retry from a conflicting reuse of a key
	Payload        []byte // the request as received (JSON)
	CreatedAt      time.Time
}

// Errors returned by stores.
var (
	// ErrNotFound: no such submission or message.
	ErrNotFound = errors.New("not found")
	// ErrLeaseLost: the message is no longer leased by this owner (the lease expired and
	// another owner claimed it, or it was completed); the completion was not recorded.
	ErrLeaseLost = errors.New("lease lost")
)
