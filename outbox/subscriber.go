package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
)

// TopicOptions are the delivery settings of one topic (destination).
type TopicOptions struct {
	Policy      RetryPolicy
	Concurrency int  // messages in flight at once; forced to 1 when Ordered
	Ordered     bool // strict FIFO: message n+1 waits until n is delivered or dead
	Breaker     BreakerOptions
}

// SubscriberConfig configures a Subscriber.
type SubscriberConfig struct {
	// Owner identifies this process in leases and attempts; random when empty.
	Owner string
	// Lease is how long a claimed message stays reserved; a process that dies holding
	// it delays that message by at most this much. Default 2m.
	Lease time.Duration
	// PollInterval bounds the wait between claims when no notification arrives. Default 5s.
	PollInterval time.Duration
	// DrainTimeout is how long messages already handed out may still be acked after
	// the subscription ends (shutdown) before their leases are released. Default 30s.
	DrainTimeout time.Duration
	// Topics returns the options of a topic; nil means DefaultRetryPolicy, concurrency 1, unordered.
	Topics func(topic string) TopicOptions
	// Logger receives claim and completion errors. Default: discard.
	Logger *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Observe, when set, is called after the outcome of each attempt was
	// recorded (err nil) or could not be (err set), with the message as it was
	// claimed; for metrics. It must be quick.
	Observe func(m Message, c Completion, err error)
}

func (c *SubscriberConfig) setDefaults() {
	if c.Owner == "" {
		c.Owner = uuid.NewString()
	}
	if c.Lease <= 0 {
		c.Lease = 2 * time.Minute
	}
	if c.PollInterval <= 0 {
		c.PollInterval = 5 * time.Second
	}
	if c.DrainTimeout <= 0 {
		c.DrainTimeout = 30 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

func (c SubscriberConfig) topicOptions(topic string) (TopicOptions, error) {
	o := TopicOptions{Policy: DefaultRetryPolicy(), Concurrency: 1}
	if c.Topics != nil {
		o = c.Topics(topic)
	}
	if o.Concurrency < 1 || o.Ordered {
		o.Concurrency = 1
	}
	if err := o.Policy.Validate(); err != nil {
		return o, fmt.Errorf("topic %q: %w", topic, err)
	}
	return o, nil
}

// Subscriber is the outbox as a watermill Subscriber: Subscribe(topic) claims due
// messages of that topic; Ack marks a message delivered, Nack schedules its next
// attempt from the topic's RetryPolicy (or marks it dead). The reason of a Nack is
// read from the MetaLastError and MetaPermanent metadata that ErrorRecorder sets.
type Subscriber struct {
	store Store
	cfg   SubscriberConfig

	closing   chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup

	mu       sync.Mutex
	breakers map[string]*breaker

	completer *completer
}

var _ message.Subscriber = (*Subscriber)(nil)

// NewSubscriber returns a Subscriber on store.
func NewSubscriber(store Store, cfg SubscriberConfig) (*Subscriber, error) {
	if store == nil {
		return nil, errors.New("outbox subscriber: store is nil")
	}
	cfg.setDefaults()
	return &Subscriber{store: store, cfg: cfg, closing: make(chan struct{}), breakers: map[string]*breaker{},
		completer: newCompleter(store)}, nil
}

// breaker returns the circuit breaker of topic, shared by its subscriptions.
func (s *Subscriber) breaker(topic string, opts BreakerOptions) *breaker {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.breakers[topic]
	if !ok {
		b = newBreaker(topic, opts, s.cfg.Logger)
		s.breakers[topic] = b
	}
	return b
}

// CircuitState reports the circuit state of topic (closed for topics not subscribed).
func (s *Subscriber) CircuitState(topic string) CircuitState {
	s.mu.Lock()
	b, ok := s.breakers[topic]
	s.mu.Unlock()
	if !ok {
		return CircuitClosed
	}
	return b.State()
}

// Owner is the lease owner id of this subscriber.
func (s *Subscriber) Owner() string { return s.cfg.Owner }

// Subscribe starts claiming messages of topic. The channel is closed when ctx is
// cancelled or the subscriber is closed.
func (s *Subscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	select {
	case <-s.closing:
		return nil, errors.New("outbox subscriber is closed")
	default:
	}
	opts, err := s.cfg.topicOptions(topic)
	if err != nil {
		return nil, err
	}
	soft, cancelSoft := context.WithCancel(ctx)
	hard, cancelHard := context.WithCancel(context.WithoutCancel(ctx))
	out := make(chan *message.Message)
	sub := &subscription{
		Subscriber: s, topic: topic, opts: opts, out: out,
		soft: soft, hard: hard, freed: make(chan struct{}, 1),
		breaker: s.breaker(topic, opts.Breaker), recording: make(chan struct{}, opts.Concurrency),
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer cancelHard()
		defer cancelSoft()
		go func() {
			select {
			case <-s.closing:
				cancelSoft()
			case <-soft.Done():
			}
		}()
		sub.run()
	}()
	go func() {
		// Messages already handed out may still be acked for DrainTimeout after the
		// subscription ends; then their contexts are cancelled and leases released.
		<-soft.Done()
		t := time.NewTimer(s.cfg.DrainTimeout)
		defer t.Stop()
		select {
		case <-t.C:
		case <-hard.Done():
		}
		cancelHard()
	}()
	return out, nil
}

// Close ends all subscriptions, waiting for handed-out messages up to DrainTimeout.
func (s *Subscriber) Close() error {
	s.closeOnce.Do(func() { close(s.closing) })
	s.wg.Wait()
	s.completer.close()
	return nil
}

type subscription struct {
	*Subscriber
	topic   string
	opts    TopicOptions
	out     chan *message.Message
	soft    context.Context // ends: stop claiming and handing out
	hard    context.Context // ends: give up on handed-out messages
	freed   chan struct{}   // a handler finished; a slot is free
	breaker *breaker
	// recording bounds the outcomes waiting to be recorded: a delivery gives its
	// slot back as soon as its outcome is known, so the next message is delivered
	// while the commit runs, and at most twice Concurrency messages are leased.
	recording chan struct{}
}

func (sub *subscription) run() {
	defer close(sub.out)
	watch, stop := sub.store.Watch(sub.topic)
	defer stop()

	slots := make(chan struct{}, sub.opts.Concurrency)
	var inflight sync.WaitGroup
	defer inflight.Wait()

	timer := time.NewTimer(0)
	defer timer.Stop()
	failures := 0
	for {
		if sub.soft.Err() != nil {
			return
		}
		free := cap(slots) - len(slots)
		wait := sub.cfg.PollInterval
		limit, pause := sub.breaker.allow(sub.cfg.Now(), free)
		if limit == 0 && pause > 0 {
			wait = min(wait, pause)
		}
		if limit > 0 {
			msgs, err := sub.store.Claim(sub.soft, ClaimParams{
				Topic: sub.topic, Owner: sub.cfg.Owner, Limit: limit,
				Lease: sub.cfg.Lease, Ordered: sub.opts.Ordered,
			})
			switch {
			case err != nil && sub.soft.Err() != nil:
				return
			case err != nil:
				sub.breaker.unclaimed(0) // a probe that could not even claim is given back
				failures++
				wait = min(time.Duration(failures)*time.Second, sub.cfg.PollInterval)
				sub.cfg.Logger.Error("outbox claim failed", slog.String("topic", sub.topic), slog.Any("error", err))
			default:
				failures = 0
				for _, m := range msgs {
					slots <- struct{}{}
					inflight.Add(1)
					go func() {
						defer inflight.Done()
						var once sync.Once
						free := func() {
							once.Do(func() {
								<-slots
								select {
								case sub.freed <- struct{}{}:
								default:
								}
							})
						}
						defer free()
						sub.handle(m, free)
					}()
				}
				if len(msgs) < limit {
					sub.breaker.unclaimed(len(msgs))
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
		case <-timer.C:
		}
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

// handle hands one claimed message out and records the outcome of its Ack or
// Nack. It calls free once the outcome is known and may still be recorded, so
// that the next message can be delivered meanwhile; an ordered topic's next
// message must wait for the record, so there free is left to the caller.
func (sub *subscription) handle(m Message, free func()) {
	attempt := m.Attempts + 1
	wm := message.NewMessage(m.ID, m.Payload)
	for k, v := range m.Metadata {
		wm.Metadata.Set(k, v)
	}
	if m.SubmissionID != "" {
		wm.Metadata.Set(MetaSubmissionID, m.SubmissionID)
	}
	wm.Metadata.Set(MetaAttempt, strconv.Itoa(attempt))
	msgCtx, cancel := context.WithCancel(sub.hard)
	defer cancel()
	wm.SetContext(msgCtx)

	started := sub.cfg.Now()
	select {
	case sub.out <- wm:
	case <-sub.soft.Done():
		sub.release(m.ID)
		return
	}
	var c Completion
	select {
	case <-wm.Acked():
		c = Completion{Outcome: OutcomeDelivered}
	case <-wm.Nacked():
		c = sub.nackCompletion(m, attempt, wm.Metadata)
	case <-sub.hard.Done():
		sub.release(m.ID)
		return
	}
	c.Topic, c.ID, c.Owner, c.StartedAt, c.FinishedAt = sub.topic, m.ID, sub.cfg.Owner, started, sub.cfg.Now()
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
	err := sub.completer.complete(ctx, c)
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

func (sub *subscription) nackCompletion(m Message, attempt int, md message.Metadata) Completion {
	reason := md.Get(MetaLastError)
	if reason == "" {
		reason = "delivery failed (nacked)"
	}
	if md.Get(MetaPermanent) == "true" {
		return Completion{Outcome: OutcomeDead, Error: reason, permanent: true}
	}
	now := sub.cfg.Now()
	from := m.CreatedAt
	if m.RetryFrom.After(from) {
		from = m.RetryFrom // replayed: a fresh budget
	}
	next, dead := sub.opts.Policy.Next(attempt, from, now)
	if d, err := time.ParseDuration(md.Get(MetaRetryAfter)); err == nil && !dead && now.Add(d).After(next) {
		next = now.Add(d) // the destination asked for a longer pause
	}
	if dead {
		return Completion{Outcome: OutcomeDead, Error: reason + " (retry policy exhausted)"}
	}
	return Completion{Outcome: OutcomeRetry, Error: reason, NextAttemptAt: next}
}

func (sub *subscription) release(id string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(sub.hard), 10*time.Second)
	defer cancel()
	if err := sub.store.Release(ctx, sub.cfg.Owner, sub.topic, []string{id}); err != nil {
		sub.cfg.Logger.Warn("outbox lease not released; it expires on its own",
			slog.String("message_id", id), slog.Any("error", err))
	}
}
