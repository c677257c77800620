package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/amtsbote/amtsbote/adapters/adminapi"
	"github.com/amtsbote/amtsbote/adapters/fitconnect"
	"github.com/amtsbote/amtsbote/adapters/portalapi"
	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/intake"
	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/transform"
)

// Environment variables read by serve (besides those of config.Load).
const (
	envDemoPortalKey = "AMTSBOTE_DEMO_PORTAL_KEY"
	envLogLevel      = "AMTSBOTE_LOG_LEVEL"
)

// serve runs the gateway until SIGINT or SIGTERM, then shuts down in the
// order of services.parts: stop intake (503 to new requests), finish
// in-flight requests, let in-flight deliveries finish, stop notifications,
// close the store.
func serve(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "configuration file (YAML); without it the built-in demo configuration runs")
	dataDir := fs.String("data-dir", "amtsbote-data", "directory of the embedded SQLite database and the demo drop directory")
	listen := fs.String("listen", "", "listen address of the portal API (default from the configuration, 127.0.0.1:8080)")
	metricsListen := fs.String("metrics-listen", "", "listen address of /metrics, /healthz and /readyz (default from the configuration, metrics.listen; none)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "serve: unexpected arguments %v\n", fs.Args())
		return 2
	}

	level := slog.LevelInfo
	if v := os.Getenv(envLogLevel); v != "" {
		if err := level.UnmarshalText([]byte(v)); err != nil {
			fmt.Fprintf(stderr, "serve: %s: %v\n", envLogLevel, err)
			return 2
		}
	}
	logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))

	cfg, err := loadServeConfig(*configPath, *dataDir, stdout)
	if err != nil {
		logger.Error("configuration invalid", slog.Any("error", err))
		return 1
	}
	headroom := reserveHeapHeadroom(cfg.Database.URL != "", os.Getenv)
	defer runtime.KeepAlive(headroom)
	if *listen != "" {
		cfg.Server.Listen = *listen
	}
	if *metricsListen != "" {
		cfg.Metrics.Listen = *metricsListen
	}
	adjust := func(c *config.Config) {
		if *listen != "" {
			c.Server.Listen = *listen
		}
		if *metricsListen != "" {
			c.Metrics.Listen = *metricsListen
		}
	}
	if err := runServer(ctx, cfg, *dataDir, os.Getenv(envPprofListen), logger, *configPath, adjust); err != nil {
		logger.Error("amtsbote stopped with an error", slog.Any("error", err))
		return 1
	}
	return 0
}

// loadServeConfig loads the file, or builds the demo configuration with the demo
// portal key from the environment or a fresh one printed once.
func loadServeConfig(path, dataDir string, stdout io.Writer) (*config.Config, error) {
	if path != "" {
		return config.Load(path)
	}
	key, generated, err := demoPortalKey()
	if err != nil {
		return nil, err
	}
	if generated {
		fmt.Fprintf(stdout, "Demo configuration: portal %q, tenant %q, procedures %s.\n"+
			"Demo portal key (shown only now; set %s to choose it): %s\n",
			"demo-portal", "musterstadt", "meldewesen.wohnungsgeberbestaetigung, bau.baugenehmigung, gewerbe.anmeldung",
			envDemoPortalKey, key)
	}
	absDir, err := filepath.Abs(dataDir)
	if err != nil {
		return nil, err
	}
	cfg := config.Demo(absDir, config.HashKey(key))
	if v := os.Getenv(config.EnvDatabaseURL); v != "" {
		cfg.Database.URL = v
	}
	return cfg, cfg.Validate()
}

// runServer runs serve with cfg; configPath and adjust (the command line's
// overrides) are for reloads, configPath empty for the demo.
func runServer(ctx context.Context, cfg *config.Config, dataDir, pprofAddr string, logger *slog.Logger,
	configPath string, adjust func(*config.Config)) error {
	startCtx, cancelStart := context.WithTimeout(ctx, time.Minute)
	defer cancelStart()
	counter := statementCounter(cfg.Database)
	st, storeName, err := openStoreCounting(startCtx, cfg.Database, dataDir, counter, logger)
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	supervised := false // from then on, the supervisor closes the store
	defer func() {
		if supervised {
			return
		}
		if err := st.Close(); err != nil {
			logger.Error("closing store", slog.Any("error", err))
		}
	}()

	registry, err := newRegistry(cfg)
	if err != nil {
		return err
	}
	logMappingVersions(logger, registry)
	routes, err := buildRoutes(cfg, logger)
	if err != nil {
		return err
	}
	removeStaleTemps(routes, logger)
	// The relay is built once every route is known: FIT-Connect and the
	// notifications add theirs, and they need intake first.
	handoff := &lateHandoff{}
	in, err := intake.New(intake.Config{
		Config:   cfg,
		Store:    st,
		Registry: registry,
		Product:  product(),
		Logger:   logger,
		// Each database call of a submission; a JSON submission's are
		// bounded together by the portal API as well.
		DatabaseTimeout: cfg.Database.RequestTimeout.Duration,
		// The relay of this process delivers the messages it has a slot
		// for without claiming them.
		Handoff: handoff,
	})
	if err != nil {
		return err
	}
	fcObs := &fitconnectMetrics{}
	identityTokens, err := loadIdentityTokens(startCtx, cfg, logger)
	if err != nil {
		return err
	}
	fc, err := setupFitConnect(cfg, st, in, routes, fcObs, logger, identityTokens)
	if err != nil {
		return err
	}
	notes, err := setupNotifications(cfg, st, routes, logger, fitconnect.NewReactor(cfg)) // before intake opens: installs the reactor
	if err != nil {
		return err
	}
	ops, err := newOperations(cfg, st, routes, logger)
	if err != nil {
		return err
	}
	if err := registerStatementCounter(ops.metrics, counter); err != nil {
		return err
	}
	if fcObs.Observer, err = ops.registerFitConnect(cfg); err != nil {
		return err
	}
	host, _ := os.Hostname()
	owner := fmt.Sprintf("%s/%d/%s", host, os.Getpid(), uuid.NewString()[:8])
	shutdownTimeout := cfg.Server.ShutdownTimeout.Duration
	relay, err := outbox.NewRelay(st, outbox.RelayConfig{
		Routes: routes,
		Subscriber: outbox.SubscriberConfig{
			Owner:        owner,
			Lease:        cfg.Relay.Lease.Duration,
			PollInterval: cfg.Relay.PollInterval.Duration,
			Observe:      ops.metrics.ObserveAttempt,
		},
		CloseTimeout: shutdownTimeout,
		Logger:       logger,
	})
	if err != nil {
		return err
	}
	if err := ops.register(relay); err != nil {
		return err
	}
	handoff.relay.Store(relay)
	retention, err := outbox.NewRetention(st, outbox.RetentionConfig{
		After:    cfg.Retention.Payloads.Duration,
		Interval: cfg.Retention.Interval.Duration,
		Logger:   logger,
	})
	if err != nil {
		return err
	}
	answerSvc, err := newAnswerService(cfg, st, logger)
	if err != nil {
		return err
	}
	// Every answer channel receives through answers, which counts them.
	answers, err := ops.answerReceiver(cfg, answerSvc, st)
	if err != nil {
		return err
	}
	answerChannels, err := answerChannelsPart(cfg, answers, logger)
	if err != nil {
		return err
	}
	api, err := portalapi.New(portalapi.Config{
		Config:       cfg,
		Intake:       in,
		Answers:      answers,
		Store:        st,
		MaxBodyBytes: cfg.Server.MaxBodyBytes,
		// A multipart upload gets read_timeout per 64 KiB of progress.
		UploadIdleTimeout: cfg.Server.ReadTimeout.Duration,
		WriteTimeout:      cfg.Server.WriteTimeout.Duration,
		Logger:            logger,
		Observer:          ops,
		IdentityTokens:    identityTokens,
		// Fair intake (server.intake) and the database budget of a request.
		MaxInflightBodyBytes:    cfg.Server.Intake.MaxInflightBytes,
		PortalInflightBodyBytes: cfg.Server.Intake.PortalInflightBytes,
		InflightWait:            cfg.Server.Intake.InflightWait.Duration,
		MaxUploads:              cfg.Server.Intake.MaxUploads,
		PortalMaxUploads:        cfg.Server.Intake.PortalMaxUploads,
		MinBodyRate:             cfg.Server.Intake.MinBodyRate,
		BodyRateGrace:           cfg.Server.Intake.BodyRateGrace.Duration,
		BodyBufferBytes:         cfg.Server.Intake.BodyBufferBytes,
		SpoolDir:                cfg.Server.Intake.SpoolDir,
		DatabaseTimeout:         cfg.Database.RequestTimeout.Duration,
	})
	if err != nil {
		return err
	}
	srv := portalapi.NewServer(cfg.Server.Listen, withOpenAPI(api), serverTimeouts(cfg))
	tlsCfg, err := portalapi.TLSConfig(cfg.Server.TLS)
	if err != nil {
		return fmt.Errorf("portal api tls: %w", err)
	}

	reload := &reloader{path: configPath, adjust: adjust, st: st, in: in, api: api, relay: relay, notes: notes,
		obs: ops.metrics, logger: logger, drainTimeout: shutdownTimeout,
		cur: reloadBase{cfg: cfg, routes: routes}, generation: 1}
	reload.gen.Store(1)
	reload.follow(answerSvc.Reconfigure) // the HTTP, inbox and AMQP answers' tenants and limits

	// The listeners last: nothing fails after them but another listener.
	portal, admin, metricsSrv, err := listen(cfg, srv, tlsCfg, st, ops, remapper{in: in, st: st}, reload, logger)
	if err != nil {
		return err
	}
	var svc services
	svc.drain = part{name: "drain", run: untilStopped(func(ctx context.Context) error {
		// New requests get 503 with Retry-After for the drain delay (not
		// after a failure), and /readyz answers 503.
		api.SetDraining(true)
		ops.stopping()
		logger.Info("shutting down: intake stops")
		if d := cfg.Server.DrainDelay; stopRequested(ctx) && d != nil && d.Duration > 0 {
			time.Sleep(d.Duration)
		}
		return nil
	})}
	var fitconnectCallbacks *httpServer // nil without a callback listener
	if fc != nil {
		fitconnectCallbacks = fc.callbacks
	}
	svc.http = httpServersPart("http servers", namedServer{name: "portal api", srv: portal},
		namedServer{name: "admin api", srv: admin}, namedServer{name: "fitconnect callbacks", srv: fitconnectCallbacks})
	svc.fitconnect = fc.subscribersPart()
	svc.answerChannels = answerChannels
	svc.relay = part{name: "relay", run: func(ctx context.Context) error {
		stop := context.AfterFunc(ctx, func() { logger.Info("shutting down: relay drains") })
		defer stop()
		err := relay.Run(ctx)
		closeDeliverers(reload.routesInForce(), logger)
		return err
	}}
	svc.retention = part{name: "retention", run: retention.Run}
	svc.notifications = notes.part()
	svc.operations = metricsSrv.part("metrics http server")
	svc.pprof = pprofPart(pprofAddr, logger)
	svc.store = part{name: "store", run: untilStopped(func(context.Context) error { return st.Close() })}
	svc.reload = reload.part()

	sup := &supervisor{parts: svc.parts(), logger: logger, started: func() {
		logger.Info("amtsbote started",
			slog.String("version", buildVersion()), slog.String("listen", portal.Addr()),
			slog.String("store", storeName), slog.String("owner", owner),
			slog.Int("tenants", len(cfg.Tenants)), slog.Int("destinations", len(routes)), slog.Int64("generation", 1))
		logPreviousKeys(logger, cfg, time.Now())
	}}
	supervised = true
	err = sup.run(ctx)
	logger.Info("amtsbote stopped")
	return err
}

// services are the long-running parts of serve, by role.
type services struct {
	reload part // reloads on SIGHUP; stops first
	drain  part // readyz and new requests answer 503 for the drain delay
	// http: the portal and admin APIs and the FIT-Connect callback listener;
	// in-flight requests finish, within one shutdown timeout.
	http part
	// fitconnect stops with the intake: no new pickups; the events it
	// queued are the relay's.
	fitconnect    part
	relay         part // in-flight deliveries finish, the leases of the rest are released
	retention     part // runs with the relay
	notifications part // the alarm monitor
	operations    part // metrics and probes: scrapes see the whole shutdown
	pprof         part
	store         part // closes last

	// answerChannels (the file inboxes and AMQP queues of answers) stop
	// with the intake, after fitconnect: no new answers are taken.
	answerChannels part
}

// parts lists the services in the order they stop, the one place where it
// is written: first intake stops (drain, then the listeners of the portal
// and admin APIs close together and requests in flight finish), then
// deliveries, then notifications; the metrics listener and the store close
// last. They start in the reverse order.
//
// The worst case of a stop is drain_delay + 2 × shutdown_timeout (HTTP
// servers, relay) + the relay's grace for deliveries given up + 5 s
// (metrics): deploy/systemd/amtsbote.service's TimeoutStopSec leaves room
// for it with the defaults.
func (s services) parts() []part {
	return []part{s.reload, s.drain, s.http, s.fitconnect, s.answerChannels, s.relay, s.retention, s.notifications, s.operations, s.pprof, s.store}
}

// listen binds the listeners of the portal API, the admin API (nil when it is
// off) and the metrics (nil when off); on an error, none stays open.
func listen(cfg *config.Config, srv *http.Server, tlsCfg *tls.Config, st store, ops *operations,
	rm adminapi.Remapper, rl adminapi.Reloader, logger *slog.Logger) (portal, admin, metricsSrv *httpServer, err error) {
	ln, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("listen: %w", err)
	}
	if tlsCfg != nil {
		srv.TLSConfig = tlsCfg
		ln = tls.NewListener(ln, tlsCfg)
	}
	portal = &httpServer{srv: srv, ln: ln, timeout: cfg.Server.ShutdownTimeout.Duration}
	admin, err = adminServer(cfg, st, ops, rm, rl, logger)
	if err != nil {
		ln.Close()
		return nil, nil, nil, err
	}
	if admin != nil {
		logger.Info("admin api started", slog.String("listen", admin.Addr()))
	}
	metricsSrv, err = ops.server()
	if err != nil {
		ln.Close()
		if admin != nil {
			admin.ln.Close()
		}
		return nil, nil, nil, err
	}
	return portal, admin, metricsSrv, nil
}

// rotation is a portal in an API key rotation: its previous key works until
// expires (active), or has expired and should be removed from the
// configuration.
type rotation struct {
	index   int // in cfg.Portals
	portal  string
	expires time.Time
	active  bool
}

// rotations lists the portals with a previous API key at now; serve logs
// them at start, check-config prints them.
func rotations(cfg *config.Config, now time.Time) []rotation {
	var rs []rotation
	for i, p := range cfg.Portals {
		if k := p.PreviousKey; k != nil {
			rs = append(rs, rotation{index: i, portal: p.ID, expires: k.Expires.Time, active: k.Active(now)})
		}
	}
	return rs
}

// logPreviousKeys logs the rotations: Info while the previous key works,
// Warn once it has expired.
func logPreviousKeys(logger *slog.Logger, cfg *config.Config, now time.Time) {
	for _, r := range rotations(cfg, now) {
		attrs := []slog.Attr{slog.String("portal_id", r.portal), slog.Time("expires", r.expires)}
		if r.active {
			logger.LogAttrs(context.Background(), slog.LevelInfo, "portal's previous API key accepted until it expires", attrs...)
			continue
		}
		logger.LogAttrs(context.Background(), slog.LevelWarn,
			fmt.Sprintf("portal's previous API key has expired and is refused; remove portals[%d].previous_key", r.index), attrs...)
	}
}

// product names this software in the messages; serve and a CLI remap map alike.
func product() transform.Product {
	return transform.Product{Name: "Amtsbote", Manufacturer: "Amtsbote-Projekt", Version: buildVersion()}
}

// serverTimeouts are the timeouts of every HTTP listener of serve (portal
// API, admin API, FIT-Connect callbacks), from server.*.
func serverTimeouts(cfg *config.Config) portalapi.Timeouts {
	return portalapi.Timeouts{
		ReadHeader: cfg.Server.ReadHeaderTimeout.Duration,
		Read:       cfg.Server.ReadTimeout.Duration,
		Write:      cfg.Server.WriteTimeout.Duration,
		Idle:       cfg.Server.IdleTimeout.Duration,
	}
}

// lateHandoff is intake's Handoff before the relay exists: it offers
// nothing until relay is set.
type lateHandoff struct{ relay atomic.Pointer[outbox.Relay] }

// Offer asks the relay, once there is one, for a slot on topic.
func (h *lateHandoff) Offer(topic string) (*outbox.Ticket, bool) {
	r := h.relay.Load()
	if r == nil {
		return nil, false
	}
	return r.Offer(topic)
}
