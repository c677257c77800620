package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/outbox/sqlstore"
)

// queryer is what a pool and a transaction have in common.
type queryer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// executor runs the queries of sqlstore.Executor: outside a transaction
// reads on the read pool and writes on the one write connection, inside one
// both in the transaction.
type executor struct {
	r, w queryer
	q    map[string]string
}

// driver is the sqlstore.Driver of SQLite.
type driver struct {
	executor
	read, write *sql.DB
	wr          *writer // write transactions on write, committed in groups
}

var _ sqlstore.Driver = (*driver)(nil)

// txExecutor is a write transaction: a member of a group transaction on
// the write connection (see writer).
type txExecutor struct {
	executor
	m *member
}

// Begin waits for the write connection and starts a savepoint in the open
// group transaction (BEGIN IMMEDIATE if there is none).
func (d *driver) Begin(ctx context.Context) (sqlstore.Tx, error) {
	m, err := d.wr.begin(ctx)
	if err != nil {
		return nil, err
	}
	q := m.conn()
	return &txExecutor{executor: executor{r: q, w: q, q: d.q}, m: m}, nil
}

// Commit releases the savepoint and returns once the group's COMMIT did,
// with its error.
func (t *txExecutor) Commit(ctx context.Context) error { return t.m.commit(ctx) }

// Rollback rolls back to the savepoint; after Commit it does nothing.
func (t *txExecutor) Rollback(context.Context) error { return t.m.rollback() }

func (d *driver) Ping(ctx context.Context) error {
	var one int
	return d.read.QueryRowContext(ctx, `SELECT 1`).Scan(&one)
}

func (d *driver) Close() error {
	return errors.Join(d.read.Close(), d.write.Close())
}

// notFound maps sql.ErrNoRows to outbox.ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return outbox.ErrNotFound
	}
	return err
}

func (d *driver) Claim(ctx context.Context, p outbox.ClaimParams, now time.Time) ([]outbox.Message, error) {
	query, limit := d.q["ClaimDue"], p.Limit
	if p.Ordered {
		query, limit = d.q["ClaimHead"], 1
	}
	if limit <= 0 {
		return nil, nil
	}
	var msgs []outbox.Message
	err := d.wr.inGroup(ctx, func(q queryer) error {
		rows, err := q.QueryContext(ctx, query, p.Owner, micros(now.Add(p.Lease)), micros(now), p.Topic, limit)
		if err != nil {
			return err
		}
		msgs, err = scanMessages(rows)
		return err
	})
	if err != nil {
		return nil, err
	}
	return msgs, nil
}

// Release clears the leases in one member of a group transaction.
func (d *driver) Release(ctx context.Context, owner, topic string, ids []string) error {
	return d.wr.inGroup(ctx, func(q queryer) error {
		for _, id := range ids {
			if _, err := q.ExecContext(ctx, d.q["Release"], topic, id, owner); err != nil {
				return fmt.Errorf("%s: %w", id, err)
			}
		}
		return nil
	})
}

// ExtendLeases renews the leases in one member of a group transaction.
func (d *driver) ExtendLeases(ctx context.Context, owner, topic string, ids []string, until time.Time) (int, error) {
	n := 0
	err := d.wr.inGroup(ctx, func(q queryer) error {
		n = 0
		for _, id := range ids {
			k, err := rowsAffected(q.ExecContext(ctx, d.q["ExtendLease"], micros(until), topic, id, owner))
			if err != nil {
				return fmt.Errorf("%s: %w", id, err)
			}
			n += k
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// MakeDue runs in a member of a group transaction.
func (d *driver) MakeDue(ctx context.Context, topic, id string, now time.Time) (bool, error) {
	n := 0
	err := d.wr.inGroup(ctx, func(q queryer) error {
		var err error
		n, err = rowsAffected(q.ExecContext(ctx, d.q["MakeDue"], micros(now), topic, id))
		return err
	})
	return n > 0, err
}

// rowsAffected returns the rows an Exec changed.
func rowsAffected(res sql.Result, err error) (int, error) {
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

func (d *driver) PutBlobChunk(ctx context.Context, id string, seq int, data []byte, now time.Time) (bool, error) {
	res, err := d.write.ExecContext(ctx, d.q["PutBlobChunk"], id, seq, micros(now), sqlstore.NonNil(data))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// DeleteStagedBlob needs no lock: the one write connection serialises it
// with InsertBlobs.
func (d *driver) DeleteStagedBlob(ctx context.Context, id string) error {
	_, err := d.write.ExecContext(ctx, d.q["DeleteStagedBlob"], id)
	return err
}

func (d *driver) PurgeStagedBlobs(ctx context.Context, before time.Time) (int, error) {
	rows, err := d.write.QueryContext(ctx, d.q["PurgeStagedBlobs"], micros(before))
	if err != nil {
		return 0, err
	}
	ids, err := collect(rows, func(id *string) []any { return []any{id} })
	if err != nil {
		return 0, err
	}
	slices.Sort(ids)
	return len(slices.Compact(ids)), nil
}

// collect reads every row into a T whose fields dest names for Scan, and
// closes rows.
func collect[T any](rows *sql.Rows, dest func(*T) []any) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		var x T
		if err := rows.Scan(dest(&x)...); err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

func (e executor) InsertSubmission(ctx context.Context, sub outbox.Submission) (bool, error) {
	res, err := e.w.ExecContext(ctx, e.q["InsertSubmission"], sub.ID, sub.PortalID, sub.TenantID, sub.ProcedureID,
		nullString(sub.IdempotencyKey), sub.RequestHash, sub.Payload, micros(sub.CreatedAt))
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

func (e executor) SubmissionByKey(ctx context.Context, portalID, key string) (outbox.Submission, error) {
	sub, err := scanSubmission(e.r.QueryRowContext(ctx, e.q["SubmissionByKey"], portalID, key))
	return sub, notFound(err)
}

func (e executor) SubmissionByID(ctx context.Context, id string) (outbox.Submission, error) {
	sub, err := scanSubmission(e.r.QueryRowContext(ctx, e.q["SubmissionByID"], id))
	return sub, notFound(err)
}

func (e executor) SubmissionInfo(ctx context.Context, id string) (portal, tenant, procedure string, err error) {
	err = e.r.QueryRowContext(ctx, e.q["SubmissionInfo"], id).Scan(&portal, &tenant, &procedure)
	return portal, tenant, procedure, notFound(err)
}

func (e executor) SubmissionExists(ctx context.Context, id string) (bool, error) {
	var exists bool
	err := e.r.QueryRowContext(ctx, e.q["SubmissionExists"], id).Scan(&exists)
	return exists, err
}

func (e executor) InsertMessage(ctx context.Context, m outbox.Message, due, now time.Time, how sqlstore.Insert) error {
	md, err := json.Marshal(nonNil(m.Metadata))
	if err != nil {
		return fmt.Errorf("encode metadata: %w", err)
	}
	var until, leasedAt sql.NullInt64 // NULL unless leased
	if m.LeaseOwner != "" {
		until = sql.NullInt64{Int64: micros(m.LeaseUntil), Valid: true}
		leasedAt = sql.NullInt64{Int64: micros(now), Valid: true}
	}
	args := []any{m.ID, m.Topic, nullString(m.SubmissionID), sqlstore.NonNil(m.Payload), string(md),
		micros(due), micros(now), micros(now), nullString(m.LeaseOwner), until, leasedAt}
	if how == sqlstore.InsertFollowUp {
		_, err = e.w.ExecContext(ctx, e.q["InsertMessageIgnore"], args...)
		return err
	}
	var pos sql.NullInt64 // the transformed event's position, NULL unless derived
	if how == sqlstore.InsertTransformed {
		if pos.Int64, err = e.takeEventSeqs(ctx, 1); err != nil {
			return err
		}
		pos.Valid = true
	}
	_, err = e.w.ExecContext(ctx, e.q["InsertMessage"], append(args, pos)...)
	return err
}

// takeEventSeqs takes n positions in the audit trail and returns the first.
func (e executor) takeEventSeqs(ctx context.Context, n int) (int64, error) {
	var last int64
	err := e.w.QueryRowContext(ctx, e.q["TakeEventSeqs"], n).Scan(&last)
	if errors.Is(err, sql.ErrNoRows) {
		err = e.w.QueryRowContext(ctx, e.q["StartEventSeqs"], n).Scan(&last)
	}
	if err != nil {
		return 0, fmt.Errorf("take audit trail positions: %w", err)
	}
	return last - int64(n) + 1, nil
}

// CompleteMessages runs the updates, then inserts the attempt records,
// taking the positions of their events at once, in row order: an
// attempt's, then the final event's after a delivered or dead one.
func (e executor) CompleteMessages(ctx context.Context, rows []sqlstore.CompleteRow) ([]sqlstore.Completed, error) {
	out := make([]sqlstore.Completed, len(rows))
	positions := 0
	for i, c := range rows {
		u := &out[i]
		var md string
		err := e.w.QueryRowContext(ctx, e.q["Complete"], string(c.State), micros(c.NextAttemptAt), c.Error,
			micros(c.FinishedAt), c.Topic, c.ID, c.Owner, string(c.Class), c.Attempt).Scan(&u.Seq, &u.Attempts, &u.SubmissionID, &md)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.ID, err)
		}
		if err := json.Unmarshal([]byte(md), &u.Metadata); err != nil {
			return nil, fmt.Errorf("decode metadata of %s: %w", c.ID, err)
		}
		u.Found = true
		if u.SubmissionID != "" {
			positions += 1 + finalEvents(c.Outcome)
		}
	}
	var next int64
	if positions > 0 {
		var err error
		if next, err = e.takeEventSeqs(ctx, positions); err != nil {
			return nil, err
		}
	}
	take := func() sql.NullInt64 {
		next++
		return sql.NullInt64{Int64: next - 1, Valid: true}
	}
	for i, c := range rows {
		u := out[i]
		if !u.Found {
			continue
		}
		var pos, final sql.NullInt64 // NULL: no event derived
		if u.SubmissionID != "" {
			pos = take()
			if finalEvents(c.Outcome) > 0 {
				final = take()
			}
		}
		if _, err := e.w.ExecContext(ctx, e.q["InsertAttempt"], u.Seq, u.Attempts, c.Owner,
			micros(c.StartedAt), micros(c.FinishedAt), string(c.Outcome), nullString(c.Error), string(c.Class),
			pos, final); err != nil {
			return nil, fmt.Errorf("attempt of %s: %w", c.ID, err)
		}
	}
	return out, nil
}

// finalEvents is the number of events an attempt with outcome o derives
// after its own: EventDelivered or EventDead for a final outcome.
func finalEvents(o outbox.Outcome) int {
	if o == outbox.OutcomeDelivered || o == outbox.OutcomeDead {
		return 1
	}
	return 0
}

func (e executor) KeepTransformed(ctx context.Context, seq int64) error {
	if _, err := e.w.ExecContext(ctx, e.q["KeepTransformed"], seq); err != nil {
		return err
	}
	_, err := e.w.ExecContext(ctx, e.q["ClearTransformed"], seq)
	return err
}

func (e executor) NextDue(ctx context.Context, topic string, now time.Time) (time.Time, bool, error) {
	var due int64
	err := e.r.QueryRowContext(ctx, e.q["NextDue"], topic).Scan(&due)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, err
	}
	return fromMicros(due), true, nil
}

func (e executor) MessagesBySubmission(ctx context.Context, submissionID string) ([]outbox.Message, error) {
	rows, err := e.r.QueryContext(ctx, e.q["MessagesBySubmission"], submissionID)
	if err != nil {
		return nil, err
	}
	return scanMessages(rows)
}

func (e executor) MessagesOfSubmissions(ctx context.Context, ids []string) ([]outbox.Message, error) {
	idsJSON, err := json.Marshal(ids)
	if err != nil {
		return nil, err
	}
	rows, err := e.r.QueryContext(ctx, e.q["MessagesOfSubmissions"], string(idsJSON))
	if err != nil {
		return nil, err
	}
	return scanMessages(rows)
}

func (e executor) MessagesByID(ctx context.Context, id, topic string) ([]outbox.Message, []int64, error) {
	rows, err := e.r.QueryContext(ctx, e.q["MessagesByID"], id, topic)
	if err != nil {
		return nil, nil, err
	}
	return scanMessagesSeq(rows)
}

func (e executor) ListMessages(ctx context.Context, afterSeq int64, state outbox.State, pattern string, limit int) ([]outbox.Message, []int64, error) {
	rows, err := e.r.QueryContext(ctx, e.q["List"], afterSeq, string(state), pattern, limit)
	if err != nil {
		return nil, nil, err
	}
	return scanMessagesSeq(rows)
}

func (e executor) ExpiredLeases(ctx context.Context, now time.Time, limit int) ([]sqlstore.Lease, error) {
	rows, err := e.r.QueryContext(ctx, e.q["ExpiredLeases"], micros(now), limit)
	if err != nil {
		return nil, err
	}
	type row struct {
		l      sqlstore.Lease
		leased int64
	}
	read, err := collect(rows, func(x *row) []any { return []any{&x.l.Topic, &x.l.ID, &x.l.Owner, &x.leased, &x.l.Attempts} })
	if err != nil {
		return nil, err
	}
	out := make([]sqlstore.Lease, len(read))
	for i, x := range read {
		out[i] = x.l
		out[i].LeasedAt = fromMicros(x.leased)
	}
	return out, nil
}

func (e executor) Attempts(ctx context.Context, messageID string) ([]outbox.Attempt, error) {
	rows, err := e.r.QueryContext(ctx, e.q["Attempts"], messageID)
	if err != nil {
		return nil, err
	}
	type row struct {
		a                 outbox.Attempt
		started, finished int64
		outcome, class    string
	}
	read, err := collect(rows, func(x *row) []any {
		return []any{&x.a.MessageID, &x.a.Number, &x.a.Owner, &x.started, &x.finished, &x.outcome, &x.a.Error, &x.class}
	})
	if err != nil {
		return nil, err
	}
	var out []outbox.Attempt
	for _, x := range read {
		x.a.StartedAt, x.a.FinishedAt, x.a.Outcome = fromMicros(x.started), fromMicros(x.finished), outbox.Outcome(x.outcome)
		x.a.ErrorClass = outbox.ErrorClass(x.class)
		out = append(out, x.a)
	}
	return out, nil
}

// LockMessages needs no lock: the transaction holds the one write
// connection, so nothing changes the rows until it ends.
func (e executor) LockMessages(ctx context.Context, id, topic string) ([]sqlstore.Locked, error) {
	msgs, seqs, err := e.MessagesByID(ctx, id, topic)
	if err != nil {
		return nil, err
	}
	out := make([]sqlstore.Locked, len(msgs))
	for i, m := range msgs {
		out[i] = sqlstore.Locked{Seq: seqs[i], State: m.State}
	}
	return out, nil
}

func (e executor) ReplayMessage(ctx context.Context, seq int64, now time.Time, by, reason string) ([]sqlstore.Replayed, error) {
	return e.replay(ctx, "ReplayMessage", seq, now, by, reason)
}

func (e executor) ReplayDead(ctx context.Context, pattern string, now time.Time, by, reason string) ([]sqlstore.Replayed, error) {
	return e.replay(ctx, "ReplayDead", pattern, now, by, reason)
}

// replay runs an update returning (seq, topic, attempts, id, submission,
// metadata) of the replayed messages and records a replay of each.
func (e executor) replay(ctx context.Context, query string, selector any, now time.Time, by, reason string) ([]sqlstore.Replayed, error) {
	rows, err := e.w.QueryContext(ctx, e.q[query], selector, micros(now))
	if err != nil {
		return nil, err
	}
	type replayed struct {
		seq      int64
		attempts int
		md       string
		r        sqlstore.Replayed
	}
	done, err := collect(rows, func(x *replayed) []any {
		return []any{&x.seq, &x.r.Topic, &x.attempts, &x.r.ID, &x.r.SubmissionID, &x.md}
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(done, func(a, b replayed) int { return cmp.Compare(a.seq, b.seq) })
	out := make([]sqlstore.Replayed, len(done))
	for i, x := range done {
		if _, err := e.w.ExecContext(ctx, e.q["InsertReplay"], x.seq, micros(now), by, reason, x.attempts); err != nil {
			return nil, fmt.Errorf("record replay: %w", err)
		}
		if err := json.Unmarshal([]byte(x.md), &x.r.Metadata); err != nil {
			return nil, fmt.Errorf("decode metadata of %s: %w", x.r.ID, err)
		}
		out[i] = x.r
	}
	return out, nil
}

func (e executor) Replays(ctx context.Context, messageID string) ([]outbox.Replay, error) {
	rows, err := e.r.QueryContext(ctx, e.q["Replays"], messageID)
	if err != nil {
		return nil, err
	}
	type row struct {
		r  outbox.Replay
		at int64
	}
	read, err := collect(rows, func(x *row) []any {
		return []any{&x.r.MessageID, &x.r.Topic, &x.r.By, &x.r.Reason, &x.at, &x.r.Attempts}
	})
	if err != nil {
		return nil, err
	}
	var out []outbox.Replay
	for _, x := range read {
		x.r.At = fromMicros(x.at)
		out = append(out, x.r)
	}
	return out, nil
}

func (e executor) DiscardMessage(ctx context.Context, seq int64, now time.Time) (sqlstore.Replayed, error) {
	var d sqlstore.Replayed
	var md string
	err := e.w.QueryRowContext(ctx, e.q["DiscardMessage"], seq, micros(now)).Scan(&d.ID, &d.Topic, &d.SubmissionID, &md)
	if err != nil {
		return d, notFound(err)
	}
	if err := json.Unmarshal([]byte(md), &d.Metadata); err != nil {
		return d, fmt.Errorf("decode metadata of %s: %w", d.ID, err)
	}
	return d, nil
}

func (e executor) InsertEvents(ctx context.Context, events []outbox.Event) error {
	for _, ev := range events {
		if _, err := e.w.ExecContext(ctx, e.q["InsertEvent"], ev.SubmissionID, ev.MessageID, ev.Topic, string(ev.Kind),
			ev.Attempt, string(ev.Outcome), ev.Actor, ev.Detail, micros(ev.At)); err != nil {
			return fmt.Errorf("%s event: %w", ev.Kind, err)
		}
	}
	return nil
}

func (e executor) Events(ctx context.Context, submissionID string) ([]outbox.Event, error) {
	rows, err := e.r.QueryContext(ctx, e.q["Events"], submissionID)
	if err != nil {
		return nil, err
	}
	type row struct {
		e             outbox.Event
		kind, outcome string
		at            int64
	}
	read, err := collect(rows, func(x *row) []any {
		return []any{&x.e.Seq, &x.e.SubmissionID, &x.e.PortalID, &x.e.Tenant, &x.e.Procedure, &x.e.MessageID,
			&x.e.Topic, &x.kind, &x.e.Attempt, &x.outcome, &x.e.Actor, &x.e.Detail, &x.at}
	})
	if err != nil {
		return nil, err
	}
	var out []outbox.Event
	for _, x := range read {
		x.e.Kind, x.e.Outcome, x.e.At = outbox.EventKind(x.kind), outbox.Outcome(x.outcome), fromMicros(x.at)
		out = append(out, x.e)
	}
	return out, nil
}

func (e executor) StatsOpen(ctx context.Context) ([]outbox.TopicStats, error) {
	rows, err := e.r.QueryContext(ctx, e.q["StatsOpen"])
	if err != nil {
		return nil, err
	}
	type row struct {
		st     outbox.TopicStats
		oldest int64
	}
	read, err := collect(rows, func(x *row) []any { return []any{&x.st.Topic, &x.st.Pending, &x.st.Retrying, &x.oldest} })
	if err != nil {
		return nil, err
	}
	out := make([]outbox.TopicStats, len(read))
	for i, x := range read {
		out[i] = x.st
		out[i].OldestPending = fromMicros(x.oldest)
	}
	return out, nil
}

func (e executor) StatsDead(ctx context.Context) ([]outbox.TopicStats, error) {
	rows, err := e.r.QueryContext(ctx, e.q["StatsDead"])
	if err != nil {
		return nil, err
	}
	return collect(rows, func(st *outbox.TopicStats) []any { return []any{&st.Topic, &st.Dead} })
}

func (e executor) LastDelivered(ctx context.Context, topic string) (time.Time, error) {
	var last int64
	if err := e.r.QueryRowContext(ctx, e.q["LastDelivered"], topic).Scan(&last); err != nil || last == 0 {
		return time.Time{}, err
	}
	return fromMicros(last), nil
}

func (e executor) ListSubmissions(ctx context.Context, portalID string, since time.Time, after outbox.SubmissionCursor, limit int) ([]outbox.Submission, error) {
	rows, err := e.r.QueryContext(ctx, e.q["ListSubmissions"], portalID, micros(since), micros(after.CreatedAt), after.ID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var subs []outbox.Submission
	for rows.Next() {
		sub, err := scanSubmission(rows)
		if err != nil {
			return nil, err
		}
		subs = append(subs, sub)
	}
	return subs, rows.Err()
}

func (e executor) SetAlarm(ctx context.Context, key string, open bool, now time.Time) (bool, error) {
	query := e.q["CloseAlarm"]
	if open {
		query = e.q["OpenAlarm"]
	}
	res, err := e.w.ExecContext(ctx, query, key, micros(now))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

func (e executor) PurgeMessages(ctx context.Context, before, now time.Time, limit int) ([]sqlstore.Purged, error) {
	rows, err := e.w.QueryContext(ctx, e.q["PurgeMessages"], micros(before), micros(now), limit)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(p *sqlstore.Purged) []any { return []any{&p.ID, &p.Topic, &p.SubmissionID} })
}

func (e executor) PurgeSubmissions(ctx context.Context, before, now time.Time, limit int) ([]string, error) {
	rows, err := e.w.QueryContext(ctx, e.q["PurgeSubmissions"], micros(before), micros(now), limit)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(id *string) []any { return []any{id} })
}

func (e executor) PurgeBlobs(ctx context.Context, submissionIDs []string) (int, error) {
	idsJSON, err := json.Marshal(submissionIDs)
	if err != nil {
		return 0, err
	}
	if _, err := e.w.ExecContext(ctx, e.q["PurgeBlobChunks"], string(idsJSON)); err != nil {
		return 0, fmt.Errorf("chunks: %w", err)
	}
	res, err := e.w.ExecContext(ctx, e.q["PurgeBlobs"], string(idsJSON))
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// LockBlobs locks nothing: the one write connection serialises writers.
func (e executor) LockBlobs(context.Context, []string) error { return nil }

func (e executor) StagedChunks(ctx context.Context, id string) (n, first, last int, err error) {
	err = e.r.QueryRowContext(ctx, e.q["StagedChunks"], id).Scan(&n, &first, &last)
	return n, first, last, err
}

func (e executor) InsertBlob(ctx context.Context, b outbox.Blob, created time.Time) error {
	_, err := e.w.ExecContext(ctx, e.q["InsertBlob"], b.ID, b.SubmissionID, b.Size, b.SHA256[:],
		sqlstore.NullIfEmpty(b.SealedSHA256), b.Chunks, micros(created))
	return err
}

func (e executor) BlobByID(ctx context.Context, id string) (outbox.Blob, error) {
	b, err := scanBlob(e.r.QueryRowContext(ctx, e.q["BlobByID"], id).Scan)
	return b, notFound(err)
}

// scanBlob reads a row of outbox_blobs (id, submission_id, size, sha256,
// sha256_sealed, chunks, created_at) with scan. SealedSHA256 is nil where
// the column is NULL. On an error the blob holds what was read (its ID, for
// the message).
func scanBlob(scan func(dest ...any) error) (outbox.Blob, error) {
	var b outbox.Blob
	var sum []byte
	var created int64
	if err := scan(&b.ID, &b.SubmissionID, &b.Size, &sum, &b.SealedSHA256, &b.Chunks, &created); err != nil {
		return b, err
	}
	b.CreatedAt = fromMicros(created)
	return b, sqlstore.SetBlobChecksum(&b, sum)
}

func (e executor) BlobChunk(ctx context.Context, id string, seq int) ([]byte, error) {
	var data []byte
	err := e.r.QueryRowContext(ctx, e.q["BlobChunk"], id, seq).Scan(&data)
	return data, notFound(err)
}

func (e executor) SubmissionPayloads(ctx context.Context, after string, limit int) ([]sqlstore.SubmissionPayload, error) {
	rows, err := e.r.QueryContext(ctx, e.q["SubmissionPayloads"], after, limit)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(p *sqlstore.SubmissionPayload) []any { return []any{&p.ID, &p.Payload} })
}

func (e executor) RewriteSubmissionPayload(ctx context.Context, p sqlstore.SubmissionPayload, payload []byte) (int, error) {
	return rowsChanged(e.w.ExecContext(ctx, e.q["RewriteSubmissionPayload"], p.ID, p.Payload, payload))
}

// MessagePayloads keeps the metadata as stored (JSON text) in
// StoredMetadata, for the compare-and-swap of RewriteMessagePayload.
func (e executor) MessagePayloads(ctx context.Context, after int64, limit int) ([]sqlstore.MessagePayload, error) {
	rows, err := e.r.QueryContext(ctx, e.q["MessagePayloads"], after, limit)
	if err != nil {
		return nil, err
	}
	type row struct {
		p  sqlstore.MessagePayload
		md string
	}
	read, err := collect(rows, func(x *row) []any { return []any{&x.p.Seq, &x.p.ID, &x.p.Topic, &x.p.Payload, &x.md} })
	if err != nil {
		return nil, err
	}
	out := make([]sqlstore.MessagePayload, len(read))
	for i, x := range read {
		if err := json.Unmarshal([]byte(x.md), &x.p.Metadata); err != nil {
			return nil, fmt.Errorf("decode metadata of message %s: %w", x.p.ID, err)
		}
		x.p.StoredMetadata = x.md
		out[i] = x.p
	}
	return out, nil
}

func (e executor) RewriteMessagePayload(ctx context.Context, p sqlstore.MessagePayload, payload []byte, md map[string]string) (int, error) {
	enc, err := json.Marshal(nonNil(md))
	if err != nil {
		return 0, fmt.Errorf("encode metadata of message %s: %w", p.ID, err)
	}
	return rowsChanged(e.w.ExecContext(ctx, e.q["RewriteMessagePayload"], p.Seq, p.Payload, p.StoredMetadata, payload, string(enc)))
}

func (e executor) BlobChunks(ctx context.Context, afterID string, afterSeq, limit int) ([]sqlstore.BlobChunk, error) {
	rows, err := e.r.QueryContext(ctx, e.q["BlobChunks"], afterID, afterSeq, limit)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(c *sqlstore.BlobChunk) []any { return []any{&c.ID, &c.Seq, &c.Data} })
}

func (e executor) RewriteBlobChunk(ctx context.Context, c sqlstore.BlobChunk, data []byte) (int, error) {
	return rowsChanged(e.w.ExecContext(ctx, e.q["RewriteBlobChunk"], c.ID, c.Seq, c.Data, data))
}

func (e executor) BlobHeaders(ctx context.Context, after string, limit int) ([]outbox.Blob, error) {
	rows, err := e.r.QueryContext(ctx, e.q["BlobHeaders"], after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []outbox.Blob
	for rows.Next() {
		b, err := scanBlob(rows.Scan)
		if err != nil {
			return nil, fmt.Errorf("blob %s: %w", b.ID, err)
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

func (e executor) RewriteBlobHeader(ctx context.Context, b outbox.Blob, sha [32]byte, sealed []byte) (int, error) {
	return rowsChanged(e.w.ExecContext(ctx, e.q["RewriteBlobHeader"], b.ID, b.SHA256[:], b.SealedSHA256, sha[:], sqlstore.NullIfEmpty(sealed)))
}

// rowsChanged counts a single-row update: 1 if it changed its row, else 0.
func rowsChanged(res sql.Result, err error) (int, error) {
	if err != nil {
		return 0, err
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return 1, nil
	}
	return 0, nil
}
