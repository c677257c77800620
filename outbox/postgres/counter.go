package postgres

import (
	"context"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
)

// StatementCounter counts the statements and round trips the store's pool
// sends, a diagnostic for the cost per submission (issue 20). It is a pgx
// tracer installed beside the call deadlines only when Config.Counter is
// set, so a store without one pays nothing for it.
type StatementCounter struct {
	statements atomic.Uint64
	roundTrips atomic.Uint64
}

var (
	_ pgx.QueryTracer   = (*StatementCounter)(nil)
	_ pgx.BatchTracer   = (*StatementCounter)(nil)
	_ pgx.PrepareTracer = (*StatementCounter)(nil)
)

// Statements is the number of statements sent: queries (BEGIN and COMMIT
// included) and the statements of batches.
func (c *StatementCounter) Statements() uint64 { return c.statements.Load() }

// RoundTrips is the number of queries, batches and prepares sent: a batch
// is one round trip whatever its statements; pgx prepares a statement once
// per connection before its first use.
func (c *StatementCounter) RoundTrips() uint64 { return c.roundTrips.Load() }

// TraceQueryStart counts a query.
func (c *StatementCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.statements.Add(1)
	c.roundTrips.Add(1)
	return ctx
}

// TraceQueryEnd does nothing.
func (c *StatementCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// TraceBatchStart counts a batch's round trip.
func (c *StatementCounter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	c.roundTrips.Add(1)
	return ctx
}

// TraceBatchQuery counts a statement of a batch.
func (c *StatementCounter) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {
	c.statements.Add(1)
}

// TraceBatchEnd does nothing.
func (c *StatementCounter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// TracePrepareStart counts the round trip of a prepare.
func (c *StatementCounter) TracePrepareStart(ctx context.Context, _ *pgx.Conn, _ pgx.TracePrepareStartData) context.Context {
	c.roundTrips.Add(1)
	return ctx
}

// TracePrepareEnd does nothing.
func (c *StatementCounter) TracePrepareEnd(context.Context, *pgx.Conn, pgx.TracePrepareEndData) {}
