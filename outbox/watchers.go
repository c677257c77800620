package outbox

import "sync"

// Watchers fans "new messages on topic" signals out to the subscriptions of this
// process. Stores embed it to implement Store.Watch; shared stores also feed it
// from their database's notifications.
type Watchers struct {
	mu   sync.Mutex
	subs map[string]map[chan struct{}]struct{}
}

// Watch returns a channel signalled (coalesced) on Notify for topic.
func (w *Watchers) Watch(topic string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	w.mu.Lock()
	if w.subs == nil {
		w.subs = map[string]map[chan struct{}]struct{}{}
	}
	if w.subs[topic] == nil {
		w.subs[topic] = map[chan struct{}]struct{}{}
	}
	w.subs[topic][ch] = struct{}{}
	w.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			w.mu.Lock()
			delete(w.subs[topic], ch)
			if len(w.subs[topic]) == 0 {
				delete(w.subs, topic)
			}
			w.mu.Unlock()
		})
	}
}

// Notify signals the watchers of each topic without blocking.
func (w *Watchers) Notify(topics ...string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, t := range topics {
		for ch := range w.subs[t] {
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}
}

// NotifyAll signals every watcher, e.g. after notifications may have been missed.
func (w *Watchers) NotifyAll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, subs := range w.subs {
		for ch := range subs {
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}
}
