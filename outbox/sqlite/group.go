package sqlite

import (
	"context"
	"database/sql"
	sqldriver "database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
)

// DefaultMaxGroup is the default of Config.MaxGroup.
const DefaultMaxGroup = 64

// writer runs the process's write transactions on the one write connection
// and commits concurrent ones together (group commit): the transactions of
// callers that queued for the connection while another held it share one
// SQLite transaction and one COMMIT (one fsync). Each caller's work runs in
// a SAVEPOINT of its own, so its error or panic undoes only its work; its
// Commit releases the savepoint and returns once the group's COMMIT did.
//
// Callers take turns on the connection in arrival order. The caller whose
// turn ends with nobody queued behind it (or a full group) commits the
// group, so a lone caller never waits for anybody.
type writer struct {
	db       *sql.DB
	maxGroup int

	mu    sync.Mutex
	busy  bool          // a caller holds the turn
	queue []*turnWaiter // callers waiting for the turn, oldest first
	g     *group        // the open group; only the turn holder uses it

	commits atomic.Int64 // COMMITs of groups run
}

// turnWaiter is a caller waiting for its turn on the write connection.
type turnWaiter struct {
	ready   chan struct{} // closed when the turn is granted
	granted bool          // under writer.mu
}

// group is one SQLite transaction shared by several callers.
type group struct {
	conn     *sql.Conn
	members  int   // savepoints opened
	released int   // savepoints released (work to commit)
	broken   error // a member's work could not be undone: the group must not commit
	done     chan struct{}
	err      error // the group's outcome, set before done is closed
}

// acquire waits for the turn on the write connection or for ctx to end.
func (w *writer) acquire(ctx context.Context) error {
	w.mu.Lock()
	if !w.busy && len(w.queue) == 0 {
		w.busy = true
		w.mu.Unlock()
		return nil
	}
	tw := &turnWaiter{ready: make(chan struct{})}
	w.queue = append(w.queue, tw)
	w.mu.Unlock()
	select {
	case <-tw.ready:
		return nil
	case <-ctx.Done():
		w.mu.Lock()
		if tw.granted { // granted as ctx ended: pass the turn on
			w.mu.Unlock()
			w.next()
			return ctx.Err()
		}
		w.queue = slices.DeleteFunc(w.queue, func(x *turnWaiter) bool { return x == tw })
		w.mu.Unlock()
		return ctx.Err()
	}
}

// grantLocked gives the turn to the oldest waiter; w.mu is held.
func (w *writer) grantLocked() {
	tw := w.queue[0]
	w.queue = w.queue[1:]
	tw.granted = true
	close(tw.ready)
}

// waiting returns the number of callers waiting for the turn.
func (w *writer) waiting() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.queue)
}

// next ends the holder's turn: it passes the turn to the next caller while
// the open group can take it, else it ends the group (COMMIT) and then
// passes the turn on.
func (w *writer) next() {
	w.mu.Lock()
	g := w.g
	if g != nil && g.broken == nil && g.members < w.maxGroup && len(w.queue) > 0 {
		w.grantLocked()
		w.mu.Unlock()
		return
	}
	w.g = nil
	w.mu.Unlock()
	if g != nil {
		w.end(g)
	}
	w.mu.Lock()
	if len(w.queue) > 0 {
		w.grantLocked()
	} else {
		w.busy = false
	}
	w.mu.Unlock()
}

// end commits the group (or rolls it back when it is broken or holds no
// released work), returns its connection to the pool and tells the members.
func (w *writer) end(g *group) {
	ctx := context.Background() // the group's end must not depend on one member's context
	var err error
	if g.broken != nil {
		err = fmt.Errorf("group transaction broken by a member: %w", g.broken)
	}
	if err == nil && g.released > 0 {
		w.commits.Add(1)
		if _, err = g.conn.ExecContext(ctx, `COMMIT`); err != nil {
			err = fmt.Errorf("commit: %w", err)
		}
	}
	if err != nil || g.released == 0 {
		// A failed COMMIT may leave the transaction open. A connection whose
		// state is unknown is not given back to the pool.
		if _, rerr := g.conn.ExecContext(ctx, `ROLLBACK`); rerr != nil && err != nil {
			_ = g.conn.Raw(func(any) error { return sqldriver.ErrBadConn })
		}
	}
	_ = g.conn.Close()
	g.err = err
	close(g.done)
}

// begin waits for the turn and opens a savepoint for the caller in the
// open group, opening the group (BEGIN IMMEDIATE) if there is none. Only
// waiting honours ctx: the member's statements run to their end (an
// interrupted write would roll back the whole group's transaction), and
// its Commit checks ctx before it releases the savepoint.
func (w *writer) begin(ctx context.Context) (*member, error) {
	if err := w.acquire(ctx); err != nil {
		return nil, err
	}
	if w.g == nil {
		conn, err := w.db.Conn(ctx)
		if err != nil {
			w.next()
			return nil, err
		}
		if _, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil { // waits up to busy_timeout for other processes
			_ = conn.Close()
			w.next()
			return nil, err
		}
		w.g = &group{conn: conn, done: make(chan struct{})}
	}
	g := w.g
	g.members++
	m := &member{w: w, g: g, name: "m" + strconv.Itoa(g.members)}
	if _, err := g.conn.ExecContext(context.WithoutCancel(ctx), `SAVEPOINT `+m.name); err != nil {
		g.broken = err
		m.finished = true
		w.next()
		return nil, err
	}
	return m, nil
}

// member is one caller's work in a group: a savepoint.
type member struct {
	w        *writer
	g        *group
	name     string
	finished bool
}

// conn is what the member's statements run on: the group's connection,
// with contexts that do not interrupt them (see writer.begin).
func (m *member) conn() queryer { return uninterrupted{m.g.conn} }

// commit releases the savepoint (unless ctx ended: then it rolls it back)
// and waits for the group's COMMIT, whose error it returns. Nothing of the
// member is committed when it returns an error.
func (m *member) commit(ctx context.Context) error {
	if m.finished {
		return errors.New("transaction already finished")
	}
	if err := ctx.Err(); err != nil { // the request budget ran out before the commit
		_ = m.rollback()
		return err
	}
	m.finished = true
	if _, err := m.g.conn.ExecContext(context.WithoutCancel(ctx), `RELEASE `+m.name); err != nil {
		m.g.broken = err // e.g. SQLite rolled the transaction back: the savepoint is gone
	} else {
		m.g.released++
	}
	g := m.g
	m.w.next()
	<-g.done // bounded: the group commits once its members are through
	return g.err
}

// rollback undoes the member's work and ends its turn; it does nothing
// after commit or rollback.
func (m *member) rollback() error {
	if m.finished {
		return nil
	}
	m.finished = true
	ctx := context.Background()
	_, err := m.g.conn.ExecContext(ctx, `ROLLBACK TO `+m.name)
	if err == nil {
		_, err = m.g.conn.ExecContext(ctx, `RELEASE `+m.name)
	}
	if err != nil {
		m.g.broken = err
	}
	m.w.next()
	return err
}

// uninterrupted runs statements on q with contexts that are never
// cancelled, keeping their values.
type uninterrupted struct{ q queryer }

func (u uninterrupted) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return u.q.ExecContext(context.WithoutCancel(ctx), query, args...)
}

func (u uninterrupted) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return u.q.QueryContext(context.WithoutCancel(ctx), query, args...)
}

func (u uninterrupted) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return u.q.QueryRowContext(context.WithoutCancel(ctx), query, args...)
}

// inGroup runs fn as a member of a group and commits it with the group.
func (w *writer) inGroup(ctx context.Context, fn func(q queryer) error) error {
	m, err := w.begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = m.rollback() }()
	if err := fn(m.conn()); err != nil {
		return err
	}
	return m.commit(ctx)
}
