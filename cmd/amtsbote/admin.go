package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"

	"github.com/amtsbote/amtsbote/adapters/adminapi"
	"github.com/amtsbote/amtsbote/adapters/portalapi"
	"github.com/amtsbote/amtsbote/config"
)

// adminServer is the admin API's listener, beside the portal API's.
type adminServer struct {
	srv  *http.Server
	addr string
	done chan error
}

// startAdmin serves the admin API on cfg.Admin.Listen, with the portal
// server's timeouts, or returns nil when the admin API is disabled.
func startAdmin(cfg *config.Config, st adminapi.Store, logger *slog.Logger) (*adminServer, error) {
	if !cfg.Admin.Enabled() {
		return nil, nil
	}
	h, err := adminapi.New(adminapi.Config{Admin: cfg.Admin, Store: st, Logger: logger.With(slog.String("api", "admin"))})
	if err != nil {
		return nil, err
	}
	srv := portalapi.NewServer(cfg.Admin.Listen, withOpenAPI(h), portalapi.Timeouts{
		ReadHeader: cfg.Server.ReadHeaderTimeout.Duration,
		Read:       cfg.Server.ReadTimeout.Duration,
		Write:      cfg.Server.WriteTimeout.Duration,
		Idle:       cfg.Server.IdleTimeout.Duration,
	})
	ln, err := net.Listen("tcp", cfg.Admin.Listen)
	if err != nil {
		return nil, fmt.Errorf("admin listen: %w", err)
	}
	a := &adminServer{srv: srv, addr: ln.Addr().String(), done: make(chan error, 1)}
	go func() { a.done <- srv.Serve(ln) }()
	return a, nil
}

// Done reports the server's end; it never does for a disabled (nil) server.
func (a *adminServer) Done() <-chan error {
	if a == nil {
		return nil
	}
	return a.done
}

// Shutdown stops the server, letting requests in flight finish within ctx.
func (a *adminServer) Shutdown(ctx context.Context, logger *slog.Logger) {
	if a == nil {
		return
	}
	if err := a.srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Warn("admin http shutdown incomplete", slog.Any("error", err))
	}
}
