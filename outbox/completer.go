package outbox

import (
	"context"
	"errors"
	"sync"
	"time"
)

// maxCompletionBatch bounds the completions recorded in one transaction.
const maxCompletionBatch = 128

// completionWorkers is how many batches are recorded at once: while one
// commits, the next fills (and PostgreSQL commits concurrent transactions
// with one WAL flush).
const completionWorkers = 4

// completionLinger is how long a batch keeps gathering after its first
// outcome arrived. Deliveries that finish within it share one commit and one
// fsync: at a few hundred deliveries a second, where each would otherwise
// commit alone, that halves the commits. The delivery slot is free during the
// linger (see handle); only the record of the outcome waits, and with it the
// message's state in the status API.
const completionLinger = 2 * time.Millisecond

// A batch that holds fewer than completionShare outcomes when its linger
// ends keeps gathering until it holds completionShare, up to
// completionStretch after its first outcome. So the linger follows the load:
// at 400 deliveries a second a batch holds about 3.6 outcomes instead of
// 1.6, while a batch that fills within its linger, as under load, is
// recorded when the linger ends, as before (one linger of 10 ms for every
// batch cost a saturated relay throughput).
const (
	completionShare   = 4
	completionStretch = 10 * time.Millisecond
)

// completer records the outcomes of attempts. With a BatchCompleter store,
// one goroutine at a time gathers outcomes for completionLinger (longer while
// the batch is small, see completionShare; until maxCompletionBatch; an
// urgent outcome ends the gathering at once), then records them in one
// transaction while the next gathers; a few record at once, so that under
// load many deliveries share a commit and an fsync. Without a
// BatchCompleter, each outcome is recorded on its own, at once.
type completer struct {
	store     completeStore
	batch     BatchCompleter
	reqs      chan completeReq
	stop      chan struct{}
	done      chan struct{} // closed once the batching goroutines ended, or never started
	startOnce sync.Once
	stopOnce  sync.Once

	gathering sync.Mutex    // held by the goroutine gathering the next batch
	linger    time.Duration // completionLinger; tests change it
	stretch   time.Duration // completionStretch; tests change it
	share     int           // completionShare; tests change it
	maxBatch  int           // maxCompletionBatch; tests change it
	gathered  func(n int)   // test hook: called with the batch's size after each outcome gathered
}

type completeReq struct {
	ctx    context.Context
	c      Completion
	urgent bool // recorded without lingering: a delivery waits for it
	done   chan error
}

// completeStore records single outcomes; see BatchCompleter for batches.
type completeStore interface {
	Complete(ctx context.Context, c Completion) error
}

// newCompleter builds a completer; its goroutines start with start, so
// that one built but never used (a Relay never run) leaves none behind.
func newCompleter(store completeStore) *completer {
	c := &completer{store: store, stop: make(chan struct{}), done: make(chan struct{}),
		linger: completionLinger, stretch: completionStretch, share: completionShare, maxBatch: maxCompletionBatch, gathered: func(int) {}}
	if bc, ok := store.(BatchCompleter); ok {
		c.batch = bc
		c.reqs = make(chan completeReq)
	}
	return c
}

// start starts the batching goroutines, once; call it before the first
// complete.
func (c *completer) start() {
	c.startOnce.Do(func() {
		if c.batch == nil {
			close(c.done)
			return
		}
		var wg sync.WaitGroup
		for range completionWorkers {
			wg.Go(c.run)
		}
		go func() {
			wg.Wait()
			close(c.done)
		}()
	})
}

// complete records c and returns when it is recorded or failed to be. An
// urgent outcome ends its batch's gathering: the batch is recorded at once.
func (c *completer) complete(ctx context.Context, comp Completion, urgent bool) error {
	if c.batch == nil {
		return c.store.Complete(ctx, comp)
	}
	req := completeReq{ctx: ctx, c: comp, urgent: urgent, done: make(chan error, 1)}
	select {
	case c.reqs <- req:
	case <-c.stop:
		return c.store.Complete(ctx, comp) // after close: record it directly
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-req.done // the batch runs under the earliest context of its requests
}

func (c *completer) run() {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		batch := c.gather(timer)
		if batch == nil {
			return
		}
		c.record(batch)
	}
}

// gather waits for an outcome, then gathers more until the linger ends (or,
// for a batch smaller than the share, the stretch), the batch is full, an
// urgent outcome arrives (then it takes only those already waiting) or the
// completer stops (what was gathered is recorded all the same). It returns
// nil once the completer stopped. One goroutine gathers at a time, so that
// outcomes are not spread over the idle ones.
func (c *completer) gather(timer *time.Timer) []completeReq {
	c.gathering.Lock()
	defer c.gathering.Unlock()
	var batch []completeReq
	select {
	case r := <-c.reqs:
		batch = append(batch, r)
	case <-c.stop:
		return nil
	}
	c.gathered(len(batch))
	if batch[0].urgent {
		return c.gatherWaiting(batch)
	}
	first := time.Now()
	timer.Reset(c.linger)
	defer timer.Stop()
	stretched := false // the linger ended with the batch below its share
	for len(batch) < c.maxBatch {
		select {
		case r := <-c.reqs:
			batch = append(batch, r)
			c.gathered(len(batch))
			if r.urgent {
				return c.gatherWaiting(batch)
			}
			if stretched && len(batch) >= c.share {
				return batch
			}
		case <-timer.C:
			left := time.Until(first.Add(c.stretch))
			if stretched || len(batch) >= c.share || left <= 0 {
				return batch
			}
			stretched = true
			timer.Reset(left)
		case <-c.stop:
			return batch
		}
	}
	return batch
}

// gatherWaiting adds the outcomes already waiting to batch, without waiting
// for more: an urgent outcome's batch is recorded at once, but when many
// wait, as under load, they still share its commit.
func (c *completer) gatherWaiting(batch []completeReq) []completeReq {
	for len(batch) < c.maxBatch {
		select {
		case r := <-c.reqs:
			batch = append(batch, r)
			c.gathered(len(batch))
		default:
			return batch
		}
	}
	return batch
}

// record writes a batch in one transaction. If the transaction fails as a
// whole, each completion is retried on its own, so that one bad completion
// does not cost the others their record.
func (c *completer) record(batch []completeReq) {
	cs := make([]Completion, len(batch))
	for i, r := range batch {
		cs[i] = r.c
	}
	ctx, cancel := batchContext(batch)
	defer cancel()
	errs, err := c.batch.CompleteBatch(ctx, cs)
	if err != nil && len(batch) == 1 {
		batch[0].done <- err
		return
	}
	if err != nil {
		for _, r := range batch {
			r.done <- c.store.Complete(r.ctx, r.c)
		}
		return
	}
	for i, r := range batch {
		r.done <- errs[i]
	}
}

// batchContext is cancelled when the first request's context is: all requests
// of the relay carry the same kind of deadline.
func batchContext(batch []completeReq) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(context.Background())
	stops := make([]func() bool, 0, len(batch))
	for _, r := range batch {
		stops = append(stops, context.AfterFunc(r.ctx, func() { cancel(context.Cause(r.ctx)) }))
	}
	return ctx, func() {
		for _, s := range stops {
			s()
		}
		cancel(errors.New("batch recorded"))
	}
}

// close stops the batching goroutines and waits for them; later completions
// are recorded directly.
func (c *completer) close() {
	c.stopOnce.Do(func() { close(c.stop) })
	c.startOnce.Do(func() { close(c.done) }) // never started: nothing to wait for
	<-c.done
}
