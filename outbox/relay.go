package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
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
	// BlipRetries is how often a failed delivery is retried in-process, within
	// about a second, before the failure is recorded and the persistent schedule
	// takes over. Default 2; negative disables.
	BlipRetries int
	// CloseTimeout bounds how long in-flight deliveries may finish on shutdown. Default 30s.
	CloseTimeout time.Duration
	Logger       *slog.Logger
}

// Relay delivers outbox messages through a watermill Router: one handler per
// topic, each fed by its own subscription, so destinations never wait for each other.
type Relay struct {
	router *message.Router
	sub    *Subscriber
}

// NewRelay builds the router and its handlers.
func NewRelay(store Store, cfg RelayConfig) (*Relay, error) {
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
	routes := cfg.Routes
	sc := cfg.Subscriber
	sc.Topics = func(topic string) TopicOptions { return routes[topic].Options }
	if sc.Logger == nil {
		sc.Logger = cfg.Logger
	}
	if sc.DrainTimeout <= 0 {
		sc.DrainTimeout = cfg.CloseTimeout
	}
	for topic, r := range routes {
		if r.Deliverer == nil {
			return nil, fmt.Errorf("relay: route %q has no deliverer", topic)
		}
		if _, err := sc.topicOptions(topic); err != nil {
			return nil, fmt.Errorf("relay: %w", err)
		}
	}
	sub, err := NewSubscriber(store, sc)
	if err != nil {
		return nil, err
	}
	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: cfg.CloseTimeout},
		idsOnly{watermill.NewSlogLoggerWithLevelMapping(cfg.Logger, map[slog.Level]slog.Level{slog.LevelInfo: slog.LevelDebug})})
	if err != nil {
		return nil, fmt.Errorf("relay: %w", err)
	}
	router.AddMiddleware(Middleware(cfg.BlipRetries, cfg.Logger)...)

	topics := make([]string, 0, len(routes))
	for t := range routes {
		topics = append(topics, t)
	}
	sort.Strings(topics)
	for _, topic := range topics {
		d := routes[topic].Deliverer
		router.AddConsumerHandler("deliver "+topic, topic, sub, func(msg *message.Message) error {
			return d.Deliver(msg.Context(), deliveryOf(topic, msg).WithBlobs(store))
		})
	}
	return &Relay{router: router, sub: sub}, nil
}

// Middleware is the relay's handler chain, outermost first: correlation id, error
// recording for the persistent schedule, in-process retry of short blips (never of
// permanent errors), and panic recovery closest to the deliverer.
func Middleware(blipRetries int, logger *slog.Logger) []message.HandlerMiddleware {
	mw := []message.HandlerMiddleware{middleware.CorrelationID, ErrorRecorder}
	if blipRetries > 0 {
		mw = append(mw, middleware.Retry{
			MaxRetries:      blipRetries,
			InitialInterval: 100 * time.Millisecond,
			MaxInterval:     time.Second,
			Multiplier:      3,
			ShouldRetry: func(p middleware.RetryParams) bool {
				// Not permanent errors, and not when the destination asked for a pause.
				var ra RetryAfterError
				return !errors.Is(p.Err, ErrPermanent) && !(errors.As(p.Err, &ra) && ra.RetryAfter() > 0)
			},
			Logger: idsOnly{watermill.NewSlogLogger(logger)},
		}.Middleware)
	}
	return append(mw, middleware.Recoverer)
}

// idsOnly keeps delivery error texts out of watermill's log records: a
// receiver's answer may quote the applicant's data. The message id stays in the
// record's fields; the full error is kept as the message's last error, where
// operators read it (outbox show, the status API).
type idsOnly struct{ watermill.LoggerAdapter }

// errWithheld stands in for a delivery error in logs.
var errWithheld = errors.New("delivery failed (error text withheld from logs; see the message's last error)")

// Error logs msg and fields without the error's text.
func (l idsOnly) Error(msg string, err error, fields watermill.LogFields) {
	if err != nil {
		err = errWithheld
	}
	l.LoggerAdapter.Error(msg, err, fields)
}

// With keeps the redaction for derived loggers.
func (l idsOnly) With(fields watermill.LogFields) watermill.LoggerAdapter {
	return idsOnly{l.LoggerAdapter.With(fields)}
}

// ErrorRecorder writes a failed handler's error into the message metadata
// (MetaLastError, MetaPermanent) so the Subscriber can persist it on Nack.
func ErrorRecorder(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		out, err := h(msg)
		if err != nil {
			msg.Metadata.Set(MetaLastError, truncate(err.Error(), 2000))
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

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func deliveryOf(topic string, msg *message.Message) Delivery {
	attempt, _ := strconv.Atoi(msg.Metadata.Get(MetaAttempt))
	return Delivery{
		MessageID:    msg.UUID,
		SubmissionID: msg.Metadata.Get(MetaSubmissionID),
		Topic:        topic,
		Attempt:      attempt,
		Payload:      msg.Payload,
		Metadata:     msg.Metadata,
	}
}

// Run delivers until ctx is cancelled, then lets in-flight deliveries finish
// within CloseTimeout.
func (r *Relay) Run(ctx context.Context) error {
	err := r.router.Run(ctx)
	if cerr := r.sub.Close(); err == nil {
		err = cerr
	}
	return err
}

// CircuitState reports the circuit state of a topic's destination.
func (r *Relay) CircuitState(topic string) CircuitState { return r.sub.CircuitState(topic) }

// Running is closed once all handlers run.
func (r *Relay) Running() <-chan struct{} { return r.router.Running() }

// IsRunning reports whether the relay delivers.
func (r *Relay) IsRunning() bool { return r.router.IsRunning() }
