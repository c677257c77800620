package outbox

import (
	"context"
	"time"
)

// Store is the persistence contract of the outbox. Implementations must be safe
// for concurrent use; those for shared databases must make Claim safe across
// processes (no message leased to two owners at once).
//
// Store is the union the stores implement (outbox/sqlite and outbox/postgres
// through outbox/sqlstore, and the encrypting decorator outbox/sealed). A
// consumer declares the small part it calls where it uses it, for example
// adminapi.Store, notify.MonitorStore or metrics.StatsReader, and takes that.
type Store interface {
	// InTx runs fn in one transaction and commits it if fn returns nil.
	// Watchers of the topics of inserted messages are woken after the commit.
	// fn may run twice (the PostgreSQL store, when CreateSubmission meets an
	// existing submission): it must have no effects outside tx but setting
	// variables that a second run overwrites, and wrap tx's errors (%w).
	InTx(ctx context.Context, fn func(tx Tx) error) error

	// Claim leases up to p.Limit due messages of p.Topic to p.Owner until now+p.Lease.
	// A message is due when it is pending or retrying, its NextAttemptAt has passed
	// and it has no lease (a lease that ran out is first recovered by RecoverLost,
	// which records the lost attempt). With p.Ordered only the oldest unfinished message
	// of the topic can be claimed, and only when it is due (strict FIFO).
	Claim(ctx context.Context, p ClaimParams) ([]Message, error)

	// Complete records the attempt of a leased message and moves it to the state the
	// outcome implies, clearing the lease. It returns ErrLeaseLost if p.Owner no longer
	// holds the lease.
	Complete(ctx context.Context, c Completion) error

	// Release gives up owner's leases on the messages of topic without recording an
	// attempt, so that they are claimable at once (used on orderly shutdown).
	Release(ctx context.Context, owner, topic string, ids []string) error

	// ExtendLeases renews owner's leases on the messages ids of topic until
	// until (a heartbeat while their attempts run) and returns how many it
	// renewed: fewer than len(ids) when leases were lost meanwhile.
	ExtendLeases(ctx context.Context, owner, topic string, ids []string, until time.Time) (int, error)

	// RecoverLost finds leases that ran out (their owner stopped renewing
	// them: its process is lost) and records each as an attempt with
	// OutcomeUnknown, by the lost owner, the message due again at once; it
	// wakes the watchers of their topics and returns the attempts it
	// recorded. Each lost attempt is recorded once, also with several processes.
	RecoverLost(ctx context.Context) ([]LostAttempt, error)

	// MakeDue makes the pending or retrying, unleased message id of topic
	// due at once, without recording an attempt, and wakes the topic's
	// watchers like an insert: for a message that waits for something a
	// callback says has happened. It reports whether it changed the message:
	// false when there is none, or it is leased, delivered or dead.
	MakeDue(ctx context.Context, topic, id string) (changed bool, err error)

	// NextDue returns when the earliest unfinished, unleased message of topic becomes
	// due, or ok=false when the topic has none. Leased messages are not considered:
	// their owner completes them, and expired leases are found by polling.
	NextDue(ctx context.Context, topic string) (due time.Time, ok bool, err error)

	// Watch returns a channel that receives a value (coalesced) whenever messages
	// are inserted for topic, in this process or, for shared stores, in any process.
	// stop releases the watch.
	Watch(topic string) (ch <-chan struct{}, stop func())

	// Submission returns a submission and its messages.
	Submission(ctx context.Context, id string) (Submission, []Message, error)

	// Attempts lists the attempts of a message, oldest first.
	Attempts(ctx context.Context, messageID string) ([]Attempt, error)

	// List returns messages matching f, oldest (by insertion) first, and the cursor
	// of the next page (empty when there is none). Payloads are included.
	List(ctx context.Context, f ListFilter) (msgs []Message, next string, err error)

	// Message returns the message with id. It returns ErrNotFound if there is none
	// and ErrAmbiguous if the id exists on several topics.
	Message(ctx context.Context, id string) (Message, error)

	// Replay makes a dead message pending again, due at once, with its lease
	// cleared and its id and attempts kept, records r in the replay history and
	// wakes the topic's watchers like an insert. It returns ErrNotFound,
	// ErrAmbiguous (r.Topic not set and the id on several topics) or, for a
	// message that is not dead, ErrNotReplayable.
	Replay(ctx context.Context, r ReplayRequest) error

	// ReplayAll replays every dead message whose topic matches f's Tenant,
	// Procedure and Destination (its other fields are ignored), recording by and
	// reason for each, and returns how many it replayed.
	ReplayAll(ctx context.Context, f ListFilter, by, reason string) (int, error)

	// Replays lists the replays of a message, oldest first.
	Replays(ctx context.Context, messageID string) ([]Replay, error)

	// Remap replays a dead message as Replay does, with the payload and
	// metadata of r replacing its own in the same transaction: the message
	// mapped again from its request (intake.Service.Remap). The replay's
	// record and event name the old and the new mapping version. Its errors
	// are Replay's.
	Remap(ctx context.Context, r RemapRequest) error

	// Auditor: audit trail, reactor, stats, portal listing, retention, discard.
	Auditor

	// Blobs: attachments stored once, in chunks.
	Blobs

	// AnswerStore: answers from the authority.
	AnswerStore

	// Ping checks that the database answers.
	Ping(ctx context.Context) error

	Close() error
}

// LostAttempt is an attempt whose process was lost, as RecoverLost recorded it.
type LostAttempt struct {
	Topic, MessageID string
	Owner            string // the lost process
}

// BatchCompleter is an optional capability of a Store: the outcomes of
// several attempts recorded in one transaction (one commit, one fsync), as the
// relay does when deliveries finish close together.
type BatchCompleter interface {
	// CompleteBatch records each completion as Complete would and returns one
	// error per completion: nil, ErrLeaseLost (nothing was recorded for it) or
	// an invalid outcome. err is set when the transaction failed as a whole;
	// then nothing was recorded.
	CompleteBatch(ctx context.Context, cs []Completion) (errs []error, err error)
}

// TxSharer is an optional capability of a Store: InTxShared runs fn as
// InTx does, but may run it in one transaction with the fns of concurrent
// callers (group commit: one commit, one round trip, one WAL flush for
// several submissions). fn must be independent of the others' writes and
// may run more than once: if the shared transaction fails, nothing of it
// is committed and each fn runs again in a transaction of its own, so that
// one caller's error costs the others nothing. The shared transaction
// commits within the earliest deadline of its callers; a caller's
// cancellation does not cut it short.
type TxSharer interface {
	InTxShared(ctx context.Context, fn func(tx Tx) error) error
}

// Tx is the part of a store usable inside InTx.
type Tx interface {
	// CreateSubmission stores s. If s.IdempotencyKey is set and the portal already
	// has a submission with that key, nothing is stored and that submission is
	// returned with created=false. Concurrent calls with one key store exactly one.
	CreateSubmission(ctx context.Context, s Submission) (stored Submission, created bool, err error)

	// InsertMessages stores new messages in state pending, due at once unless
	// NextAttemptAt is set. A message with LeaseOwner set is stored leased
	// to that owner until LeaseUntil (leased at the insert), as if claimed:
	// its topic's watchers are not woken for it, in no process, since only
	// its owner may deliver it (or RecoverLost, once the lease ran out).
	InsertMessages(ctx context.Context, msgs []Message) error

	// SetAlarm opens (open=true) or closes the alarm named key and reports
	// whether that changed anything: opening an open alarm or closing a closed
	// one is no change. Callers insert the alarm mail only on a change, in the
	// same transaction, so one incident yields one alarm and one recovery
	// mail, also with several processes.
	SetAlarm(ctx context.Context, key string, open bool) (changed bool, err error)

	BlobTx
	AnswerTx
}

// ClaimParams selects and leases due messages.
type ClaimParams struct {
	Topic   string
	Owner   string
	Limit   int
	Lease   time.Duration
	Ordered bool
}

// Completion is the outcome of one attempt on a leased message.
type Completion struct {
	Topic string
	ID    string
	Owner string
	// Attempt is the number of this attempt (the claimed message's Attempts
	// + 1). When set, the outcome is recorded only if no other attempt was
	// recorded since the claim: a late outcome of an attempt whose lease ran
	// out and was recovered is refused with ErrLeaseLost, also when the same
	// owner claimed the message again meanwhile. Zero does not check.
	Attempt       int
	Outcome       Outcome
	Error         string     // empty when delivered
	Class         ErrorClass // the classified reason of Error; empty when delivered
	NextAttemptAt time.Time  // for OutcomeRetry
	StartedAt     time.Time
	FinishedAt    time.Time

	permanent bool // the destination rejected the message (not stored; for the circuit breaker)
}

// Permanent reports whether the destination rejected the message (a dead
// outcome without retries), as opposed to an exhausted retry policy.
func (c Completion) Permanent() bool { return c.permanent }
