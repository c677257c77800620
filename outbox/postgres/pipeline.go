package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/outbox/sqlstore"
)

// A pipelined transaction holds back the writes whose results its caller
// does not need (submissions, messages, events) and sends them
// with its commit, in one pgx batch: one round trip for a transaction that
// only writes, such as intake's. The statements of a batch up to its Sync
// run in one implicit transaction (PostgreSQL protocol, "Pipelining"): an
// error in any of them rolls them all back. A call that needs the
// database's answer (a read, a blob insert, a completion) first flushes:
// BEGIN and the held writes go ahead of it, and the transaction continues
// as an explicit one, holding back the writes that follow again.
//
// Two things differ from a plain transaction (driver.Begin):
//   - InsertSubmission reports inserted before the database has seen the
//     row (optimistically); when the row turns out to exist (id or
//     idempotency key), nothing is committed and the error wraps
//     sqlstore.ErrRetryPlain, on which sqlstore runs fn again in a plain
//     transaction, where the existing submission is found as before.
//   - The budget check cannot measure from the transaction's start on the
//     database (now()): the database may read the whole pipeline late, and
//     then its transaction starts late. The caller's deadline is converted
//     to the database's clock instead (see clockOf), and the last statement
//     before the commit fails past it (CommitBefore).
var _ sqlstore.Pipeliner = (*driver)(nil)

// pipeTx is a pipelined write transaction on a connection of the pool.
type pipeTx struct {
	// executor runs what needs an answer, through a flusher.
	executor
	conn *pgxpool.Conn
	// queue holds the writes not sent yet.
	queue []held
	// began is set once BEGIN was sent: the transaction is explicit.
	began bool
	// lazy commits without waiting for the WAL flush (TxOptions.Lazy).
	lazy bool
	// deadline is the caller's deadline on the database's clock; zero
	// when the caller's context had none.
	deadline time.Time
	// subs holds what the transaction stored of its submissions, to answer
	// SubmissionInfo (the reactor's question) without a flush.
	subs map[string]submissionInfo
	done bool
}

// held is a write held back until the next flush or the commit.
type held struct {
	sql  string
	args []any
	// what names the write in an error.
	what string
	// optimistic marks an InsertSubmission that reported inserted before it
	// ran: its unique violation means "run again in a plain transaction".
	optimistic bool
}

// submissionInfo is the portal, tenant and procedure of a submission.
type submissionInfo struct{ portal, tenant, procedure string }

// BeginPipelined starts a pipelined transaction. When ctx has a deadline,
// the transaction cannot commit after it, measured on the database's clock.
func (d *driver) BeginPipelined(ctx context.Context, opts sqlstore.TxOptions) (sqlstore.Tx, error) {
	conn, err := d.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	t := &pipeTx{conn: conn, lazy: opts.Lazy}
	t.executor = executor{db: flusher{t}, q: d.q}
	if dl, ok := ctx.Deadline(); ok {
		c, err := clockOf(ctx, conn)
		if err != nil {
			conn.Release()
			return nil, fmt.Errorf("read the database's clock: %w", err)
		}
		t.deadline = c.deadline(dl)
	}
	return t, nil
}

// clock relates the database's clock to this process's: at local (read
// after the answer arrived, with its monotonic reading) the database's clock
// was at least db. A deadline converted with it is never later on the
// database's clock than the caller's deadline is here: earlier by at most
// the round trip that read it.
type clock struct{ db, local time.Time }

// deadline converts a local deadline to the database's clock.
func (c clock) deadline(local time.Time) time.Time { return c.db.Add(local.Sub(c.local)) }

// clockKey is the key of a connection's clock in its CustomData.
const clockKey = "amtsbote.clock"

// maxClockAge is how long a connection's clock is used before it is read
// again, so that drift between the two clocks stays far below a budget.
// Every pipelined commit with a deadline reads it anew, so a busy
// connection never pays the extra round trip.
const maxClockAge = time.Minute

// clockOf returns the clock of conn, reading the database's clock when
// the connection has none that is recent.
func clockOf(ctx context.Context, conn *pgxpool.Conn) (clock, error) {
	data := conn.Conn().PgConn().CustomData()
	if c, ok := data[clockKey].(clock); ok && time.Since(c.local) < maxClockAge {
		return c, nil
	}
	var db time.Time
	if err := conn.QueryRow(ctx, "SELECT clock_timestamp()").Scan(&db); err != nil {
		return clock{}, err
	}
	c := clock{db: db, local: time.Now()}
	data[clockKey] = c
	return c, nil
}

// hold queues a write.
func (t *pipeTx) hold(h held) { t.queue = append(t.queue, h) }

// prefix queues on b what must precede a statement that needs an answer,
// or the commit: BEGIN if open and not sent yet (with the lazy commit's
// setting), then the held writes. It returns whether it queued BEGIN and
// the held writes, and leaves the queue empty.
func (t *pipeTx) prefix(b *pgx.Batch, open bool) (begin bool, writes []held) {
	begin, writes = open && !t.began, t.queue
	if begin {
		b.Queue("BEGIN")
		if t.lazy {
			b.Queue(lazyCommit)
		}
	}
	for _, h := range writes {
		b.Queue(h.sql, h.args...)
	}
	t.began, t.queue = t.began || begin, nil
	return begin, writes
}

// lazyCommit makes the transaction's commit lazy (TxOptions.Lazy). SET
// LOCAL needs a transaction block: a lazy transaction always sends BEGIN.
const lazyCommit = "SET LOCAL synchronous_commit TO OFF"

// readPrefix reads the results of what prefix queued.
func (t *pipeTx) readPrefix(br pgx.BatchResults, begin bool, writes []held) error {
	if begin {
		if _, err := br.Exec(); err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		if t.lazy {
			if _, err := br.Exec(); err != nil {
				return fmt.Errorf("lazy commit: %w", err)
			}
		}
	}
	return readHeld(br, writes)
}

// readHeld reads the results of held writes, stopping at the first error.
func readHeld(br pgx.BatchResults, writes []held) error {
	for _, h := range writes {
		if _, err := br.Exec(); err != nil {
			return heldError(h, err)
		}
	}
	return nil
}

// heldError wraps the error of a held write; the unique violation of an
// optimistic insert also wraps sqlstore.ErrRetryPlain.
func heldError(h held, err error) error {
	var pgErr *pgconn.PgError
	if h.optimistic && errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return fmt.Errorf("%s: %w: %w", h.what, sqlstore.ErrRetryPlain, err)
	}
	return fmt.Errorf("%s: %w", h.what, err)
}

// flush sends BEGIN (unless sent) and the held writes.
func (t *pipeTx) flush(ctx context.Context) error {
	if t.began && len(t.queue) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	begin, writes := t.prefix(b, true)
	br := t.conn.SendBatch(ctx, b)
	err := t.readPrefix(br, begin, writes)
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return err
}

// Commit sends the held writes, the budget check (CommitBefore) and, in an
// explicit transaction, COMMIT, in one batch. In the implicit transaction
// the batch's Sync commits, unless a statement failed; in the explicit one
// a failed statement leaves the transaction aborted and COMMIT unsent.
// A transaction that sent and holds nothing has nothing to commit.
func (t *pipeTx) Commit(ctx context.Context) error {
	t.done = true
	defer t.conn.Release()
	if !t.began && len(t.queue) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	begin, writes := t.prefix(b, t.lazy) // SET LOCAL needs a transaction block
	check := !t.deadline.IsZero()
	if check {
		b.Queue(t.q["CommitBefore"], t.deadline)
	}
	if t.began {
		b.Queue("COMMIT")
	}
	br := t.conn.SendBatch(ctx, b)
	err := t.readPrefix(br, begin, writes)
	var dbNow time.Time
	if err == nil && check {
		err = br.QueryRow().Scan(&dbNow)
	}
	received := time.Now()
	if err == nil && t.began {
		var tag pgconn.CommandTag
		if tag, err = br.Exec(); err == nil && tag.String() != "COMMIT" {
			err = pgx.ErrTxCommitRollback
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if check {
		t.conn.Conn().PgConn().CustomData()[clockKey] = clock{db: dbNow, local: received}
	}
	return nil
}

// Rollback rolls back unless the transaction has ended: nothing to do while
// nothing was sent, ROLLBACK once BEGIN was. A connection left in a
// transaction (ctx done, the database gone) is closed by the pool.
func (t *pipeTx) Rollback(ctx context.Context) error {
	return rollback(ctx, t.conn, &t.done, t.began)
}

// InsertSubmission holds back a plain INSERT of sub and reports it
// inserted: a conflict on its id or idempotency key fails the transaction
// with sqlstore.ErrRetryPlain.
func (t *pipeTx) InsertSubmission(_ context.Context, sub outbox.Submission) (bool, error) {
	t.hold(held{sql: t.q["InsertSubmissionNew"], args: submissionArgs(sub), what: "insert submission " + sub.ID,
		optimistic: true})
	if t.subs == nil {
		t.subs = map[string]submissionInfo{}
	}
	t.subs[sub.ID] = submissionInfo{portal: sub.PortalID, tenant: sub.TenantID, procedure: sub.ProcedureID}
	return true, nil
}

// SubmissionInfo answers for the submissions this transaction inserted
// without asking the database; for others it flushes and reads.
func (t *pipeTx) SubmissionInfo(ctx context.Context, id string) (portal, tenant, procedure string, err error) {
	if in, ok := t.subs[id]; ok {
		return in.portal, in.tenant, in.procedure, nil
	}
	return t.executor.SubmissionInfo(ctx, id)
}

// InsertMessage holds back the insert.
func (t *pipeTx) InsertMessage(_ context.Context, m outbox.Message, due, now time.Time, how sqlstore.Insert) error {
	query, args := t.insertMessage(m, due, now, how)
	t.hold(held{sql: query, args: args, what: "insert message " + m.ID})
	return nil
}

// InsertEvents holds back the inserts.
func (t *pipeTx) InsertEvents(_ context.Context, events []outbox.Event) error {
	for _, ev := range events {
		t.hold(held{sql: t.q["InsertEvent"], args: eventArgs(ev), what: "insert event of " + ev.SubmissionID})
	}
	return nil
}

// flusher is the querier of a pipelined transaction's executor: every
// call flushes the held writes first. A batch (CompleteMessages) carries
// them in front of its own statements, in the same round trip.
type flusher struct{ t *pipeTx }

func (f flusher) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if err := f.t.flush(ctx); err != nil {
		return pgconn.CommandTag{}, err
	}
	return f.t.conn.Exec(ctx, sql, args...)
}

func (f flusher) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if err := f.t.flush(ctx); err != nil {
		return nil, err
	}
	return f.t.conn.Query(ctx, sql, args...)
}

func (f flusher) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if err := f.t.flush(ctx); err != nil {
		return errRow{err}
	}
	return f.t.conn.QueryRow(ctx, sql, args...)
}

func (f flusher) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	if f.t.began && len(f.t.queue) == 0 {
		return f.t.conn.SendBatch(ctx, b)
	}
	all := &pgx.Batch{}
	begin, writes := f.t.prefix(all, true)
	all.QueuedQueries = append(all.QueuedQueries, b.QueuedQueries...)
	br := f.t.conn.SendBatch(ctx, all)
	if err := f.t.readPrefix(br, begin, writes); err != nil {
		_ = br.Close()
		return errBatch{err}
	}
	return br
}

// errRow is a row whose Scan returns err.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// errBatch is batch results that all return err.
type errBatch struct{ err error }

func (b errBatch) Exec() (pgconn.CommandTag, error) { return pgconn.CommandTag{}, b.err }
func (b errBatch) Query() (pgx.Rows, error)         { return nil, b.err }
func (b errBatch) QueryRow() pgx.Row                { return errRow(b) }
func (b errBatch) Close() error                     { return b.err }
func (b errBatch) Tx() pgx.Tx                       { return nil }
