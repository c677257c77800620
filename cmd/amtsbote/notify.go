package main

import (
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"time"
	_ "time/tzdata" // Europe/Berlin for the times in mails, also without a system zone database

	"github.com/amtsbote/amtsbote/adapters/fitconnect"
	"github.com/amtsbote/amtsbote/adapters/notify"
	"github.com/amtsbote/amtsbote/adapters/smtp"
	"github.com/amtsbote/amtsbote/adapters/webhook"
	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/outbox"
)

// mailTimeZone is the time zone of times in office and alarm mails.
const mailTimeZone = "Europe/Berlin"

// notifications are the parts of issue #5: the routes of office mails, alarm
// mails and callbacks, and the alarm monitor.
type notifications struct {
	monitor *notify.Monitor // nil when mail is off; it checks while a tenant has a technical contact
	logger  *slog.Logger
	mailer  outbox.Deliverer // nil when mail is off; a reload routes new tenants' mails to it
	loc     *time.Location
}

// setupNotifications adds the notification routes to routes, installs the
// reactor on st (before intake opens) and builds the alarm monitor.
//
// extra are further reactors (FIT-Connect's recipient decisions); each
// with something to do is installed with the notifications' reactor.
func setupNotifications(cfg *config.Config, st outbox.Store, routes map[string]outbox.Route, logger *slog.Logger, extra ...activeReactor) (*notifications, error) {
	loc, err := time.LoadLocation(mailTimeZone)
	if err != nil {
		return nil, fmt.Errorf("notifications: %w", err)
	}
	n := &notifications{logger: logger, loc: loc}
	var mailer outbox.Deliverer
	if cfg.Mail.Enabled() {
		m, err := smtp.New(smtp.Config{Settings: cfg.Mail, Logger: logger.With(slog.String("adapter", "smtp"))})
		if err != nil {
			return nil, err
		}
		mailer, n.mailer = m, m
		n.monitor, err = notify.NewMonitor(notify.MonitorConfig{Store: st, Config: cfg, Location: loc,
			Logger: logger.With(slog.String("component", "alarms"))})
		if err != nil {
			return nil, err
		}
	}
	if err := notificationRoutes(cfg, mailer, nil, routes, logger); err != nil {
		return nil, err
	}
	if err := installReactors(cfg, st, loc, logger, extra...); err != nil {
		return nil, err
	}
	return n, nil
}

// notificationRoutes adds the routes of office and alarm mails (delivered
// by mailer; nil when mail is off) and of the portals' callbacks to routes.
// A callback route of prev (the routes before a reload) whose portal's
// callback is unchanged in cfg is kept as it is.
func notificationRoutes(cfg *config.Config, mailer outbox.Deliverer, prev *reloadBase, routes map[string]outbox.Route, logger *slog.Logger) error {
	// Mails and callbacks are delivered like a destination's messages, with
	// their own retry policy, concurrency and circuit (mail.*, callback.*).
	add := func(topic string, d outbox.Deliverer, p config.RetryPolicy, concurrency int, c config.Circuit) {
		routes[topic] = outbox.Route{Deliverer: d, Options: outbox.TopicOptions{
			Policy:      retryPolicy(p),
			Concurrency: concurrency,
			Breaker:     breakerOptions(c.WithDefaults()),
		}}
	}
	if mailer != nil {
		for _, t := range cfg.Tenants {
			office := false
			for _, r := range t.Procedures {
				office = office || r.Notify.Office
			}
			if office {
				add(config.OfficeMailTopic(t.ID), mailer, cfg.Mail.Retry, cfg.Mail.EffectiveConcurrency(), cfg.Mail.Circuit)
			}
			if t.Contacts.Technical != "" {
				add(config.AlarmMailTopic(t.ID), mailer, cfg.Mail.Retry, cfg.Mail.EffectiveConcurrency(), cfg.Mail.Circuit)
			}
		}
	}
	var errs []error
	for _, p := range cfg.Portals {
		if p.Callback == nil {
			continue
		}
		topic := config.CallbackTopic(p.ID)
		if prev != nil {
			if old, ok := prev.cfg.Portal(p.ID); ok && reflect.DeepEqual(old.Callback, p.Callback) {
				if r, ok := prev.routes[topic]; ok {
					routes[topic] = r
					continue
				}
			}
		}
		d, err := webhook.New(webhook.Config{URL: p.Callback.URL, Secret: []byte(p.Callback.Secret.Value()), Portal: p.ID,
			Timeout: p.Callback.EffectiveTimeout(), Logger: logger.With(slog.String("topic", topic))})
		if err != nil {
			errs = append(errs, fmt.Errorf("portal %s: callback: %w", p.ID, err))
			continue
		}
		add(topic, d, p.Callback.Retry, p.Callback.EffectiveConcurrency(), p.Callback.Circuit)
	}
	return errors.Join(errs...)
}

// installReactors installs on st the reactors of cfg that have something
// to do: office mails and callbacks, and extra (FIT-Connect's recipient
// decisions), or none. A reload installs those of the new configuration.
func installReactors(cfg *config.Config, st outbox.Store, loc *time.Location, logger *slog.Logger, extra ...activeReactor) error {
	reactor, err := notify.NewReactor(notify.ReactorConfig{Config: cfg, Location: loc,
		Logger: logger.With(slog.String("component", "notify"))})
	if err != nil {
		return err
	}
	var reactors fitconnect.Reactors
	for _, r := range append([]activeReactor{reactor}, extra...) {
		if r.Active() {
			reactors = append(reactors, r)
		}
	}
	switch len(reactors) {
	case 0: // a reload may leave none: remove the previous configuration's
		st.SetReactor(nil)
	case 1:
		st.SetReactor(reactors[0])
	default:
		st.SetReactor(reactors)
	}
	return nil
}

// activeReactor is a reactor that can tell whether it has anything to do.
type activeReactor interface {
	outbox.Reactor
	Active() bool
}

// part is the alarm monitor as a part of serve; it has no run when there
// is no monitor.
func (n *notifications) part() part {
	p := part{name: "notifications"}
	if n != nil && n.monitor != nil {
		p.run = n.monitor.Run
	}
	return p
}

func breakerOptions(c config.Circuit) outbox.BreakerOptions {
	return outbox.BreakerOptions{Threshold: c.Threshold, Pause: c.Pause.Duration, MaxPause: c.MaxPause.Duration}
}
