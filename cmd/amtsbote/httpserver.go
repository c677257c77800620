package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// httpServer is an HTTP server as a part of serve: it serves its listener
// until its context ends, then shuts down gracefully, letting requests in
// flight finish within the timeout.
type httpServer struct {
	srv     *http.Server
	ln      net.Listener
	timeout time.Duration
}

// Run serves until ctx ends. It returns the error that stopped serving
// early, or one of a shutdown that did not finish within the timeout; then
// the connections still open are closed, which cancels the contexts of their
// requests, so that handlers do not go on working against a store that
// closes after this part.
func (s *httpServer) Run(ctx context.Context) error {
	served := make(chan error, 1)
	go func() { served <- s.srv.Serve(s.ln) }()
	select {
	case err := <-served:
		return err // Serve always returns an error; http.ErrServerClosed only after Shutdown
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.timeout)
	defer cancel()
	err := s.srv.Shutdown(sctx)
	if err != nil {
		_ = s.srv.Close() // its error is that of closing the listener, closed already
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	if err != nil {
		return fmt.Errorf("shutdown incomplete, connections closed: %w", err)
	}
	return nil
}

// Addr is the address the server listens on.
func (s *httpServer) Addr() string { return s.ln.Addr().String() }

// part is s as a part of serve named name; nil (a server that is off) has none.
func (s *httpServer) part(name string) part {
	if s == nil {
		return part{name: name}
	}
	return part{name: name, run: s.Run}
}

// namedServer is an HTTP server of serve with the name its errors carry; a
// nil server is off.
type namedServer struct {
	name string
	srv  *httpServer
}

// httpServersPart runs servers side by side as one part named name: they
// stop together, so requests in flight on all of them finish within one
// shutdown timeout, not one after the other. A server that fails while
// serving stops the others and the part returns its error. The part has no
// run when every server is off.
func httpServersPart(name string, servers ...namedServer) part {
	var live []namedServer
	for _, s := range servers {
		if s.srv != nil {
			live = append(live, s)
		}
	}
	if len(live) == 0 {
		return part{name: name}
	}
	return part{name: name, run: func(ctx context.Context) error {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		errs := make(chan error, len(live))
		for _, s := range live {
			go func() {
				err := s.srv.Run(ctx)
				if err != nil {
					err = fmt.Errorf("%s: %w", s.name, err)
					cancel() // a failure stops the others at once
				}
				errs <- err
			}()
		}
		var all []error
		for range live {
			if err := <-errs; err != nil {
				all = append(all, err)
			}
		}
		return errors.Join(all...)
	}}
}
