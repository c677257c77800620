package main

import (
	"errors"
	"fmt"
	"log/slog"
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
	monitor *notify.Monitor // nil when no tenant has a technical contact or mail is off
	logger  *slog.Logger
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
	n := &notifications{logger: logger}
	var errs []error
	// Mails and callbacks are delivered like a destination's messages, with
	// their own retry policy, concurrency and circuit (mail.*, callback.*).
	add := func(topic string, d outbox.Deliverer, p config.RetryPolicy, concurrency int, c config.Circuit) {
		routes[topic] = outbox.Route{Deliverer: d, Options: outbox.TopicOptions{
			Policy:      retryPolicy(p),
			Concurrency: concurrency,
			Breaker:     breakerOptions(c.WithDefaults()),
		}}
	}
	if cfg.Mail.Enabled() {
		mailer, err := smtp.New(smtp.Config{Settings: cfg.Mail, Logger: logger.With(slog.String("adapter", "smtp"))})
		if err != nil {
			return nil, err
		}
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
		n.monitor, err = notify.NewMonitor(notify.MonitorConfig{Store: st, Config: cfg, Location: loc,
			Logger: logger.With(slog.String("component", "alarms"))})
		if err != nil {
			return nil, err
		}
		if !n.monitor.Active() {
			n.monitor = nil
		}
	}
	for _, p := range cfg.Portals {
		if p.Callback == nil {
			continue
		}
		topic := config.CallbackTopic(p.ID)
		d, err := webhook.New(webhook.Config{URL: p.Callback.URL, Secret: []byte(p.Callback.Secret.Value()), Portal: p.ID,
			Timeout: p.Callback.EffectiveTimeout(), Logger: logger.With(slog.String("topic", topic))})
		if err != nil {
			errs = append(errs, fmt.Errorf("portal %s: callback: %w", p.ID, err))
			continue
		}
		add(topic, d, p.Callback.Retry, p.Callback.EffectiveConcurrency(), p.Callback.Circuit)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	reactor, err := notify.NewReactor(notify.ReactorConfig{Config: cfg, Location: loc,
		Logger: logger.With(slog.String("component", "notify"))})
	if err != nil {
		return nil, err
	}
	var reactors fitconnect.Reactors
	for _, r := range append([]activeReactor{reactor}, extra...) {
		if r.Active() {
			reactors = append(reactors, r)
		}
	}
	switch len(reactors) {
	case 0:
	case 1:
		st.SetReactor(reactors[0])
	default:
		st.SetReactor(reactors)
	}
	return n, nil
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
