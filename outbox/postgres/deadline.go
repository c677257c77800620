package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// deadlines is the pgx tracer that gives every database call a deadline,
// so that a database that accepts connections but does not answer (a
// stopped process, a network that drops packets) cannot hang a request or
// the relay: acquiring a pool connection gets acquire, every query, batch
// and connection set-up gets call, unless the caller's context ends
// earlier. pgx closes a connection whose call ran into its deadline.
type deadlines struct {
	acquire time.Duration
	call    time.Duration
}

var (
	_ pgx.QueryTracer       = deadlines{}
	_ pgx.BatchTracer       = deadlines{}
	_ pgx.ConnectTracer     = deadlines{}
	_ pgxpool.AcquireTracer = deadlines{}
)

// callCancel holds the cancel function of a deadline the tracer set; nil
// when it set none.
type callCancel struct{ cancel context.CancelFunc }

type callCancelKey struct{}

type unboundedKey struct{}

// unbounded marks ctx as exempt from the call deadlines (migrations, which
// wait for each other's lock and may take long; they have their own).
func unbounded(ctx context.Context) context.Context {
	return context.WithValue(ctx, unboundedKey{}, true)
}

// bound returns ctx with a deadline of timeout unless it ends earlier
// already, and carries the cancel function for end.
func bound(ctx context.Context, timeout time.Duration) context.Context {
	if timeout <= 0 || ctx.Value(unboundedKey{}) != nil {
		return context.WithValue(ctx, callCancelKey{}, callCancel{})
	}
	if d, ok := ctx.Deadline(); ok && time.Until(d) <= timeout {
		return context.WithValue(ctx, callCancelKey{}, callCancel{})
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	return context.WithValue(ctx, callCancelKey{}, callCancel{cancel})
}

// end releases the deadline bound set on ctx.
func end(ctx context.Context) {
	if c, ok := ctx.Value(callCancelKey{}).(callCancel); ok && c.cancel != nil {
		c.cancel()
	}
}

func (d deadlines) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return bound(ctx, d.call)
}

func (d deadlines) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryEndData) { end(ctx) }

func (d deadlines) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return bound(ctx, d.call)
}

func (d deadlines) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

func (d deadlines) TraceBatchEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchEndData) { end(ctx) }

func (d deadlines) TraceConnectStart(ctx context.Context, _ pgx.TraceConnectStartData) context.Context {
	return bound(ctx, d.acquire)
}

func (d deadlines) TraceConnectEnd(ctx context.Context, _ pgx.TraceConnectEndData) { end(ctx) }

func (d deadlines) TraceAcquireStart(ctx context.Context, _ *pgxpool.Pool, _ pgxpool.TraceAcquireStartData) context.Context {
	return bound(ctx, d.acquire)
}

func (d deadlines) TraceAcquireEnd(ctx context.Context, _ *pgxpool.Pool, _ pgxpool.TraceAcquireEndData) {
	end(ctx)
}
