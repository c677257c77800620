package sqlstore

import (
	"context"
	"errors"
	"time"

	"github.com/amtsbote/amtsbote/outbox"
)

// Driver is one SQL dialect. Its Executor methods run outside a transaction
// (a dialect may send reads and writes to different connections); Begin
// starts a write transaction. The other methods manage their own
// transaction or locking where the dialect needs one. A method that finds
// no row returns an error wrapping outbox.ErrNotFound.
type Driver interface {
	Executor

	// Begin starts a write transaction.
	Begin(ctx context.Context) (Tx, error)

	// Claim leases due messages of p.Topic until now+p.Lease (see outbox.Store.Claim).
	Claim(ctx context.Context, p outbox.ClaimParams, now time.Time) ([]outbox.Message, error)
	// Release clears owner's leases on the messages ids of topic.
	Release(ctx context.Context, owner, topic string, ids []string) error
	// ExtendLeases sets until as the end of owner's leases on the messages
	// ids of topic and returns how many it changed.
	ExtendLeases(ctx context.Context, owner, topic string, ids []string, until time.Time) (int, error)
	// MakeDue makes the pending or retrying, unleased message id of topic
	// due at now (unless it is due earlier); changed is false when there is
	// no such message.
	MakeDue(ctx context.Context, topic, id string, now time.Time) (changed bool, err error)
	// PutBlobChunk stages a chunk, committed at once; stored is false when
	// the blob is committed (nothing written).
	PutBlobChunk(ctx context.Context, id string, seq int, data []byte, now time.Time) (stored bool, err error)
	// DeleteStagedBlob removes the chunks of blob id unless it is committed.
	DeleteStagedBlob(ctx context.Context, id string) error
	// PurgeStagedBlobs removes the chunks of uncommitted blobs last written
	// before before and returns how many blobs it removed.
	PurgeStagedBlobs(ctx context.Context, before time.Time) (int, error)

	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Close closes the connections.
	Close() error
}

// Pipeliner is a Driver that can also run a write transaction whose writes
// are held back and sent with the commit (PostgreSQL: one round trip for a
// transaction that only writes). In such a transaction InsertSubmission
// reports inserted before the database has seen the row; where the row
// exists after all, the transaction commits nothing and fails with an error
// wrapping ErrRetryPlain, and the Store runs it again in a plain
// transaction (Begin).
type Pipeliner interface {
	// BeginPipelined starts a pipelined write transaction.
	BeginPipelined(ctx context.Context, opts TxOptions) (Tx, error)
}

// TxOptions are the options of a pipelined transaction.
type TxOptions struct {
	// Lazy lets the commit return before the transaction is durable
	// (PostgreSQL: synchronous_commit off for this transaction). It is
	// visible at once and survives a crash of this process; a crash of the
	// database server may lose it, together with every other lazy commit
	// of its last moments (wal_writer_delay), while a durable commit makes
	// the lazy ones before it durable too. Only for writes whose loss the
	// protocol repairs: the outcome of a delivery, whose message is then
	// delivered again once its lease ends, as after a crash of this process.
	Lazy bool
}

// ErrRetryPlain is wrapped by the error of a pipelined transaction whose
// optimistic InsertSubmission met an existing submission: nothing was
// committed, and the transaction is to run again in a plain one.
var ErrRetryPlain = errors.New("submission exists: retry in a plain transaction")

// Tx is a driver's write transaction.
type Tx interface {
	Executor
	// Commit commits the transaction.
	Commit(ctx context.Context) error
	// Rollback rolls it back; after Commit it does nothing.
	Rollback(ctx context.Context) error
}

// Executor runs the queries usable in and outside a transaction.
type Executor interface {
	// InsertSubmission stores s unless its id or idempotency key exists;
	// inserted reports whether it did.
	InsertSubmission(ctx context.Context, s outbox.Submission) (inserted bool, err error)
	// SubmissionByKey reads the submission of portal with idempotency key.
	SubmissionByKey(ctx context.Context, portalID, key string) (outbox.Submission, error)
	// SubmissionByID reads a submission with its payload.
	SubmissionByID(ctx context.Context, id string) (outbox.Submission, error)
	// SubmissionInfo reads the portal, tenant and procedure of a submission.
	SubmissionInfo(ctx context.Context, id string) (portal, tenant, procedure string, err error)
	// SubmissionExists reports whether a submission id is stored.
	SubmissionExists(ctx context.Context, id string) (bool, error)

	// InsertMessage stores m as pending, due at due, created at now, as how
	// says. With m.LeaseOwner set it is stored leased to it until
	// m.LeaseUntil, leased_at now.
	InsertMessage(ctx context.Context, m outbox.Message, due, now time.Time, how Insert) error
	// CompleteMessages records the outcomes of leased messages, each with
	// its attempt record (numbered by the message's new attempt count), one
	// result per row in order; a row whose lease is lost has Found false
	// and writes nothing. The attempt record of a message that belongs to a
	// submission takes the positions of its events in the audit trail
	// (EventAttempt, and EventDelivered or EventDead after a final outcome,
	// in row order), from which they are derived.
	CompleteMessages(ctx context.Context, rows []CompleteRow) ([]Completed, error)
	// NextDue reads when the earliest unfinished, unleased message of topic
	// is due (ok false when there is none).
	NextDue(ctx context.Context, topic string, now time.Time) (due time.Time, ok bool, err error)
	// ExpiredLeases reads up to limit leases of unfinished messages that ran
	// out before now, oldest first.
	ExpiredLeases(ctx context.Context, now time.Time, limit int) ([]Lease, error)
	// MessagesBySubmission reads the messages of a submission in seq order.
	MessagesBySubmission(ctx context.Context, submissionID string) ([]outbox.Message, error)
	// MessagesOfSubmissions reads the messages of submissions, without payloads, in seq order.
	MessagesOfSubmissions(ctx context.Context, submissionIDs []string) ([]outbox.Message, error)
	// MessagesByID reads up to two messages with id (on topic unless it is
	// empty) in seq order, with their seqs.
	MessagesByID(ctx context.Context, id, topic string) ([]outbox.Message, []int64, error)
	// ListMessages reads up to limit messages after seq afterSeq in seq
	// order, in state (unless empty) and with a topic LIKE pattern.
	ListMessages(ctx context.Context, afterSeq int64, state outbox.State, pattern string, limit int) ([]outbox.Message, []int64, error)
	// Attempts reads the attempts of a message, oldest first.
	Attempts(ctx context.Context, messageID string) ([]outbox.Attempt, error)

	// LockMessages locks (where the dialect needs it) and reads the seq
	// and state of the messages with id (on topic unless it is empty).
	LockMessages(ctx context.Context, id, topic string) ([]Locked, error)
	// ReplayMessage makes the dead message seq pending again and records
	// the replay; no row when it is not dead.
	ReplayMessage(ctx context.Context, seq int64, now time.Time, by, reason string) ([]Replayed, error)
	// ReplayDead does so for every dead message with a topic LIKE pattern.
	ReplayDead(ctx context.Context, pattern string, now time.Time, by, reason string) ([]Replayed, error)
	// Replays reads the replays of a message, oldest first.
	Replays(ctx context.Context, messageID string) ([]outbox.Replay, error)
	// DiscardMessage discards the dead message seq and removes its payload
	// (outbox.ErrNotFound when it is not dead).
	DiscardMessage(ctx context.Context, seq int64, now time.Time) (Replayed, error)
	// KeepTransformed stores the EventTransformed derived from message seq
	// as an event of its own, at its position, and makes the message's row
	// derive none: the event keeps what was recorded when the message's
	// metadata changes (Remap). Nothing happens when the message has no
	// derived event.
	KeepTransformed(ctx context.Context, seq int64) error

	// InsertEvents appends events to the audit trail (the kinds not derived
	// from rows; see the package documentation).
	InsertEvents(ctx context.Context, events []outbox.Event) error
	// Events reads the audit trail of a submission, stored and derived
	// events, in recording order (empty when there is no such submission).
	Events(ctx context.Context, submissionID string) ([]outbox.Event, error)
	// StatsOpen reads Pending, Retrying and OldestPending of the topics with
	// pending or retrying messages.
	StatsOpen(ctx context.Context) ([]outbox.TopicStats, error)
	// StatsDead reads the number of dead messages of each topic that has any.
	StatsDead(ctx context.Context) ([]outbox.TopicStats, error)
	// LastDelivered reads when topic's last delivery succeeded (zero if never).
	LastDelivered(ctx context.Context, topic string) (time.Time, error)
	// ListSubmissions reads up to limit submissions of portal received at
	// or after since (zero: all) and after cursor, without payloads.
	ListSubmissions(ctx context.Context, portalID string, since time.Time, after outbox.SubmissionCursor, limit int) ([]outbox.Submission, error)
	// SetAlarm opens or closes the alarm key; changed is false when it
	// already was so.
	SetAlarm(ctx context.Context, key string, open bool, now time.Time) (changed bool, err error)

	// PurgeMessages removes the payloads of up to limit messages delivered
	// before before, returning them in seq order.
	PurgeMessages(ctx context.Context, before, now time.Time, limit int) ([]Purged, error)
	// PurgeSubmissions removes the request payloads of up to limit
	// submissions received before before whose messages are all purged or
	// discarded, returning their ids.
	PurgeSubmissions(ctx context.Context, before, now time.Time, limit int) ([]string, error)
	// PurgeBlobs deletes the blobs of submissions and their chunks,
	// returning how many blobs it deleted.
	PurgeBlobs(ctx context.Context, submissionIDs []string) (int, error)

	// LockBlobs locks blob ids (sorted) until the commit, where the dialect
	// has concurrent writers.
	LockBlobs(ctx context.Context, ids []string) error
	// StagedChunks reads the number and the first and last seq of the staged
	// chunks of blob id (-1 when there are none).
	StagedChunks(ctx context.Context, id string) (n, first, last int, err error)
	// InsertBlob commits blob b, created at created.
	InsertBlob(ctx context.Context, b outbox.Blob, created time.Time) error
	// BlobByID reads a committed blob (see SetBlobChecksum).
	BlobByID(ctx context.Context, id string) (outbox.Blob, error)
	// BlobChunk reads chunk seq of the committed blob id.
	BlobChunk(ctx context.Context, id string, seq int) ([]byte, error)

	// SubmissionPayloads reads up to limit submission payloads after id after, in id order.
	SubmissionPayloads(ctx context.Context, after string, limit int) ([]SubmissionPayload, error)
	// RewriteSubmissionPayload stores payload unless the row changed since
	// p was read; it returns the number of rows changed.
	RewriteSubmissionPayload(ctx context.Context, p SubmissionPayload, payload []byte) (int, error)
	// MessagePayloads reads up to limit message payloads after seq after, in seq order.
	MessagePayloads(ctx context.Context, after int64, limit int) ([]MessagePayload, error)
	// RewriteMessagePayload stores payload and metadata unless the row
	// changed since p was read; it returns the number of rows changed.
	RewriteMessagePayload(ctx context.Context, p MessagePayload, payload []byte, metadata map[string]string) (int, error)
	// BlobChunks reads up to limit blob chunks, staged or committed, after
	// (afterID, afterSeq) in that order.
	BlobChunks(ctx context.Context, afterID string, afterSeq, limit int) ([]BlobChunk, error)
	// RewriteBlobChunk stores data unless the chunk changed since c was
	// read; it returns the number of chunks changed.
	RewriteBlobChunk(ctx context.Context, c BlobChunk, data []byte) (int, error)
	// BlobHeaders reads up to limit committed blobs after id after, in id order.
	BlobHeaders(ctx context.Context, after string, limit int) ([]outbox.Blob, error)
	// RewriteBlobHeader stores the checksums (sealed empty: NULL) unless b's
	// changed since b was read; it returns the number of blobs changed.
	RewriteBlobHeader(ctx context.Context, b outbox.Blob, sha [32]byte, sealed []byte) (int, error)

	AnswerExecutor
}

// AnswerExecutor runs the queries of answers from the authority.
type AnswerExecutor interface {
	// InsertAnswer stores a (without attachments) unless the tenant has an
	// answer with its message id; inserted reports whether it did.
	InsertAnswer(ctx context.Context, a outbox.Answer) (inserted bool, err error)
	// AnswerByMessageID reads the tenant's answer with message id, with payload.
	AnswerByMessageID(ctx context.Context, tenant, messageID string) (outbox.Answer, error)
	// AnswerByID reads an answer with its payload.
	AnswerByID(ctx context.Context, id string) (outbox.Answer, error)
	// AnswersBySubmission reads a submission's answers, oldest first, without payloads.
	AnswersBySubmission(ctx context.Context, submissionID string) ([]outbox.Answer, error)
	// ListAnswers reads up to limit answers in state and of tenant (each
	// unless empty) after the cursor, without payloads.
	ListAnswers(ctx context.Context, state outbox.AnswerState, tenant string, after outbox.AnswerCursor, limit int) ([]outbox.Answer, error)
	// InsertAnswerAttachments stores the attachments of answer id.
	InsertAnswerAttachments(ctx context.Context, answerID string, atts []outbox.AnswerAttachment) error
	// AnswerAttachments reads the attachments of answers, by answer id and index.
	AnswerAttachments(ctx context.Context, answerIDs []string) ([]AnswerAttachmentRow, error)
	// InsertAnswerEvent appends to an answer's audit trail.
	InsertAnswerEvent(ctx context.Context, e outbox.AnswerEvent) error
	// AnswerEvents reads an answer's audit trail, oldest first.
	AnswerEvents(ctx context.Context, answerID string) ([]outbox.AnswerEvent, error)
	// AssignAnswer assigns the unmatched answer a.ID to a.SubmissionID;
	// changed is false when it is not unmatched (or not there).
	AssignAnswer(ctx context.Context, a outbox.Answer, now time.Time) (changed bool, err error)
	// DiscardAnswer discards the unmatched answer id and removes its
	// payload; changed is false when it is not unmatched (or not there).
	DiscardAnswer(ctx context.Context, id, by, reason string, now time.Time) (changed bool, err error)
	// AnswerState reads the state of answer id.
	AnswerState(ctx context.Context, id string) (outbox.AnswerState, error)
	// UnmatchedAnswers counts unmatched answers per tenant.
	UnmatchedAnswers(ctx context.Context) (map[string]int, error)
	// MessageTarget reads up to two submission messages with id and what they belong to.
	MessageTarget(ctx context.Context, id string) ([]outbox.AnswerTarget, error)
	// PurgeAnswers removes the payloads of up to limit matched or assigned
	// answers received before before, returning their ids.
	PurgeAnswers(ctx context.Context, before, now time.Time, limit int) ([]string, error)
	// PurgeAnswerBlobs deletes the blobs of the answers' attachments and
	// their chunks, returning how many blobs it deleted.
	PurgeAnswerBlobs(ctx context.Context, answerIDs []string) (int, error)
	// AnswerPayloads reads up to limit answers' payload and detail after id after, in id order.
	AnswerPayloads(ctx context.Context, after string, limit int) ([]AnswerPayload, error)
	// RewriteAnswerPayload stores payload and detail unless the row changed
	// since p was read; it returns the number of rows changed.
	RewriteAnswerPayload(ctx context.Context, p AnswerPayload, payload, detail []byte) (int, error)
}

// AnswerPayload is an answer's payload and detail as read for a rewrite.
type AnswerPayload struct {
	ID      string
	Payload []byte
	Detail  []byte
}

// AnswerAttachmentRow is an attachment of answer AnswerID.
type AnswerAttachmentRow struct {
	AnswerID string
	outbox.AnswerAttachment
}

// CompleteRow is one outcome to record: the completion and the state it implies.
type CompleteRow struct {
	outbox.Completion
	State outbox.State
}

// Completed is the message a CompleteRow changed.
type Completed struct {
	Found        bool // false: the lease was lost, nothing written
	Seq          int64
	Attempts     int
	SubmissionID string
	Metadata     map[string]string
}

// Insert says how InsertMessage stores a message.
type Insert int

const (
	// InsertQueued: a message of outbox.Tx.InsertMessages; a topic and id
	// that exist are an error.
	InsertQueued Insert = iota
	// InsertTransformed: as InsertQueued, and the message's
	// EventTransformed is derived from its row, which takes the event's
	// position in the audit trail.
	InsertTransformed
	// InsertFollowUp: a reactor's follow-up, whose id is deterministic: a
	// message whose topic and id exist is left as it is.
	InsertFollowUp
)

// Lease is a message's lease: its owner, when it was taken and the
// attempts recorded before it.
type Lease struct {
	Topic, ID, Owner string
	LeasedAt         time.Time
	Attempts         int
}

// Locked is the seq and state of a message found by id.
type Locked struct {
	Seq   int64
	State outbox.State
}

// Replayed is a message a replay or discard changed.
type Replayed struct {
	Topic, ID, SubmissionID string
	Metadata                map[string]string
}

// Purged is a message whose payload retention removed.
type Purged struct {
	ID, Topic, SubmissionID string
}

// SubmissionPayload is a submission's payload as read for a rewrite.
type SubmissionPayload struct {
	ID      string
	Payload []byte
}

// MessagePayload is a message's payload and metadata as read for a rewrite.
type MessagePayload struct {
	Seq      int64
	ID       string
	Topic    string
	Payload  []byte
	Metadata map[string]string
	// StoredMetadata is the metadata in the driver's stored form, for its
	// compare-and-swap (nil where the driver compares Metadata).
	StoredMetadata any
}

// BlobChunk is a stored blob chunk as read for a rewrite.
type BlobChunk struct {
	ID   string
	Seq  int
	Data []byte
}
