package outbox

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
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
	// EventPayloadViewed: an operator had a message's payload (personal data)
	// shown (Actor is the operator, Detail the stated reason); recorded by
	// Auditor.RecordAccess.
	EventPayloadViewed EventKind = "payload_viewed"
	// EventAnswer: an answer from the authority was matched or assigned to
	// the submission; MessageID is the answer's id (Answer.ID), Detail its
	// status, Actor the destination that sent it or the assigning operator.
	EventAnswer EventKind = "answer"
)

// Event is one append-only entry of a submission's audit trail. Events are
// recorded only for messages that belong to a submission. They carry ids,
// states and error texts of receivers, never payloads.
type Event struct {
	// Seq is the event's number in recording order, from one counter for
	// the trails of all submissions: increasing within a trail, with gaps,
	// and the same on every read. (Stores derive routine events from the
	// rows they describe; such an event has the number it was given when
	// its row was written.)
	Seq          int64
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
	Blobs       int // blobs (attachments) of those submissions
	Answers     int // payloads of answers (with their attachments' blobs)
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
	// messages are final and purged or discarded, together with the
	// submission's blobs, recording EventPurged. Rows, metadata, attempts and
	// events stay; dead messages keep their payload and their blobs.
	Purge(ctx context.Context, before time.Time, limit int) (PurgeResult, error)

	// Discard gives up a dead message: its state becomes discarded and its
	// payload is removed, recording EventDiscarded by r.By with r.Reason. It
	// returns ErrNotFound, ErrAmbiguous or, for a message that is not dead,
	// ErrNotReplayable.
	Discard(ctx context.Context, r ReplayRequest) error

	// RecordAccess appends e, an operator's access to personal data
	// (Kind EventPayloadViewed; SubmissionID, MessageID, Topic, Actor and
	// Detail set), to the submission's audit trail; the store sets At and
	// Seq. Reactors are not called. It returns ErrNotFound if there is no
	// such submission.
	RecordAccess(ctx context.Context, e Event) error
}

// Actors of events recorded by the stores themselves.
const (
	// ActorRetention purges payloads.
	ActorRetention = "retention"
)

// ActorPortal is the actor of a portal's submission.
func ActorPortal(portalID string) string { return "portal:" + portalID }

// ActorRelay is the actor of a delivery attempt by the relay process owner.
func ActorRelay(owner string) string { return "relay:" + owner }

// FillSubmissionInfo sets the portal, tenant and procedure of the events that
// lack them, looking each submission up once (for reactors, which need them).
func FillSubmissionInfo(events []Event, lookup func(submissionID string) (portal, tenant, procedure string, err error)) error {
	type info struct{ portal, tenant, procedure string }
	known := map[string]info{}
	for i := range events {
		e := &events[i]
		if e.PortalID != "" {
			continue
		}
		in, ok := known[e.SubmissionID]
		if !ok {
			var err error
			if in.portal, in.tenant, in.procedure, err = lookup(e.SubmissionID); err != nil {
				return fmt.Errorf("read submission %s: %w", e.SubmissionID, err)
			}
			known[e.SubmissionID] = in
		}
		e.PortalID, e.Tenant, e.Procedure = in.portal, in.tenant, in.procedure
	}
	return nil
}

// SortStats orders stats by topic.
func SortStats(st []TopicStats) {
	slices.SortFunc(st, func(a, b TopicStats) int { return cmp.Compare(a.Topic, b.Topic) })
}

// SortEvents orders events by submission, keeping the order within one.
func SortEvents(ev []Event) {
	slices.SortStableFunc(ev, func(a, b Event) int { return cmp.Compare(a.SubmissionID, b.SubmissionID) })
}

// SubmissionCursor is the position after a submission in ListSubmissions
// order (receipt time, then id).
type SubmissionCursor struct {
	CreatedAt time.Time
	ID        string
}

// String encodes c as an opaque cursor.
func (c SubmissionCursor) String() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.CreatedAt.UnixMicro(), 10) + "/" + c.ID))
}

// ParseSubmissionCursor decodes a cursor of ListSubmissions; "" is the start.
func ParseSubmissionCursor(s string) (SubmissionCursor, error) {
	if s == "" {
		return SubmissionCursor{}, nil
	}
	bad := fmt.Errorf("list submissions: %w", ErrInvalidCursor)
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return SubmissionCursor{}, bad
	}
	us, id, ok := strings.Cut(string(raw), "/")
	n, err := strconv.ParseInt(us, 10, 64)
	if !ok || err != nil || n < 0 || id == "" {
		return SubmissionCursor{}, bad
	}
	return SubmissionCursor{CreatedAt: time.UnixMicro(n).UTC(), ID: id}, nil
}

// ErrInvalidCursor: a list cursor that no page returned.
var ErrInvalidCursor = errors.New("invalid cursor")

// PageSubmissions cuts a ListSubmissions result, read with limit+1 rows, to
// one page and returns the next page's cursor ("" on the last page).
func PageSubmissions(subs []Submission, limit int) ([]Submission, string) {
	if len(subs) <= limit {
		return subs, ""
	}
	last := subs[limit-1]
	return subs[:limit], SubmissionCursor{CreatedAt: last.CreatedAt, ID: last.ID}.String()
}

// GroupMessages pairs submissions with their messages (in the given order).
func GroupMessages(subs []Submission, msgs []Message) []SubmissionStatus {
	idx := make(map[string]int, len(subs))
	out := make([]SubmissionStatus, len(subs))
	for i, s := range subs {
		out[i].Submission = s
		idx[s.ID] = i
	}
	for _, m := range msgs {
		if i, ok := idx[m.SubmissionID]; ok {
			out[i].Messages = append(out[i].Messages, m)
		}
	}
	return out
}

// TransformedEvent is the EventTransformed of a message queued at now; its
// actor is the portal whose submission it belongs to, when known ("" else).
func TransformedEvent(m Message, now time.Time, portalID string) Event {
	ev := Event{SubmissionID: m.SubmissionID, MessageID: m.ID, Topic: m.Topic, Kind: EventTransformed,
		Detail: m.Metadata[MetaMessageType], At: now, Metadata: m.Metadata}
	if portalID != "" {
		ev.Actor = ActorPortal(portalID)
	}
	return ev
}

// CompletionEvents are the events of a recorded attempt: EventAttempt, and
// EventDelivered or EventDead when the outcome is final.
func CompletionEvents(c Completion, submissionID string, attempt int, md map[string]string) []Event {
	base := Event{SubmissionID: submissionID, MessageID: c.ID, Topic: c.Topic, Actor: ActorRelay(c.Owner),
		At: c.FinishedAt, Metadata: md}
	ev := base
	ev.Kind, ev.Attempt, ev.Outcome, ev.Detail = EventAttempt, attempt, c.Outcome, c.Error
	out := []Event{ev}
	switch c.Outcome {
	case OutcomeDelivered:
		ev = base
		ev.Kind = EventDelivered
		out = append(out, ev)
	case OutcomeDead:
		ev = base
		ev.Kind, ev.Detail = EventDead, c.Error
		out = append(out, ev)
	}
	return out
}
