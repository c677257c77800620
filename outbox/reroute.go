package outbox

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"sync/atomic"
)

// topicOptions returns the options of topic's current route.
// It takes no lock: subscribe calls it with r.mu held.
func (r *Relay) topicOptions(topic string) TopicOptions {
	return (*r.current.Load())[topic].Options
}

// start subscribes every topic, each with its own context below ctx, so
// that Reroute can end one.
func (r *Relay) start(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.runCtx = ctx
	for _, topic := range r.topics {
		if err := r.subscribeLocked(topic, r.routes[topic]); err != nil {
			return err
		}
	}
	return nil
}

// subscribeLocked starts topic's subscription with route; ended, when set,
// is called once its last attempt finished. r.mu is held.
func (r *Relay) subscribeLocked(topic string, route Route) error {
	ctx, cancel := context.WithCancel(r.runCtx)
	rs := &relaySub{cancel: cancel}
	ended := func() {
		if fn := rs.ended.Load(); fn != nil {
			(*fn)()
		}
	}
	sub, err := r.c.subscribe(ctx, topic, r.deliver(route.Deliverer),
		subscriptionHooks{ended: ended, released: func() { r.wake(topic) }})
	if err != nil {
		cancel()
		return err
	}
	rs.sub = sub
	r.subs[topic] = rs
	return nil
}

// relaySub is one topic's subscription in a running relay.
type relaySub struct {
	cancel context.CancelFunc
	sub    *subscription          // its claim loop, which Offer reserves slots of
	ended  atomic.Pointer[func()] // called once its last attempt finished, when set
}

// stopRerouting ends Reroute's part when Run stops: the subscriptions end
// with Run's context.
func (r *Relay) stopRerouting() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.runCtx = nil
}

// Rerouted says what Reroute changed, by topic.
type Rerouted struct {
	Added, Removed, Changed []string
}

// Reroute replaces the routes of a running (or not yet running) relay,
// for a configuration reload: a new topic is subscribed at once; a removed
// one stops claiming, and its deliveries in flight finish (within
// CloseTimeout, as at shutdown); a changed one (another Deliverer or other
// options) does both, the new subscription claiming what the old one no
// longer holds. A topic whose Route is the same value keeps running
// untouched. retired, when set, is called with the route of each removed
// or replaced topic once its last delivery finished, to release what the
// deliverer holds (unless the new routes still use it).
func (r *Relay) Reroute(routes map[string]Route, retired func(topic string, old Route)) (Rerouted, error) {
	var ch Rerouted
	if len(routes) == 0 {
		return ch, errors.New("relay: no routes")
	}
	for topic, route := range routes {
		if route.Deliverer == nil {
			return ch, fmt.Errorf("relay: route %q has no deliverer", topic)
		}
		if _, err := (SubscriberConfig{Topics: func(string) TopicOptions { return route.Options }}).topicOptions(topic); err != nil {
			return ch, fmt.Errorf("relay: %w", err)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started.Load() && r.runCtx == nil {
		return ch, errors.New("relay: stopped")
	}
	old := r.routes
	for topic, route := range old {
		next, ok := routes[topic]
		switch {
		case !ok:
			ch.Removed = append(ch.Removed, topic)
		case !sameRoute(route, next):
			ch.Changed = append(ch.Changed, topic)
		}
	}
	for topic := range routes {
		if _, ok := old[topic]; !ok {
			ch.Added = append(ch.Added, topic)
		}
	}
	sort.Strings(ch.Added)
	sort.Strings(ch.Removed)
	sort.Strings(ch.Changed)
	topics := make([]string, 0, len(routes))
	for topic := range routes {
		topics = append(topics, topic)
	}
	sort.Strings(topics)
	r.routes, r.topics = routes, topics
	r.current.Store(&routes)
	if r.runCtx == nil {
		return ch, nil // not running yet: Run subscribes the new routes
	}

	retire := func(topic string, route Route) func() {
		if retired == nil {
			return nil
		}
		return func() { retired(topic, route) }
	}
	for _, topic := range ch.Removed {
		r.endLocked(topic, old[topic], retire)
	}
	var errs []error
	for _, topic := range ch.Changed {
		r.endLocked(topic, old[topic], retire)
		if err := r.subscribeLocked(topic, routes[topic]); err != nil {
			errs = append(errs, err)
		}
	}
	for _, topic := range ch.Added {
		if err := r.subscribeLocked(topic, routes[topic]); err != nil {
			errs = append(errs, err)
		}
	}
	return ch, errors.Join(errs...)
}

// endLocked ends topic's subscription: it claims no more, its deliveries in
// flight finish. Its circuit breaker is forgotten, so that a new route
// starts with its own. r.mu is held.
func (r *Relay) endLocked(topic string, route Route, retire func(string, Route) func()) {
	rs, ok := r.subs[topic]
	if !ok {
		return
	}
	delete(r.subs, topic)
	if done := retire(topic, route); done != nil {
		rs.ended.Store(&done)
	}
	rs.cancel()
	r.c.mu.Lock()
	delete(r.c.breakers, topic)
	r.c.mu.Unlock()
}

// sameRoute reports whether a and b are the same route: the same
// deliverer (compared as values where they are comparable) and options.
func sameRoute(a, b Route) bool {
	if a.Options != b.Options {
		return false
	}
	ta, tb := reflect.TypeOf(a.Deliverer), reflect.TypeOf(b.Deliverer)
	if ta != tb || ta == nil || !ta.Comparable() {
		return ta == nil && tb == nil
	}
	return a.Deliverer == b.Deliverer
}
