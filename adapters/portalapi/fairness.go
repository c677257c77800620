package portalapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"
)

// Defaults of the intake shares (config.Intake has the same).
const (
	// DefaultMaxUploads is the default of Config.MaxUploads.
	DefaultMaxUploads = 256
	// DefaultPortalMaxUploads is the default of Config.PortalMaxUploads.
	DefaultPortalMaxUploads = 32
)

// intakeShares shares the in-flight body budget and the submissions in
// progress among the portals, so that one portal cannot take all of either:
// bytes are reserved as they arrive (in budgetStep units), each portal may
// hold at most its share of the budget, and each may have at most
// portalUploads submissions in progress. Waits are bounded by wait; the
// portal's own share exhausted is a 429 (it is that portal's doing), the
// server's a 503.
type intakeShares struct {
	totalBytes    *semaphore.Weighted
	uploads       *semaphore.Weighted
	portalBytes   int64
	portalUploads int64
	wait          time.Duration

	mu      sync.Mutex
	portals map[string]*portalShare // by portal id: bounded by the configuration
}

// portalShare is one portal's part: its bytes and its uploads in progress.
type portalShare struct {
	bytes   *semaphore.Weighted
	uploads *semaphore.Weighted
}

func newIntakeShares(totalBytes, portalBytes int64, wait time.Duration, maxUploads, portalUploads int) *intakeShares {
	return &intakeShares{
		totalBytes: semaphore.NewWeighted(totalBytes), uploads: semaphore.NewWeighted(int64(maxUploads)),
		portalBytes: min(portalBytes, totalBytes), portalUploads: int64(min(portalUploads, maxUploads)),
		wait: wait, portals: map[string]*portalShare{},
	}
}

// Details of refused requests.
var (
	errPortalBusy = text("the portal has too many submissions in progress; retry after the time in Retry-After",
		"das Portal hat zu viele Anträge gleichzeitig in Arbeit; bitte nach der Zeit in Retry-After erneut versuchen")
	errServerBusy = text("too many submissions in progress; retry later",
		"zu viele Anträge gleichzeitig in Arbeit; bitte später erneut versuchen")
	errPortalBytes = text("the portal's requests hold their share of the server's memory; retry after the time in Retry-After",
		"die Anfragen des Portals belegen ihren Anteil am Speicher des Servers; bitte nach der Zeit in Retry-After erneut versuchen")
	errServerBytes = text("too many large requests at once; retry later",
		"zu viele große Anfragen gleichzeitig; bitte später erneut versuchen")
)

// share returns the part of portal.
func (s *intakeShares) share(portal string) *portalShare {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.portals[portal]
	if p == nil {
		p = &portalShare{bytes: semaphore.NewWeighted(s.portalBytes), uploads: semaphore.NewWeighted(s.portalUploads)}
		s.portals[portal] = p
	}
	return p
}

// begin starts a submission of portal: it takes one of the portal's upload
// slots (429 when none frees up within the wait) and one of the server's
// (503). The caller calls done on the reservation when the request is
// answered.
func (s *intakeShares) begin(ctx context.Context, portal string) (*reservation, error) {
	p := s.share(portal)
	w := boundedWait{parent: ctx, wait: s.wait}
	defer w.done()
	if err := w.acquire(p.uploads, 1); err != nil {
		return nil, errTooManyRequestsDetail(s.wait, errPortalBusy)
	}
	if err := w.acquire(s.uploads, 1); err != nil {
		p.uploads.Release(1)
		return nil, errUnavailable(errServerBusy, nil)
	}
	return &reservation{s: s, p: p}, nil
}

// reservation is what one submission holds: an upload slot and the bytes
// reserved for its body so far. It is used by one goroutine at a time.
type reservation struct {
	s    *intakeShares
	p    *portalShare
	held int64
}

// grow reserves n more bytes, waiting at most the shares' wait for room:
// first in the portal's share (429 when there is none), then in the whole
// budget (503).
func (r *reservation) grow(ctx context.Context, n int64) error {
	w := boundedWait{parent: ctx, wait: r.s.wait}
	defer w.done()
	if err := w.acquire(r.p.bytes, n); err != nil {
		return errTooManyRequestsDetail(r.s.wait, errPortalBytes)
	}
	if err := w.acquire(r.s.totalBytes, n); err != nil {
		r.p.bytes.Release(n)
		return errUnavailable(errServerBytes, nil)
	}
	r.held += n
	return nil
}

// shrink gives n reserved bytes back.
func (r *reservation) shrink(n int64) {
	n = min(n, r.held)
	if n <= 0 {
		return
	}
	r.s.totalBytes.Release(n)
	r.p.bytes.Release(n)
	r.held -= n
}

// done gives back the bytes and the upload slot.
func (r *reservation) done() {
	r.shrink(r.held)
	r.s.uploads.Release(1)
	r.p.uploads.Release(1)
}

// bodyDeadline sets the read deadline of a request's connection as its
// body arrives (and the write deadline writeTimeout after it): a body must
// keep up with a minimum rate after a grace period, as Apache's
// mod_reqtimeout does it: it may take grace plus one second per rate bytes
// received. A multipart upload may in addition make no progress for at
// most idle (extended every budgetStep); a JSON body is also bounded by
// limit from its start.
type bodyDeadline struct {
	rc       *http.ResponseController
	start    time.Time
	grace    time.Duration
	rate     int64 // bytes per second; 0: no minimum
	idle     time.Duration
	limit    time.Duration
	write    time.Duration
	total    int64
	progress int64
	idleEnd  time.Time
}

// newBodyDeadline starts the deadlines of w's connection for a request
// that began at d.start (its time waiting for an upload slot counts); with
// neither rate, idle nor limit, the server's timeouts stay in force.
func newBodyDeadline(w http.ResponseWriter, d bodyDeadline) *bodyDeadline {
	d.rc = http.NewResponseController(w)
	now := time.Now()
	if d.start.IsZero() {
		d.start = now
	}
	d.idleEnd = now.Add(d.idle)
	d.set(now)
	return &d
}

// set sets the deadlines at now.
func (d *bodyDeadline) set(now time.Time) {
	var deadline time.Time
	earliest := func(t time.Time) {
		if deadline.IsZero() || t.Before(deadline) {
			deadline = t
		}
	}
	if d.rate > 0 {
		earliest(d.start.Add(d.grace + time.Duration(float64(d.total)/float64(d.rate)*float64(time.Second))))
	}
	if d.idle > 0 {
		earliest(d.idleEnd)
	}
	if d.limit > 0 {
		earliest(d.start.Add(d.limit))
	}
	if deadline.IsZero() {
		return
	}
	// Not every connection supports deadlines (http.ErrNotSupported in
	// tests with recorders); the server's timeouts stay in force then.
	_ = d.rc.SetReadDeadline(deadline)
	if d.write > 0 { // else the server has no write timeout
		_ = d.rc.SetWriteDeadline(deadline.Add(d.write))
	}
}

// reader counts what r yields and moves the deadlines on.
func (d *bodyDeadline) reader(r io.Reader) io.Reader {
	return readerFunc(func(p []byte) (int, error) {
		n, err := r.Read(p)
		if n > 0 {
			d.total += int64(n)
			now := time.Now()
			if d.progress += int64(n); d.progress >= budgetStep {
				d.progress = 0
				d.idleEnd = now.Add(d.idle)
			}
			d.set(now)
		}
		return n, err
	})
}

// tooSlow reports whether err is a read that ran into the deadline: the
// body arrived too slowly.
func tooSlow(err error) bool {
	return errors.Is(err, os.ErrDeadlineExceeded)
}

// errTooSlow is the problem answering a body that arrived too slowly; the
// connection is closed after it.
func errTooSlow() *problemError {
	return &problemError{typ: ProblemRequestTimeout, status: http.StatusRequestTimeout,
		detail: text("the request body arrived too slowly", "der Inhalt der Anfrage kam zu langsam an"),
		header: http.Header{"Connection": {"close"}}}
}

// boundedWait acquires from semaphores one after the other, waiting at
// most wait for all of them together, as under one context.WithTimeout
// of parent. The timer starts only when an acquisition has to wait: one
// that succeeds at once (room, no one waiting, parent not done) takes
// no time, so the bound holds, and the common case sets no timer.
type boundedWait struct {
	parent context.Context
	wait   time.Duration
	ctx    context.Context // the bounded context, once a wait needed it
	cancel context.CancelFunc
}

// acquire takes n of sem, as sem.Acquire under the bounded context.
func (w *boundedWait) acquire(sem *semaphore.Weighted, n int64) error {
	if w.ctx == nil {
		if w.parent.Err() == nil && sem.TryAcquire(n) {
			return nil
		}
		w.ctx, w.cancel = context.WithTimeout(w.parent, w.wait)
	}
	return sem.Acquire(w.ctx, n)
}

// done releases the timer, if one was set.
func (w *boundedWait) done() {
	if w.cancel != nil {
		w.cancel()
	}
}
