package amqp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wmamqp "github.com/ThreeDotsLabs/watermill-amqp/v3/pkg/amqp"
	"github.com/ThreeDotsLabs/watermill/message"
	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/outbox"
)

// Headers set on every published message.
const (
	HeaderSubmissionID = "x-amtsbote-submission-id" // the submission the message belongs to; empty for none
	HeaderAttempt      = "x-amtsbote-attempt"       // the delivery attempt, 1-based, as a 32-bit integer
	HeaderTopic        = "x-amtsbote-topic"         // the outbox topic, "<tenant>/<procedure>/<destination>"
)

// checkTimeout bounds the check whether the exchange exists after a failed publish.
const checkTimeout = 5 * time.Second

// DefaultContentType is the content_type of a message whose metadata names none.
const DefaultContentType = "application/xml"

// DefaultMaxMessageBytes is Config.MaxMessageBytes when it is zero: 128 MiB,
// the default max_message_size of RabbitMQ 3.8 to 3.13 (4.x defaults to
// 16 MiB; 512 MiB is the most any RabbitMQ accepts).
const DefaultMaxMessageBytes = 128 << 20

var (
	// ErrExchangeNotFound means the configured exchange does not exist on the
	// broker. It is retryable: operators fix it by declaring the exchange.
	ErrExchangeNotFound = errors.New("exchange does not exist")
	// ErrClosed is returned by Deliver after Close.
	ErrClosed = errors.New("deliverer is closed")
	// ErrMessageTooLarge means a message is larger than
	// Config.MaxMessageBytes. It is permanent.
	ErrMessageTooLarge = errors.New("message is larger than the maximum message size")
)

// Config configures a Deliverer.
type Config struct {
	// Settings are the destination's amqp settings: the broker URL (a
	// secret, as it holds a password), the exchange and the routing key.
	// URL and Exchange are required; an empty routing key is allowed.
	Settings config.AMQP
	// Tenant, Procedure and Destination label the log records and the
	// connection name the broker shows ("amtsbote <tenant>/<procedure>/<destination>").
	// Optional.
	Tenant, Procedure, Destination string
	// Logger receives the records of this Deliverer and of watermill-amqp
	// (ids, exchange and routing key; never payloads or the URL).
	// Default: discard.
	Logger *slog.Logger
	// MaxMessageBytes bounds the body of a message: a message with
	// attachments is assembled in memory to be published (AMQP sends a body
	// as one frame sequence), and a larger one is refused as a permanent
	// failure before it is read. It should not exceed the broker's
	// max_message_size. Default (0): DefaultMaxMessageBytes.
	MaxMessageBytes int64
}

// Validate reports every problem of c at once. Its errors never contain the URL.
func (c Config) Validate() error {
	var errs []error
	if c.Settings.URL.IsZero() || c.Settings.URL.Value() == "" {
		errs = append(errs, errors.New("url is empty"))
	} else if err := checkURL(c.Settings.URL.Value()); err != nil {
		errs = append(errs, fmt.Errorf("url: %w", err))
	}
	if c.Settings.Exchange == "" {
		errs = append(errs, errors.New("exchange is empty (publishing to the default exchange is not supported)"))
	}
	if c.MaxMessageBytes < 0 {
		errs = append(errs, errors.New("max message bytes must not be negative"))
	}
	if errs != nil {
		return fmt.Errorf("amqp config: %w", errors.Join(errs...))
	}
	return nil
}

// checkURL checks that raw is an amqp or amqps URL amqp091 accepts, with an
// error that does not repeat raw (url.Parse errors quote the whole URL,
// password included).
func checkURL(raw string) error {
	if _, err := amqp091.ParseURI(raw); err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		if strings.Contains(err.Error(), raw) {
			return errors.New("not a valid amqp or amqps URL")
		}
		return fmt.Errorf("not a valid amqp or amqps URL: %w", err)
	}
	return nil
}

// Deliverer publishes each delivered message to one exchange with one
// routing key and waits for the broker's confirm. It is safe for concurrent
// use. Close it to release its connection.
type Deliverer struct {
	url        config.Secret
	connName   string
	exchange   string
	routingKey string
	wmConfig   wmamqp.Config
	wmLogger   watermill.LoggerAdapter
	logger     *slog.Logger
	maxBytes   int64

	mu       sync.Mutex
	pub      *wmamqp.Publisher // nil until connected
	dialing  *dial             // the connection attempt under way, if any
	closed   bool
	inflight sync.WaitGroup // publishes under way; Add only under mu while !closed
}

// dial is one attempt to connect; done is closed when it ends.
type dial struct {
	done chan struct{}
	err  error
}

var _ outbox.Deliverer = (*Deliverer)(nil)

// New validates cfg and returns a Deliverer. It does not connect: the first
// Deliver does.
func New(cfg Config) (*Deliverer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With(
		slog.String("adapter", "amqp"),
		slog.String("tenant", cfg.Tenant),
		slog.String("procedure", cfg.Procedure),
		slog.String("destination", cfg.Destination),
		slog.String("exchange", cfg.Settings.Exchange),
		slog.String("routing_key", cfg.Settings.RoutingKey),
	)
	exchange, routingKey := cfg.Settings.Exchange, cfg.Settings.RoutingKey
	wmConfig := wmamqp.Config{
		Connection: wmamqp.ConnectionConfig{
			AmqpURI: cfg.Settings.URL.Value(),
			AmqpConfig: &amqp091.Config{
				Properties: amqp091.Table{
					"connection_name": connectionName(cfg),
				},
			},
			Reconnect: &wmamqp.ReconnectConfig{
				BackoffInitialInterval:     500 * time.Millisecond,
				BackoffRandomizationFactor: 0.5,
				BackoffMultiplier:          1.5,
				BackoffMaxInterval:         15 * time.Second,
			},
		},
		Marshaler: marshaler{},
		Exchange: wmamqp.ExchangeConfig{
			GenerateName: wmamqp.GenerateExchangeNameConstant(exchange),
		},
		Publish: wmamqp.PublishConfig{
			GenerateRoutingKey: func(string) string { return routingKey },
			ConfirmDelivery:    true,
			ChannelPoolSize:    0, // a channel per publish; see the package doc
		},
		TopologyBuilder: noTopology{},
	}
	if err := wmConfig.ValidatePublisher(); err != nil {
		return nil, fmt.Errorf("amqp config: %w", err)
	}
	maxBytes := cfg.MaxMessageBytes
	if maxBytes == 0 {
		maxBytes = DefaultMaxMessageBytes
	}
	return &Deliverer{
		maxBytes:   maxBytes,
		url:        cfg.Settings.URL,
		connName:   connectionName(cfg),
		exchange:   exchange,
		routingKey: routingKey,
		wmConfig:   wmConfig,
		wmLogger:   watermill.NewSlogLogger(logger),
		logger:     logger,
	}, nil
}

// connectionName is the name the broker's management shows for the connection.
func connectionName(cfg Config) string {
	name := "amtsbote"
	if label := strings.Trim(cfg.Tenant+"/"+cfg.Procedure+"/"+cfg.Destination, "/"); label != "" {
		name += " " + label
	}
	return name
}

// Deliver publishes d to the exchange and returns nil once the broker has
// confirmed it. The body is the content of d: its payload, or the ZIP
// container its bundle describes, assembled in memory once the broker is
// reached. An empty message id or payload, an undecodable bundle, a
// missing or corrupt blob and a message larger than MaxMessageBytes
// (ErrMessageTooLarge) are permanent errors (errors.Is(err,
// outbox.ErrPermanent)); every other failure is retryable: an unreachable
// broker, a lost connection, a missing exchange (ErrExchangeNotFound), a
// negative confirm, a store error and a ctx that ends first.
func (d *Deliverer) Deliver(ctx context.Context, dl outbox.Delivery) error {
	if dl.MessageID == "" {
		return outbox.Permanent(errors.New("amqp: empty message id"))
	}
	if len(dl.Payload) == 0 {
		return outbox.Permanent(fmt.Errorf("amqp: message %s: empty payload", dl.MessageID))
	}
	size, err := d.bodySize(dl)
	if err != nil {
		return fmt.Errorf("amqp: message %s: %w", dl.MessageID, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("amqp: message %s: %w", dl.MessageID, err)
	}
	pub, err := d.publisher(ctx)
	if errors.Is(err, ErrClosed) {
		return fmt.Errorf("amqp: message %s: %w", dl.MessageID, err)
	}
	if err != nil {
		d.logger.WarnContext(ctx, "amqp broker not reached",
			slog.String("message_id", dl.MessageID), slog.String("error", err.Error()))
		return outbox.Classify(outbox.ClassReceiverUnavailable, fmt.Errorf("amqp: message %s: connect to broker: %w", dl.MessageID, err))
	}
	body, err := d.body(ctx, dl, size)
	if err != nil {
		return fmt.Errorf("amqp: message %s: %w", dl.MessageID, err)
	}

	msg := newMessage(dl, body)
	result := make(chan error, 1)
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return fmt.Errorf("amqp: message %s: %w", dl.MessageID, ErrClosed)
	}
	d.inflight.Add(1)
	d.mu.Unlock()
	go func() {
		defer d.inflight.Done()
		// Publish returns after the broker's confirm, or with an error when
		// the broker nacks or closes the channel; it does not watch ctx.
		result <- pub.Publish(dl.Topic, msg)
	}()
	select {
	case err = <-result:
	case <-ctx.Done():
		d.logger.WarnContext(ctx, "amqp publish not confirmed in time",
			slog.String("message_id", dl.MessageID), slog.Int("attempt", dl.Attempt))
		return outbox.Classify(outbox.ClassTimeout, fmt.Errorf("amqp: message %s: waiting for the broker's confirm: %w", dl.MessageID, ctx.Err()))
	}
	if err != nil {
		if d.exchangeMissing(ctx) {
			d.logger.ErrorContext(ctx, "amqp exchange does not exist: operators must declare it; the message will be retried",
				slog.String("message_id", dl.MessageID), slog.Int("attempt", dl.Attempt))
			return outbox.Classify(outbox.ClassReceiverUnavailable,
				fmt.Errorf("amqp: message %s: publish to exchange %q: %w", dl.MessageID, d.exchange, ErrExchangeNotFound))
		}
		d.logger.WarnContext(ctx, "amqp publish failed",
			slog.String("message_id", dl.MessageID), slog.Int("attempt", dl.Attempt), slog.String("error", err.Error()))
		return outbox.Classify(outbox.ClassReceiverUnavailable, fmt.Errorf("amqp: message %s: publish: %w", dl.MessageID, err))
	}
	d.logger.DebugContext(ctx, "amqp message confirmed",
		slog.String("message_id", dl.MessageID),
		slog.String("submission_id", dl.SubmissionID),
		slog.Int("attempt", dl.Attempt))
	return nil
}

// publisher returns the connected publisher, connecting first if there is
// none. Connecting runs in its own goroutine, shared by concurrent callers,
// so that ctx bounds the wait even though dialing does not watch it.
func (d *Deliverer) publisher(ctx context.Context) (*wmamqp.Publisher, error) {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil, ErrClosed
	}
	if d.pub != nil {
		pub := d.pub
		d.mu.Unlock()
		return pub, nil
	}
	a := d.dialing
	if a == nil {
		a = &dial{done: make(chan struct{})}
		d.dialing = a
		go d.connect(a)
	}
	d.mu.Unlock()

	select {
	case <-a.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if a.err != nil {
		return nil, a.err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed || d.pub == nil {
		return nil, ErrClosed
	}
	return d.pub, nil
}

// connect makes one connection attempt. Close does not wait for it: an
// attempt that succeeds after Close closes its connection at once.
func (d *Deliverer) connect(a *dial) {
	pub, err := wmamqp.NewPublisher(d.wmConfig, d.wmLogger)
	d.mu.Lock()
	d.dialing = nil
	closed := d.closed
	if err == nil && !closed {
		d.pub = pub
	}
	d.mu.Unlock()
	a.err = err
	close(a.done)
	if err == nil && closed {
		_ = pub.Close()
	}
}

// exchangeMissing reports whether the broker says the exchange does not
// exist, by a passive declaration (which creates nothing) on a short-lived
// connection of its own: watermill-amqp's connection field is replaced by its
// reconnect goroutine without synchronisation, so it is not read here.
func (d *Deliverer) exchangeMissing(ctx context.Context) bool {
	timeout := checkTimeout
	if deadline, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(deadline))
	}
	if timeout <= 0 {
		return false
	}
	conn, err := amqp091.DialConfig(d.url.Value(), amqp091.Config{
		Dial:       amqp091.DefaultDial(timeout),
		Properties: amqp091.Table{"connection_name": d.connName + " (exchange check)"},
	})
	if err != nil {
		return false
	}
	defer func() { _ = conn.Close() }()
	ch, err := conn.Channel()
	if err != nil {
		return false
	}
	err = ch.ExchangeDeclarePassive(d.exchange, "direct", false, false, false, false, nil)
	var aerr *amqp091.Error
	return errors.As(err, &aerr) && aerr.Code == amqp091.NotFound
}

// Probe reports whether the broker accepts a connection again and has the
// exchange (outbox.Prober), on a short-lived connection of its own: while
// the destination's circuit is open, a successful probe ends the pause as
// soon as the broker is back, instead of after it.
func (d *Deliverer) Probe(ctx context.Context) error {
	timeout := checkTimeout
	if deadline, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(deadline))
	}
	if timeout <= 0 {
		return context.DeadlineExceeded
	}
	conn, err := amqp091.DialConfig(d.url.Value(), amqp091.Config{
		Dial:       amqp091.DefaultDial(timeout),
		Properties: amqp091.Table{"connection_name": d.connName + " (probe)"},
	})
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	ch, err := conn.Channel()
	if err != nil {
		return err
	}
	return ch.ExchangeDeclarePassive(d.exchange, "direct", false, false, false, false, nil)
}

var _ outbox.Prober = (*Deliverer)(nil)

// Close waits for the publishes under way (each ends with the broker's
// confirm or a channel error) and closes the connection. Deliver fails with
// ErrClosed afterwards. Close is idempotent.
func (d *Deliverer) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	d.mu.Unlock()

	d.inflight.Wait()
	d.mu.Lock()
	pub := d.pub
	d.pub = nil
	d.mu.Unlock()
	if pub == nil {
		return nil
	}
	if err := pub.Close(); err != nil {
		return fmt.Errorf("amqp: close: %w", err)
	}
	return nil
}

// Metadata keys that carry a Delivery's fields to the marshaler.
const (
	metaContentType  = "content_type"
	metaSubmissionID = "submission_id"
	metaAttempt      = "attempt"
	metaTopic        = "topic"
)

// bodySize returns the expected size of dl's content, and refuses it
// permanently where it is sure to exceed the maximum: a plain payload by
// its size, a bundle by the size of its files, which are stored
// uncompressed in the container.
func (d *Deliverer) bodySize(dl outbox.Delivery) (int64, error) {
	b, isBundle, err := dl.Bundle()
	if err != nil {
		return 0, err // permanent
	}
	least, expected := int64(len(dl.Payload)), int64(len(dl.Payload))
	if isBundle {
		least, expected = 0, 0
		for _, e := range b.Entries {
			least += e.Size
			expected += e.Size + int64(len(e.Data)) + 512 // inline data deflated, plus ZIP headers
		}
	}
	if least > d.maxBytes {
		return 0, outbox.Permanent(fmt.Errorf("%w: at least %d bytes, the maximum is %d", ErrMessageTooLarge, least, d.maxBytes))
	}
	return expected, nil
}

// body returns the content of dl: the payload, or a bundle's container read
// into memory, at most maxBytes. A missing or corrupt blob is permanent.
func (d *Deliverer) body(ctx context.Context, dl outbox.Delivery, size int64) ([]byte, error) {
	if dl.Metadata[outbox.MetaPayloadFormat] != outbox.PayloadFormatBundle {
		return dl.Payload, nil
	}
	rc := dl.Open(ctx)
	defer rc.Close()
	var buf bytes.Buffer
	// Room for all of it and the last read that finds the end: ReadFrom
	// would double the buffer otherwise.
	buf.Grow(int(min(size, d.maxBytes+1)) + bytes.MinRead)
	n, err := buf.ReadFrom(io.LimitReader(rc, d.maxBytes+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("assemble the container: %w", err)
	case n > d.maxBytes:
		return nil, outbox.Permanent(fmt.Errorf("%w: more than %d bytes", ErrMessageTooLarge, d.maxBytes))
	}
	return buf.Bytes(), nil
}

// newMessage is the watermill message for dl with body.
func newMessage(dl outbox.Delivery, body []byte) *message.Message {
	msg := message.NewMessage(dl.MessageID, body)
	contentType := dl.Metadata[outbox.MetaContentType]
	if contentType == "" {
		contentType = DefaultContentType
	}
	msg.Metadata.Set(metaContentType, contentType)
	msg.Metadata.Set(metaSubmissionID, dl.SubmissionID)
	msg.Metadata.Set(metaAttempt, strconv.Itoa(dl.Attempt))
	msg.Metadata.Set(metaTopic, dl.Topic)
	return msg
}

// marshaler turns a message built by newMessage into the AMQP publishing.
// Only the headers documented in the package doc are sent: outbox metadata
// is internal and does not travel.
type marshaler struct{}

func (marshaler) Marshal(msg *message.Message) (amqp091.Publishing, error) {
	attempt, err := strconv.ParseInt(msg.Metadata.Get(metaAttempt), 10, 32)
	if err != nil {
		return amqp091.Publishing{}, fmt.Errorf("attempt: %w", err)
	}
	return amqp091.Publishing{
		MessageId:    msg.UUID,
		ContentType:  msg.Metadata.Get(metaContentType),
		DeliveryMode: amqp091.Persistent,
		Headers: amqp091.Table{
			HeaderSubmissionID: msg.Metadata.Get(metaSubmissionID),
			HeaderAttempt:      int32(attempt),
			HeaderTopic:        msg.Metadata.Get(metaTopic),
		},
		Body: msg.Payload,
	}, nil
}

func (marshaler) Unmarshal(amqp091.Delivery) (*message.Message, error) {
	return nil, errors.New("amqp: the deliverer only publishes")
}

// noTopology keeps watermill-amqp from declaring anything: the operators own
// the broker's topology.
type noTopology struct{}

func (noTopology) BuildTopology(*amqp091.Channel, wmamqp.BuildTopologyParams, wmamqp.Config, watermill.LoggerAdapter) error {
	return nil
}

func (noTopology) ExchangeDeclare(*amqp091.Channel, string, wmamqp.Config) error { return nil }
