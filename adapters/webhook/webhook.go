package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/amtsbote/amtsbote/outbox"
)

// Request headers.
const (
	HeaderEventID   = "Amtsbote-Event-Id"
	HeaderTimestamp = "Amtsbote-Timestamp"
	HeaderSignature = "Amtsbote-Signature"
)

// SignatureVersion prefixes the signature value: "v1=<hex>".
const SignatureVersion = "v1"

// MaxSkew is how far from its own clock a receiver should accept a timestamp.
const MaxSkew = 5 * time.Minute

// DefaultTimeout bounds one request when Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// MaxRetryAfter caps the delay of a Retry-After header.
const MaxRetryAfter = 24 * time.Hour

// UserAgent is the User-Agent of every request.
const UserAgent = "Amtsbote"

// Config configures a Deliverer.
type Config struct {
	// URL is the portal's callback endpoint, http or https. Required.
	URL string
	// Secret is the HMAC key shared with the portal. Required.
	Secret []byte
	// Portal identifies the portal in logs. Required.
	Portal string
	// Timeout bounds one request. Default DefaultTimeout.
	Timeout time.Duration
	// Logger receives a debug record per delivered event (ids, status). Default: discard.
	Logger *slog.Logger
	// Transport, optional, replaces http.DefaultTransport's clone (tests).
	Transport http.RoundTripper
	// Now, optional, is the clock of the timestamps (tests).
	Now func() time.Time
}

// Validate reports every problem of c at once.
func (c Config) Validate() error {
	var errs []error
	u, err := url.Parse(c.URL)
	switch {
	case c.URL == "":
		errs = append(errs, errors.New("url is required"))
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil:
		errs = append(errs, errors.New("url must be an absolute http or https URL without credentials"))
	}
	if len(c.Secret) == 0 {
		errs = append(errs, errors.New("secret is required"))
	}
	if c.Portal == "" {
		errs = append(errs, errors.New("portal is empty"))
	}
	if c.Timeout < 0 {
		errs = append(errs, errors.New("timeout must not be negative"))
	}
	if errs != nil {
		return fmt.Errorf("webhook config: %w", errors.Join(errs...))
	}
	return nil
}

// Deliverer posts signed events to one portal. It is safe for concurrent use.
type Deliverer struct {
	url     string
	host    string
	secret  []byte
	client  *http.Client
	timeout time.Duration
	logger  *slog.Logger
	now     func() time.Time
}

var _ outbox.Deliverer = (*Deliverer)(nil)

// New validates cfg and returns a Deliverer.
func New(cfg Config) (*Deliverer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	u, _ := url.Parse(cfg.URL)
	rt := cfg.Transport
	if rt == nil {
		rt = http.DefaultTransport.(*http.Transport).Clone()
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	d := &Deliverer{
		url:    cfg.URL,
		host:   u.Host,
		secret: bytes.Clone(cfg.Secret),
		client: &http.Client{
			Transport: rt,
			// Events go to the configured URL only.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		timeout: cfg.Timeout,
		logger:  logger.With(slog.String("portal", cfg.Portal)),
		now:     cfg.Now,
	}
	if d.timeout == 0 {
		d.timeout = DefaultTimeout
	}
	if d.now == nil {
		d.now = time.Now
	}
	return d, nil
}

// Sign returns the Amtsbote-Signature value of body sent at timestamp (unix seconds).
func Sign(secret []byte, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(timestamp))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return SignatureVersion + "=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify checks a request's signature and timestamp as a receiver should:
// the timestamp within MaxSkew of now, the signature (one of several
// comma-separated values may match, for secret rotation) compared in constant time.
func Verify(secret []byte, timestamp, signature string, body []byte, now time.Time) error {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return errors.New("malformed timestamp")
	}
	if skew := now.Sub(time.Unix(ts, 0)); skew > MaxSkew || skew < -MaxSkew {
		return errors.New("timestamp too far from now")
	}
	want := Sign(secret, timestamp, body)
	for sig := range strings.SplitSeq(signature, ",") {
		if hmac.Equal([]byte(strings.TrimSpace(sig)), []byte(want)) {
			return nil
		}
	}
	return errors.New("signature mismatch")
}

// Deliver posts the event of dl. See the package documentation for the outcome.
func (d *Deliverer) Deliver(ctx context.Context, dl outbox.Delivery) error {
	if err := d.deliver(ctx, dl); err != nil {
		return fmt.Errorf("webhook: message %s: %w", dl.MessageID, err)
	}
	return nil
}

func (d *Deliverer) deliver(ctx context.Context, dl outbox.Delivery) error {
	switch {
	case dl.MessageID == "" || strings.ContainsAny(dl.MessageID, "\r\n\x00"):
		return outbox.Permanent(errors.New("message id is empty or contains control characters"))
	case len(dl.Payload) == 0:
		return outbox.Permanent(errors.New("empty payload"))
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	rctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, d.url, bytes.NewReader(dl.Payload))
	if err != nil {
		return outbox.Permanent(fmt.Errorf("build request to %s: %w", d.host, err))
	}
	ts := strconv.FormatInt(d.now().Unix(), 10)
	req.Header.Set("User-Agent", UserAgent)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderEventID, dl.MessageID)
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, Sign(d.secret, ts, dl.Payload))
	start := time.Now()
	resp, err := d.client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // its message holds the whole URL; name only the host
		}
		if ctx.Err() == nil && rctx.Err() != nil {
			return fmt.Errorf("post to %s: no answer within %s: %w", d.host, d.timeout, err)
		}
		return fmt.Errorf("post to %s: %w", d.host, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	code := resp.StatusCode
	if code >= 200 && code <= 299 {
		d.logger.DebugContext(ctx, "callback delivered",
			slog.String("message_id", dl.MessageID), slog.String("submission_id", dl.SubmissionID),
			slog.Int("attempt", dl.Attempt), slog.Int("status", code), slog.Duration("duration", time.Since(start)))
		return nil
	}
	// The receiver's body is not quoted: it may echo what the portal knows.
	serr := &StatusError{StatusCode: code, Host: d.host}
	if !serr.Retryable() {
		return outbox.Permanent(serr)
	}
	if delay, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
		return &RetryAfterError{Delay: delay, Err: serr}
	}
	return serr
}

// StatusError is an answer of the receiver other than 2xx.
type StatusError struct {
	StatusCode int
	Host       string
}

// Error reports the status and the host.
func (e *StatusError) Error() string {
	return fmt.Sprintf("%s answered %d %s", e.Host, e.StatusCode, http.StatusText(e.StatusCode))
}

// ErrorClass is the class of the answer: a timeout (408), an unavailable
// receiver (other retryable statuses) or a refusal.
func (e *StatusError) ErrorClass() outbox.ErrorClass { return outbox.HTTPStatusClass(e.StatusCode) }

// Retryable reports whether the status is worth retrying: 408, 425, 429 and every 5xx.
func (e *StatusError) Retryable() bool { return outbox.HTTPStatusRetryable(e.StatusCode) }

// RetryAfterError is a retryable failure whose receiver asked to wait Delay.
type RetryAfterError struct {
	Delay time.Duration
	Err   error
}

// Error reports the failure and the delay.
func (e *RetryAfterError) Error() string { return fmt.Sprintf("%v (retry after %s)", e.Err, e.Delay) }

// Unwrap returns the failure.
func (e *RetryAfterError) Unwrap() error { return e.Err }

// RetryAfter is the delay asked for (outbox.RetryAfterError).
func (e *RetryAfterError) RetryAfter() time.Duration { return e.Delay }

var _ outbox.RetryAfterError = (*RetryAfterError)(nil)

// parseRetryAfter parses delay-seconds or an HTTP-date relative to now.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseUint(v, 10, 64); err == nil {
		if secs > uint64(MaxRetryAfter/time.Second) {
			return MaxRetryAfter, true
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return min(max(t.Sub(now), 0), MaxRetryAfter), true
}
