package httppost

import (
	"context"
	"io"
	"net/http"
	"sync"
)

// pipeBody returns what write writes, as a stream produced while it is
// read: write runs in a goroutine of its own, and its error is the
// stream's. Close stops write (its next write fails) and waits for it to
// return, so nothing reads the blob store after the request is done.
func pipeBody(write func(w io.Writer) error) io.ReadCloser {
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		pw.CloseWithError(write(pw))
	}()
	return &pipeReader{PipeReader: pr, done: done}
}

type pipeReader struct {
	*io.PipeReader
	done chan struct{}
}

func (p *pipeReader) Close() error {
	err := p.PipeReader.Close()
	<-p.done
	return err
}

// holdLast passes r through but holds its last byte back until r has
// reported its end: a stored blob's size and checksum are checked only
// there (outbox.BlobReader), and a receiver counting the bytes of a
// Content-Length must not get a whole body whose check failed.
type holdLast struct {
	r   io.Reader
	buf [32 << 10]byte
	n   int   // bytes in buf
	err error // of r, once it reported one
}

func (h *holdLast) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for h.err == nil && h.n < 2 {
		m, err := h.r.Read(h.buf[h.n:])
		h.n += m
		h.err = err
	}
	if h.err != nil && h.err != io.EOF {
		return 0, h.err // the bytes held back never go out
	}
	avail := h.n
	if h.err == nil {
		avail-- // more may follow: keep the last byte
	}
	if avail == 0 {
		return 0, io.EOF
	}
	c := copy(p, h.buf[:avail])
	h.n = copy(h.buf[:], h.buf[c:h.n])
	return c, nil
}

// bodySource opens the body of a streamed request: once for the request,
// and again whenever the transport asks for it (GetBody, before it sends
// the request once more on a fresh connection). It keeps the first error
// of opening or reading any of the bodies: the transport reports such an
// error as its own, without the cause (a missing blob, a store failure)
// that decides whether it is permanent.
type bodySource struct {
	ctx  context.Context
	open func(context.Context) (io.ReadCloser, int64, error)

	mu     sync.Mutex
	opened []io.Closer
	closed bool
	err    error
}

// next opens the body afresh.
func (s *bodySource) next() (io.ReadCloser, int64, error) {
	rc, n, err := s.open(s.ctx)
	if err != nil {
		s.record(err)
		return nil, 0, err
	}
	if n == 0 {
		_ = rc.Close()
		return http.NoBody, 0, nil // ContentLength 0 with another body would be sent chunked
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opened = append(s.opened, rc)
	return recordingBody{ReadCloser: rc, s: s}, n, nil
}

// getBody is next as http.Request.GetBody.
func (s *bodySource) getBody() (io.ReadCloser, error) {
	rc, _, err := s.next()
	return rc, err
}

func (s *bodySource) record(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed && s.err == nil {
		s.err = err
	}
}

// close ends the request: from now on errors are not recorded, then stop
// (cancelling the request's context) ends what is still under way, and
// every body opened is closed, which stops its production. It returns the
// first error of opening or reading a body before that.
func (s *bodySource) close(stop func()) error {
	s.mu.Lock()
	s.closed = true
	err, opened := s.err, s.opened
	s.opened = nil
	s.mu.Unlock()
	stop()
	for _, c := range opened {
		_ = c.Close()
	}
	return err
}

// recordingBody records the read errors of a body in its source.
type recordingBody struct {
	io.ReadCloser
	s *bodySource
}

func (b recordingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		b.s.record(err)
	}
	return n, err
}
