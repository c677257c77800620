package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/amtsbote/amtsbote/adapters/fitconnect"
	"github.com/amtsbote/amtsbote/adapters/portalapi"
	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/intake/idtoken"
	"github.com/amtsbote/amtsbote/outbox"
)

// destinationTypeFitConnect is the destination type whose routes
// setupFitConnect builds (they need the store, which buildRoutes has not).
const destinationTypeFitConnect = "fitconnect"

// Retry policy of a sent submission's case message: it looks at the event
// log until the recipient decided, up to 15 days (FIT-Connect rejects
// what is not picked up within 14).
const (
	caseFirstLook   = 10 * time.Second
	caseMaxElapsed  = 15 * 24 * time.Hour
	callbackPathFmt = "/fitconnect/callbacks/"
	eventsPathFmt   = "/fitconnect/events/"
)

// fitconnectKeys are the parsed keys of a subscriber.
type fitconnectKeys struct {
	decryption, previous, signing fitconnect.Key
}

// parseFitConnectKeys parses and checks the keys of every subscriber and
// returns one problem per bad key with its reason (check-config prints
// them, serve refuses to start).
func parseFitConnectKeys(cfg *config.Config) ([]fitconnectKeys, []string) {
	keys := make([]fitconnectKeys, len(cfg.FitConnect.Subscribers))
	var problems []string
	for i, s := range cfg.FitConnect.Subscribers {
		path := fmt.Sprintf("fitconnect.subscribers[%d]", i)
		var err error
		if keys[i].decryption, err = fitconnect.ParseDecryptionKey([]byte(s.DecryptionKey.Value())); err != nil {
			problems = append(problems, fmt.Sprintf("%s.decryption_key: %v", path, err))
		}
		if prev := s.PreviousDecryptionKey.Value(); prev != "" {
			if keys[i].previous, err = fitconnect.ParseDecryptionKey([]byte(prev)); err != nil {
				problems = append(problems, fmt.Sprintf("%s.previous_decryption_key: %v", path, err))
			} else if keys[i].previous.KID() == keys[i].decryption.KID() {
				problems = append(problems, fmt.Sprintf("%s.previous_decryption_key: has the kid of decryption_key; a rotation needs a new kid", path))
			}
		}
		if keys[i].signing, err = fitconnect.ParseSigningKey([]byte(s.SigningKey.Value())); err != nil {
			problems = append(problems, fmt.Sprintf("%s.signing_key: %v", path, err))
		}
	}
	return keys, problems
}

// fitconnectParts are the FIT-Connect parts of serve: the subscribers and
// the callback listener.
type fitconnectParts struct {
	subscribers []*fitconnect.Subscriber
	callbacks   *httpServer // nil when fitconnect.callback_listen is empty
}

// fitconnectObserver is where the FIT-Connect parts count; nil observes nothing.
type fitconnectObserver = fitconnect.Observer

// setupFitConnect adds the routes of the subscribers' events and of the
// fitconnect destinations (sending, and following their cases) to routes,
// and builds the subscribers. Call it before setupNotifications installs
// the reactor.
func setupFitConnect(cfg *config.Config, st store, acceptor fitconnect.Acceptor, routes map[string]outbox.Route,
	obs fitconnectObserver, logger *slog.Logger, identityTokens *idtoken.Registry) (*fitconnectParts, error) {
	keys, problems := parseFitConnectKeys(cfg)
	if problems != nil {
		return nil, fmt.Errorf("fitconnect keys:\n  %s", joinLines(problems))
	}
	fp := &fitconnectParts{}
	var errs []error
	for i, s := range cfg.FitConnect.Subscribers {
		log := logger.With(slog.String("fitconnect_subscriber", s.ID))
		cl, err := fitconnect.NewClient(fitconnect.ClientConfig{SubmissionAPI: s.SubmissionAPI, TokenURL: s.TokenURL,
			ClientID: s.ClientID, ClientSecret: s.ClientSecret.Value(), Timeout: s.Timeout.Duration})
		if err != nil {
			errs = append(errs, fmt.Errorf("fitconnect subscriber %s: %w", s.ID, err))
			continue
		}
		services := make(map[string]string, len(s.Services))
		for _, svc := range s.Services {
			services[svc.Leika] = svc.Procedure
		}
		var identity *idtoken.Verifier
		if t := cfg.FitConnect.Subscribers[i].IdentityToken; t != nil {
			identity = identityTokens.Verifier(t)
		}
		sub, err := fitconnect.NewSubscriber(fitconnect.SubscriberConfig{Identity: identity, ID: s.ID, Tenant: s.Tenant, DestinationID: s.DestinationID,
			Client: cl, DecryptionKey: keys[i].decryption, PreviousDecryptionKey: keys[i].previous, Services: services, PollInterval: s.PollInterval.Duration,
			Concurrency: s.Concurrency, Intake: acceptor, Store: st, Observer: obs, Logger: log})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		events, err := fitconnect.NewEventDeliverer(fitconnect.EventDelivererConfig{Client: cl, SigningKey: keys[i].signing, Logger: log})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		routes[fitconnect.EventTopic(s.ID)] = outbox.Route{Deliverer: events, Options: outbox.TopicOptions{
			Policy: retryPolicy(s.Retry), Concurrency: max(s.Concurrency, config.DefaultNotificationConcurrency),
			Breaker: breakerOptions(config.Circuit{}.WithDefaults()),
		}}
		fp.subscribers = append(fp.subscribers, sub)
	}
	for ti := range cfg.Tenants {
		t := &cfg.Tenants[ti]
		for ri := range t.Procedures {
			r := &t.Procedures[ri]
			for di := range r.Destinations {
				d := &r.Destinations[di]
				if d.Type != destinationTypeFitConnect {
					continue
				}
				if err := addFitConnectDestination(cfg, st, t, r, d, routes, obs, logger); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.FitConnect.CallbackListen != "" {
		srv, err := fitconnectCallbackServer(cfg, st, fp.subscribers, obs, logger)
		if err != nil {
			return nil, err
		}
		fp.callbacks = srv
	}
	return fp, nil
}

// addFitConnectDestination adds the routes of one fitconnect destination:
// its topic, delivered by a Sender, and its case topic, by a CaseFollower.
func addFitConnectDestination(cfg *config.Config, st store, t *config.Tenant, r *config.Route, d *config.Destination,
	routes map[string]outbox.Route, obs fitconnectObserver, logger *slog.Logger) error {
	topic := config.Topic(t.ID, r.Procedure, d.ID)
	f := d.FitConnect
	log := logger.With(slog.String("topic", topic))
	cl, err := fitconnect.NewClient(fitconnect.ClientConfig{SubmissionAPI: f.SubmissionAPI, TokenURL: f.TokenURL,
		ClientID: f.ClientID, ClientSecret: f.ClientSecret.Value(), Timeout: f.Timeout.Duration})
	if err != nil {
		return fmt.Errorf("destination %s: %w", topic, err)
	}
	var callback *fitconnect.CreateCallback
	if f.CallbackURL != "" {
		callback = &fitconnect.CreateCallback{URL: f.CallbackURL, Secret: f.CallbackSecret.Value()}
	}
	sender, err := fitconnect.NewSender(fitconnect.SenderConfig{Tenant: t.ID, Procedure: r.Procedure, Destination: d.ID, Client: cl,
		DestinationID: f.DestinationID, RoutingAPI: f.RoutingAPI, ARS: f.ARS,
		Service: fitconnect.ServiceType{Identifier: f.Service, Name: f.ServiceName}, SchemaURI: f.SchemaURI, Callback: callback,
		Store: st, Logger: log})
	if err != nil {
		return fmt.Errorf("destination %s: %w", topic, err)
	}
	follower, err := fitconnect.NewCaseFollower(fitconnect.CaseFollowerConfig{Client: cl, PollInterval: f.EventPollInterval.Duration,
		Observer: obs, Destination: topic, Logger: log})
	if err != nil {
		return fmt.Errorf("destination %s: %w", topic, err)
	}
	concurrency := d.Concurrency
	if concurrency == 0 {
		concurrency = cfg.Relay.Concurrency
	}
	routes[topic] = outbox.Route{Deliverer: sender, Options: outbox.TopicOptions{
		Policy: retryPolicy(d.Retry), Concurrency: concurrency, Ordered: d.Ordered,
		Breaker: breakerOptions(d.Circuit.WithDefaults()),
	}}
	first := min(caseFirstLook, f.EventPollInterval.Duration)
	routes[fitconnect.CaseTopic(t.ID, r.Procedure, d.ID)] = outbox.Route{Deliverer: follower, Options: outbox.TopicOptions{
		Policy: outbox.RetryPolicy{InitialInterval: first, MaxInterval: f.EventPollInterval.Duration, Multiplier: 2,
			RandomizationFactor: outbox.DefaultRetryPolicy().RandomizationFactor, MaxElapsedTime: caseMaxElapsed},
		Concurrency: config.DefaultNotificationConcurrency,
		// "Not decided yet" is no failure of the destination.
		Breaker: outbox.BreakerOptions{Threshold: -1},
	}}
	return nil
}

// fitconnectCallbackServer serves the NewSubmissions callbacks of the
// subscribers with a callback secret at /fitconnect/callbacks/<id>, and
// the NewEvents callbacks of the fitconnect destinations with a callback
// URL at /fitconnect/events/<tenant>/<procedure>/<destination>.
func fitconnectCallbackServer(cfg *config.Config, st store, subs []*fitconnect.Subscriber, obs fitconnectObserver, logger *slog.Logger) (*httpServer, error) {
	mux := http.NewServeMux()
	byID := map[string]*fitconnect.Subscriber{}
	for _, s := range subs {
		byID[s.ID()] = s
	}
	for _, s := range cfg.FitConnect.Subscribers {
		if s.CallbackSecret.Value() == "" {
			continue
		}
		sub := byID[s.ID]
		mux.Handle("POST "+callbackPathFmt+s.ID, fitconnect.CallbackHandler([]byte(s.CallbackSecret.Value()), sub.Wake, obs, s.ID, nil))
	}
	for _, t := range cfg.Tenants {
		for _, r := range t.Procedures {
			for _, d := range r.Destinations {
				if d.Type != destinationTypeFitConnect || d.FitConnect.CallbackURL == "" {
					continue
				}
				topic := config.Topic(t.ID, r.Procedure, d.ID)
				h, err := fitconnect.NewEventsHandler(fitconnect.NewEventsConfig{Secret: []byte(d.FitConnect.CallbackSecret.Value()),
					Topic: fitconnect.CaseTopic(t.ID, r.Procedure, d.ID), Destination: topic, Store: st, Observer: obs,
					Logger: logger.With(slog.String("topic", topic))})
				if err != nil {
					return nil, fmt.Errorf("destination %s: %w", topic, err)
				}
				mux.Handle("POST "+eventsPathFmt+topic, h)
			}
		}
	}
	srv := portalapi.NewServer(cfg.FitConnect.CallbackListen, mux, serverTimeouts(cfg))
	ln, err := net.Listen("tcp", cfg.FitConnect.CallbackListen)
	if err != nil {
		return nil, fmt.Errorf("fitconnect callback listen: %w", err)
	}
	logger.Info("fitconnect callbacks listening", slog.String("listen", ln.Addr().String()))
	return &httpServer{srv: srv, ln: ln, timeout: cfg.Server.ShutdownTimeout.Duration}, nil
}

// subscribersPart runs every subscriber until the part stops.
func (fp *fitconnectParts) subscribersPart() part {
	p := part{name: "fitconnect subscribers"}
	if fp == nil || len(fp.subscribers) == 0 {
		return p
	}
	p.run = func(ctx context.Context) error {
		g, ctx := errgroup.WithContext(ctx)
		for _, s := range fp.subscribers {
			g.Go(func() error { return s.Run(ctx) })
		}
		return g.Wait()
	}
	return p
}

func joinLines(lines []string) string {
	out := ""
	for i, l := range lines {
		if i > 0 {
			out += "\n  "
		}
		out += l
	}
	return out
}
