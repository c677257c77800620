package amqp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/intake"
)

// AnswerReceiver is what an AnswerSubscriber needs of the answer service.
type AnswerReceiver interface {
	Receive(ctx context.Context, src intake.AnswerSource, body []byte, contentType string) (intake.AnswerReceipt, error)
}

// Defaults of AnswerConfig.
const (
	DefaultAnswerMaxBytes int64 = 20 << 20 // 20 MiB
	DefaultRetryDelay           = time.Second
	DefaultMaxRetryDelay        = time.Minute
	DefaultReconnectDelay       = 500 * time.Millisecond
	DefaultMaxReconnect         = 30 * time.Second
)

// closeTimeout bounds closing a subscriber's connection.
const closeTimeout = 5 * time.Second

// AnswerConfig configures an AnswerSubscriber.
type AnswerConfig struct {
	// URL is the broker, amqp(s)://user:password@host:port/vhost. Required;
	// never logged.
	URL config.Secret
	// Queue is the queue consumed. Required; it must exist: Amtsbote
	// declares nothing (give it a dead-letter exchange to keep refused
	// answers).
	Queue string
	// Tenant, Procedure and Destination say whose answers arrive here:
	// they become the intake.AnswerSource (with Channel
	// intake.AnswerChannelAMQP). Tenant and Destination are required.
	Tenant, Procedure, Destination string
	// MaxBytes is the largest body accepted; a larger message is rejected
	// (dead-lettered). Default DefaultAnswerMaxBytes.
	MaxBytes int64
	// RetryDelay is the wait before an answer the service could not store
	// (intake.ErrUnavailable) is requeued; it doubles with each failure in a
	// row up to MaxRetryDelay. Defaults DefaultRetryDelay, DefaultMaxRetryDelay.
	RetryDelay, MaxRetryDelay time.Duration
	// ReconnectDelay is the first wait before reconnecting after the
	// connection or channel was lost (or the queue is missing); it doubles
	// up to MaxReconnectDelay. Defaults DefaultReconnectDelay,
	// DefaultMaxReconnect.
	ReconnectDelay, MaxReconnectDelay time.Duration
	// OnRefused, optional, is called for each message the subscriber
	// refuses itself, before the answer service sees it (too large), so
	// that it can be counted with the service's refusals.
	OnRefused func()
	// Logger receives the records of the subscriber (queue, message ids,
	// answer and submission ids, reasons; never the body or the URL).
	// Default: discard.
	Logger *slog.Logger
}

// Validate reports every problem of c at once. Its errors never contain the URL.
func (c AnswerConfig) Validate() error {
	var errs []error
	if c.URL.IsZero() || c.URL.Value() == "" {
		errs = append(errs, errors.New("url is empty"))
	} else if err := checkURL(c.URL.Value()); err != nil {
		errs = append(errs, fmt.Errorf("url: %w", err))
	}
	if c.Queue == "" {
		errs = append(errs, errors.New("queue is empty"))
	}
	if c.Tenant == "" {
		errs = append(errs, errors.New("tenant is empty"))
	}
	if c.Destination == "" {
		errs = append(errs, errors.New("destination is empty"))
	}
	for _, v := range []struct {
		name string
		d    time.Duration
	}{{"retry delay", c.RetryDelay}, {"max retry delay", c.MaxRetryDelay}, {"reconnect delay", c.ReconnectDelay}, {"max reconnect delay", c.MaxReconnectDelay}} {
		if v.d < 0 {
			errs = append(errs, fmt.Errorf("%s is negative", v.name))
		}
	}
	if c.MaxBytes < 0 {
		errs = append(errs, errors.New("max bytes is negative"))
	}
	if errs != nil {
		return fmt.Errorf("amqp answers config: %w", errors.Join(errs...))
	}
	return nil
}

// AnswerSubscriber consumes answers from one queue and hands each to the
// answer service. Run it once.
type AnswerSubscriber struct {
	cfg      AnswerConfig
	receiver AnswerReceiver
	src      intake.AnswerSource
	logger   *slog.Logger
}

// NewAnswerSubscriber validates cfg and returns a subscriber handing the
// messages to r. It does not connect: Run does.
func NewAnswerSubscriber(cfg AnswerConfig, r AnswerReceiver) (*AnswerSubscriber, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if r == nil {
		return nil, errors.New("amqp answers: no receiver")
	}
	setDuration := func(d *time.Duration, def time.Duration) {
		if *d == 0 {
			*d = def
		}
	}
	setDuration(&cfg.RetryDelay, DefaultRetryDelay)
	setDuration(&cfg.MaxRetryDelay, DefaultMaxRetryDelay)
	setDuration(&cfg.ReconnectDelay, DefaultReconnectDelay)
	setDuration(&cfg.MaxReconnectDelay, DefaultMaxReconnect)
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = DefaultAnswerMaxBytes
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &AnswerSubscriber{
		cfg: cfg, receiver: r,
		src: intake.AnswerSource{Tenant: cfg.Tenant, Procedure: cfg.Procedure, Destination: cfg.Destination, Channel: intake.AnswerChannelAMQP},
		logger: logger.With(slog.String("adapter", "amqp-answers"), slog.String("tenant", cfg.Tenant),
			slog.String("destination", cfg.Destination), slog.String("queue", cfg.Queue)),
	}, nil
}

// Run consumes until ctx ends, then returns nil; messages not yet
// acknowledged go back to the queue with the connection. A broker that
// cannot be reached, a lost connection and a missing queue are logged and
// retried with a growing delay: they do not end Run.
func (s *AnswerSubscriber) Run(ctx context.Context) error {
	delay := s.cfg.ReconnectDelay
	for {
		consumed, err := s.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if consumed {
			delay = s.cfg.ReconnectDelay
		}
		s.logger.WarnContext(ctx, "amqp answers: consumer stopped; reconnecting", slog.Any("error", err), slog.Duration("after", delay))
		if !sleep(ctx, delay) {
			return nil
		}
		delay = min(2*delay, s.cfg.MaxReconnectDelay)
	}
}

// session connects, consumes until the connection, the channel or ctx
// ends, and closes. consumed reports whether it got as far as consuming.
func (s *AnswerSubscriber) session(ctx context.Context) (consumed bool, err error) {
	conn, err := amqp091.DialConfig(s.cfg.URL.Value(), amqp091.Config{
		Properties: amqp091.Table{"connection_name": "amtsbote answers " + strings.Trim(s.cfg.Tenant+"/"+s.cfg.Procedure+"/"+s.cfg.Destination, "/")},
		Dial:       amqp091.DefaultDial(30 * time.Second),
	})
	if err != nil {
		return false, fmt.Errorf("connect: %w", redact(err, s.cfg.URL.Value()))
	}
	// Closing the connection closes the channel and returns the messages
	// not yet acknowledged to the queue; a deadline, as a broker that went
	// silent would never confirm the close.
	defer func() { _ = conn.CloseDeadline(time.Now().Add(closeTimeout)) }()
	ch, err := conn.Channel()
	if err != nil {
		return false, fmt.Errorf("open channel: %w", err)
	}
	// One message at a time: the next is delivered only after this one is
	// acknowledged or rejected, so answers are received in queue order and
	// a service that is down holds back one message, not the queue.
	if err := ch.Qos(1, 0, false); err != nil {
		return false, fmt.Errorf("qos: %w", err)
	}
	deliveries, err := ch.Consume(s.cfg.Queue, "", false, false, false, false, nil)
	if err != nil {
		var aerr *amqp091.Error
		if errors.As(err, &aerr) && aerr.Code == amqp091.NotFound {
			s.logger.ErrorContext(ctx, "amqp answers: the queue does not exist; declare it (Amtsbote declares nothing)")
		}
		return false, fmt.Errorf("consume: %w", err)
	}
	s.logger.InfoContext(ctx, "amqp answers: consuming")
	closed := conn.NotifyClose(make(chan *amqp091.Error, 1))
	retry := s.cfg.RetryDelay
	for {
		select {
		case <-ctx.Done():
			return true, nil
		case e := <-closed:
			if e == nil {
				return true, errors.New("connection closed")
			}
			return true, e
		case d, ok := <-deliveries:
			if !ok {
				return true, errors.New("the broker ended the consumer (channel closed or queue deleted)")
			}
			if s.handle(ctx, d, retry) {
				retry = s.cfg.RetryDelay
			} else {
				retry = min(2*retry, s.cfg.MaxRetryDelay)
			}
		}
	}
}

// handle hands one message to the service and settles it: ack once stored
// (or a duplicate), reject without requeue (dead-letter) when it is not
// an acceptable answer or a conflict, requeue after a delay otherwise. It
// reports whether the service answered (false: unavailable).
func (s *AnswerSubscriber) handle(ctx context.Context, d amqp091.Delivery, retry time.Duration) bool {
	log := s.logger.With(slog.String("message_id", d.MessageId), slog.Uint64("delivery_tag", d.DeliveryTag))
	reject := func(reason string) {
		if err := d.Reject(false); err != nil {
			log.WarnContext(ctx, "amqp answers: reject failed; the message comes back", slog.Any("error", err))
			return
		}
		log.WarnContext(ctx, "amqp answers: answer refused and rejected (dead-lettered where the queue has a dead-letter exchange)", slog.String("reason", reason))
	}
	if int64(len(d.Body)) > s.cfg.MaxBytes {
		if s.cfg.OnRefused != nil {
			s.cfg.OnRefused()
		}
		reject("invalid answer: the message has more than " + strconv.FormatInt(s.cfg.MaxBytes, 10) + " bytes (max_bytes)")
		return true
	}
	rc, err := s.receiver.Receive(ctx, s.src, d.Body, contentType(d.ContentType))
	var ae *intake.AnswerError
	switch {
	case err == nil:
		if err := d.Ack(false); err != nil {
			log.WarnContext(ctx, "amqp answers: answer stored, but the ack failed; it comes back as a duplicate", slog.String("answer_id", rc.ID), slog.Any("error", err))
			return true
		}
		log.InfoContext(ctx, "amqp answers: answer received", slog.String("answer_id", rc.ID), slog.Bool("duplicate", rc.Duplicate),
			slog.Bool("matched", rc.Matched), slog.String("submission_id", rc.SubmissionID))
		return true
	case errors.As(err, &ae):
		reject(ae.Error())
		return true
	case errors.Is(err, intake.ErrAnswerConflict):
		reject(intake.ErrAnswerConflict.Error())
		return true
	default:
		if ctx.Err() != nil {
			return false // shutting down: the message goes back with the channel
		}
		log.WarnContext(ctx, "amqp answers: the answer could not be stored; requeueing it after a delay", slog.Any("error", err), slog.Duration("after", retry))
		sleep(ctx, retry)
		if err := d.Nack(false, true); err != nil {
			log.WarnContext(ctx, "amqp answers: requeue failed; the message comes back with the connection", slog.Any("error", err))
		}
		return false
	}
}

// contentType passes a message's content_type on, or "" (detect) for none
// and for application/octet-stream.
func contentType(ct string) string {
	if strings.EqualFold(strings.TrimSpace(ct), "application/octet-stream") {
		return ""
	}
	return ct
}

// redact removes the URL from an error of the dialler.
func redact(err error, rawURL string) error {
	if rawURL != "" && strings.Contains(err.Error(), rawURL) {
		return errors.New("cannot connect to the broker")
	}
	return err
}

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
