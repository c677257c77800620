package outbox

import (
	"context"
	"time"
)

// EventKind names an entry of a submission's audit trail.
type EventKind string

// Kinds of audit events, in the order a submission's life produces them.
const (
	// EventAccepted: the submission was committed (Actor "portal:<id>").
	EventAccepted EventKind = "accepted"
	// EventTransformed: a message for one destination was generated and queued
	// (one per destination, in the transaction of EventAccepted).
	EventTransformed EventKind = "transformed"
	// EventAttempt: one delivery attempt ended; Attempt and Outcome say which
	// and how, Detail carries the error of a failed attempt.
	EventAttempt EventKind = "attempt"
	// EventDelivered: the destination accepted the message (final).
	EventDelivered EventKind = "delivered"
	// EventDead: the message failed permanently or exhausted its retries.
	EventDead EventKind = "dead"
	// EventReplayed: an operator made a dead message pending again (Actor is
	// the operator, Detail the reason).
	EventReplayed EventKind = "replayed"
	// EventDiscarded: an operator gave up a dead message; its payload is gone.
	EventDiscarded EventKind = "discarded"
	// EventPurged: retention removed the payload (Topic set: the message's
	// generated XML; Topic empty: the submission's request).
	EventPurged EventKind = "purged"
)

// Event is one append-only entry of a submission's audit trail. Events are
// recorded only for messages that belong to a submission. They carry ids,
// states and error texts of receivers, never payloads.
type Event struct {
	Seq          int64 // increasing in recording order
	SubmissionID string
	// PortalID, Tenant and Procedure are the submission's; they are filled
	// when events are handed to a Reactor and when read.
	PortalID  string
	Tenant    string
	Procedure string
	MessageID string // empty for events of the submission itself
	Topic     string // the message's topic; empty for events of the submission itself
	Kind      EventKind
	Attempt   int     // EventAttempt: the attempt's number, from 1
	Outcome   Outcome // EventAttempt: its outcome
	Actor     string  // who caused it: "portal:<id>", "relay:<owner>", the replaying operator, "retention"
	Detail    string  // error text of a failed attempt, reason of a replay or discard
	At        time.Time
	// Metadata is the message's metadata (MessageID set), for reactors; not stored with the event.
	Metadata map[string]string
}

// Reactor derives follow-up messages from audit events: e-mail to the office
// when a message is delivered, a status callback to the portal. A store with a
// Reactor calls it inside the transaction that records the events and inserts
// the messages it returns in that transaction, so a follow-up is committed
// exactly when its cause is. React must be quick and must not touch the store;
// an error rolls the transaction back.
type Reactor interface {
	React(ctx context.Context, events []Event) ([]Message, error)
}

// ReactorFunc adapts a function to Reactor.
type ReactorFunc func(ctx context.Context, events []Event) ([]Message, error)

// React calls f.
func (f ReactorFunc) React(ctx context.Context, events []Event) ([]Message, error) {
	return f(ctx, events)
}

// TopicStats are the counts behind the gauges and alarms of one topic.
type TopicStats struct {
	Topic    string
	Pending  int // pending or retrying
	Retrying int // of Pending, those that failed at least once
	Dead     int // dead, not discarded
	// OldestPending is when the oldest pending or retrying message was
	// created; zero when there is none.
	OldestPending time.Time
	// LastDelivered is when the topic's last delivery succeeded. It is read
	// only for topics with pending messages (zero otherwise, and when none
	// was ever delivered).
	LastDelivered time.Time
}

// SubmissionFilter selects a portal's submissions for Store.ListSubmissions.
type SubmissionFilter struct {
	// PortalID is the portal whose submissions are listed. Required.
	PortalID string
	// Since lists submissions received at or after this time; zero lists all.
	Since time.Time
	// Limit is the page size: 0 means DefaultListLimit; larger than MaxListLimit means MaxListLimit.
	Limit int
	// After is the cursor returned with the previous page.
	After string
}

// PageLimit is the effective page size of f.
func (f SubmissionFilter) PageLimit() int { return ListFilter{Limit: f.Limit}.PageLimit() }

// SubmissionStatus is a submission (without its payload) and its messages
// (without theirs).
type SubmissionStatus struct {
	Submission Submission
	Messages   []Message
}

// PurgeResult counts what Store.Purge removed.
type PurgeResult struct {
	Messages    int // payloads of delivered messages
	Submissions int // request payloads of submissions whose messages are all delivered and purged
}

// Auditor is the audit and retention part of a Store.
type Auditor interface {
	// Events returns the audit trail of a submission, oldest first
	// (ErrNotFound if there is no such submission).
	Events(ctx context.Context, submissionID string) ([]Event, error)

	// SetReactor installs r (nil removes it). Call it before the store is used.
	SetReactor(r Reactor)

	// Stats returns the counts of every topic that has pending or dead messages.
	Stats(ctx context.Context) ([]TopicStats, error)

	// ListSubmissions returns the submissions of f.PortalID received at or after
	// f.Since, oldest first, with their messages, and the next page's cursor
	// (empty when there is none). Payloads are not included.
	ListSubmissions(ctx context.Context, f SubmissionFilter) ([]SubmissionStatus, string, error)

	// Purge removes, up to limit of each, the payloads of messages delivered
	// before before, and the request payload of submissions all of whose
	// messages are final and purged or discarded, recording EventPurged. Rows,
	// metadata, attempts and events stay; dead messages keep their payload.
	Purge(ctx context.Context, before time.Time, limit int) (PurgeResult, error)

	// Discard gives up a dead message: its state becomes discarded and its
	// payload is removed, recording EventDiscarded by r.By with r.Reason. It
	// returns ErrNotFound, ErrAmbiguous or, for a message that is not dead,
	// ErrNotReplayable.
	Discard(ctx context.Context, r ReplayRequest) error
}
