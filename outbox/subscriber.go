package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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

// SubscriberConfig configures claiming, for a Subscriber or a Relay.
type SubscriberConfig struct {
	// Owner identifies this process in leases and attempts; random when empty.
	Owner string
	// Lease is how long a claimed message stays reserved; a process that dies holding
	// it delays that message by at most this much. Default 2m.
	Lease time.Duration
	// PollInterval bounds the wait between claims when no notification arrives. Default 5s.
	PollInterval time.Duration
	// DrainTimeout is how long attempts in flight (deliveries of the Relay,
	// messages handed out by the Subscriber) may still finish after the
	// subscription ends (shutdown) before their leases are released. Default 30s;
	// the Relay's is its CloseTimeout.
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

// Subscriber is the outbox as a watermill Subscriber, on the claim and
// complete machinery of the Relay: Subscribe(topic) claims due messages of
// that topic; Ack marks a message delivered, Nack schedules its next attempt
// from the topic's RetryPolicy (or marks it dead). watermill's Nack carries no
// error: its reason is read from the MetaLastError, MetaPermanent and
// MetaRetryAfter metadata that ErrorRecorder sets.
type Subscriber struct {
	c *consumer
}

var _ message.Subscriber = (*Subscriber)(nil)

// NewSubscriber returns a Subscriber on store.
func NewSubscriber(store RelayStore, cfg SubscriberConfig) (*Subscriber, error) {
	if store == nil {
		return nil, errors.New("outbox subscriber: store is nil")
	}
	return &Subscriber{c: newConsumer(store, cfg)}, nil
}

// CircuitState reports the circuit state of topic (closed for topics not subscribed).
func (s *Subscriber) CircuitState(topic string) CircuitState { return s.c.circuitState(topic) }

// Owner is the lease owner id of this subscriber.
func (s *Subscriber) Owner() string { return s.c.cfg.Owner }

// Subscribe starts claiming messages of topic. The channel is closed when ctx is
// cancelled or the subscriber is closed.
func (s *Subscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	out := make(chan *message.Message)
	if err := s.c.subscribe(ctx, topic, handOut(out), func() { close(out) }); err != nil {
		return nil, fmt.Errorf("outbox subscriber: %w", err)
	}
	return out, nil
}

// Close ends all subscriptions, waiting for handed-out messages up to DrainTimeout.
func (s *Subscriber) Close() error {
	_ = s.c.close() // messages not acked in time were released: watermill's contract
	return nil
}

// handOut makes an attempt by handing the delivery to a watermill consumer
// on out and waiting for its Ack or Nack.
func handOut(out chan<- *message.Message) attemptFunc {
	return func(sub *subscription, d Delivery) error {
		wm := message.NewMessage(d.MessageID, d.Payload)
		for k, v := range d.Metadata {
			wm.Metadata.Set(k, v)
		}
		ctx, cancel := context.WithCancel(sub.hard)
		defer cancel()
		wm.SetContext(ctx)
		select {
		case out <- wm:
		case <-sub.soft.Done():
			return errNoOutcome
		}
		select {
		case <-wm.Acked():
			return nil
		case <-wm.Nacked():
			return nackError(wm.Metadata)
		case <-sub.hard.Done():
			return errNoOutcome
		}
	}
}

// nacked is the error of a Nack, rebuilt from the metadata ErrorRecorder set.
type nacked struct {
	reason     string
	permanent  bool
	retryAfter time.Duration
}

func nackError(md message.Metadata) nacked {
	n := nacked{reason: md.Get(MetaLastError), permanent: md.Get(MetaPermanent) == "true"}
	if n.reason == "" {
		n.reason = "delivery failed (nacked)"
	}
	if d, err := time.ParseDuration(md.Get(MetaRetryAfter)); err == nil {
		n.retryAfter = d
	}
	return n
}

func (n nacked) Error() string             { return n.reason }
func (n nacked) Is(target error) bool      { return n.permanent && target == ErrPermanent }
func (n nacked) RetryAfter() time.Duration { return n.retryAfter }

// ErrorRecorder is watermill handler middleware for consumers of a
// Subscriber: it writes a failed handler's error into the message metadata
// (MetaLastError, MetaPermanent, MetaRetryAfter), so that the Nack that
// follows is recorded with its reason. The Relay needs none: it keeps the
// deliverer's error as it is.
func ErrorRecorder(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		out, err := h(msg)
		if err != nil {
			msg.Metadata.Set(MetaLastError, truncate(err.Error(), maxErrorLen))
			if errors.Is(err, ErrPermanent) {
				msg.Metadata.Set(MetaPermanent, "true")
			}
			var ra RetryAfterError
			if errors.As(err, &ra) && ra.RetryAfter() > 0 {
				msg.Metadata.Set(MetaRetryAfter, ra.RetryAfter().String())
			}
		}
		return out, err
	}
}
