package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"

	"github.com/amtsbote/amtsbote/adapters/adminapi"
	"github.com/amtsbote/amtsbote/adapters/console"
	"github.com/amtsbote/amtsbote/adapters/portalapi"
	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/intake"
)

// adminServer returns the admin API's server on cfg.Admin.Listen, beside the
// portal API's, with the portal server's timeouts, or nil when the admin API
// is disabled. The console is served under /console/ on the same listener
// unless admin.console.disabled; both share one failed-key throttle. ops
// gives the console the readiness checks and the relay's circuit states;
// rm and rl, when set, serve replays with remap and reloads.
func adminServer(cfg *config.Config, st store, ops *operations, rm adminapi.Remapper, rl adminapi.Reloader, logger *slog.Logger) (*httpServer, error) {
	if !cfg.Admin.Enabled() {
		return nil, nil
	}
	var answers adminapi.AnswerResolver
	if as, ok := st.(intake.AnswerStore); ok {
		svc, err := newAnswerService(cfg, as, logger)
		if err != nil {
			return nil, err
		}
		answers = svc
		if gr, ok := rl.(*reloader); ok {
			gr.follow(svc.Reconfigure)
		}
	}
	throttle := adminapi.NewThrottle(cfg.Admin.FailedKeyLimit, cfg.Admin.FailedKeyWindow.Duration)
	h, err := adminapi.New(adminapi.Config{Admin: cfg.Admin, Store: st, Throttle: throttle,
		Logger: logger.With(slog.String("api", "admin")), Answers: answers, Remapper: rm, Reloader: rl})
	if err != nil {
		return nil, err
	}
	var handler http.Handler = withOpenAPI(h)
	if !cfg.Admin.Console.Disabled {
		cc := consoleConfig(cfg, st, ops, throttle, logger)
		cc.Remapper = rm
		if gr, ok := rl.(*reloader); ok {
			// The overview shows the generation; tenants follow reloads.
			cc.Generation = func() string { return strconv.FormatInt(gr.Generation(), 10) }
		}
		if reader, ok := st.(adminapi.AnswerReader); ok {
			cc.Answers = console.StoreAnswers{Store: reader, Resolver: answers}
		}
		c, err := console.New(cc)
		if err != nil {
			return nil, err
		}
		if gr, ok := rl.(*reloader); ok {
			gr.follow(func(next *config.Config) error { c.Reconfigure(next.Tenants); return nil })
		}
		mux := http.NewServeMux()
		mux.Handle(console.Prefix, c)
		mux.Handle("GET /{$}", http.RedirectHandler(console.Prefix, http.StatusSeeOther))
		mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
		mux.Handle("/", handler)
		handler = mux
	}
	srv := portalapi.NewServer(cfg.Admin.Listen, handler, serverTimeouts(cfg))
	ln, err := net.Listen("tcp", cfg.Admin.Listen)
	if err != nil {
		return nil, fmt.Errorf("admin listen: %w", err)
	}
	if cfg.Admin.TLS.Enabled() {
		tlsCfg, err := portalapi.TLSConfig(cfg.Admin.TLS)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("admin tls: %w", err)
		}
		srv.TLSConfig = tlsCfg
		ln = tls.NewListener(ln, tlsCfg)
	}
	return &httpServer{srv: srv, ln: ln, timeout: cfg.Server.ShutdownTimeout.Duration}, nil
}

// consoleConfig wires the console to the store, the probes and the relay.
func consoleConfig(cfg *config.Config, st store, ops *operations, throttle *adminapi.Throttle, logger *slog.Logger) console.Config {
	c := console.Config{Admin: cfg.Admin, Tenants: cfg.Tenants, StalledAfter: cfg.Alarms.EffectiveStalledAfter(),
		Store: st, Throttle: throttle, TLS: cfg.Admin.TLS.Enabled(), Logger: logger.With(slog.String("api", "console"))}
	if ops != nil && ops.health != nil {
		health := ops.health
		c.Readiness = func(ctx context.Context) (bool, map[string]string) {
			r := health.Check(ctx)
			return r.Ready(), r.Checks
		}
	}
	if ops != nil && ops.relay != nil {
		relay := ops.relay
		c.Circuit = func(topic string) string { return relay.CircuitState(topic).String() }
	}
	return c
}
