package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/amtsbote/amtsbote/adapters/fitconnect"
	"github.com/amtsbote/amtsbote/adapters/metrics"
	"github.com/amtsbote/amtsbote/adapters/openapi"
	"github.com/amtsbote/amtsbote/adapters/portalapi"
	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/outbox"
)

// operations are the metrics and health probes of serve, and their listener
// (metrics.listen; none when it is empty).
type operations struct {
	cfg     *config.Config
	st      store
	logger  *slog.Logger
	metrics *metrics.Metrics
	health  *metrics.Health
	relay   *outbox.Relay // for the console's circuit states
}

// newOperations builds the collectors. Label values come only from the
// configured routes and the relay's topics.
func newOperations(cfg *config.Config, st store, routes map[string]outbox.Route, logger *slog.Logger) (*operations, error) {
	topics := make([]string, 0, len(routes))
	for t := range routes {
		topics = append(topics, t)
	}
	var rs []metrics.Route
	for _, t := range cfg.Tenants {
		for _, r := range t.Procedures {
			rs = append(rs, metrics.Route{Tenant: t.ID, Procedure: r.Procedure})
		}
	}
	logger = logger.With(slog.String("component", "metrics"))
	previousKeys := map[string]time.Time{}
	for _, p := range cfg.Portals {
		if p.PreviousKey != nil {
			previousKeys[p.ID] = p.PreviousKey.Expires.Time
		}
	}
	m, err := metrics.New(metrics.Config{Topics: topics, Routes: rs, PreviousKeys: previousKeys,
		Store: st, Version: buildVersion(), Logger: logger})
	if err != nil {
		return nil, err
	}
	return &operations{cfg: cfg, st: st, logger: logger, metrics: m}, nil
}

// ObserveRequest makes operations the portal API's RequestObserver.
func (o *operations) ObserveRequest(r portalapi.RequestOutcome) {
	o.metrics.ObserveRequest(metrics.Request{
		Route: r.Route, Submission: r.Route == portalapi.RouteSubmit, Portal: r.Portal, PreviousKey: r.PreviousKey,
		Tenant: r.Tenant, Procedure: r.Procedure, Status: r.Status, Replayed: r.Replayed, Duration: r.Duration,
		IdentityRefused: r.IdentityRefused,
	})
}

// register adds the relay's collectors and the probes.
func (o *operations) register(relay *outbox.Relay) error {
	if err := o.metrics.RegisterRelay(relay); err != nil {
		return err
	}
	o.health = metrics.NewHealth(metrics.HealthConfig{Database: o.st, Relay: relay, Logger: o.logger})
	o.relay = relay
	return nil
}

// server returns the listener of the metrics and probes on metrics.listen,
// or nil when it is not set. Call it after register.
func (o *operations) server() (*httpServer, error) {
	if o.cfg.Metrics.Listen == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", o.cfg.Metrics.Listen)
	if err != nil {
		return nil, fmt.Errorf("metrics listen: %w", err)
	}
	srv := &http.Server{
		Handler:           portalapi.SecurityHeaders(metrics.NewHandler(o.metrics, o.health)),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    portalapi.MaxHeaderBytes,
	}
	o.logger.Info("metrics listener started", slog.String("listen", ln.Addr().String()))
	return &httpServer{srv: srv, ln: ln, timeout: 5 * time.Second}, nil
}

// stopping makes /readyz answer 503 from now on: intake stops.
func (o *operations) stopping() {
	if o.health != nil {
		o.health.SetStopping(true)
	}
}

// withOpenAPI serves the API description at /openapi.yaml beside h.
func withOpenAPI(h http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/openapi.yaml", openapi.Handler())
	mux.Handle("/", h)
	return mux
}

// fitconnectMetrics forwards to the FIT-Connect metrics, which exist only
// once the operations are built, after the FIT-Connect parts; it observes
// nothing until then (nothing runs before).
type fitconnectMetrics struct {
	fitconnect.Observer
}

// registerFitConnect registers the FIT-Connect metrics with series for the
// configured subscribers and fitconnect destinations.
func (o *operations) registerFitConnect(cfg *config.Config) (fitconnect.Observer, error) {
	var subs, dests []string
	for _, s := range cfg.FitConnect.Subscribers {
		subs = append(subs, s.ID)
	}
	for _, t := range cfg.Tenants {
		for _, r := range t.Procedures {
			for _, d := range r.Destinations {
				if d.Type == destinationTypeFitConnect {
					dests = append(dests, config.Topic(t.ID, r.Procedure, d.ID))
				}
			}
		}
	}
	return o.metrics.RegisterFitConnect(subs, dests)
}
