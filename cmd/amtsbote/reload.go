package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/signal"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/amtsbote/amtsbote/adapters/adminapi"
	"github.com/amtsbote/amtsbote/adapters/fitconnect"
	"github.com/amtsbote/amtsbote/adapters/metrics"
	"github.com/amtsbote/amtsbote/adapters/portalapi"
	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/intake"
	"github.com/amtsbote/amtsbote/outbox"
)

// reloadBase is one generation of the configuration and the relay routes
// built from it.
type reloadBase struct {
	cfg    *config.Config
	routes map[string]outbox.Route
}

// reloadKeys are the top-level keys a reload may change; every other one
// needs a restart (listeners, database, relay, mail, FIT-Connect, ...).
var reloadKeys = map[string]bool{"tenants": true, "portals": true, "procedures": true, "include": true}

// reloader reloads tenants, portals and procedures of a running serve
// (SIGHUP, POST /admin/v1/reload): it loads the configuration file again,
// refuses it with every reason when it is invalid, changes a setting that
// needs a restart or removes a destination with undelivered messages, and
// otherwise hands the new generation to the intake, the portal API, the
// relay and the reactors, each of which reads it atomically per request or
// delivery. Reloads run one at a time.
type reloader struct {
	path   string               // the configuration file; empty for the demo, which cannot reload
	adjust func(*config.Config) // the command line's overrides (--listen, ...)
	st     store
	in     *intake.Service
	api    *portalapi.Handler
	relay  *outbox.Relay
	notes  *notifications
	obs    *metrics.Metrics
	logger *slog.Logger
	// drainTimeout bounds the wait for submissions still accepted with the old generation.
	drainTimeout time.Duration

	mu         sync.Mutex
	cur        reloadBase
	generation int64
	// followers get every applied generation after the intake and the
	// portal API (the console, the answer service); set before serving.
	followers []func(*config.Config) error
	// gen mirrors generation for readers that must not wait for a reload
	// in progress (the console's overview).
	gen atomic.Int64
}

// follow makes fn receive every configuration a reload applies.
func (r *reloader) follow(fn func(*config.Config) error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.followers = append(r.followers, fn)
}

// Generation is the configuration generation in force: 1 at start, one
// more with every applied reload.
func (r *reloader) Generation() int64 { return r.gen.Load() }

// Reload implements adminapi.Reloader.
func (r *reloader) Reload(ctx context.Context, by string) (adminapi.ReloadResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	res, err := r.reload(ctx)
	var refused *adminapi.ReloadRefused
	switch {
	case errors.As(err, &refused):
		refused.Generation = r.generation
		r.obs.ObserveReload(false, r.generation)
		r.logger.Error("configuration reload refused; the running configuration is kept",
			slog.Int64("generation", r.generation), slog.String("by", by), slog.Any("reasons", refused.Reasons))
	case err != nil:
		r.obs.ObserveReload(false, r.generation)
		r.logger.Error("configuration reload failed", slog.Int64("generation", r.generation), slog.String("by", by),
			slog.Any("error", err))
	default:
		r.obs.ObserveReload(true, r.generation)
		r.logger.Info("configuration reloaded", slog.Int64("generation", r.generation), slog.String("by", by),
			slog.Int("tenants", res.Tenants), slog.Int("portals", res.Portals), slog.Int("procedures", res.Procedures),
			slog.Any("added", res.Added), slog.Any("removed", res.Removed), slog.Any("changed", res.Changed))
	}
	return res, err
}

// refuse is the error of a refused reload.
func refuse(reasons ...string) error { return &adminapi.ReloadRefused{Reasons: reasons} }

func (r *reloader) reload(ctx context.Context) (adminapi.ReloadResponse, error) {
	if r.path == "" {
		return adminapi.ReloadResponse{}, refuse("the built-in demo configuration cannot be reloaded; run serve with --config")
	}
	next, err := config.Load(r.path)
	if err != nil {
		var verr *config.ValidationError
		if errors.As(err, &verr) {
			reasons := make([]string, len(verr.Problems))
			for i, p := range verr.Problems {
				reasons[i] = p.String()
			}
			return adminapi.ReloadResponse{}, refuse(reasons...)
		}
		return adminapi.ReloadResponse{}, refuse(err.Error())
	}
	r.adjust(next)
	prev := r.cur
	reasons := restartOnly(prev.cfg, next)
	reasons = append(reasons, fitconnectChanges(prev.cfg, next)...)
	reasons = append(reasons, answerChannelChanges(prev.cfg, next)...)
	if len(reasons) > 0 {
		return adminapi.ReloadResponse{}, refuse(reasons...)
	}
	registry, err := newRegistry(next)
	if err != nil {
		return adminapi.ReloadResponse{}, refuse(err.Error())
	}
	routes, err := buildRoutesFrom(next, &prev, r.logger)
	if err == nil {
		err = notificationRoutes(next, r.notes.mailer, &prev, routes, r.logger)
	}
	if err != nil {
		closeNew(routes, prev.routes, r.logger)
		return adminapi.ReloadResponse{}, refuse(err.Error())
	}
	for topic, route := range prev.routes {
		if _, ok := routes[topic]; !ok && !managedTopic(prev.cfg, topic) {
			routes[topic] = route // FIT-Connect events and cases: set up at start only
		}
	}
	var removed []string
	for topic := range prev.routes {
		if _, ok := routes[topic]; !ok {
			removed = append(removed, topic)
		}
	}
	sort.Strings(removed)
	if reasons, err := r.undelivered(ctx, prev.cfg, next, removed); err != nil || len(reasons) > 0 {
		closeNew(routes, prev.routes, r.logger)
		if err != nil {
			return adminapi.ReloadResponse{}, fmt.Errorf("count undelivered messages: %w", err)
		}
		return adminapi.ReloadResponse{}, refuse(reasons...)
	}

	// Phase 1: new and changed topics are delivered, removed ones still
	// run; then new submissions see the new generation.
	keep := make(map[string]outbox.Route, len(routes)+len(removed))
	for topic, route := range routes {
		keep[topic] = route
	}
	for _, topic := range removed {
		keep[topic] = prev.routes[topic]
	}
	retire := func(topic string, old outbox.Route) { retireDeliverer(topic, old, r.currentRoutes, r.logger) }
	ch, err := r.relay.Reroute(keep, retire)
	if err != nil {
		return adminapi.ReloadResponse{}, fmt.Errorf("reroute: %w", err)
	}
	wait, err := r.in.Reconfigure(next, registry)
	if err != nil {
		return adminapi.ReloadResponse{}, err
	}
	if err := r.api.Reconfigure(next); err != nil {
		return adminapi.ReloadResponse{}, err
	}
	if err := installReactors(next, r.st, r.notes.loc, r.logger, fitconnect.NewReactor(next)); err != nil {
		return adminapi.ReloadResponse{}, err
	}
	if r.notes.monitor != nil {
		r.notes.monitor.Reconfigure(next)
	}
	for _, fn := range r.followers {
		if err := fn(next); err != nil {
			return adminapi.ReloadResponse{}, err
		}
	}
	r.generation++
	r.gen.Store(r.generation)
	r.cur = reloadBase{cfg: next, routes: keep}

	// Phase 2: once no submission of the old generation is in flight, the
	// removed topics stop, unless a message reached one meanwhile.
	waitCtx, cancel := context.WithTimeout(ctx, r.drainTimeout)
	defer cancel()
	if err := wait(waitCtx); err != nil {
		r.logger.Warn("submissions of the previous configuration still in flight; removed destinations keep running until the next reload",
			slog.Any("topics", removed))
		removed = nil
	}
	if len(removed) > 0 {
		late, err := r.openCounts(ctx, removed)
		if err != nil {
			return adminapi.ReloadResponse{}, fmt.Errorf("count undelivered messages: %w", err)
		}
		final := make(map[string]outbox.Route, len(keep))
		for topic, route := range keep {
			if slices.Contains(removed, topic) && late[topic] == 0 {
				continue
			}
			final[topic] = route
		}
		if _, err := r.relay.Reroute(final, retire); err != nil {
			return adminapi.ReloadResponse{}, fmt.Errorf("reroute: %w", err)
		}
		for topic, n := range late {
			if n > 0 {
				r.logger.Warn("removed destination received messages during the reload; it keeps delivering until the next reload",
					slog.String("topic", topic), slog.Int("undelivered", n))
			}
		}
		r.cur.routes = final
		ch.Removed = nil
		for _, topic := range removed {
			if late[topic] == 0 {
				ch.Removed = append(ch.Removed, topic)
			}
		}
	}
	topics := make([]string, 0, len(r.cur.routes))
	for topic := range r.cur.routes {
		topics = append(topics, topic)
	}
	var pairs []metrics.Route
	for _, t := range next.Tenants {
		for _, rt := range t.Procedures {
			pairs = append(pairs, metrics.Route{Tenant: t.ID, Procedure: rt.Procedure})
		}
	}
	r.obs.Reconfigure(topics, pairs)
	return adminapi.ReloadResponse{Generation: r.generation, Tenants: len(next.Tenants), Portals: len(next.Portals),
		Procedures: len(next.Procedures), Added: nonNil(ch.Added), Removed: nonNil(ch.Removed), Changed: nonNil(ch.Changed)}, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// currentRoutes returns the routes in force, for retireDeliverer. It is
// called by the relay after a reload released r.mu.
func (r *reloader) currentRoutes() map[string]outbox.Route {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cur.routes
}

// routesInForce are all routes of the relay, for closeDeliverers at the end.
func (r *reloader) routesInForce() map[string]outbox.Route { return r.currentRoutes() }

// retireDeliverer closes the deliverer of a route the relay stopped, unless
// a route in force still uses it (a shared mailer).
func retireDeliverer(topic string, old outbox.Route, current func() map[string]outbox.Route, logger *slog.Logger) {
	c, ok := old.Deliverer.(io.Closer)
	if !ok || usesDeliverer(current(), old.Deliverer) {
		return
	}
	if err := c.Close(); err != nil {
		logger.Warn("closing removed destination", slog.String("topic", topic), slog.Any("error", err))
	}
}

// usesDeliverer reports whether a route of routes has d.
func usesDeliverer(routes map[string]outbox.Route, d outbox.Deliverer) bool {
	t := reflect.TypeOf(d)
	if t == nil || !t.Comparable() {
		return false
	}
	for _, r := range routes {
		if reflect.TypeOf(r.Deliverer) == t && r.Deliverer == d {
			return true
		}
	}
	return false
}

// closeNew closes the deliverers of routes that prev does not have: built
// for a reload that was refused.
func closeNew(routes, prev map[string]outbox.Route, logger *slog.Logger) {
	fresh := map[string]outbox.Route{}
	for topic, r := range routes {
		if !usesDeliverer(prev, r.Deliverer) {
			fresh[topic] = r
		}
	}
	closeDeliverers(fresh, logger)
}

// managedTopic reports whether a reload builds topic from cfg: a
// destination (other than fitconnect) or a notification topic.
func managedTopic(cfg *config.Config, topic string) bool {
	if config.IsNotificationTopic(topic) {
		return true
	}
	for _, t := range cfg.Tenants {
		for _, r := range t.Procedures {
			for _, d := range r.Destinations {
				if d.Type != destinationTypeFitConnect && config.Topic(t.ID, r.Procedure, d.ID) == topic {
					return true
				}
			}
		}
	}
	return false
}

// restartOnly names the top-level keys that differ between the running
// and the new configuration and cannot change without a restart.
func restartOnly(old, next *config.Config) []string {
	var reasons []string
	ov, nv := reflect.ValueOf(old).Elem(), reflect.ValueOf(next).Elem()
	t := ov.Type()
	for i := range t.NumField() {
		key, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if reloadKeys[key] {
			continue
		}
		if !reflect.DeepEqual(ov.Field(i).Interface(), nv.Field(i).Interface()) {
			reasons = append(reasons, fmt.Sprintf("%s: changed; it takes effect only with a restart (reload changes tenants, portals and procedures)", key))
		}
	}
	return reasons
}

// fitconnectChanges names the fitconnect destinations a reload would add,
// remove or change: they are set up with the FIT-Connect parts at start.
func fitconnectChanges(old, next *config.Config) []string {
	collect := func(cfg *config.Config) map[string]config.Destination {
		m := map[string]config.Destination{}
		for _, t := range cfg.Tenants {
			for _, r := range t.Procedures {
				for _, d := range r.Destinations {
					if d.Type == destinationTypeFitConnect {
						m[config.Topic(t.ID, r.Procedure, d.ID)] = d
					}
				}
			}
		}
		return m
	}
	o, n := collect(old), collect(next)
	var reasons []string
	for topic, d := range n {
		if od, ok := o[topic]; !ok || !reflect.DeepEqual(od, d) {
			reasons = append(reasons, fmt.Sprintf("fitconnect destination %s: added or changed; it takes effect only with a restart", topic))
		}
	}
	for topic := range o {
		if _, ok := n[topic]; !ok {
			reasons = append(reasons, fmt.Sprintf("fitconnect destination %s: removed; it takes effect only with a restart", topic))
		}
	}
	sort.Strings(reasons)
	return reasons
}

// answerChannelChanges names the destinations whose answers.inbox or
// answers.amqp a reload would add, remove or change: the file inboxes and
// AMQP queues of answers are set up at start (answerChannelsPart). The
// HTTP channel's key and limit follow a reload.
func answerChannelChanges(old, next *config.Config) []string {
	type channels struct {
		inbox *config.AnswerInbox
		amqp  *config.AnswerAMQP
	}
	collect := func(cfg *config.Config) map[string]channels {
		m := map[string]channels{}
		for _, b := range cfg.AnswerBindings() {
			if b.Answers.Inbox != nil || b.Answers.AMQP != nil {
				m[config.Topic(b.Tenant, b.Procedure, b.Destination)] = channels{b.Answers.Inbox, b.Answers.AMQP}
			}
		}
		return m
	}
	o, n := collect(old), collect(next)
	var reasons []string
	diff := func(topic, key string, changed bool) {
		if changed {
			reasons = append(reasons, fmt.Sprintf("destination %s: answers.%s added, changed or removed; it takes effect only with a restart (answer inboxes and AMQP queues are set up at start)", topic, key))
		}
	}
	for _, topic := range slices.Sorted(maps.Keys(mergeKeys(o, n))) {
		oc, nc := o[topic], n[topic]
		diff(topic, "inbox", !reflect.DeepEqual(oc.inbox, nc.inbox))
		diff(topic, "amqp", !reflect.DeepEqual(oc.amqp, nc.amqp))
	}
	return reasons
}

// mergeKeys returns the union of a's and b's keys.
func mergeKeys[V any](a, b map[string]V) map[string]bool {
	out := make(map[string]bool, len(a)+len(b))
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

// openCounts returns the undelivered messages (pending, retrying or dead)
// of topics.
func (r *reloader) openCounts(ctx context.Context, topics []string) (map[string]int, error) {
	stats, err := r.st.Stats(ctx)
	if err != nil {
		return nil, err
	}
	counts := make(map[string]int, len(topics))
	for _, s := range stats {
		if slices.Contains(topics, s.Topic) {
			counts[s.Topic] = s.Pending + s.Dead
		}
	}
	return counts, nil
}

// undelivered refuses removing topics that have undelivered messages:
// per removed tenant with its total, else per topic.
func (r *reloader) undelivered(ctx context.Context, old, next *config.Config, removed []string) ([]string, error) {
	if len(removed) == 0 {
		return nil, nil
	}
	stats, err := r.st.Stats(ctx)
	if err != nil {
		return nil, err
	}
	byTopic := map[string]outbox.TopicStats{}
	for _, s := range stats {
		byTopic[s.Topic] = s
	}
	type count struct{ pending, dead int }
	tenants := map[string]*count{}
	var reasons []string
	for _, topic := range removed {
		s := byTopic[topic]
		if s.Pending+s.Dead == 0 {
			continue
		}
		tenant, _, _ := strings.Cut(topic, "/")
		if _, ok := old.Tenant(tenant); ok {
			if _, still := next.Tenant(tenant); !still {
				c := tenants[tenant]
				if c == nil {
					c = &count{}
					tenants[tenant] = c
				}
				c.pending += s.Pending
				c.dead += s.Dead
				continue
			}
		}
		reasons = append(reasons, fmt.Sprintf("destination %s is removed but has %d undelivered message(s) (%d pending or retrying, %d dead); let them be delivered, or replay or discard the dead ones, first",
			topic, s.Pending+s.Dead, s.Pending, s.Dead))
	}
	for tenant, c := range tenants {
		reasons = append(reasons, fmt.Sprintf("tenant %s is removed but has %d undelivered message(s) (%d pending or retrying, %d dead); let them be delivered, or replay or discard the dead ones, first",
			tenant, c.pending+c.dead, c.pending, c.dead))
	}
	sort.Strings(reasons)
	return reasons, nil
}

// reloadPart reloads on SIGHUP until serve stops.
func (r *reloader) part() part {
	return part{name: "reload", run: func(ctx context.Context) error {
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-hup:
				_, _ = r.Reload(ctx, "SIGHUP")
			}
		}
	}}
}

// remapper is the admin API's Remapper: the intake's use case over the store.
type remapper struct {
	in *intake.Service
	st intake.RemapStore
}

// RemapMessage implements adminapi.Remapper.
func (m remapper) RemapMessage(ctx context.Context, r outbox.ReplayRequest) (intake.Remapped, error) {
	return m.in.RemapMessage(ctx, m.st, r)
}
