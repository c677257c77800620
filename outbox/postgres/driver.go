package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/outbox/sqlstore"
)

// querier is what the pool and a transaction have in common.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// executor runs the queries of sqlstore.Executor on the pool or in a transaction.
type executor struct {
	db querier
	q  map[string]string
}

// driver is the sqlstore.Driver of PostgreSQL.
type driver struct {
	executor
	pool *pgxpool.Pool
}

var _ sqlstore.Driver = (*driver)(nil)

// txExecutor is a write transaction on a connection of the pool.
type txExecutor struct {
	executor
	conn *pgxpool.Conn
	// budget is the time the caller's context had left at Begin; zero
	// when it had no deadline.
	budget time.Duration
	done   bool
}

// Begin starts a transaction. When ctx has a deadline, the transaction
// cannot commit after it (see Commit).
func (d *driver) Begin(ctx context.Context) (sqlstore.Tx, error) {
	var budget time.Duration
	if dl, ok := ctx.Deadline(); ok {
		budget = time.Until(dl)
	}
	conn, err := d.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "BEGIN"); err != nil {
		conn.Release() // not idle: destroyed
		return nil, err
	}
	return &txExecutor{executor: executor{db: conn, q: d.q}, conn: conn, budget: budget}, nil
}

// Commit commits. With a budget, the check that the transaction is within
// it travels in one message with the COMMIT and runs on the database's
// clock: a COMMIT that reaches a database which hung until after the
// caller gave up (and told its client so) rolls back instead of committing
// late. Only a commit that the database finishes within the budget, while
// its answer is lost, has an unknown outcome; idempotency keys resolve it.
func (t *txExecutor) Commit(ctx context.Context) error {
	t.done = true
	defer t.conn.Release()
	var tag pgconn.CommandTag
	var err error
	if t.budget > 0 {
		tag, err = t.conn.Exec(ctx, t.q["CommitWithin"], pgx.QueryExecModeSimpleProtocol, t.budget.Microseconds())
	} else {
		tag, err = t.conn.Exec(ctx, "COMMIT")
	}
	if err != nil {
		return err
	}
	if tag.String() != "COMMIT" {
		return pgx.ErrTxCommitRollback
	}
	return nil
}

// Rollback rolls back unless the transaction has ended. A connection left
// in a transaction (ctx done, the database gone) is closed by the pool.
func (t *txExecutor) Rollback(ctx context.Context) error {
	return rollback(ctx, t.conn, &t.done, true)
}

// rollback ends a transaction on conn unless *done: it sends ROLLBACK when
// the database has seen the transaction (began), and gives conn back to
// the pool either way.
func rollback(ctx context.Context, conn *pgxpool.Conn, done *bool, began bool) error {
	if *done {
		return nil
	}
	*done = true
	defer conn.Release()
	if !began {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	_, err := conn.Exec(ctx, "ROLLBACK")
	return err
}

func (d *driver) Ping(ctx context.Context) error { return d.pool.Ping(ctx) }

func (d *driver) Close() error {
	d.pool.Close()
	return nil
}

// notFound maps pgx.ErrNoRows to outbox.ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return outbox.ErrNotFound
	}
	return err
}

func (d *driver) Claim(ctx context.Context, p outbox.ClaimParams, now time.Time) ([]outbox.Message, error) {
	if p.Limit <= 0 {
		return nil, nil
	}
	query, args := d.q["ClaimDue"], []any{p.Owner, now.Add(p.Lease), now, p.Topic, p.Limit}
	if p.Ordered {
		query, args = d.q["ClaimHead"], args[:4]
	}
	return scanMessages(d.pool.Query(ctx, query, args...))
}

func (d *driver) Release(ctx context.Context, owner, topic string, ids []string) error {
	_, err := d.pool.Exec(ctx, d.q["Release"], topic, ids, owner)
	return err
}

func (d *driver) ExtendLeases(ctx context.Context, owner, topic string, ids []string, until time.Time) (int, error) {
	tag, err := d.pool.Exec(ctx, d.q["ExtendLeases"], until, topic, ids, owner)
	return int(tag.RowsAffected()), err
}

func (d *driver) MakeDue(ctx context.Context, topic, id string, now time.Time) (bool, error) {
	tag, err := d.pool.Exec(ctx, d.q["MakeDue"], now, topic, id)
	return tag.RowsAffected() > 0, err
}

func (d *driver) PutBlobChunk(ctx context.Context, id string, seq int, data []byte, now time.Time) (bool, error) {
	tag, err := d.pool.Exec(ctx, d.q["PutBlobChunk"], id, seq, sqlstore.NonNil(data), now)
	return tag.RowsAffected() > 0, err
}

// DeleteStagedBlob locks the blob's id, as InsertBlobs does, so that chunks
// being committed stay.
func (d *driver) DeleteStagedBlob(ctx context.Context, id string) error {
	return pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, d.q["LockBlobs"], []string{id}); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, d.q["DeleteStagedBlob"], id)
		return err
	})
}

// PurgeStagedBlobs reads the stale blobs, then locks their ids and deletes
// those still stale and uncommitted: a blob that another transaction
// commits meanwhile is kept.
func (d *driver) PurgeStagedBlobs(ctx context.Context, before time.Time) (int, error) {
	rows, err := d.pool.Query(ctx, d.q["StaleStagedBlobs"], before)
	if err != nil {
		return 0, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	var n int
	err = pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, d.q["LockBlobs"], ids); err != nil {
			return err
		}
		return tx.QueryRow(ctx, d.q["PurgeStagedBlobs"], ids, before).Scan(&n)
	})
	return n, err
}

func (e executor) InsertSubmission(ctx context.Context, sub outbox.Submission) (bool, error) {
	tag, err := e.db.Exec(ctx, e.q["InsertSubmission"], submissionArgs(sub)...)
	return tag.RowsAffected() == 1, err
}

// submissionArgs are the arguments of InsertSubmission and InsertSubmissionNew.
func submissionArgs(sub outbox.Submission) []any {
	return []any{sub.ID, sub.PortalID, sub.TenantID, sub.ProcedureID, sub.IdempotencyKey, sub.RequestHash,
		sub.Payload, sub.CreatedAt}
}

func (e executor) SubmissionByKey(ctx context.Context, portalID, key string) (outbox.Submission, error) {
	sub, err := scanSubmission(e.db.QueryRow(ctx, e.q["SubmissionByKey"], portalID, key))
	return sub, notFound(err)
}

func (e executor) SubmissionByID(ctx context.Context, id string) (outbox.Submission, error) {
	sub, err := scanSubmission(e.db.QueryRow(ctx, e.q["SubmissionByID"], id))
	return sub, notFound(err)
}

func (e executor) SubmissionInfo(ctx context.Context, id string) (portal, tenant, procedure string, err error) {
	err = e.db.QueryRow(ctx, e.q["SubmissionInfo"], id).Scan(&portal, &tenant, &procedure)
	return portal, tenant, procedure, notFound(err)
}

func (e executor) SubmissionExists(ctx context.Context, id string) (bool, error) {
	var exists bool
	err := e.db.QueryRow(ctx, e.q["SubmissionExists"], id).Scan(&exists)
	return exists, err
}

func (e executor) InsertMessage(ctx context.Context, m outbox.Message, due, now time.Time, how sqlstore.Insert) error {
	query, args := e.insertMessage(m, due, now, how)
	_, err := e.db.Exec(ctx, query, args...)
	return err
}

// insertMessage returns the statement and arguments of InsertMessage.
func (e executor) insertMessage(m outbox.Message, due, now time.Time, how sqlstore.Insert) (string, []any) {
	md := m.Metadata
	if md == nil {
		md = map[string]string{}
	}
	var until *time.Time // NULL unless leased
	if m.LeaseOwner != "" {
		until = &m.LeaseUntil
	}
	args := []any{m.ID, m.Topic, m.SubmissionID, sqlstore.NonNil(m.Payload), md, due, now, m.LeaseOwner, until}
	if how == sqlstore.InsertFollowUp {
		return e.q["InsertMessageIgnore"], args
	}
	return e.q["InsertMessage"], append(args, how == sqlstore.InsertTransformed)
}

// CompleteMessages sends the updates, each recording its attempt,
// pipelined in one round trip.
func (e executor) CompleteMessages(ctx context.Context, rows []sqlstore.CompleteRow) ([]sqlstore.Completed, error) {
	batch := &pgx.Batch{}
	for _, c := range rows {
		var next *time.Time
		if !c.NextAttemptAt.IsZero() {
			next = &c.NextAttemptAt
		}
		batch.Queue(e.q["Complete"], string(c.State), next, c.Error, c.FinishedAt, c.Topic, c.ID, c.Owner, string(c.Class), c.Attempt,
			c.StartedAt, string(c.Outcome))
	}
	results := e.db.SendBatch(ctx, batch)
	out := make([]sqlstore.Completed, len(rows))
	for i := range rows {
		u := &out[i]
		err := results.QueryRow().Scan(&u.Seq, &u.Attempts, &u.SubmissionID, &u.Metadata)
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}
		if err != nil {
			results.Close()
			return nil, fmt.Errorf("%s: %w", rows[i].ID, err)
		}
		u.Found = true
	}
	if err := results.Close(); err != nil {
		return nil, err
	}
	return out, nil
}

func (e executor) NextDue(ctx context.Context, topic string, now time.Time) (time.Time, bool, error) {
	var due time.Time
	err := e.db.QueryRow(ctx, e.q["NextDue"], topic).Scan(&due)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, err
	}
	return due.UTC(), true, nil
}

func (e executor) MessagesBySubmission(ctx context.Context, submissionID string) ([]outbox.Message, error) {
	return scanMessages(e.db.Query(ctx, e.q["MessagesBySubmission"], submissionID))
}

func (e executor) MessagesOfSubmissions(ctx context.Context, ids []string) ([]outbox.Message, error) {
	return scanMessages(e.db.Query(ctx, e.q["MessagesOfSubmissions"], ids))
}

func (e executor) MessagesByID(ctx context.Context, id, topic string) ([]outbox.Message, []int64, error) {
	return scanMessagesSeq(e.db.Query(ctx, e.q["MessagesByID"], id, topic))
}

func (e executor) ListMessages(ctx context.Context, afterSeq int64, state outbox.State, pattern string, limit int) ([]outbox.Message, []int64, error) {
	return scanMessagesSeq(e.db.Query(ctx, e.q["List"], afterSeq, string(state), pattern, limit))
}

func (e executor) ExpiredLeases(ctx context.Context, now time.Time, limit int) ([]sqlstore.Lease, error) {
	return queryRows(ctx, e.db, e.q["ExpiredLeases"], []any{now, limit}, func(r pgx.CollectableRow) (sqlstore.Lease, error) {
		var l sqlstore.Lease
		err := r.Scan(&l.Topic, &l.ID, &l.Owner, &l.LeasedAt, &l.Attempts)
		l.LeasedAt = l.LeasedAt.UTC()
		return l, err
	})
}

func (e executor) Attempts(ctx context.Context, messageID string) ([]outbox.Attempt, error) {
	return queryRows(ctx, e.db, e.q["Attempts"], []any{messageID}, func(r pgx.CollectableRow) (outbox.Attempt, error) {
		var a outbox.Attempt
		var outcome, class string
		err := r.Scan(&a.MessageID, &a.Number, &a.Owner, &a.StartedAt, &a.FinishedAt, &outcome, &a.Error, &class)
		a.Outcome, a.ErrorClass = outbox.Outcome(outcome), outbox.ErrorClass(class)
		a.StartedAt, a.FinishedAt = a.StartedAt.UTC(), a.FinishedAt.UTC()
		return a, err
	})
}

func (e executor) LockMessages(ctx context.Context, id, topic string) ([]sqlstore.Locked, error) {
	return queryRows(ctx, e.db, e.q["LockMessagesByID"], []any{id, topic}, func(row pgx.CollectableRow) (sqlstore.Locked, error) {
		var l sqlstore.Locked
		var state string
		err := row.Scan(&l.Seq, &state)
		l.State = outbox.State(state)
		return l, err
	})
}

func (e executor) ReplayMessage(ctx context.Context, seq int64, now time.Time, by, reason string) ([]sqlstore.Replayed, error) {
	return e.replay(ctx, "ReplayMessage", seq, now, by, reason)
}

func (e executor) ReplayDead(ctx context.Context, pattern string, now time.Time, by, reason string) ([]sqlstore.Replayed, error) {
	return e.replay(ctx, "ReplayDead", pattern, now, by, reason)
}

// replay runs a replay query, which records the replays itself, and reads
// its (topic, id, submission, metadata) rows.
func (e executor) replay(ctx context.Context, query string, selector any, now time.Time, by, reason string) ([]sqlstore.Replayed, error) {
	return queryRows(ctx, e.db, e.q[query], []any{selector, now, by, reason}, func(row pgx.CollectableRow) (sqlstore.Replayed, error) {
		var r sqlstore.Replayed
		return r, row.Scan(&r.Topic, &r.ID, &r.SubmissionID, &r.Metadata)
	})
}

func (e executor) Replays(ctx context.Context, messageID string) ([]outbox.Replay, error) {
	return queryRows(ctx, e.db, e.q["Replays"], []any{messageID}, func(row pgx.CollectableRow) (outbox.Replay, error) {
		var r outbox.Replay
		err := row.Scan(&r.MessageID, &r.Topic, &r.By, &r.Reason, &r.At, &r.Attempts)
		r.At = r.At.UTC()
		return r, err
	})
}

func (e executor) DiscardMessage(ctx context.Context, seq int64, now time.Time) (sqlstore.Replayed, error) {
	var d sqlstore.Replayed
	err := e.db.QueryRow(ctx, e.q["DiscardMessage"], seq, now).Scan(&d.ID, &d.Topic, &d.SubmissionID, &d.Metadata)
	return d, notFound(err)
}

func (e executor) KeepTransformed(ctx context.Context, seq int64) error {
	_, err := e.db.Exec(ctx, e.q["KeepTransformed"], seq)
	return err
}

// InsertEvents sends the inserts pipelined in one round trip.
func (e executor) InsertEvents(ctx context.Context, events []outbox.Event) error {
	batch := &pgx.Batch{}
	for _, ev := range events {
		batch.Queue(e.q["InsertEvent"], eventArgs(ev)...)
	}
	return e.db.SendBatch(ctx, batch).Close()
}

// eventArgs are the arguments of InsertEvent.
func eventArgs(ev outbox.Event) []any {
	return []any{ev.SubmissionID, ev.MessageID, ev.Topic, string(ev.Kind), ev.Attempt, string(ev.Outcome), ev.Actor,
		ev.Detail, ev.At}
}

func (e executor) Events(ctx context.Context, submissionID string) ([]outbox.Event, error) {
	return queryRows(ctx, e.db, e.q["Events"], []any{submissionID}, func(r pgx.CollectableRow) (outbox.Event, error) {
		var ev outbox.Event
		var kind, outcome string
		err := r.Scan(&ev.Seq, &ev.SubmissionID, &ev.PortalID, &ev.Tenant, &ev.Procedure, &ev.MessageID, &ev.Topic,
			&kind, &ev.Attempt, &outcome, &ev.Actor, &ev.Detail, &ev.At)
		ev.Kind, ev.Outcome, ev.At = outbox.EventKind(kind), outbox.Outcome(outcome), ev.At.UTC()
		return ev, err
	})
}

func (e executor) StatsOpen(ctx context.Context) ([]outbox.TopicStats, error) {
	return queryRows(ctx, e.db, e.q["StatsOpen"], []any{}, func(r pgx.CollectableRow) (outbox.TopicStats, error) {
		var st outbox.TopicStats
		err := r.Scan(&st.Topic, &st.Pending, &st.Retrying, &st.OldestPending)
		st.OldestPending = st.OldestPending.UTC()
		return st, err
	})
}

func (e executor) StatsDead(ctx context.Context) ([]outbox.TopicStats, error) {
	return queryRows(ctx, e.db, e.q["StatsDead"], []any{}, func(r pgx.CollectableRow) (outbox.TopicStats, error) {
		var st outbox.TopicStats
		return st, r.Scan(&st.Topic, &st.Dead)
	})
}

func (e executor) LastDelivered(ctx context.Context, topic string) (time.Time, error) {
	var last *time.Time
	if err := e.db.QueryRow(ctx, e.q["LastDelivered"], topic).Scan(&last); err != nil || last == nil {
		return time.Time{}, err
	}
	return last.UTC(), nil
}

func (e executor) ListSubmissions(ctx context.Context, portalID string, since time.Time, after outbox.SubmissionCursor, limit int) ([]outbox.Submission, error) {
	if since.IsZero() {
		since = time.Unix(0, 0)
	}
	if after.CreatedAt.IsZero() {
		after.CreatedAt = time.Unix(0, 0)
	}
	return queryRows(ctx, e.db, e.q["ListSubmissions"], []any{portalID, since, after.CreatedAt, after.ID, limit}, func(r pgx.CollectableRow) (outbox.Submission, error) { return scanSubmission(r) })
}

func (e executor) SetAlarm(ctx context.Context, key string, open bool, now time.Time) (bool, error) {
	query := e.q["CloseAlarm"]
	if open {
		query = e.q["OpenAlarm"]
	}
	tag, err := e.db.Exec(ctx, query, key, now)
	return tag.RowsAffected() > 0, err
}

func (e executor) PurgeMessages(ctx context.Context, before, now time.Time, limit int) ([]sqlstore.Purged, error) {
	rows, err := e.db.Query(ctx, e.q["PurgeMessages"], before, now, limit)
	if err != nil {
		return nil, err
	}
	type purged struct {
		seq int64
		p   sqlstore.Purged
	}
	msgs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (purged, error) {
		var p purged
		return p, r.Scan(&p.seq, &p.p.ID, &p.p.Topic, &p.p.SubmissionID)
	})
	if err != nil {
		return nil, err
	}
	// RETURNING yields rows in no defined order.
	slices.SortFunc(msgs, func(a, b purged) int { return cmp.Compare(a.seq, b.seq) })
	out := make([]sqlstore.Purged, len(msgs))
	for i, m := range msgs {
		out[i] = m.p
	}
	return out, nil
}

func (e executor) PurgeSubmissions(ctx context.Context, before, now time.Time, limit int) ([]string, error) {
	return queryRows(ctx, e.db, e.q["PurgeSubmissions"], []any{before, now, limit}, pgx.RowTo[string])
}

func (e executor) PurgeBlobs(ctx context.Context, submissionIDs []string) (int, error) {
	if _, err := e.db.Exec(ctx, e.q["PurgeBlobChunks"], submissionIDs); err != nil {
		return 0, fmt.Errorf("chunks: %w", err)
	}
	tag, err := e.db.Exec(ctx, e.q["PurgeBlobs"], submissionIDs)
	return int(tag.RowsAffected()), err
}

// LockBlobs takes advisory locks, which DeleteStagedBlob and
// PurgeStagedBlobs take too.
func (e executor) LockBlobs(ctx context.Context, ids []string) error {
	_, err := e.db.Exec(ctx, e.q["LockBlobs"], ids)
	return err
}

func (e executor) StagedChunks(ctx context.Context, id string) (n, first, last int, err error) {
	err = e.db.QueryRow(ctx, e.q["StagedChunks"], id).Scan(&n, &first, &last)
	return n, first, last, err
}

func (e executor) InsertBlob(ctx context.Context, b outbox.Blob, created time.Time) error {
	_, err := e.db.Exec(ctx, e.q["InsertBlob"], b.ID, b.SubmissionID, b.Size, b.SHA256[:],
		sqlstore.NullIfEmpty(b.SealedSHA256), b.Chunks, created)
	return err
}

func (e executor) BlobByID(ctx context.Context, id string) (outbox.Blob, error) {
	b, err := scanBlob(e.db.QueryRow(ctx, e.q["BlobByID"], id).Scan)
	return b, notFound(err)
}

// scanBlob reads a row of outbox_blobs (id, submission_id, size, sha256,
// sha256_sealed, chunks, created_at) with scan. SealedSHA256 is nil where
// the column is NULL. On an error the blob holds what was read (its ID, for
// the message).
func scanBlob(scan func(dest ...any) error) (outbox.Blob, error) {
	var b outbox.Blob
	var sum []byte
	if err := scan(&b.ID, &b.SubmissionID, &b.Size, &sum, &b.SealedSHA256, &b.Chunks, &b.CreatedAt); err != nil {
		return b, err
	}
	b.CreatedAt = b.CreatedAt.UTC()
	return b, sqlstore.SetBlobChecksum(&b, sum)
}

func (e executor) BlobChunk(ctx context.Context, id string, seq int) ([]byte, error) {
	var data []byte
	err := e.db.QueryRow(ctx, e.q["BlobChunk"], id, seq).Scan(&data)
	return data, notFound(err)
}

func (e executor) SubmissionPayloads(ctx context.Context, after string, limit int) ([]sqlstore.SubmissionPayload, error) {
	return queryRows(ctx, e.db, e.q["SubmissionPayloads"], []any{after, limit}, func(r pgx.CollectableRow) (sqlstore.SubmissionPayload, error) {
		var p sqlstore.SubmissionPayload
		return p, r.Scan(&p.ID, &p.Payload)
	})
}

func (e executor) RewriteSubmissionPayload(ctx context.Context, p sqlstore.SubmissionPayload, payload []byte) (int, error) {
	tag, err := e.db.Exec(ctx, e.q["RewriteSubmissionPayload"], p.ID, p.Payload, payload)
	return int(tag.RowsAffected()), err
}

func (e executor) MessagePayloads(ctx context.Context, after int64, limit int) ([]sqlstore.MessagePayload, error) {
	return queryRows(ctx, e.db, e.q["MessagePayloads"], []any{after, limit}, func(r pgx.CollectableRow) (sqlstore.MessagePayload, error) {
		var p sqlstore.MessagePayload
		return p, r.Scan(&p.Seq, &p.ID, &p.Topic, &p.Payload, &p.Metadata)
	})
}

func (e executor) RewriteMessagePayload(ctx context.Context, p sqlstore.MessagePayload, payload []byte, md map[string]string) (int, error) {
	oldMD := p.Metadata
	if oldMD == nil {
		oldMD = map[string]string{}
	}
	tag, err := e.db.Exec(ctx, e.q["RewriteMessagePayload"], p.Seq, p.Payload, oldMD, payload, md)
	return int(tag.RowsAffected()), err
}

func (e executor) BlobChunks(ctx context.Context, afterID string, afterSeq, limit int) ([]sqlstore.BlobChunk, error) {
	return queryRows(ctx, e.db, e.q["BlobChunks"], []any{afterID, afterSeq, limit}, func(r pgx.CollectableRow) (sqlstore.BlobChunk, error) {
		var c sqlstore.BlobChunk
		return c, r.Scan(&c.ID, &c.Seq, &c.Data)
	})
}

func (e executor) RewriteBlobChunk(ctx context.Context, c sqlstore.BlobChunk, data []byte) (int, error) {
	tag, err := e.db.Exec(ctx, e.q["RewriteBlobChunk"], c.ID, c.Seq, c.Data, data)
	return int(tag.RowsAffected()), err
}

func (e executor) BlobHeaders(ctx context.Context, after string, limit int) ([]outbox.Blob, error) {
	return queryRows(ctx, e.db, e.q["BlobHeaders"], []any{after, limit}, func(r pgx.CollectableRow) (outbox.Blob, error) {
		b, err := scanBlob(r.Scan)
		if err != nil {
			return b, fmt.Errorf("blob %s: %w", b.ID, err)
		}
		return b, nil
	})
}

func (e executor) RewriteBlobHeader(ctx context.Context, b outbox.Blob, sha [32]byte, sealed []byte) (int, error) {
	tag, err := e.db.Exec(ctx, e.q["RewriteBlobHeader"], b.ID, b.SHA256[:], b.SealedSHA256, sha[:], sqlstore.NullIfEmpty(sealed))
	return int(tag.RowsAffected()), err
}

func scanSubmission(r pgx.Row) (outbox.Submission, error) {
	var sub outbox.Submission
	err := r.Scan(&sub.ID, &sub.PortalID, &sub.TenantID, &sub.ProcedureID, &sub.IdempotencyKey,
		&sub.RequestHash, &sub.Payload, &sub.CreatedAt)
	sub.CreatedAt = sub.CreatedAt.UTC()
	return sub, err
}

// queryRows runs a query and reads its rows with scan.
func queryRows[T any](ctx context.Context, db querier, query string, args []any, scan pgx.RowToFunc[T]) ([]T, error) {
	rows, err := db.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scan)
}

func scanMessages(rows pgx.Rows, err error) ([]outbox.Message, error) {
	msgs, _, err := scanMessagesSeq(rows, err)
	return msgs, err
}

// scanMessagesSeq reads message rows (unless the query failed) and returns
// them in seq order with their seqs.
func scanMessagesSeq(rows pgx.Rows, err error) ([]outbox.Message, []int64, error) {
	type seqMsg struct {
		seq int64
		m   outbox.Message
	}
	if err != nil {
		return nil, nil, err
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (seqMsg, error) {
		var sm seqMsg
		var state string
		var delivered *time.Time
		m := &sm.m
		err := r.Scan(&sm.seq, &m.ID, &m.Topic, &m.SubmissionID, &m.Payload, &m.Metadata, &state, &m.Attempts,
			&m.NextAttemptAt, &m.LastError, &m.CreatedAt, &m.UpdatedAt, &delivered, &m.RetryFrom, &m.LastErrorClass)
		m.State = outbox.State(state)
		m.NextAttemptAt, m.CreatedAt, m.UpdatedAt = m.NextAttemptAt.UTC(), m.CreatedAt.UTC(), m.UpdatedAt.UTC()
		m.RetryFrom = m.RetryFrom.UTC()
		if delivered != nil {
			m.DeliveredAt = delivered.UTC()
		}
		return sm, err
	})
	if err != nil {
		return nil, nil, err
	}
	// RETURNING yields rows in no defined order.
	slices.SortFunc(out, func(a, b seqMsg) int { return cmp.Compare(a.seq, b.seq) })
	msgs := make([]outbox.Message, len(out))
	seqs := make([]int64, len(out))
	for i := range out {
		msgs[i], seqs[i] = out[i].m, out[i].seq
	}
	return msgs, seqs, nil
}
