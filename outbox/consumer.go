package outbox

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// RelayStore is the part of a Store that delivering needs: leasing due
// messages, recording or releasing them, learning when the next one is due
// and when new ones arrive, and reading the blobs of a bundle. A RelayStore
// that is also a BatchCompleter has outcomes recorded in batches.
type RelayStore interface {
	Claim(ctx context.Context, p ClaimParams) ([]Message, error)
	Complete(ctx context.Context, c Completion) error
	Release(ctx context.Context, owner, topic string, ids []string) error
	ExtendLeases(ctx context.Context, owner, topic string, ids []string, until time.Time) (int, error)
	RecoverLost(ctx context.Context) ([]LostAttempt, error)
	NextDue(ctx context.Context, topic string) (due time.Time, ok bool, err error)
	Watch(topic string) (ch <-chan struct{}, stop func())
	Blobs
}

// consumer is the claim and complete machinery that the Relay and the
// watermill Subscriber share. Per topic, a subscription leases due messages
// within the topic's concurrency and circuit, makes one attempt on each,
// turns the attempt's error into a Completion and records it.
type consumer struct {
	store     RelayStore
	cfg       SubscriberConfig
	completer *completer

	closing   chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
	// timedOut is set when a subscription gave up on attempts still in
	// flight DrainTimeout after it ended.
	timedOut atomic.Bool

	mu       sync.Mutex
	breakers map[string]*breaker

	// held are the messages leased to this consumer, by topic, with the
	// number of their attempts in flight (two when a lease that ran out was
	// recovered and the message claimed again while the first attempt still
	// runs): the heartbeat renews their leases while any of them runs.
	heldMu sync.Mutex
	held   map[string]map[string]int

	maintainOnce     sync.Once
	maintainStopOnce sync.Once
	maintainStop     chan struct{}
	maintainDone     chan struct{}
}

// errNoOutcome is what an attemptFunc returns when the attempt has no
// outcome to record because the consumer stops: it was not made, or was
// given up. The message's lease is released instead.
var errNoOutcome = errors.New("attempt without outcome")

// attemptFunc makes one attempt to deliver d. The error is the outcome: nil
// when delivered; one wrapping ErrPermanent is never retried; a
// RetryAfterError postpones the next attempt; any other schedules it from
// the retry policy; errNoOutcome releases the lease.
type attemptFunc func(sub *subscription, d Delivery) error

func newConsumer(store RelayStore, cfg SubscriberConfig) *consumer {
	cfg.setDefaults()
	return &consumer{store: store, cfg: cfg, completer: newCompleter(store),
		closing: make(chan struct{}), breakers: map[string]*breaker{}, held: map[string]map[string]int{},
		maintainStop: make(chan struct{}), maintainDone: make(chan struct{})}
}

// hold adds a claimed message to the leases the heartbeat renews.
func (c *consumer) hold(topic, id string) {
	c.heldMu.Lock()
	defer c.heldMu.Unlock()
	ids := c.held[topic]
	if ids == nil {
		ids = map[string]int{}
		c.held[topic] = ids
	}
	ids[id]++
}

// unhold removes a message whose outcome is recorded or whose lease is released.
func (c *consumer) unhold(topic, id string) {
	c.heldMu.Lock()
	defer c.heldMu.Unlock()
	ids := c.held[topic]
	if ids == nil {
		return
	}
	if ids[id]--; ids[id] <= 0 {
		delete(ids, id)
	}
	if len(ids) == 0 {
		delete(c.held, topic)
	}
}

// startMaintenance starts, once, the heartbeat that renews the leases of
// attempts in flight and the recovery of leases that other (lost)
// processes stopped renewing; it runs until close, after the drain.
func (c *consumer) startMaintenance() {
	c.maintainOnce.Do(func() {
		go func() {
			defer close(c.maintainDone)
			c.maintain()
		}()
	})
}

func (c *consumer) maintain() {
	beat := time.NewTicker(c.cfg.Lease / 3)
	defer beat.Stop()
	recoverTick := time.NewTicker(c.cfg.RecoverInterval)
	defer recoverTick.Stop()
	c.recoverLost() // a previous process on this database may have died
	for {
		select {
		case <-c.maintainStop:
			return
		case <-beat.C:
			c.heartbeat()
		case <-recoverTick.C:
			c.recoverLost()
		}
	}
}

// heartbeat renews the leases of the messages held, one statement per topic.
func (c *consumer) heartbeat() {
	c.heldMu.Lock()
	byTopic := make(map[string][]string, len(c.held))
	for topic, ids := range c.held {
		for id := range ids {
			byTopic[topic] = append(byTopic[topic], id)
		}
	}
	c.heldMu.Unlock()
	for topic, ids := range byTopic {
		ctx, cancel := context.WithTimeout(context.Background(), c.cfg.Lease/3)
		n, err := c.store.ExtendLeases(ctx, c.cfg.Owner, topic, ids, c.cfg.Now().Add(c.cfg.Lease))
		cancel()
		switch {
		case err != nil:
			c.cfg.Logger.Warn("outbox leases not renewed; retrying at the next heartbeat",
				slog.String("topic", topic), slog.Int("messages", len(ids)), slog.Any("error", err))
		case n < len(ids):
			// Completed meanwhile, or recovered by another process after a
			// missed heartbeat: its attempt is then recorded as of unknown outcome.
			c.cfg.Logger.Debug("outbox leases renewed in part", slog.String("topic", topic),
				slog.Int("renewed", n), slog.Int("held", len(ids)))
		}
	}
}

// recoverLost records the attempts of lost processes whose leases ran out.
func (c *consumer) recoverLost() {
	ctx, cancel := context.WithTimeout(context.Background(), max(c.cfg.RecoverInterval, 5*time.Second))
	defer cancel()
	lost, err := c.store.RecoverLost(ctx)
	for _, l := range lost {
		if c.cfg.Observe != nil {
			c.cfg.Observe(Message{ID: l.MessageID, Topic: l.Topic},
				Completion{Topic: l.Topic, ID: l.MessageID, Owner: l.Owner, Outcome: OutcomeUnknown, Class: ClassOutcomeUnknown}, nil)
		}
		c.cfg.Logger.Warn("outbox delivery of a lost process recovered: attempt of unknown outcome recorded, delivering again",
			slog.String("message_id", l.MessageID), slog.String("topic", l.Topic), slog.String("lost_owner", l.Owner))
	}
	if err != nil {
		c.cfg.Logger.Warn("outbox leases of lost processes not recovered; retrying", slog.Any("error", err))
	}
}

// breaker returns the circuit breaker of topic, shared by its subscriptions.
func (c *consumer) breaker(topic string, opts BreakerOptions) *breaker {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.breakers[topic]
	if !ok {
		b = newBreaker(topic, opts, c.cfg.Logger)
		c.breakers[topic] = b
	}
	return b
}

// reportBack tells the circuit of topic that its destination is back.
func (c *consumer) reportBack(topic string) bool {
	c.mu.Lock()
	b, ok := c.breakers[topic]
	c.mu.Unlock()
	return ok && b.back()
}

// circuitState reports the circuit state of topic (closed for topics not subscribed).
func (c *consumer) circuitState(topic string) CircuitState {
	c.mu.Lock()
	b, ok := c.breakers[topic]
	c.mu.Unlock()
	if !ok {
		return CircuitClosed
	}
	return b.State()
}

// subscriptionHooks are called by a subscription, each when set: ended
// once its last attempt finished; released after it released the leases of
// handed messages that waited for a slot (handoff.go), so that they are
// claimed at once.
type subscriptionHooks struct {
	ended, released func()
}

// subscribe starts claiming due messages of topic and making attempts on
// them until ctx is cancelled or the consumer closes; attempts in flight
// then have DrainTimeout to finish. It returns the subscription, through
// which the Relay hands it messages (handoff.go).
func (c *consumer) subscribe(ctx context.Context, topic string, attempt attemptFunc, hooks subscriptionHooks) (*subscription, error) {
	select {
	case <-c.closing:
		return nil, errors.New("outbox consumer is closed")
	default:
	}
	opts, err := c.cfg.topicOptions(topic)
	if err != nil {
		return nil, err
	}
	c.completer.start()
	c.startMaintenance()
	soft, cancelSoft := context.WithCancel(ctx)
	hard, cancelHard := context.WithCancel(context.WithoutCancel(ctx))
	sub := &subscription{
		consumer: c, topic: topic, opts: opts, attempt: attempt,
		soft: soft, hard: hard, freed: make(chan struct{}, 1),
		breaker: c.breaker(topic, opts.Breaker), recording: make(chan struct{}, HandLimit(opts.Concurrency)),
		slots: make(chan struct{}, opts.Concurrency), released: hooks.released,
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer cancelHard()
		defer cancelSoft()
		go func() {
			select {
			case <-c.closing:
				cancelSoft()
			case <-soft.Done():
			}
		}()
		sub.run()
		if hooks.ended != nil {
			hooks.ended()
		}
	}()
	go func() {
		// Attempts in flight may still finish for DrainTimeout after the
		// subscription ends; then their contexts are cancelled and leases released.
		<-soft.Done()
		t := time.NewTimer(c.cfg.DrainTimeout)
		defer t.Stop()
		select {
		case <-t.C:
			c.timedOut.Store(true)
		case <-hard.Done():
		}
		cancelHard()
	}()
	return sub, nil
}

// close ends all subscriptions and waits for them, attempts in flight up to
// DrainTimeout. It reports whether attempts were given up.
func (c *consumer) close() error {
	c.closeOnce.Do(func() { close(c.closing) })
	c.wg.Wait()
	c.maintainOnce.Do(func() { close(c.maintainDone) }) // never started
	c.maintainStopOnce.Do(func() { close(c.maintainStop) })
	<-c.maintainDone
	c.completer.close()
	if c.timedOut.Load() {
		return errors.New("deliveries still in flight after the drain timeout were given up; their leases were released")
	}
	return nil
}

// subscription is the claim loop of one topic.
type subscription struct {
	*consumer
	topic   string
	opts    TopicOptions
	attempt attemptFunc
	soft    context.Context // ends: stop claiming and starting attempts
	hard    context.Context // ends: give up on attempts in flight
	freed   chan struct{}   // an attempt finished; a slot is free
	breaker *breaker
	// recording bounds the outcomes waiting to be recorded (HandLimit): a
	// delivery gives its slot back as soon as its outcome is known, so the next
	// message is delivered while the commit runs. A bound of Concurrency made
	// the commit's latency a limit on deliveries: 16 outcomes per commit of
	// 16 ms is 1,000/s, and a slow commit left the relay behind for seconds.
	recording chan struct{}
	// slots holds one value per attempt in flight or reserved by the claim
	// loop before it claims.
	slots chan struct{}
	// inflight counts the attempts in flight, the tickets outstanding and
	// the handed messages waiting in queue; run waits for them when it ends.
	inflight sync.WaitGroup
	// handMu guards the Relay's handoff (handoff.go): ended (once run ends,
	// no ticket is issued), places (tickets outstanding and handed messages
	// in queue, up to HandLimit) and queue (handed messages waiting for a
	// slot, in the order handed; a freed slot goes to the first).
	handMu   sync.Mutex
	ended    bool
	places   int
	queue    []Message
	released func() // subscriptionHooks.released
	// wantSlot is set while the claim loop may have left due messages
	// unclaimed for want of a slot: only then does a freed slot wake it, so
	// that the end of a handed message's attempt costs no claim.
	wantSlot atomic.Bool
	// refused counts the offers refused for want of a slot; drained is the
	// count that the last claim to come up short had seen before it began.
	// While they differ, offers are refused (handoff.go).
	refused, drained atomic.Uint64
}

func (sub *subscription) run() {
	watch, stop := sub.store.Watch(sub.topic)
	defer stop()

	slots := sub.slots
	defer sub.inflight.Wait()
	defer sub.endHandoff() // before the wait: no ticket after it

	timer := time.NewTimer(0)
	defer timer.Stop()
	failures := 0
	more := false // the last claim took all it asked for
	for {
		if sub.soft.Err() != nil {
			return
		}
		sub.wantSlot.Store(true) // until a claim finds fewer than it could take
		free := cap(slots) - len(slots)
		wait := sub.cfg.PollInterval
		limit, pause := sub.breaker.allow(sub.cfg.Now(), free)
		if limit == 0 && pause > 0 {
			wait = min(wait, pause)
		}
		// The slots are reserved before claiming: a handed message (Offer)
		// may have taken one since free was counted.
		reserved := 0
		for reserved < limit && trySend(slots) {
			reserved++
		}
		if limit > 0 && reserved == 0 {
			sub.breaker.unclaimed(0) // a probe's slot was handed meanwhile: given back
		}
		// Places in the hand queue for messages claimed ahead of a free slot:
		// under a backlog one claim then leases many, and the slots take them
		// from the queue as they free, rather than each freed slot costing a
		// claim of its own.
		ahead := sub.takeAhead(more)
		if asked := reserved + ahead; asked > 0 {
			refused := sub.refused.Load() // a claim coming up short drained these
			msgs, err := sub.store.Claim(sub.soft, ClaimParams{
				Topic: sub.topic, Owner: sub.cfg.Owner, Limit: asked,
				Lease: sub.cfg.Lease, Ordered: sub.opts.Ordered,
			})
			launch := min(len(msgs), reserved)
			for range reserved - launch {
				sub.passSlot() // not used
			}
			sub.givePlaces(ahead - (len(msgs) - launch))
			switch {
			case err != nil && sub.soft.Err() != nil:
				return
			case err != nil:
				more = false
				sub.breaker.unclaimed(0) // a probe that could not even claim is given back
				failures++
				wait = min(time.Duration(failures)*time.Second, sub.cfg.PollInterval)
				sub.cfg.Logger.Error("outbox claim failed", slog.String("topic", sub.topic), slog.Any("error", err))
			default:
				failures = 0
				more = len(msgs) == asked
				for _, m := range msgs[:launch] {
					sub.hold(sub.topic, m.ID)
					sub.inflight.Add(1)
					sub.launch(m)
				}
				for _, m := range msgs[launch:] {
					sub.inflight.Add(1)
					sub.handOver(m) // with the place taken above; a slot freed meanwhile starts it
				}
				if len(msgs) < asked {
					sub.wantSlot.Store(false) // none left due: new ones wake it through the watch
					sub.drained.Store(refused)
				}
				if len(msgs) < limit {
					sub.breaker.unclaimed(len(msgs))
				}
				if len(msgs) == asked && ahead > 0 {
					break // more may be due: the queue's low-water mark wakes the loop
				}
				if len(msgs) == limit && limit == free && !sub.opts.Ordered {
					continue // there may be more due
				}
				// An ordered topic can only take its head, which may wait for its retry or be
				// leased elsewhere while later messages are due: NextDue would wake us at once,
				// again and again. Notifications, freed slots and the poll wake it instead.
				if !sub.opts.Ordered {
					if due, ok, err := sub.store.NextDue(sub.soft, sub.topic); err == nil && ok {
						wait = min(wait, max(due.Sub(sub.cfg.Now()), time.Millisecond))
					}
				}
			}
		}
		resetTimer(timer, wait)
		select {
		case <-sub.soft.Done():
			return
		case <-watch:
		case <-sub.freed:
		case <-sub.breaker.wake:
		case <-timer.C:
		}
	}
}

// trySend sends to ch if it has room and reports whether it did.
func trySend(ch chan struct{}) bool {
	select {
	case ch <- struct{}{}:
		return true
	default:
		return false
	}
}

// launch makes the attempt on m in a goroutine of its own. The caller took
// a slot, added one to inflight and holds m's lease (hold); launch gives
// the slot back once the outcome is known (see handle) and the count once
// it is recorded.
func (sub *subscription) launch(m Message) {
	go func() {
		defer sub.inflight.Done()
		var once sync.Once
		free := func() { once.Do(sub.freeSlot) }
		defer free()
		sub.handle(m, free)
	}()
}

// freeSlot passes a slot to the first handed message waiting for one, or
// gives it back and wakes the claim loop if it waits for one (an ordered
// topic's always: its next message waits for this one).
func (sub *subscription) freeSlot() {
	if !sub.passSlot() {
		return
	}
	if !sub.opts.Ordered && !sub.wantSlot.Load() {
		return
	}
	select {
	case sub.freed <- struct{}{}:
	default:
	}
}

func resetTimer(t *time.Timer, d time.Duration) {
	t.Stop()
	select {
	case <-t.C:
	default:
	}
	t.Reset(d)
}

// delivery is the Delivery of attempt number attempt on m.
func (sub *subscription) delivery(m Message, attempt int) Delivery {
	return Delivery{
		MessageID:    m.ID,
		SubmissionID: m.SubmissionID,
		Topic:        sub.topic,
		Attempt:      attempt,
		Payload:      m.Payload,
		Metadata:     m.Metadata,
		blobs:        sub.store,
	}
}

// handle makes one attempt on a claimed message and records its outcome. It
// calls free once the outcome is known and may still be recorded, so that the
// next message can be delivered meanwhile; an ordered topic's next message
// must wait for the record, so there free is left to the caller.
func (sub *subscription) handle(m Message, free func()) {
	defer sub.unhold(sub.topic, m.ID) // after the outcome is recorded or the lease released
	attempt := m.Attempts + 1
	started := sub.cfg.Now()
	err := sub.attempt(sub, sub.delivery(m, attempt))
	if errors.Is(err, errNoOutcome) {
		sub.release(m.ID)
		return
	}
	c := sub.completion(m, attempt, err)
	c.Topic, c.ID, c.Owner, c.Attempt, c.StartedAt, c.FinishedAt = sub.topic, m.ID, sub.cfg.Owner, attempt, started, sub.cfg.Now()
	sub.breaker.record(c.FinishedAt, c.Outcome == OutcomeRetry || (c.Outcome == OutcomeDead && !c.permanent))
	if !sub.opts.Ordered {
		select {
		case sub.recording <- struct{}{}:
			defer func() { <-sub.recording }()
			free()
		case <-sub.hard.Done(): // shutting down: record it while holding the slot
		}
	}
	// The outcome happened: record it even while shutting down.
	ctx, cancelStore := context.WithTimeout(context.WithoutCancel(sub.hard), 30*time.Second)
	defer cancelStore()
	err = sub.completer.complete(ctx, c, sub.opts.Ordered)
	if err != nil {
		sub.cfg.Logger.Error("outbox completion not recorded",
			slog.String("message_id", m.ID), slog.String("topic", sub.topic),
			slog.String("outcome", string(c.Outcome)), slog.Any("error", err))
	}
	if c.Outcome == OutcomeRetry && !sub.opts.Ordered {
		// The slot was given back before this record: wake the claim loop
		// again, which left the message out while it was leased, so that it
		// waits for the new attempt time rather than for the next poll.
		select {
		case sub.freed <- struct{}{}:
		default:
		}
	}
	if sub.cfg.Observe != nil {
		sub.cfg.Observe(m, c, err)
	}
}

// maxErrorLen bounds the error text kept with an attempt.
const maxErrorLen = 2000

// completion turns the error of attempt number attempt on m into its
// outcome: delivered; dead at once for a permanent error; else retried when
// the retry policy says, and no earlier than a RetryAfterError asks; dead
// when the policy is exhausted.
func (sub *subscription) completion(m Message, attempt int, err error) Completion {
	if err == nil {
		return Completion{Outcome: OutcomeDelivered}
	}
	reason := truncate(err.Error(), maxErrorLen)
	if reason == "" {
		reason = "delivery failed"
	}
	class := ClassifyError(err)
	if errors.Is(err, ErrPermanent) {
		return Completion{Outcome: OutcomeDead, Error: reason, Class: class, permanent: true}
	}
	now := sub.cfg.Now()
	from := m.CreatedAt
	if m.RetryFrom.After(from) {
		from = m.RetryFrom // replayed: a fresh budget
	}
	next, dead := sub.opts.Policy.Next(attempt, from, now)
	if dead {
		return Completion{Outcome: OutcomeDead, Error: reason + " (retry policy exhausted)", Class: class}
	}
	var ra RetryAfterError
	if errors.As(err, &ra) && now.Add(ra.RetryAfter()).After(next) {
		next = now.Add(ra.RetryAfter()) // the destination asked for a longer pause
	}
	return Completion{Outcome: OutcomeRetry, Error: reason, Class: class, NextAttemptAt: next}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func (sub *subscription) release(ids ...string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(sub.hard), 10*time.Second)
	defer cancel()
	if err := sub.store.Release(ctx, sub.cfg.Owner, sub.topic, ids); err != nil {
		sub.cfg.Logger.Warn("outbox leases not released; they expire on their own",
			slog.Any("message_ids", ids), slog.String("topic", sub.topic), slog.Any("error", err))
	}
}
