package outbox

import (
	"sync"
	"time"
)

// Ticket is a place in a running Relay's hand queue reserved for one
// message that is about to be committed (see Relay.Offer). The message is
// inserted already leased to the relay (Lease), and after the commit handed
// to it in memory (Hand): it is then delivered without a claim, a NextDue
// query or a notification, at once if a delivery slot is free, else when
// the next one frees, in the order handed. A Ticket must end in Hand or
// Cancel, once; it holds its place until then, and the end of its topic's
// subscription waits for it.
type Ticket struct {
	sub    *subscription
	once   sync.Once
	leased time.Time // when Lease was called
}

// Offer reserves a place on topic for a message the caller is about to
// commit, without waiting: ok is false when the topic is not routed here,
// its route is Ordered (strict FIFO keeps claiming the head), its circuit
// is not closed, HandLimit tickets and handed messages waiting for a slot
// are outstanding, an offer was refused for that reason and the claim loop
// has not yet found the topic drained (the backlog goes first), or the relay
// does not run (not yet, or stopping). The ticket is taken against
// the topic's current subscription: if a reroute ends that subscription
// before Hand, the handed message's lease is released at once.
//
// The message committed with the ticket's lease follows the path of a
// claimed one: its lease is renewed while its attempt (number 1) runs, its
// outcome is recorded with the attempt check, counted by the circuit
// breaker and retried in process (blips) as any other. If the process dies
// after the commit, before or during the attempt, the lease runs out and
// RecoverLost records an attempt of unknown outcome and makes the message
// due again: the same as a claim followed by a crash, so the attempt log
// keeps its meaning.
func (r *Relay) Offer(topic string) (*Ticket, bool) {
	r.mu.Lock()
	ctx, rs := r.runCtx, r.subs[topic]
	r.mu.Unlock()
	if ctx == nil || ctx.Err() != nil || !r.IsRunning() || rs == nil || rs.sub == nil {
		return nil, false
	}
	sub := rs.sub
	if sub.opts.Ordered || sub.breaker.State() != CircuitClosed {
		return nil, false
	}
	if !sub.reserve() {
		return nil, false
	}
	return &Ticket{sub: sub}, true
}

// HandLimit is how many tickets and handed messages waiting for a delivery
// slot a topic with concurrency delivery slots takes: 8 per slot, at least
// 64. A ticket does not take a slot while its transaction commits, so a
// stalled commit (a WAL flush, a checkpoint) cannot fill the slots with
// messages not yet committed and push the next ones onto the claim path;
// handed messages wait for a slot in memory, leased and renewed by the
// heartbeat, as long as about 8 deliveries take. Beyond that the destination
// is slower than intake, and messages wait in the database for the claim
// loop instead.
func HandLimit(concurrency int) int { return max(8*concurrency, 64) }

// A message whose offer was refused is committed unleased and waits for the
// claim loop. If later offers kept taking the places as they freed, the
// claim loop would win only some slots, and under sustained load such a
// message would wait until the load eased. So a refusal for want of a place
// opens a backlog: offers are refused, freed slots wake the claim loop, and
// it claims the waiting messages in their order, as many at once as slots
// are free. The backlog closes when a claim that began after the last
// refusal finds fewer due messages than it had slots for.

// refuse records an offer refused for want of a place. Offers refused behind
// the backlog are not counted, or under sustained load it would never close;
// their messages are committed before, or woken by their commit after, the
// claim that closes it.
func (sub *subscription) refuse() {
	sub.refused.Add(1)
	// The refusal wakes the claim loop, which then waits for a slot (a freed
	// one wakes it) and claims. If no message follows the refusal (the caller
	// did not commit), that claim comes up short and closes the backlog,
	// rather than the next poll.
	select {
	case sub.freed <- struct{}{}:
	default:
	}
}

// backlogged reports whether messages refused an offer may still wait for
// a claim.
func (sub *subscription) backlogged() bool {
	return sub.refused.Load() != sub.drained.Load()
}

// wake makes the claim loop of topic's current subscription claim now.
func (r *Relay) wake(topic string) {
	r.mu.Lock()
	rs := r.subs[topic]
	r.mu.Unlock()
	if rs == nil || rs.sub == nil {
		return
	}
	select {
	case rs.sub.freed <- struct{}{}:
	default:
	}
}

// reserve takes a place and counts a ticket in inflight, unless the
// subscription ended or stops, a backlog waits for the claim loop, or
// HandLimit places are taken.
func (sub *subscription) reserve() bool {
	sub.handMu.Lock()
	defer sub.handMu.Unlock()
	if sub.ended || sub.soft.Err() != nil {
		return false
	}
	if sub.backlogged() {
		return false // the claim loop takes it with the rest
	}
	if sub.places >= HandLimit(sub.opts.Concurrency) {
		sub.refuse()
		return false
	}
	sub.places++
	sub.inflight.Add(1) // before run's Wait: ended is set under handMu before it
	return true
}

// handOver starts the attempt on the handed message m, or one claimed ahead,
// which holds a place and counts in inflight: with a free slot at once, else
// when one frees. If the subscription stopped meanwhile (shutdown, reroute)
// or the circuit opened, m's lease is released instead, and the topic's
// current subscription, if any, woken: once it ended, endHandoff has drained
// the queue and no freed slot would start m's attempt; while the circuit is
// not closed, m waits in the database like the messages in queue (passSlot).
func (sub *subscription) handOver(m Message) {
	sub.hold(sub.topic, m.ID)
	sub.handMu.Lock()
	if sub.ended || sub.soft.Err() != nil || sub.breaker.State() != CircuitClosed {
		sub.places--
		sub.handMu.Unlock()
		sub.releaseWaiting([]Message{m})
		return
	}
	if !trySend(sub.slots) {
		sub.queue = append(sub.queue, m)
		sub.handMu.Unlock()
		return
	}
	sub.places--
	sub.handMu.Unlock()
	sub.launch(m)
}

// passSlot gives a slot that an attempt or the claim loop no longer needs
// to the first handed message waiting, and starts its attempt; when none
// waits (or the subscription stops) it gives the slot back and reports so.
//
// Once the circuit is no longer closed, the waiting messages' leases are
// released instead: they wait in the database for the breaker's pause and
// probes like any other message of the topic.
func (sub *subscription) passSlot() (freed bool) {
	sub.handMu.Lock()
	if len(sub.queue) == 0 || sub.ended || sub.soft.Err() != nil {
		<-sub.slots
		sub.handMu.Unlock()
		return true
	}
	if sub.breaker.State() != CircuitClosed {
		waiting := sub.queue
		sub.queue = nil
		sub.places -= len(waiting)
		<-sub.slots
		sub.handMu.Unlock()
		go sub.releaseWaiting(waiting) // a statement: not on the delivery's path
		return true
	}
	m := sub.queue[0]
	sub.queue[0] = Message{}
	sub.queue = sub.queue[1:]
	sub.places--
	low := len(sub.queue) == lowWater(sub.opts.Concurrency)
	sub.handMu.Unlock()
	sub.launch(m)
	if low && sub.wantSlot.Load() {
		// The last claim took all it asked for: claim the next messages ahead
		// while the queue still feeds the slots.
		select {
		case sub.freed <- struct{}{}:
		default:
		}
	}
	return false
}

// lowWater is the length of the hand queue at which a claim loop with due
// messages left claims ahead again: half of HandLimit.
func lowWater(concurrency int) int { return HandLimit(concurrency) / 2 }

// takeAhead reserves the places free in the hand queue for a claim ahead of
// the free slots, and returns how many. It claims ahead only where due
// messages wait: the last claim took all it asked for (more), or offers were
// refused (a backlog). Otherwise handed messages take the places, and a
// claim that took them would refuse their offers for its duration. None for
// an ordered topic (its head goes first, one at a time), while the circuit
// is not closed (probes claim one), while the subscription stops, or while
// fewer than a quarter of HandLimit are free (the claim would buy little).
// givePlaces returns those the claim did not fill.
func (sub *subscription) takeAhead(more bool) int {
	if sub.opts.Ordered || !more && !sub.backlogged() || sub.breaker.State() != CircuitClosed {
		return 0
	}
	sub.handMu.Lock()
	defer sub.handMu.Unlock()
	limit := HandLimit(sub.opts.Concurrency)
	room := limit - sub.places
	if sub.ended || sub.soft.Err() != nil || room < limit/4 {
		return 0
	}
	sub.places += room
	return room
}

// givePlaces gives back n places: of a ticket not handed over, or taken by
// takeAhead and not filled.
func (sub *subscription) givePlaces(n int) {
	if n <= 0 {
		return
	}
	sub.handMu.Lock()
	sub.places -= n
	sub.handMu.Unlock()
}

// endHandoff issues no more tickets and releases the leases of the handed
// messages still waiting for a slot; run calls it before it waits for the
// attempts in flight and the tickets outstanding.
func (sub *subscription) endHandoff() {
	sub.handMu.Lock()
	sub.ended = true
	waiting := sub.queue
	sub.queue = nil
	sub.places -= len(waiting)
	sub.handMu.Unlock()
	sub.releaseWaiting(waiting)
}

// releaseWaiting releases the leases of handed messages taken out of the
// queue, and wakes the topic's current subscription to claim them.
func (sub *subscription) releaseWaiting(waiting []Message) {
	if len(waiting) == 0 {
		return
	}
	ids := make([]string, len(waiting))
	for i, m := range waiting {
		ids[i] = m.ID
	}
	sub.release(ids...)
	for _, id := range ids {
		sub.unhold(sub.topic, id)
		sub.inflight.Done()
	}
	if sub.released != nil {
		sub.released() // this subscription, or a new route's, claims them
	}
}

// Lease sets m's lease to the ticket's relay (LeaseOwner, LeaseUntil one
// lease from now), for Tx.InsertMessages. m.Topic must be the ticket's.
func (t *Ticket) Lease(m *Message) {
	t.leased = t.sub.cfg.Now()
	m.LeaseOwner = t.sub.cfg.Owner
	m.LeaseUntil = t.leased.Add(t.sub.cfg.Lease)
}

// Hand gives the committed message m, inserted with the ticket's Lease, to
// the relay, which makes its first attempt as if it had claimed it. If the
// subscription has stopped meanwhile (shutdown, reroute), m's lease is
// released instead, so that it is claimable at once; if the circuit opened,
// m waits in the database for the pause like the topic's other messages.
// Hand and Cancel after the first call do nothing.
func (t *Ticket) Hand(m Message) {
	t.once.Do(func() {
		sub := t.sub
		// As a claim returns it: not yet attempted, its retry budget from its
		// creation (the lease's time, a moment before the insert's, unless set).
		m.State, m.Attempts = StatePending, 0
		if m.CreatedAt.IsZero() {
			m.CreatedAt = t.leased
		}
		if m.CreatedAt.IsZero() { // Lease was not called
			m.CreatedAt = sub.cfg.Now()
		}
		if m.RetryFrom.IsZero() {
			m.RetryFrom = m.CreatedAt
		}
		m.LeaseOwner, m.LeaseUntil = "", time.Time{} // insert-only
		sub.handOver(m)                              // with the ticket's place and inflight count
	})
}

// Cancel gives the place back: the message was not committed. Hand and
// Cancel after the first call do nothing.
func (t *Ticket) Cancel() {
	t.once.Do(func() {
		t.sub.givePlaces(1)
		t.sub.inflight.Done()
	})
}
