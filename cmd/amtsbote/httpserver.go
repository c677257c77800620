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
// early, or one of a shutdown that did not finish within the timeout.
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
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	if err != nil {
		return fmt.Errorf("shutdown incomplete: %w", err)
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
