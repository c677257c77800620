package smtp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	netmail "net/mail"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wneessen/go-mail"

	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/outbox"
)

// Mail is the payload of a mail message: JSON written by the notifier
// (adapters/notify keeps its own copy of this shape). It holds no personal
// data of applicants: payloads of notifications are not encrypted at rest.
type Mail struct {
	// To are the recipients, RFC 5322 addresses. At least one.
	To []string `json:"to"`
	// Subject is the subject line; line breaks are replaced by spaces.
	Subject string `json:"subject"`
	// Text is the plain-text body (UTF-8).
	Text string `json:"text"`
}

// ContentType is the media type of a Mail payload (outbox.MetaContentType).
const ContentType = "application/vnd.amtsbote.mail+json"

// UserAgent is the User-Agent header of every mail.
const UserAgent = "Amtsbote"

// Config configures a Deliverer.
type Config struct {
	// Settings are the mail server settings. Host and From are required.
	Settings config.Mail
	// Logger receives a debug record per sent mail (message id, server,
	// number of recipients; never addresses or contents). Default: discard.
	Logger *slog.Logger
	// RootCAs, optional, replaces the CAs of Settings.CAFile and the system
	// roots (tests).
	RootCAs *x509.CertPool
}

// Validate reports every problem of c at once. It does not read the CA file; New does.
func (c Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	s := c.Settings
	if s.Host == "" {
		add("host is required")
	}
	switch s.TLSMode() {
	case config.MailTLSStartTLS, config.MailTLSImplicit, config.MailTLSNone:
	default:
		add("tls must be starttls, tls or none, got %q", s.TLS)
	}
	if _, err := netmail.ParseAddress(s.From); err != nil {
		add("from is not a valid address: %v", err)
	}
	if s.MessageIDDomain() == "" {
		add("domain is required (from has none)")
	}
	if s.Username != "" && s.Password.Value() == "" {
		add("password is required with username")
	}
	if p := s.EffectivePort(); p <= 0 || p > 65535 {
		add("port must be between 1 and 65535, got %d", p)
	}
	if errs != nil {
		return fmt.Errorf("smtp config: %w", errors.Join(errs...))
	}
	return nil
}

// Deliverer sends each delivered message, a JSON Mail, as one e-mail. It is
// safe for concurrent use: every delivery has its own connection.
type Deliverer struct {
	settings config.Mail
	addr     string // host:port, for errors and logs
	domain   string
	timeout  time.Duration
	tls      *tls.Config
	logger   *slog.Logger
}

var _ outbox.Deliverer = (*Deliverer)(nil)

// New validates cfg, reads the CA file and returns a Deliverer.
func New(cfg Config) (*Deliverer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := cfg.Settings
	tlsConfig := &tls.Config{ServerName: s.Host, MinVersion: tls.VersionTLS12, RootCAs: cfg.RootCAs}
	if cfg.RootCAs == nil && s.CAFile != "" {
		pem, err := os.ReadFile(s.CAFile)
		if err != nil {
			return nil, fmt.Errorf("smtp config: ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("smtp config: ca_file %s: no PEM certificate found", s.CAFile)
		}
		tlsConfig.RootCAs = pool
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	timeout := s.Timeout.Duration
	if timeout <= 0 {
		timeout = config.DefaultMailTimeout
	}
	return &Deliverer{
		settings: s,
		addr:     net.JoinHostPort(s.Host, strconv.Itoa(s.EffectivePort())),
		domain:   s.MessageIDDomain(),
		timeout:  timeout,
		tls:      tlsConfig,
		logger:   logger,
	}, nil
}

// MessageID returns the Message-ID (without angle brackets) of the mail of
// the outbox message id.
func (d *Deliverer) MessageID(outboxID string) string { return outboxID + "@" + d.domain }

// Deliver sends the mail of dl. A malformed payload and 5xx answers are
// permanent; 4xx answers, network failures and cancellation are retryable.
func (d *Deliverer) Deliver(ctx context.Context, dl outbox.Delivery) error {
	if err := d.deliver(ctx, dl); err != nil {
		return fmt.Errorf("smtp: message %s: %w", dl.MessageID, err)
	}
	return nil
}

func (d *Deliverer) deliver(ctx context.Context, dl outbox.Delivery) error {
	if dl.MessageID == "" || strings.ContainsAny(dl.MessageID, "<>@ \t\r\n") {
		return outbox.Permanent(errors.New("message id is empty or not usable in a Message-ID"))
	}
	var m Mail
	if err := json.Unmarshal(dl.Payload, &m); err != nil {
		return outbox.Permanent(fmt.Errorf("payload is not a mail: %w", err))
	}
	msg, err := d.message(dl.MessageID, m)
	if err != nil {
		return outbox.Permanent(err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var (
		mu     sync.Mutex
		conns  []net.Conn // closed when ctx ends during the session
		closed bool
	)
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		closed = true
		for _, c := range conns {
			c.Close()
		}
	})
	client, err := d.client(func(dctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := d.dial(dctx, network, addr)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		defer mu.Unlock()
		if closed {
			conn.Close()
		}
		conns = append(conns, conn)
		return conn, nil
	})
	if err != nil {
		stop()
		return outbox.Permanent(err)
	}
	start := time.Now()
	err = client.DialAndSendWithContext(ctx, msg)
	if !stop() {
		// ctx ended during the session; its connection is being closed.
		err = errors.Join(err, ctx.Err())
	}
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return fmt.Errorf("send via %s: %w", d.addr, cerr)
		}
		return classify(fmt.Errorf("send via %s: %w", d.addr, err))
	}
	d.logger.DebugContext(ctx, "mail sent",
		slog.String("message_id", dl.MessageID),
		slog.String("submission_id", dl.SubmissionID),
		slog.String("topic", dl.Topic),
		slog.Int("attempt", dl.Attempt),
		slog.String("server", d.addr),
		slog.Int("recipients", len(m.To)),
		slog.Duration("duration", time.Since(start)))
	return nil
}

// message builds the MIME message; an error means the payload cannot be sent.
func (d *Deliverer) message(id string, m Mail) (*mail.Msg, error) {
	if len(m.To) == 0 {
		return nil, errors.New("mail has no recipient")
	}
	for i, to := range m.To {
		if _, err := netmail.ParseAddress(to); err != nil {
			return nil, fmt.Errorf("recipient %d is not a valid address", i+1) // never print it
		}
	}
	if strings.TrimSpace(m.Text) == "" {
		return nil, errors.New("mail has no text")
	}
	msg := mail.NewMsg(mail.WithNoDefaultUserAgent())
	if err := msg.From(d.settings.From); err != nil {
		return nil, fmt.Errorf("from: %w", err)
	}
	if err := msg.To(m.To...); err != nil {
		return nil, errors.New("recipients rejected by the mail library")
	}
	msg.Subject(oneLine(m.Subject))
	msg.SetMessageIDWithValue(d.MessageID(id))
	msg.SetDate()
	msg.SetUserAgent(UserAgent)
	// RFC 3834: no vacation auto-replies to a machine.
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	msg.SetBodyString(mail.TypeTextPlain, m.Text)
	return msg, nil
}

// oneLine replaces line breaks and tabs by spaces and trims.
func oneLine(s string) string {
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == '\t' {
			return ' '
		}
		return r
	}, s))
}

// client builds a go-mail client for one delivery that connects with dial.
func (d *Deliverer) client(dial mail.DialContextFunc) (*mail.Client, error) {
	s := d.settings
	opts := []mail.Option{
		mail.WithPort(s.EffectivePort()),
		mail.WithTimeout(d.timeout),
		mail.WithTLSConfig(d.tls),
		mail.WithDialContextFunc(dial),
	}
	if s.HELO != "" {
		opts = append(opts, mail.WithHELO(s.HELO))
	}
	switch s.TLSMode() {
	case config.MailTLSStartTLS:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	default:
		// Implicit TLS is done by dial; no STARTTLS on top.
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	}
	if s.Username != "" {
		// With STARTTLS the strongest mechanism offered (SCRAM, CRAM-MD5,
		// PLAIN, LOGIN; PLAIN and LOGIN only once encrypted). Over implicit
		// TLS, whose dial go-mail does not see, PLAIN.
		auth := mail.SMTPAuthAutoDiscover
		if s.TLSMode() == config.MailTLSImplicit {
			auth = mail.SMTPAuthPlain
		}
		opts = append(opts, mail.WithSMTPAuth(auth), mail.WithUsername(s.Username), mail.WithPassword(s.Password.Value()))
	}
	return mail.NewClient(s.Host, opts...)
}

// dial connects with a deadline of the timeout for the whole session (go-mail
// sets none before the greeting) and does the handshake of implicit TLS.
// Deliver closes the connection when its context ends.
func (d *Deliverer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var dialer net.Dialer
	raw, err := dialer.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	_ = raw.SetDeadline(time.Now().Add(d.timeout))
	if d.settings.TLSMode() != config.MailTLSImplicit {
		return raw, nil
	}
	conn := tls.Client(raw, d.tls)
	if err := conn.HandshakeContext(ctx); err != nil {
		raw.Close()
		return nil, err
	}
	return conn, nil
}

// classify marks 5xx answers permanent and 4xx (deferred) answers as an
// unavailable receiver; everything else stays retryable.
func classify(err error) error {
	code := 0
	var serr *mail.SendError
	if errors.As(err, &serr) {
		code = serr.ErrorCode()
	}
	var terr *textproto.Error
	if code == 0 && errors.As(err, &terr) {
		code = terr.Code
	}
	switch {
	case code >= 500 && code <= 599:
		return outbox.Permanent(err)
	case code >= 400 && code <= 499: // deferred: the server is unavailable for now
		return outbox.Classify(outbox.ClassReceiverUnavailable, err)
	}
	return err
}
