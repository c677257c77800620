package sqlite

import (
	"container/list"
	"context"
	"database/sql"
	sqldriver "database/sql/driver"
	"errors"

	sqlite "modernc.org/sqlite"
)

// stmtCacheSize bounds the prepared statements each connection keeps, in
// the least recently used order.
const stmtCacheSize = 64

// keptQueries names the queries whose statements the connections keep: those
// of intake, delivery and completion, which run for every submission.
// Statements that move attachment chunks are not kept: a kept statement
// holds on to the memory of what it last bound and read, megabytes for a
// chunk (a 256 MiB streamed upload peaked 40 MiB higher with every statement
// kept).
var keptQueries = []string{
	"InsertSubmission", "SubmissionByKey", "SubmissionByID", "SubmissionInfo", "SubmissionExists",
	"InsertMessage", "InsertMessageIgnore", "InsertEvent", "TakeEventSeqs", "StartEventSeqs",
	"ClaimDue", "ClaimHead", "NextDue", "Complete", "InsertAttempt", "Release", "MakeDue", "ExtendLease",
	"MessagesBySubmission", "KeepTransformed", "ClearTransformed",
}

// openDB opens a pool of dsn whose connections keep the prepared statements
// of the query texts in keep. The driver's connections prepare every
// statement they run anew (parse and plan: a sixth of the gateway's CPU at
// 1,000 submissions/s on SQLite); database/sql keeps statements only for a
// *sql.Stmt, which the one write connection, taken by the group commit,
// cannot share.
func openDB(dsn string, keep map[string]bool) (*sql.DB, error) {
	c, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(cachingConnector{Connector: c, keep: keep}), nil
}

// cachingConnector opens the driver's connections wrapped in cachingConn.
type cachingConnector struct {
	sqldriver.Connector
	keep map[string]bool
}

func (c cachingConnector) Connect(ctx context.Context) (sqldriver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	for _, ok := range []bool{
		implements[sqldriver.ConnPrepareContext](conn), implements[sqldriver.ConnBeginTx](conn),
		implements[sqldriver.SessionResetter](conn), implements[sqldriver.Validator](conn), implements[sqldriver.Pinger](conn),
	} {
		if !ok {
			_ = conn.Close()
			return nil, errors.New("sqlite: the driver's connection lacks an interface the statement cache forwards")
		}
	}
	return &cachingConn{Conn: conn, keep: c.keep, lru: list.New(), byQuery: map[string]*list.Element{}}, nil
}

func implements[T any](v any) bool { _, ok := v.(T); return ok }

// cachingConn is a driver connection that keeps the prepared statements of
// the queries in keep. It implements neither ExecerContext nor
// QueryerContext, so database/sql runs every statement through
// PrepareContext, which hands out the kept one. A statement in use (rows
// still open) is not handed out twice: a second use of its query meanwhile
// prepares one that is closed after it.
//
// database/sql never uses a connection from two goroutines at once, so the
// cache needs no lock.
type cachingConn struct {
	sqldriver.Conn
	keep     map[string]bool
	lru      *list.List // of *cachedStmt, most recently used first
	byQuery  map[string]*list.Element
	prepares int // statements the driver prepared (tests)
}

// cachedStmt is a statement kept by its connection; Close returns it.
type cachedStmt struct {
	sqldriver.Stmt
	query string
	inUse bool
	kept  bool // in the cache; false once evicted, and Close then closes it
}

func (c *cachingConn) Prepare(query string) (sqldriver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *cachingConn) PrepareContext(ctx context.Context, query string) (sqldriver.Stmt, error) {
	if !c.keep[query] {
		return c.prepare(ctx, query)
	}
	if e, ok := c.byQuery[query]; ok {
		s := e.Value.(*cachedStmt)
		if s.inUse {
			return c.prepare(ctx, query)
		}
		c.lru.MoveToFront(e)
		s.inUse = true
		return s, nil
	}
	ds, err := c.prepare(ctx, query)
	if err != nil {
		return nil, err
	}
	s := &cachedStmt{Stmt: ds, query: query, inUse: true, kept: true}
	c.byQuery[query] = c.lru.PushFront(s)
	if c.lru.Len() > stmtCacheSize {
		c.evict(c.lru.Back())
	}
	return s, nil
}

// prepare has the driver prepare query; the statement is not kept.
func (c *cachingConn) prepare(ctx context.Context, query string) (sqldriver.Stmt, error) {
	c.prepares++
	return c.Conn.(sqldriver.ConnPrepareContext).PrepareContext(ctx, query)
}

// evict drops e from the cache and closes its statement unless it is in
// use; then its Close does.
func (c *cachingConn) evict(e *list.Element) {
	s := e.Value.(*cachedStmt)
	c.lru.Remove(e)
	delete(c.byQuery, s.query)
	s.kept = false
	if !s.inUse {
		_ = s.Stmt.Close()
	}
}

// Close closes the kept statements and the connection.
func (c *cachingConn) Close() error {
	var errs []error
	for e := c.lru.Front(); e != nil; e = e.Next() {
		s := e.Value.(*cachedStmt)
		s.kept = false
		if !s.inUse {
			errs = append(errs, s.Stmt.Close())
		}
	}
	c.lru.Init()
	clear(c.byQuery)
	return errors.Join(append(errs, c.Conn.Close())...)
}

func (c *cachingConn) BeginTx(ctx context.Context, opts sqldriver.TxOptions) (sqldriver.Tx, error) {
	return c.Conn.(sqldriver.ConnBeginTx).BeginTx(ctx, opts)
}

func (c *cachingConn) ResetSession(ctx context.Context) error {
	return c.Conn.(sqldriver.SessionResetter).ResetSession(ctx)
}

func (c *cachingConn) IsValid() bool { return c.Conn.(sqldriver.Validator).IsValid() }

func (c *cachingConn) Ping(ctx context.Context) error { return c.Conn.(sqldriver.Pinger).Ping(ctx) }

// Close returns a kept statement to its connection's cache, and closes one
// that is not kept.
func (s *cachedStmt) Close() error {
	s.inUse = false
	if s.kept {
		return nil
	}
	return s.Stmt.Close()
}

func (s *cachedStmt) ExecContext(ctx context.Context, args []sqldriver.NamedValue) (sqldriver.Result, error) {
	return s.Stmt.(sqldriver.StmtExecContext).ExecContext(ctx, args)
}

func (s *cachedStmt) QueryContext(ctx context.Context, args []sqldriver.NamedValue) (sqldriver.Rows, error) {
	return s.Stmt.(sqldriver.StmtQueryContext).QueryContext(ctx, args)
}
