package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/amtsbote/amtsbote/outbox"
)

// Config configures a Store.
type Config struct {
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Committed, if set, is called after a commit with the sorted, distinct
	// topics whose watchers the commit woke in this process (PostgreSQL:
	// to notify the other processes).
	Committed func(topics []string)
}

// Store is outbox.Store over a Driver.
type Store struct {
	outbox.Watchers
	d         Driver
	now       func() time.Time
	committed func(topics []string)
	reactor   atomic.Pointer[outbox.Reactor]
	sharing   sharing // InTxShared's queue
}

var (
	_ outbox.Store          = (*Store)(nil)
	_ outbox.BatchCompleter = (*Store)(nil)
)

// New returns the store over d.
func New(d Driver, cfg Config) *Store {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Store{d: d, now: cfg.Now, committed: cfg.Committed}
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.d.Ping(ctx) }

// Close closes the driver.
func (s *Store) Close() error { return s.d.Close() }

// SetReactor installs the reactor that derives follow-up messages from events.
func (s *Store) SetReactor(r outbox.Reactor) {
	if r == nil {
		s.reactor.Store(nil)
		return
	}
	s.reactor.Store(&r)
}

// inTx runs fn in a write transaction and commits it if fn returns nil; it
// rolls back otherwise, also when fn panics (SQLite's one write connection
// must not stay in a transaction). After a commit the rollback does nothing.
// Where the driver pipelines, the transaction is a pipelined one; when that
// fails with ErrRetryPlain (fn's errors must wrap the executor's), nothing
// was committed and fn runs again in a plain transaction.
func (s *Store) inTx(ctx context.Context, fn func(Executor) error) error {
	return s.inTxOpts(ctx, TxOptions{}, fn)
}

// inTxOpts is inTx with the options of a pipelined transaction; a plain
// transaction (a driver that does not pipeline, or the retry) ignores them
// and commits durably.
func (s *Store) inTxOpts(ctx context.Context, opts TxOptions, fn func(Executor) error) error {
	if p, ok := s.d.(Pipeliner); ok {
		begin := func(ctx context.Context) (Tx, error) { return p.BeginPipelined(ctx, opts) }
		err := runTx(ctx, begin, fn)
		if !errors.Is(err, ErrRetryPlain) {
			return err
		}
	}
	return runTx(ctx, s.d.Begin, fn)
}

// runTx runs fn in the transaction begin starts, as inTx describes.
func runTx(ctx context.Context, begin func(context.Context) (Tx, error), fn func(Executor) error) error {
	tx, err := begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }() // as pgx.BeginFunc: a done ctx closes the connection instead
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// wake wakes the watchers of topics after their transaction committed: this
// process's at once, other processes' through Config.Committed.
func (s *Store) wake(topics []string) {
	if len(topics) == 0 {
		return
	}
	slices.Sort(topics)
	topics = slices.Compact(topics)
	s.Notify(topics...)
	if s.committed != nil {
		s.committed(topics)
	}
}

// record appends events to the audit trail in ex and hands them to the
// reactor (see react).
func (s *Store) record(ctx context.Context, ex Executor, events []outbox.Event) ([]string, error) {
	if len(events) == 0 {
		return nil, nil
	}
	if err := ex.InsertEvents(ctx, events); err != nil {
		return nil, fmt.Errorf("record events of %s: %w", events[0].SubmissionID, err)
	}
	return s.react(ctx, ex, events)
}

// react hands the events of a transaction, stored or derived from its rows,
// to the reactor and inserts its follow-ups in ex, returning their topics
// (to wake after the commit).
func (s *Store) react(ctx context.Context, ex Executor, events []outbox.Event) ([]string, error) {
	if len(events) == 0 {
		return nil, nil
	}
	rp := s.reactor.Load()
	if rp == nil {
		return nil, nil
	}
	err := outbox.FillSubmissionInfo(events, func(id string) (portal, tenant, procedure string, err error) {
		portal, tenant, procedure, err = ex.SubmissionInfo(ctx, id)
		if errors.Is(err, outbox.ErrNotFound) {
			err = nil // a message whose submission id names none: no info to add
		}
		return portal, tenant, procedure, err
	})
	if err != nil {
		return nil, err
	}
	follow, err := (*rp).React(ctx, events)
	if err != nil {
		return nil, fmt.Errorf("react to events of %s: %w", events[0].SubmissionID, err)
	}
	now := s.now()
	topics := make([]string, 0, len(follow))
	for _, m := range follow {
		if err := insertMessage(ctx, ex, m, now, InsertFollowUp); err != nil {
			return nil, fmt.Errorf("follow-up: %w", err)
		}
		topics = append(topics, m.Topic)
	}
	return topics, nil
}

// insertMessage stores m as pending, due at once unless NextAttemptAt is
// set, and leased when m.LeaseOwner is set.
func insertMessage(ctx context.Context, ex Executor, m outbox.Message, now time.Time, how Insert) error {
	due := m.NextAttemptAt
	if due.IsZero() {
		due = now
	}
	if err := ex.InsertMessage(ctx, m, due, now, how); err != nil {
		return fmt.Errorf("insert message %s: %w", m.ID, err)
	}
	return nil
}

// tx is the outbox.Tx of InTx.
type tx struct {
	s      *Store
	ex     Executor
	topics []string
	// portals maps the submissions created in this transaction to their portals,
	// the actors of the messages queued for them.
	portals map[string]string
}

// InTx runs fn in a transaction; the watchers of the topics of inserted
// messages are woken after the commit.
func (s *Store) InTx(ctx context.Context, fn func(outbox.Tx) error) error {
	var t *tx
	err := s.inTx(ctx, func(ex Executor) error {
		t = &tx{s: s, ex: ex}
		return fn(t)
	})
	if err != nil {
		return err
	}
	s.wake(t.topics)
	return nil
}

func (t *tx) CreateSubmission(ctx context.Context, sub outbox.Submission) (outbox.Submission, bool, error) {
	if sub.CreatedAt.IsZero() {
		sub.CreatedAt = t.s.now()
	}
	inserted, err := t.ex.InsertSubmission(ctx, sub)
	if err != nil {
		return outbox.Submission{}, false, fmt.Errorf("insert submission: %w", err)
	}
	if inserted {
		topics, err := t.s.record(ctx, t.ex, []outbox.Event{{SubmissionID: sub.ID, PortalID: sub.PortalID,
			Tenant: sub.TenantID, Procedure: sub.ProcedureID, Kind: outbox.EventAccepted,
			Actor: outbox.ActorPortal(sub.PortalID), At: sub.CreatedAt}})
		if err != nil {
			return outbox.Submission{}, false, err
		}
		t.topics = append(t.topics, topics...)
		if t.portals == nil {
			t.portals = map[string]string{}
		}
		t.portals[sub.ID] = sub.PortalID
		return sub, true, nil
	}
	if sub.IdempotencyKey == "" {
		return outbox.Submission{}, false, fmt.Errorf("insert submission %s: id already exists", sub.ID)
	}
	existing, err := t.ex.SubmissionByKey(ctx, sub.PortalID, sub.IdempotencyKey)
	if errors.Is(err, outbox.ErrNotFound) { // the id was taken, not the key
		return outbox.Submission{}, false, fmt.Errorf("insert submission %s: id already exists", sub.ID)
	}
	if err != nil {
		return outbox.Submission{}, false, fmt.Errorf("read submission by idempotency key: %w", err)
	}
	return existing, false, nil
}

// InsertMessages stores msgs. The EventTransformed of a message queued in
// its submission's transaction is derived from the message's row; that of
// one queued for a submission of an earlier transaction (which has no
// actor) is stored.
func (t *tx) InsertMessages(ctx context.Context, msgs []outbox.Message) error {
	now := t.s.now()
	var events, stored []outbox.Event
	for _, m := range msgs {
		how := InsertQueued
		if m.SubmissionID != "" {
			portal, ours := t.portals[m.SubmissionID]
			ev := outbox.TransformedEvent(m, now, portal)
			events = append(events, ev)
			if ours && portal != "" { // the derived actor is ActorPortal(portal)
				how = InsertTransformed
			} else {
				stored = append(stored, ev)
			}
		}
		if err := insertMessage(ctx, t.ex, m, now, how); err != nil {
			return err
		}
		if m.LeaseOwner == "" {
			t.topics = append(t.topics, m.Topic) // a leased one is its owner's: nobody to wake
		}
	}
	if len(stored) > 0 {
		outbox.SortEvents(stored)
		if err := t.ex.InsertEvents(ctx, stored); err != nil {
			return fmt.Errorf("record events of %s: %w", stored[0].SubmissionID, err)
		}
	}
	outbox.SortEvents(events)
	topics, err := t.s.react(ctx, t.ex, events)
	if err != nil {
		return err
	}
	t.topics = append(t.topics, topics...)
	return nil
}

// SetAlarm opens or closes an alarm in the transaction.
func (t *tx) SetAlarm(ctx context.Context, key string, open bool) (bool, error) {
	changed, err := t.ex.SetAlarm(ctx, key, open, t.s.now())
	if err != nil {
		return false, fmt.Errorf("set alarm %s: %w", key, err)
	}
	return changed, nil
}

// Claim leases due messages of a topic.
func (s *Store) Claim(ctx context.Context, p outbox.ClaimParams) ([]outbox.Message, error) {
	msgs, err := s.d.Claim(ctx, p, s.now())
	if err != nil {
		return nil, fmt.Errorf("claim %s: %w", p.Topic, err)
	}
	return msgs, nil
}

// Complete records an attempt's outcome.
func (s *Store) Complete(ctx context.Context, c outbox.Completion) error {
	errs, err := s.CompleteBatch(ctx, []outbox.Completion{c})
	if err != nil {
		return err
	}
	return errs[0]
}

// CompleteBatch records the outcomes of several attempts in one transaction
// (one commit): the state changes with their attempt records, from which the
// events are derived. The commit is lazy (TxOptions.Lazy): an outcome lost
// with a crash of the database server leaves its message leased, and it is
// delivered again when the lease ends, as after a crash of this process.
func (s *Store) CompleteBatch(ctx context.Context, cs []outbox.Completion) ([]error, error) {
	errs := make([]error, len(cs))
	var follow []string
	err := s.inTxOpts(ctx, TxOptions{Lazy: true}, func(ex Executor) error {
		clear(errs)
		follow = nil
		var rows []CompleteRow
		var queued []int
		for i, c := range cs {
			state, err := c.Outcome.State()
			if err != nil {
				errs[i] = fmt.Errorf("complete %s: %w", c.ID, err)
				continue
			}
			rows = append(rows, CompleteRow{Completion: c, State: state})
			queued = append(queued, i)
		}
		if len(rows) == 0 {
			return nil
		}
		done, err := ex.CompleteMessages(ctx, rows)
		if err != nil {
			return fmt.Errorf("complete: %w", err)
		}
		var events []outbox.Event
		for j, u := range done {
			c := cs[queued[j]]
			if !u.Found {
				errs[queued[j]] = fmt.Errorf("complete %s: %w", c.ID, outbox.ErrLeaseLost) // nothing written for this one
				continue
			}
			if u.SubmissionID != "" {
				events = append(events, outbox.CompletionEvents(c, u.SubmissionID, u.Attempts, u.Metadata)...)
			}
		}
		// The events are derived from the attempt records: the reactor gets them, nothing more is stored.
		follow, err = s.react(ctx, ex, events)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.wake(follow)
	return errs, nil
}

// Release gives up leases.
func (s *Store) Release(ctx context.Context, owner, topic string, ids []string) error {
	if err := s.d.Release(ctx, owner, topic, ids); err != nil {
		return fmt.Errorf("release: %w", err)
	}
	return nil
}

// ExtendLeases renews leases (a heartbeat).
func (s *Store) ExtendLeases(ctx context.Context, owner, topic string, ids []string, until time.Time) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	n, err := s.d.ExtendLeases(ctx, owner, topic, ids, until)
	if err != nil {
		return 0, fmt.Errorf("extend leases on %s: %w", topic, err)
	}
	return n, nil
}

// LostError is the error recorded with the attempt of a process that was
// lost while it held a message's lease.
const LostError = "outcome unknown, process lost"

// maxRecoverBatch bounds the lost leases recovered in one transaction.
const maxRecoverBatch = 256

// RecoverLost records the attempts of leases that ran out as attempts of
// unknown outcome, through the completion of the lost owner: a process that
// still completes one afterwards gets ErrLeaseLost, and of several
// processes recovering at once only one records it.
func (s *Store) RecoverLost(ctx context.Context) ([]outbox.LostAttempt, error) {
	now := s.now()
	leases, err := s.d.ExpiredLeases(ctx, now, maxRecoverBatch)
	if err != nil {
		return nil, fmt.Errorf("read expired leases: %w", err)
	}
	if len(leases) == 0 {
		return nil, nil
	}
	cs := make([]outbox.Completion, len(leases))
	for i, l := range leases {
		cs[i] = outbox.Completion{Topic: l.Topic, ID: l.ID, Owner: l.Owner, Attempt: l.Attempts + 1, Outcome: outbox.OutcomeUnknown,
			Error: LostError, Class: outbox.ClassOutcomeUnknown, NextAttemptAt: now,
			StartedAt: l.LeasedAt, FinishedAt: now}
	}
	errs, err := s.CompleteBatch(ctx, cs)
	if err != nil {
		return nil, fmt.Errorf("recover expired leases: %w", err)
	}
	var lost []outbox.LostAttempt
	var topics []string
	var errOther error
	for i, err := range errs {
		switch {
		case err == nil:
			lost = append(lost, outbox.LostAttempt{Topic: cs[i].Topic, MessageID: cs[i].ID, Owner: cs[i].Owner})
			topics = append(topics, cs[i].Topic)
		case !errors.Is(err, outbox.ErrLeaseLost): // ErrLeaseLost: completed or recovered meanwhile, not lost
			errOther = errors.Join(errOther, err)
		}
	}
	s.wake(topics)
	return lost, errOther
}

// MakeDue makes a waiting message due at once and wakes its topic.
func (s *Store) MakeDue(ctx context.Context, topic, id string) (bool, error) {
	changed, err := s.d.MakeDue(ctx, topic, id, s.now())
	if err != nil {
		return false, fmt.Errorf("make %s due: %w", id, err)
	}
	if changed {
		s.wake([]string{topic})
	}
	return changed, nil
}

// NextDue returns when the topic's earliest unfinished message becomes claimable.
func (s *Store) NextDue(ctx context.Context, topic string) (time.Time, bool, error) {
	due, ok, err := s.d.NextDue(ctx, topic, s.now())
	if err != nil {
		return time.Time{}, false, fmt.Errorf("next due %s: %w", topic, err)
	}
	return due, ok, nil
}

// Submission returns a submission with its messages.
func (s *Store) Submission(ctx context.Context, id string) (outbox.Submission, []outbox.Message, error) {
	sub, err := s.d.SubmissionByID(ctx, id)
	if errors.Is(err, outbox.ErrNotFound) {
		return outbox.Submission{}, nil, outbox.ErrNotFound
	}
	if err != nil {
		return outbox.Submission{}, nil, fmt.Errorf("read submission %s: %w", id, err)
	}
	msgs, err := s.d.MessagesBySubmission(ctx, id)
	if err != nil {
		return outbox.Submission{}, nil, fmt.Errorf("read messages of %s: %w", id, err)
	}
	return sub, msgs, nil
}

// Attempts lists a message's attempts.
func (s *Store) Attempts(ctx context.Context, messageID string) ([]outbox.Attempt, error) {
	out, err := s.d.Attempts(ctx, messageID)
	if err != nil {
		return nil, fmt.Errorf("read attempts of %s: %w", messageID, err)
	}
	return out, nil
}
