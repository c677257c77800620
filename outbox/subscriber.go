package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
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
	// Lease is how long a claimed message stays reserved without a heartbeat:
	// while its attempt runs the lease is renewed every Lease/3, so a process
	// that dies holding it delays that message by at most this much (plus
	// RecoverInterval). Default 10s.
	Lease time.Duration
	// RecoverInterval is how often leases that ran out are looked for and
	// their lost attempts recorded (RelayStore.RecoverLost). Default 1s.
	RecoverInterval time.Duration
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
	// claimed; for metrics. It must be quick. An attempt of a lost process
	// that this one recovered is observed with OutcomeUnknown and a message
	// that has only its ID and Topic.
	Observe func(m Message, c Completion, err error)
}

func (c *SubscriberConfig) setDefaults() {
	if c.Owner == "" {
		c.Owner = uuid.NewString()
	}
	if c.Lease <= 0 {
		c.Lease = 10 * time.Second
	}
	if c.RecoverInterval <= 0 {
		c.RecoverInterval = time.Second
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
// that topic and hands each out as a watermill message; Ack marks it
// delivered, Nack schedules its next attempt from the topic's RetryPolicy
// (or marks it dead once the policy is exhausted), as a plain failure: a
// Nack carries no error, so it can ask neither for a permanent failure nor
// for a pause. A message not acked within DrainTimeout after the
// subscription ends has its lease released.
//
// It is how watermill's universal Pub/Sub suite (outboxtest.RunWatermill,
// run by every store) checks the leasing, ordering and redelivery that the
// Relay relies on, and it lets watermill users consume the outbox.
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
	if _, err := s.c.subscribe(ctx, topic, handOut(out), subscriptionHooks{ended: func() { close(out) }}); err != nil {
		return nil, fmt.Errorf("outbox subscriber: %w", err)
	}
	return out, nil
}

// Close ends all subscriptions, waiting for handed-out messages up to DrainTimeout.
func (s *Subscriber) Close() error {
	_ = s.c.close() // messages not acked in time were released: watermill's contract
	return nil
}

// errNacked is the failure a Nack stands for.
var errNacked = errors.New("delivery failed (nacked)")

// handOut makes an attempt by handing the delivery to a watermill consumer
// on out and waiting for its Ack or Nack.
func handOut(out chan<- *message.Message) attemptFunc {
	return func(sub *subscription, d Delivery) error {
		wm := watermillMessage(d)
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
			return errNacked
		case <-sub.hard.Done():
			return errNoOutcome
		}
	}
}

// watermillMessage is d as a watermill message: the message's metadata,
// with the submission id (MetaSubmissionID, when there is one) and the
// attempt number (MetaAttempt), which watermill has no fields for.
func watermillMessage(d Delivery) *message.Message {
	wm := message.NewMessage(d.MessageID, d.Payload)
	for k, v := range d.Metadata {
		wm.Metadata.Set(k, v)
	}
	if d.SubmissionID != "" {
		wm.Metadata.Set(MetaSubmissionID, d.SubmissionID)
	}
	wm.Metadata.Set(MetaAttempt, strconv.Itoa(d.Attempt))
	return wm
}
