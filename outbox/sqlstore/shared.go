package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/amtsbote/amtsbote/outbox"
)

var _ outbox.TxSharer = (*Store)(nil)

// maxSharedTx is how many shared transactions run at once: a caller that
// finds fewer running runs its own at once, so that a lone submission never
// waits; the others queue, and the next transaction to start takes them all
// (up to maxSharedCalls).
const maxSharedTx = 4

// maxSharedCalls bounds the callers of one shared transaction.
const maxSharedCalls = 32

// sharing queues the callers of InTxShared while maxSharedTx transactions
// run. There is no goroutine of its own: a caller runs the transaction
// (leads), and when it ends hands the callers queued meanwhile to the first
// of them, which leads the next.
type sharing struct {
	mu      sync.Mutex
	running int
	waiting []*sharedCall
}

// sharedCall is one caller of InTxShared.
type sharedCall struct {
	ctx  context.Context
	fn   func(outbox.Tx) error
	done chan error         // the outcome; errRunAlone: run fn in a transaction of its own
	lead chan []*sharedCall // the transaction this caller is to run, its own among them
}

// errRunAlone tells a caller of a shared transaction that failed to run its
// fn in a transaction of its own.
var errRunAlone = errors.New("shared transaction failed: run alone")

// InTxShared runs fn as InTx does, in a transaction shared with concurrent
// callers (outbox.TxSharer) where the driver pipelines (PostgreSQL): one
// round trip and one commit for them all. The SQLite driver groups its
// writers itself (one write connection, a savepoint each), so there it is
// InTx.
func (s *Store) InTxShared(ctx context.Context, fn func(outbox.Tx) error) error {
	if _, ok := s.d.(Pipeliner); !ok {
		return s.InTx(ctx, fn)
	}
	c := &sharedCall{ctx: ctx, fn: fn, done: make(chan error, 1), lead: make(chan []*sharedCall, 1)}
	g := &s.sharing
	g.mu.Lock()
	if g.running < maxSharedTx {
		g.running++
		g.mu.Unlock()
		s.lead([]*sharedCall{c})
	} else {
		g.waiting = append(g.waiting, c)
		g.mu.Unlock()
	}
	for {
		select {
		case err := <-c.done:
			if errors.Is(err, errRunAlone) {
				return s.InTx(ctx, fn)
			}
			return err
		case calls := <-c.lead:
			s.lead(calls)
		}
	}
}

// lead runs the shared transaction of calls, then hands the callers that
// queued meanwhile to the first of them, or ends its turn when none did.
func (s *Store) lead(calls []*sharedCall) {
	s.runShared(calls)
	g := &s.sharing
	g.mu.Lock()
	if len(g.waiting) == 0 {
		g.running--
		g.mu.Unlock()
		return
	}
	n := min(len(g.waiting), maxSharedCalls)
	next := slices.Clone(g.waiting[:n])
	clear(g.waiting[:n])
	g.waiting = g.waiting[n:]
	g.mu.Unlock()
	next[0].lead <- next
}

// runShared runs the fns of calls in one transaction and answers each
// call. A caller whose context ended while it waited is answered with its
// context's error; if the transaction fails, each caller is told to run
// alone, so that one fn's error (or panic) costs the others nothing.
func (s *Store) runShared(calls []*sharedCall) {
	live := make([]*sharedCall, 0, len(calls))
	for _, c := range calls {
		if err := c.ctx.Err(); err != nil {
			c.done <- err
			continue
		}
		live = append(live, c)
	}
	switch len(live) {
	case 0:
		return
	case 1:
		live[0].done <- s.InTx(live[0].ctx, live[0].fn)
		return
	}
	ctx, cancel := sharedContext(live)
	defer cancel()
	txs := make([]*tx, len(live))
	p := s.d.(Pipeliner)
	err := runTx(ctx, func(ctx context.Context) (Tx, error) { return p.BeginPipelined(ctx, TxOptions{}) },
		func(ex Executor) error {
			for i, c := range live {
				txs[i] = &tx{s: s, ex: ex}
				if err := runRecovered(c.fn, txs[i]); err != nil {
					return err
				}
			}
			return nil
		})
	if err != nil {
		for _, c := range live {
			c.done <- errRunAlone
		}
		return
	}
	var topics []string
	for _, t := range txs {
		topics = append(topics, t.topics...)
	}
	s.wake(topics)
	for _, c := range live {
		c.done <- nil
	}
}

// runRecovered calls fn, turning a panic into an error: the caller whose fn
// panicked runs it again alone, and panics in its own goroutine.
func runRecovered(fn func(outbox.Tx) error, t *tx) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic in a shared transaction: %v", v)
		}
	}()
	return fn(t)
}

// sharedContext is the context of a shared transaction: the values of the
// first call's, not cancelled with any of them (the transaction is theirs
// all), and the earliest of their deadlines.
func sharedContext(calls []*sharedCall) (context.Context, context.CancelFunc) {
	var deadline time.Time
	for _, c := range calls {
		if d, ok := c.ctx.Deadline(); ok && (deadline.IsZero() || d.Before(deadline)) {
			deadline = d
		}
	}
	ctx := context.WithoutCancel(calls[0].ctx)
	if deadline.IsZero() {
		return context.WithCancel(ctx)
	}
	return context.WithDeadline(ctx, deadline)
}
