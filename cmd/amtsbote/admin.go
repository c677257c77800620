package main

import (
	"fmt"
	"log/slog"
	"net"

	"github.com/amtsbote/amtsbote/adapters/adminapi"
	"github.com/amtsbote/amtsbote/adapters/portalapi"
	"github.com/amtsbote/amtsbote/config"
)

// adminServer returns the admin API's server on cfg.Admin.Listen, beside the
// portal API's, with the portal server's timeouts, or nil when the admin API
// is disabled.
//
// rm and rl, when set, serve replays with remap and reloads.
func adminServer(cfg *config.Config, st adminapi.Store, rm adminapi.Remapper, rl adminapi.Reloader, logger *slog.Logger) (*httpServer, error) {
	if !cfg.Admin.Enabled() {
		return nil, nil
	}
	h, err := adminapi.New(adminapi.Config{Admin: cfg.Admin, Store: st, Logger: logger.With(slog.String("api", "admin")),
		Remapper: rm, Reloader: rl})
	if err != nil {
		return nil, err
	}
	srv := portalapi.NewServer(cfg.Admin.Listen, withOpenAPI(h), serverTimeouts(cfg))
	ln, err := net.Listen("tcp", cfg.Admin.Listen)
	if err != nil {
		return nil, fmt.Errorf("admin listen: %w", err)
	}
	return &httpServer{srv: srv, ln: ln, timeout: cfg.Server.ShutdownTimeout.Duration}, nil
}
