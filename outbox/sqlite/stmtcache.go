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

// driverConn is what cachingConn needs of the driver's connection and passes
// on: without ConnBeginTx, SessionResetter, Validator and Pinger database/sql
// would fall back to the context-free methods and skip its validation.
type driverConn interface {
	sqldriver.Conn
	sqldriver.ConnPrepareContext
	sqldriver.ConnBeginTx
	sqldriver.SessionResetter
	sqldriver.Validator
	sqldriver.Pinger
}

// driverStmt is what cachedStmt needs of the driver's statement.
type driverStmt interface {
	sqldriver.Stmt
	sqldriver.StmtExecContext
	sqldriver.StmtQueryContext
}

func (c cachingConnector) Connect(ctx context.Context) (sqldriver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	dc, ok := conn.(driverConn)
	if !ok {
		_ = conn.Close()
		return nil, errors.New("sqlite: the driver's connection lacks an interface the statement cache passes on")
	}
	return &cachingConn{driverConn: dc, keep: c.keep, lru: list.New(), byQuery: map[string]*list.Element{}}, nil
}

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
	driverConn
	keep     map[string]bool
	lru      *list.List // of *cachedStmt, most recently used first
	byQuery  map[string]*list.Element
	prepares int // statements the driver prepared (tests)
}

// cachedStmt is a statement kept by its connection; Close returns it.
type cachedStmt struct {
	driverStmt
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
	s := &cachedStmt{driverStmt: ds, query: query, inUse: true, kept: true}
	c.byQuery[query] = c.lru.PushFront(s)
	if c.lru.Len() > stmtCacheSize {
		c.evict(c.lru.Back())
	}
	return s, nil
}

// prepare has the driver prepare query; the statement is not kept.
func (c *cachingConn) prepare(ctx context.Context, query string) (driverStmt, error) {
	c.prepares++
	ds, err := c.driverConn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	s, ok := ds.(driverStmt)
	if !ok {
		_ = ds.Close()
		return nil, errors.New("sqlite: the driver's statement lacks ExecContext or QueryContext")
	}
	return s, nil
}

// evict drops e from the cache and closes its statement unless it is in
// use; then its Close does.
func (c *cachingConn) evict(e *list.Element) {
	s := e.Value.(*cachedStmt)
	c.lru.Remove(e)
	delete(c.byQuery, s.query)
	s.kept = false
	if !s.inUse {
		_ = s.driverStmt.Close()
	}
}

// Close closes the kept statements and the connection.
func (c *cachingConn) Close() error {
	var errs []error
	for e := c.lru.Front(); e != nil; e = e.Next() {
		s := e.Value.(*cachedStmt)
		s.kept = false
		if !s.inUse {
			errs = append(errs, s.driverStmt.Close())
		}
	}
	c.lru.Init()
	clear(c.byQuery)
	return errors.Join(append(errs, c.driverConn.Close())...)
}

// Close returns a kept statement to its connection's cache, and closes one
// that is not kept.
func (s *cachedStmt) Close() error {
	s.inUse = false
	if s.kept {
		return nil
	}
	return s.driverStmt.Close()
}
