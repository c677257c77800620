package httppost

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/outbox"
)

// DefaultTimeout bounds one request when config.HTTP.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// UserAgent is the User-Agent of every request.
const UserAgent = "Amtsbote"

// Request headers set by the Deliverer; configured headers may not replace them.
const (
	HeaderMessageID    = "X-Amtsbote-Message-Id"
	HeaderSubmissionID = "X-Amtsbote-Submission-Id"
	HeaderAttempt      = "X-Amtsbote-Attempt"
	HeaderAttachmentID = "X-Amtsbote-Attachment-Id"
	// HeaderAttachments is the number of attachment requests that follow the
	// message's request in attachment mode "separate".
	HeaderAttachments = "X-Amtsbote-Attachments"
	HeaderIdempotency = "Idempotency-Key"
	HeaderSOAPAction  = "SOAPAction"
)

const (
	xdomeaTypePrefix    = "xdomea."
	maxErrorBodyBytes   = 4 << 10  // read for an error message
	maxDrainBodyBytes   = 64 << 10 // read beyond that to reuse the connection
	maxIdleConnsPerHost = 16       // one destination, several deliveries in flight
	contentTypeXML      = "application/xml"
	contentTypeZIP      = "application/zip"
	attachmentsMulti    = "multipart"
	attachmentsSeparate = "separate"
)

// writeBufferSize is the transport's write buffer per connection: a
// message of up to about 32 KiB (every XÖV message of the examples) goes
// out with its header in one write. With the default 4 KiB, a message of
// 4 KB went out in two system calls, and two segments to read.
const writeBufferSize = 32 << 10

// Config configures a Deliverer.
type Config struct {
	// Settings are the destination's http settings. URL is required.
	Settings config.HTTP
	// Tenant, Procedure and Destination identify the destination in logs. Required.
	Tenant, Procedure, Destination string
	// Logger receives a debug record per delivered message (ids, host,
	// status, never the payload) and a warning from New when credentials
	// would travel over plain http. Default: discard.
	Logger *slog.Logger
	// Transport, optional, replaces the transport New builds from
	// Settings.TLS (tests). It is used as given: the TLS files are still
	// checked by New but not applied to it.
	Transport http.RoundTripper
}

// Validate reports every problem of c at once: the rules of every HTTP
// destination (config.HTTP.Problems, which config validation reports too)
// and the fields naming the destination. It does not read the TLS files; New does.
func (c Config) Validate() error {
	var errs []error
	for _, p := range c.Settings.Problems() {
		errs = append(errs, errors.New(p.String()))
	}
	for _, f := range []struct{ name, value string }{
		{"tenant", c.Tenant}, {"procedure", c.Procedure}, {"destination", c.Destination},
	} {
		if f.value == "" {
			errs = append(errs, fmt.Errorf("%s is empty", f.name))
		}
	}
	if errs != nil {
		return fmt.Errorf("httppost config: %w", errors.Join(errs...))
	}
	return nil
}

// Deliverer posts each delivered message to one configured URL. It is safe
// for concurrent use.
type Deliverer struct {
	url         string
	host        string // for errors and logs
	client      *http.Client
	soap        string // "", "1.1", "1.2"
	action      string
	attachments string // attachmentsMulti or attachmentsSeparate
	headers     http.Header
	authorize   func(*http.Request)
	timeout     time.Duration
	logger      *slog.Logger
}

var (
	_ outbox.Deliverer = (*Deliverer)(nil)
	_ outbox.Prober    = (*Deliverer)(nil)
)

// Probe reports whether the receiver accepts TCP connections again
// (outbox.Prober): while its circuit is open, a successful probe ends the
// pause, and the next delivery decides. It sends no request.
func (d *Deliverer) Probe(ctx context.Context) error {
	u, err := url.Parse(d.url)
	if err != nil {
		return err
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "tcp", net.JoinHostPort(u.Hostname(), port))
	if err != nil {
		return err
	}
	return conn.Close()
}

// New validates cfg, reads the TLS files and returns a Deliverer. Errors
// about the files name them, never their contents.
func New(cfg Config) (*Deliverer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := cfg.Settings
	u, _ := url.Parse(s.URL) // checked by Validate
	tlsConfig, err := clientTLS(s.TLS)
	if err != nil {
		return nil, fmt.Errorf("httppost config: %w", err)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With(slog.String("tenant", cfg.Tenant), slog.String("procedure", cfg.Procedure),
		slog.String("destination", cfg.Destination))
	rt := cfg.Transport
	if rt == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = tlsConfig
		t.MaxIdleConnsPerHost = maxIdleConnsPerHost
		t.WriteBufferSize = writeBufferSize
		rt = t
	}
	d := &Deliverer{
		url:  s.URL,
		host: u.Host,
		client: &http.Client{
			Transport: rt,
			// Never follow a redirect: messages go to the configured URL only.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		soap:        s.SOAP,
		action:      s.SOAPAction,
		attachments: s.Attachments,
		headers:     make(http.Header, len(s.Headers)),
		authorize:   func(*http.Request) {},
		timeout:     s.Timeout.Duration,
		logger:      logger,
	}
	if d.attachments == "" {
		d.attachments = attachmentsMulti
	}
	if d.timeout == 0 {
		d.timeout = DefaultTimeout
	}
	for name, value := range s.Headers {
		d.headers.Set(name, value)
	}
	switch {
	case s.Auth.Basic != nil:
		user, password := s.Auth.Basic.Username, s.Auth.Basic.Password.Value()
		d.authorize = func(r *http.Request) { r.SetBasicAuth(user, password) }
	case !s.Auth.Bearer.IsZero():
		value := "Bearer " + s.Auth.Bearer.Value()
		d.authorize = func(r *http.Request) { r.Header.Set("Authorization", value) }
	}
	if u.Scheme == "http" && (s.Auth.Basic != nil || !s.Auth.Bearer.IsZero()) {
		logger.Warn("credentials are sent over plain http", slog.String("host", d.host))
	}
	return d, nil
}

// clientTLS builds the client TLS configuration: at least TLS 1.2, the CA
// bundle instead of the system roots, the client certificate.
func clientTLS(s config.HTTPTLS) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if s.CAFile != "" {
		pem, err := os.ReadFile(s.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls.ca_file: %w", err) // *PathError names the file
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls.ca_file %s: no PEM certificate found", s.CAFile)
		}
		c.RootCAs = pool
	}
	if s.CertFile != "" {
		certPEM, err := os.ReadFile(s.CertFile)
		if err != nil {
			return nil, fmt.Errorf("tls.cert_file: %w", err)
		}
		keyPEM, err := os.ReadFile(s.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls.key_file: %w", err)
		}
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			// crypto/tls errors describe the problem, not the PEM contents.
			return nil, fmt.Errorf("tls.cert_file %s with tls.key_file %s: %w", s.CertFile, s.KeyFile, err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

// CloseIdleConnections closes the idle keep-alive connections to the receiver.
func (d *Deliverer) CloseIdleConnections() { d.client.CloseIdleConnections() }

// Deliver posts the message: one request, or with attachment mode
// "separate" one per file after the message's. The error of a request that
// failed is retryable (possibly a *RetryAfterError) or wraps
// outbox.ErrPermanent; see the package documentation.
func (d *Deliverer) Deliver(ctx context.Context, dl outbox.Delivery) error {
	if err := d.deliver(ctx, dl); err != nil {
		return fmt.Errorf("httppost: message %s: %w", dl.MessageID, err)
	}
	return nil
}

func (d *Deliverer) deliver(ctx context.Context, dl outbox.Delivery) error {
	switch {
	case dl.MessageID == "":
		return outbox.Permanent(errors.New("empty message id"))
	case !config.ValidHeaderValue(dl.MessageID) || !config.ValidHeaderValue(dl.SubmissionID):
		return outbox.Permanent(errors.New("message or submission id contains control characters"))
	case len(dl.Payload) == 0:
		return outbox.Permanent(errors.New("empty payload"))
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	reqs, err := d.requests(ctx, dl)
	if errors.Is(err, errMalformed) && !errors.Is(err, outbox.ErrPermanent) {
		return outbox.Permanent(err)
	}
	if err != nil {
		return err
	}
	start := time.Now()
	var status int
	for _, r := range reqs {
		if status, err = d.send(ctx, dl, r); err != nil {
			if len(reqs) > 1 {
				return fmt.Errorf("%s: %w", r.what, err)
			}
			return err
		}
	}
	if d.logger.Enabled(ctx, slog.LevelDebug) { // the attributes would be built for nothing
		d.logger.LogAttrs(ctx, slog.LevelDebug, "message posted",
			slog.String("message_id", dl.MessageID),
			slog.String("submission_id", dl.SubmissionID),
			slog.Int("attempt", dl.Attempt),
			slog.String("host", d.host),
			slog.Int("requests", len(reqs)),
			slog.Int("status", status),
			slog.Duration("duration", time.Since(start)))
	}
	return nil
}

// send posts one request and classifies the outcome; it returns the status code.
func (d *Deliverer) send(ctx context.Context, dl outbox.Delivery, r request) (int, error) {
	rctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, d.url, bytes.NewReader(r.body))
	if err != nil {
		return 0, outbox.Permanent(fmt.Errorf("build request to %s: %w", d.host, err))
	}
	// timedOut reports whether this request's own timeout ended it.
	timedOut := func() bool { return ctx.Err() == nil && errors.Is(rctx.Err(), context.DeadlineExceeded) }
	var bodies *bodySource
	if r.open != nil {
		// A streamed body: each attempt of the transport to send the
		// request reads it afresh (GetBody).
		bodies = &bodySource{ctx: rctx, open: r.open}
		if req.Body, req.ContentLength, err = bodies.next(); err != nil {
			return 0, fmt.Errorf("open the request body: %w", err)
		}
		req.GetBody = bodies.getBody
	}
	// bodyError ends the request, stops the production of its bodies and
	// returns the error of producing one: it explains a failed request
	// better than the transport does, and it decides even when the
	// receiver answered before the body was complete.
	bodyError := func() error {
		if bodies == nil {
			return nil
		}
		timeout := timedOut()
		if err := bodies.close(cancel); err != nil {
			if timeout {
				return fmt.Errorf("post to %s: not sent within %s: %w", d.host, d.timeout, err)
			}
			return fmt.Errorf("produce the request body: %w", err)
		}
		return nil
	}
	for name, values := range d.headers {
		req.Header[name] = values
	}
	// The common headers' values share one array (the keys are canonical
	// already); each slice is capped, so that an Add copies it.
	values := []string{UserAgent, r.contentType, dl.MessageID, dl.SubmissionID, strconv.Itoa(dl.Attempt), dl.MessageID}
	value := func(i int) []string { return values[i : i+1 : i+1] }
	req.Header["User-Agent"] = value(0)
	req.Header["Content-Type"] = value(1)
	req.Header[HeaderMessageID] = value(2)
	if dl.SubmissionID != "" {
		req.Header[HeaderSubmissionID] = value(3)
	}
	req.Header[HeaderAttempt] = value(4)
	req.Header[HeaderIdempotency] = value(5)
	for name, values := range r.header {
		req.Header[name] = values
	}
	d.authorize(req)

	resp, err := d.client.Do(req)
	if err != nil {
		timeout := timedOut()
		if berr := bodyError(); berr != nil {
			return 0, berr
		}
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // its message holds the whole URL; name only the host
		}
		if timeout {
			return 0, fmt.Errorf("post to %s: no answer within %s: %w", d.host, d.timeout, err)
		}
		return 0, fmt.Errorf("post to %s: %w", d.host, err)
	}
	code := resp.StatusCode
	// A body cut short (a timeout, a reset) still explains the status:
	// ignore read errors. Only an error's body is kept, for its message.
	var head []byte
	drain := int64(maxErrorBodyBytes + maxDrainBodyBytes)
	if code < 200 || code > 299 {
		head, _ = io.ReadAll(io.LimitReader(resp.Body, maxErrorBodyBytes))
		drain = maxDrainBodyBytes
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, drain))
	_ = resp.Body.Close()
	if berr := bodyError(); berr != nil {
		return code, berr
	}
	if code >= 200 && code <= 299 {
		// The receiver has answered: a body cut short by a timeout changes nothing.
		return code, nil
	}
	serr := &StatusError{StatusCode: code, Host: d.host, Body: quoteBody(head)}
	if !serr.Retryable() {
		return code, outbox.Permanent(serr)
	}
	if delay, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
		return code, &RetryAfterError{Delay: delay, Err: serr}
	}
	return code, serr
}
