package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"

	"github.com/amtsbote/amtsbote/adapters/amqp"
	"github.com/amtsbote/amtsbote/adapters/filedrop"
	"github.com/amtsbote/amtsbote/adapters/httppost"
	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/outbox/postgres"
	"github.com/amtsbote/amtsbote/outbox/sqlite"
	"github.com/amtsbote/amtsbote/transform"
	"github.com/amtsbote/amtsbote/transform/envelope"
	"github.com/amtsbote/amtsbote/transform/xbau"
	"github.com/amtsbote/amtsbote/transform/xgewerbe"
	"github.com/amtsbote/amtsbote/transform/xmeld"
	"github.com/amtsbote/amtsbote/transform/xschule"
)

// store is an outbox store that can tell whether its schema is current.
type store interface {
	outbox.Store
	MigrationsApplied(ctx context.Context) (bool, error)
}

// openStore opens the store of cfg, sealing payloads at rest when
// database.encryption is set (sealStore).
func openStore(ctx context.Context, cfg config.Database, dataDir string, logger *slog.Logger) (store, string, error) {
	return openStoreCounting(ctx, cfg, dataDir, nil, logger)
}

// openStoreCounting is openStore with PostgreSQL's statements counted by
// counter, when it is not nil.
func openStoreCounting(ctx context.Context, cfg config.Database, dataDir string, counter *postgres.StatementCounter, logger *slog.Logger) (store, string, error) {
	s, name, err := openDatabase(ctx, cfg, dataDir, counter, logger)
	if err != nil {
		return nil, name, err
	}
	st, err := sealStore(s, cfg.Encryption, logger)
	return st, name, err
}

// openDatabase opens PostgreSQL when database.url is set, else SQLite in dataDir.
func openDatabase(ctx context.Context, cfg config.Database, dataDir string, counter *postgres.StatementCounter, logger *slog.Logger) (store, string, error) {
	if cfg.URL != "" {
		s, err := postgres.Open(ctx, postgres.Config{URL: cfg.URL, MaxConns: int32(cfg.MaxConns), Logger: logger,
			AcquireTimeout: cfg.AcquireTimeout.Duration, StatementTimeout: cfg.StatementTimeout.Duration, Counter: counter})
		return s, "postgres", err
	}
	path := cfg.Path
	if path == "" {
		path = filepath.Join(dataDir, "amtsbote.db")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, "", fmt.Errorf("create data directory: %w", err)
	}
	if fi, err := os.Stat(filepath.Dir(path)); err == nil && fi.Mode().Perm()&0o007 != 0 {
		// An existing directory may be shared on purpose: say so, change nothing.
		// The database files themselves are made 0600 by sqlite.Open.
		logger.Warn("the data directory is accessible to other users; make it 0700 (chmod o-rwx)",
			slog.String("dir", filepath.Dir(path)), slog.String("mode", fi.Mode().Perm().String()))
	}
	// The single writer's lock waits are bounded like a request's database time.
	s, err := sqlite.OpenConfig(ctx, sqlite.Config{Path: path, BusyTimeout: cfg.RequestTimeout.Duration, Logger: logger})
	return s, "sqlite " + path, err
}

// mappers names the procedures with a dedicated XÖV mapper. Other configured
// procedures are carried in the generic Amtsbote envelope.
var mappers = map[string]func() (transform.Mapper, error){
	xbau.Procedure:     func() (transform.Mapper, error) { return xbau.New() },
	xgewerbe.Procedure: func() (transform.Mapper, error) { return xgewerbe.New() },
	xmeld.Procedure:    func() (transform.Mapper, error) { return xmeld.New() },
	xschule.Procedure:  func() (transform.Mapper, error) { return xschule.New() },
}

// newRegistry registers a mapper for every configured procedure.
func newRegistry(cfg *config.Config) (*transform.Registry, error) {
	reg := transform.NewRegistry()
	var errs []error
	for _, p := range cfg.Procedures {
		newMapper, ok := mappers[p.ID]
		if !ok {
			newMapper = func() (transform.Mapper, error) { return envelope.New(), nil }
		}
		if p.Dir != "" {
			newMapper = func() (transform.Mapper, error) { return loadProcedureDir(p) }
		}
		m, err := newMapper()
		if err != nil {
			errs = append(errs, fmt.Errorf("procedure %s: %w", p.ID, err))
			continue
		}
		if err := reg.Register(p.ID, m); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return reg, nil
}

// removeStaleTemps removes, at start, what deliverers killed mid-write
// left behind (the file drops' temporary files).
func removeStaleTemps(routes map[string]outbox.Route, logger *slog.Logger) {
	type cleaner interface{ RemoveStaleTemps() (int, error) }
	for topic, r := range routes {
		c, ok := r.Deliverer.(cleaner)
		if !ok {
			continue
		}
		n, err := c.RemoveStaleTemps()
		if err != nil {
			logger.Warn("stale temporary files not removed", slog.String("topic", topic), slog.Any("error", err))
		}
		if n > 0 {
			logger.Info("stale temporary files of interrupted deliveries removed", slog.String("topic", topic), slog.Int("files", n))
		}
	}
}

// delivererFactory builds the adapter of one destination.
type delivererFactory func(tenant *config.Tenant, route *config.Route, d *config.Destination, logger *slog.Logger) (outbox.Deliverer, error)

// adapters maps destination types to their factories.
var adapters = map[string]delivererFactory{
	"filedrop": func(tenant *config.Tenant, route *config.Route, d *config.Destination, logger *slog.Logger) (outbox.Deliverer, error) {
		return filedrop.New(filedrop.Config{Dir: d.FileDrop.Dir, Tenant: tenant.ID, Procedure: route.Procedure, Logger: logger})
	},
	"http": func(tenant *config.Tenant, route *config.Route, d *config.Destination, logger *slog.Logger) (outbox.Deliverer, error) {
		return httppost.New(httppost.Config{Settings: *d.HTTP, Tenant: tenant.ID, Procedure: route.Procedure,
			Destination: d.ID, Logger: logger})
	},
	"amqp": func(tenant *config.Tenant, route *config.Route, d *config.Destination, logger *slog.Logger) (outbox.Deliverer, error) {
		return amqp.New(amqp.Config{Settings: *d.AMQP, Tenant: tenant.ID, Procedure: route.Procedure,
			Destination: d.ID, Logger: logger, MaxMessageBytes: d.AMQP.MaxMessageBytes})
	},
}

// closeDeliverers releases what deliverers hold (broker connections), after the relay stopped.
func closeDeliverers(routes map[string]outbox.Route, logger *slog.Logger) {
	for topic, r := range routes {
		if c, ok := r.Deliverer.(io.Closer); ok {
			if err := c.Close(); err != nil {
				logger.Warn("closing destination", slog.String("topic", topic), slog.Any("error", err))
			}
		}
	}
}

// buildRoutes builds one relay route per configured destination, reporting every problem.
func buildRoutes(cfg *config.Config, logger *slog.Logger) (map[string]outbox.Route, error) {
	return buildRoutesFrom(cfg, nil, logger)
}

// buildRoutesFrom is buildRoutes for a reload: a destination configured as
// in prev (and with the same default concurrency) keeps its route and
// deliverer, so that its deliveries run on untouched.
func buildRoutesFrom(cfg *config.Config, prev *reloadBase, logger *slog.Logger) (map[string]outbox.Route, error) {
	routes := map[string]outbox.Route{}
	var errs []error
	for ti := range cfg.Tenants {
		tenant := &cfg.Tenants[ti]
		for ri := range tenant.Procedures {
			route := &tenant.Procedures[ri]
			for di := range route.Destinations {
				d := &route.Destinations[di]
				topic := config.Topic(tenant.ID, route.Procedure, d.ID)
				if d.Type == destinationTypeFitConnect {
					continue // setupFitConnect: it needs the store
				}
				if r, ok := prev.unchanged(cfg, tenant, route, d, topic); ok {
					routes[topic] = r
					continue
				}
				factory, ok := adapters[d.Type]
				if !ok {
					errs = append(errs, fmt.Errorf("destination %s: no adapter for type %q", topic, d.Type))
					continue
				}
				deliverer, err := factory(tenant, route, d, logger.With(slog.String("topic", topic)))
				if err != nil {
					errs = append(errs, fmt.Errorf("destination %s: %w", topic, err))
					continue
				}
				concurrency := d.Concurrency
				if concurrency == 0 {
					concurrency = cfg.Relay.Concurrency
				}
				routes[topic] = outbox.Route{Deliverer: deliverer, Options: outbox.TopicOptions{
					Policy:      retryPolicy(d.Retry),
					Concurrency: concurrency,
					Ordered:     d.Ordered,
					Breaker: outbox.BreakerOptions{
						Threshold: d.Circuit.Threshold,
						Pause:     d.Circuit.Pause.Duration,
						MaxPause:  d.Circuit.MaxPause.Duration,
					},
				}}
			}
		}
	}
	return routes, errors.Join(errs...)
}

// unchanged returns prev's route of topic when its destination is
// configured exactly as in cfg (a nil prev has none).
func (prev *reloadBase) unchanged(cfg *config.Config, tenant *config.Tenant, route *config.Route, d *config.Destination, topic string) (outbox.Route, bool) {
	if prev == nil || prev.cfg.Relay.Concurrency != cfg.Relay.Concurrency {
		return outbox.Route{}, false
	}
	r, ok := prev.routes[topic]
	if !ok {
		return outbox.Route{}, false
	}
	pt, ok := prev.cfg.Tenant(tenant.ID)
	if !ok {
		return outbox.Route{}, false
	}
	pr, ok := pt.Route(route.Procedure)
	if !ok {
		return outbox.Route{}, false
	}
	for i := range pr.Destinations {
		if pr.Destinations[i].ID == d.ID && reflect.DeepEqual(pr.Destinations[i], *d) {
			return r, true
		}
	}
	return outbox.Route{}, false
}

func retryPolicy(p config.RetryPolicy) outbox.RetryPolicy {
	p = p.WithDefaults()
	return outbox.RetryPolicy{
		InitialInterval:     p.InitialInterval.Duration,
		MaxInterval:         p.MaxInterval.Duration,
		Multiplier:          p.Multiplier,
		RandomizationFactor: outbox.DefaultRetryPolicy().RandomizationFactor,
		MaxElapsedTime:      p.MaxElapsedTime.Duration,
	}
}
