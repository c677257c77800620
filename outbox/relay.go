package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Route is one destination the relay delivers to.
type Route struct {
	Deliverer Deliverer
	Options   TopicOptions
}

// RelayConfig configures a Relay.
type RelayConfig struct {
	// Routes maps topics to destinations.
	Routes map[string]Route
	// Subscriber configures claiming; its Topics func is derived from Routes.
	Subscriber SubscriberConfig
	// BlipRetries is how often a failed delivery is retried in-process, after
	// 300ms and then every second, before the failure is recorded and the
	// persistent schedule takes over. Default 2; negative disables.
	BlipRetries int
	// CloseTimeout bounds how long in-flight deliveries may finish on shutdown. Default 30s.
	CloseTimeout time.Duration
	// ProbeInterval is how often a destination whose circuit is open is
	// probed, when its Deliverer is a Prober. Default 2s.
	ProbeInterval time.Duration
	Logger        *slog.Logger
}

// Relay delivers outbox messages: per topic a claim loop leases due messages,
// hands each to the topic's Deliverer and records the outcome the deliverer's
// error implies, so destinations never wait for each other.
type Relay struct {
	c           *consumer
	blipRetries int
	logger      *slog.Logger
	probeEvery  time.Duration
	probes      sync.WaitGroup

	started atomic.Bool
	running chan struct{}

	// attempts tracks the goroutines of deliveries, which may outlive an
	// attempt given up at the drain timeout; Run waits up to giveUpGrace
	// for them.
	attempts    sync.WaitGroup
	giveUpGrace time.Duration

	// mu guards the routes and the subscriptions, which Reroute changes
	// while the relay runs (reroute.go).
	mu     sync.Mutex
	routes map[string]Route
	topics []string
	runCtx context.Context      // Run's, once it runs; nil before and after
	subs   map[string]*relaySub // per topic, while running
	// current is routes, for reading the options without r.mu.
	current atomic.Pointer[map[string]Route]
}

// giveUpGrace is how long Run waits, after the drain timeout, for
// deliveries it gave up on (their context cancelled, their leases released)
// to return, before the destinations' connections close and the store
// closes under them.
const giveUpGrace = 5 * time.Second

// NewRelay validates the routes and builds the relay.
func NewRelay(store RelayStore, cfg RelayConfig) (*Relay, error) {
	if store == nil {
		return nil, errors.New("relay: store is nil")
	}
	if len(cfg.Routes) == 0 {
		return nil, errors.New("relay: no routes")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.CloseTimeout <= 0 {
		cfg.CloseTimeout = 30 * time.Second
	}
	if cfg.BlipRetries == 0 {
		cfg.BlipRetries = 2
	}
	if cfg.ProbeInterval <= 0 {
		cfg.ProbeInterval = 2 * time.Second
	}
	routes := cfg.Routes
	r := &Relay{routes: routes, blipRetries: cfg.BlipRetries, logger: cfg.Logger, running: make(chan struct{}),
		giveUpGrace: giveUpGrace, subs: map[string]*relaySub{}}
	r.current.Store(&routes)
	sc := cfg.Subscriber
	sc.Topics = r.topicOptions
	if sc.Logger == nil {
		sc.Logger = cfg.Logger
	}
	if sc.DrainTimeout <= 0 {
		sc.DrainTimeout = cfg.CloseTimeout
	}
	topics := make([]string, 0, len(routes))
	for topic, r := range routes {
		if r.Deliverer == nil {
			return nil, fmt.Errorf("relay: route %q has no deliverer", topic)
		}
		if _, err := sc.topicOptions(topic); err != nil {
			return nil, fmt.Errorf("relay: %w", err)
		}
		topics = append(topics, topic)
	}
	sort.Strings(topics)
	r.topics, r.c, r.probeEvery = topics, newConsumer(store, sc), cfg.ProbeInterval
	return r, nil
}

// Run delivers until ctx is cancelled, then lets in-flight deliveries finish
// within CloseTimeout; the leases of those that do not are released (and
// logged), their contexts are cancelled, and Run waits a few seconds more
// for them to return, so that a deliverer that heeds its context is done
// before the caller closes the deliverers and the store. One that does not
// return even then is left running and logged: its message is redelivered
// after the release, at least once as always. A Relay runs once.
func (r *Relay) Run(ctx context.Context) error {
	if !r.started.CompareAndSwap(false, true) {
		return errors.New("relay: already run")
	}
	if err := r.start(ctx); err != nil {
		_ = r.c.close()
		return fmt.Errorf("relay: %w", err)
	}
	for _, topic := range r.topics {
		if p, ok := r.routes[topic].Deliverer.(Prober); ok && r.routes[topic].Options.Breaker.Threshold > 0 {
			r.probes.Go(func() { r.probe(ctx, topic, p) })
		}
	}
	close(r.running)
	<-ctx.Done()
	r.stopRerouting()
	r.probes.Wait()
	if err := r.c.close(); err != nil {
		// Not an error of the run: at-least-once delivery covers it.
		r.logger.Warn("relay stopped before every delivery finished", slog.Any("error", err))
	}
	returned := make(chan struct{})
	go func() {
		r.attempts.Wait()
		close(returned)
	}()
	t := time.NewTimer(r.giveUpGrace)
	defer t.Stop()
	select {
	case <-returned:
	case <-t.C:
		r.logger.Error("deliveries given up at shutdown still run; they ignore their cancelled context",
			slog.Duration("grace", r.giveUpGrace))
	}
	return nil
}

// probe probes the destination of topic while its circuit is open, and
// ends the pause once a probe succeeds.
func (r *Relay) probe(ctx context.Context, topic string, p Prober) {
	t := time.NewTicker(r.probeEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if r.c.circuitState(topic) != CircuitOpen {
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, max(r.probeEvery, 5*time.Second))
		err := p.Probe(pctx)
		cancel()
		if err == nil {
			r.c.reportBack(topic)
		}
	}
}

// CircuitState reports the circuit state of a topic's destination.
func (r *Relay) CircuitState(topic string) CircuitState { return r.c.circuitState(topic) }

// Running is closed once every topic's claim loop runs.
func (r *Relay) Running() <-chan struct{} { return r.running }

// IsRunning reports whether the relay delivers: true once every topic's
// claim loop runs.
func (r *Relay) IsRunning() bool {
	select {
	case <-r.running:
		return true
	default:
		return false
	}
}

// deliver makes attempts with d. A failed delivery is retried in-process
// (blips) unless it is permanent or the destination asked for a pause; a
// panic of d is recovered inside each try and counts as a failure. The
// attempt's error is kept as it is: the subscription turns it into the
// outcome. An attempt still running when the drain timeout ends is given up
// (its context is cancelled; Run waits a grace for it to return), and one
// that failed because of it has no outcome: both leases are released.
func (r *Relay) deliver(d Deliverer) attemptFunc {
	return func(sub *subscription, dl Delivery) error {
		if sub.soft.Err() != nil {
			return errNoOutcome // claimed as the relay stops: not started
		}
		ctx, cancel := context.WithCancel(sub.hard)
		defer cancel()
		done := make(chan error, 1)
		r.attempts.Add(1)
		go func() {
			defer r.attempts.Done()
			done <- r.retryBlips(ctx, dl, func() error { return deliverRecovered(ctx, d, dl) })
		}()
		var err error
		select {
		case err = <-done:
		case <-sub.hard.Done():
			select {
			case err = <-done: // finished just in time
			default:
				return errNoOutcome
			}
		}
		if err != nil && sub.hard.Err() != nil {
			return errNoOutcome // it may have failed because it was cut short
		}
		if err != nil {
			r.logger.LogAttrs(ctx, slog.LevelError, "delivery attempt failed", deliveryAttrs(dl)...)
		}
		return err
	}
}

// errWithheld stands in for a delivery error in logs: a receiver's answer may
// quote the applicant's data. The full error is kept as the message's last
// error, where operators read it (outbox show, the status API).
var errWithheld = errors.New("delivery failed (error text withheld from logs; see the message's last error)")

// deliveryAttrs are the log attributes of a failed delivery: ids, never the error's text.
func deliveryAttrs(d Delivery, more ...slog.Attr) []slog.Attr {
	return append([]slog.Attr{slog.String("message_id", d.MessageID), slog.String("topic", d.Topic),
		slog.Int("attempt", d.Attempt), slog.Any("error", errWithheld)}, more...)
}

// retryBlips calls try and retries it up to BlipRetries times, after 300ms
// and then every second, while it fails with an error worth retrying at once.
// This is the in-process retry of short blips: it runs inside one attempt,
// before the failure reaches the persistent schedule (and after a panic was
// recovered into an error).
func (r *Relay) retryBlips(ctx context.Context, d Delivery, try func() error) error {
	for retry := 1; ; retry++ {
		err := try()
		if err == nil || retry > r.blipRetries || !blip(err) {
			return err
		}
		wait := blipWait(retry)
		// Expected: the in-process retries absorb short blips. A failure they
		// do not absorb is logged at ERROR by deliver.
		r.logger.LogAttrs(ctx, slog.LevelWarn, "delivery failed, retrying in process", deliveryAttrs(d,
			slog.Int("retry_no", retry), slog.Int("max_retries", r.blipRetries), slog.Duration("wait_time", wait))...)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
}

// blipWait is the wait before in-process retry number retry (1-based).
func blipWait(retry int) time.Duration {
	if retry == 1 {
		return 300 * time.Millisecond
	}
	return time.Second
}

// blip reports whether err is worth retrying in-process: not a permanent
// error, and not one by which the destination asked for a pause.
func blip(err error) bool {
	var ra RetryAfterError
	return !errors.Is(err, ErrPermanent) && !(errors.As(err, &ra) && ra.RetryAfter() > 0)
}

// panicError is the error of a delivery whose Deliverer panicked.
type panicError struct {
	Value any
	Stack []byte
}

func (p panicError) Error() string {
	return fmt.Sprintf("panic occurred: %#v, stacktrace: \n%s", p.Value, p.Stack)
}

// deliverRecovered calls d, turning a panic into a panicError.
func deliverRecovered(ctx context.Context, d Deliverer, dl Delivery) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = panicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return d.Deliver(ctx, dl)
}
