package httppost

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/amtsbote/amtsbote/outbox"
)

// StatusError is an answer of the receiver other than 2xx.
type StatusError struct {
	// StatusCode is the HTTP status code of the answer.
	StatusCode int
	// Host is the host (and port) of the configured URL.
	Host string
	// Body is the start of the response body, control characters replaced,
	// at most maxQuoted bytes: the receiver's explanation, for operators.
	Body string
}

// Error reports the status, the host and the start of the response body.
func (e *StatusError) Error() string {
	msg := fmt.Sprintf("%s answered %d %s", e.Host, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Body != "" {
		msg += ": " + strconv.Quote(e.Body)
	}
	return msg
}

// Retryable reports whether the status is worth retrying: 408, 425, 429 and
// every 5xx. Every other status other than 2xx is permanent.
func (e *StatusError) Retryable() bool { return outbox.HTTPStatusRetryable(e.StatusCode) }

// ErrorClass is what portals see of the answer: a refusal for good
// (receiver_rejected), a timeout (408) or an unavailable receiver.
func (e *StatusError) ErrorClass() outbox.ErrorClass { return outbox.HTTPStatusClass(e.StatusCode) }

var _ outbox.Classifier = (*StatusError)(nil)

// RetryAfterError is a retryable delivery failure whose receiver asked, with
// a Retry-After header, to wait Delay before the next attempt. It wraps the
// cause (a *StatusError).
//
// The relay schedules the next attempt no earlier than Delay (and no earlier
// than the destination's retry policy says), through outbox.RetryAfterError.
type RetryAfterError struct {
	// Delay is how long the receiver asked to wait, at most MaxRetryAfter.
	Delay time.Duration
	// Err is the failure.
	Err error
}

// Error reports the failure and the delay asked for.
func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("%v (retry after %s)", e.Err, e.Delay)
}

// Unwrap returns the failure.
func (e *RetryAfterError) Unwrap() error { return e.Err }

// RetryAfter is the delay asked for; the relay schedules the next attempt no
// earlier (outbox.RetryAfterError).
func (e *RetryAfterError) RetryAfter() time.Duration { return e.Delay }

var _ outbox.RetryAfterError = (*RetryAfterError)(nil)

// MaxRetryAfter caps the delay of a Retry-After header.
const MaxRetryAfter = 24 * time.Hour

// parseRetryAfter parses a Retry-After value (RFC 9110, section 10.2.3):
// delay-seconds or an HTTP-date, relative to now. It reports false for an
// absent or malformed value; a date in the past is a delay of 0.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if isDigits(v) {
		secs, err := strconv.ParseInt(v, 10, 64)
		if err != nil || secs > int64(MaxRetryAfter/time.Second) {
			return MaxRetryAfter, true // too many digits to parse is still "long"
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return min(max(t.Sub(now), 0), MaxRetryAfter), true
}

func isDigits(s string) bool {
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// maxQuoted is the most of a response body an error quotes.
const maxQuoted = 512

// quoteBody returns the start of a response body for an error message:
// valid UTF-8, control characters as spaces, whitespace collapsed, at most
// maxQuoted bytes.
func quoteBody(b []byte) string {
	var sb strings.Builder
	space := false
	for len(b) > 0 && sb.Len() < maxQuoted {
		r, size := utf8.DecodeRune(b)
		b = b[size:]
		if r == utf8.RuneError && size == 1 {
			r = '\uFFFD'
		}
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			space = true
			continue
		}
		if space && sb.Len() > 0 {
			sb.WriteByte(' ')
		}
		space = false
		sb.WriteRune(r)
	}
	s := sb.String()
	if len(b) > 0 {
		s += "…"
	}
	return s
}

// errMalformed marks payloads this adapter cannot send (a broken ZIP
// container, an XML document in another encoding): retrying cannot help.
var errMalformed = errors.New("malformed payload")
