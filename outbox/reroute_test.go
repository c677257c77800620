package outbox_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/outbox"
)

// recorder is a deliverer that records what it delivered; block, when set,
// holds each delivery until it is closed.
type recorder struct {
	mu    sync.Mutex
	got   []string
	block chan struct{}
	began chan string
}

func (r *recorder) Deliver(ctx context.Context, d outbox.Delivery) error {
	if r.began != nil {
		r.began <- d.MessageID
	}
	if r.block != nil {
		<-r.block
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, d.MessageID)
	return nil
}

// A reload adds, removes and changes topics of a running relay: a new
// topic is delivered, a removed one no longer claims while its delivery in
// flight finishes, and the retired route is handed back once it did.
func TestRerouteWhileRunning(t *testing.T) {
	t.Parallel()
	store := openStore(t)
	kept, removed := &recorder{}, &recorder{block: make(chan struct{}), began: make(chan string, 1)}
	opts := outbox.TopicOptions{Concurrency: 1, Policy: outbox.DefaultRetryPolicy()}
	relay, err := outbox.NewRelay(store, outbox.RelayConfig{Routes: map[string]outbox.Route{
		"a/p.q/kept":    {Deliverer: kept, Options: opts},
		"a/p.q/removed": {Deliverer: removed, Options: opts},
	}, Subscriber: outbox.SubscriberConfig{PollInterval: 50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	run(t, relay)
	enqueue(t, store, "a/p.q/removed", "in-flight")
	if id := <-removed.began; id != "in-flight" {
		t.Fatalf("began %s", id)
	}

	added := &recorder{}
	retired := make(chan string, 2)
	ch, err := relay.Reroute(map[string]outbox.Route{
		"a/p.q/kept":  {Deliverer: kept, Options: opts},
		"b/p.q/added": {Deliverer: added, Options: opts},
	}, func(topic string, old outbox.Route) {
		if old.Deliverer != outbox.Deliverer(removed) {
			t.Errorf("retired route of %s has another deliverer", topic)
		}
		retired <- topic
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ch.Added, []string{"b/p.q/added"}) || !slices.Equal(ch.Removed, []string{"a/p.q/removed"}) || len(ch.Changed) != 0 {
		t.Fatalf("rerouted = %+v", ch)
	}
	enqueue(t, store, "b/p.q/added", "new-tenant")
	enqueue(t, store, "a/p.q/kept", "kept-1")
	enqueue(t, store, "a/p.q/removed", "stranded")
	for _, id := range []string{"new-tenant", "kept-1"} {
		if _, err := awaitState(store, id, outbox.StateDelivered); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case topic := <-retired:
		t.Fatalf("%s retired while its delivery was in flight", topic)
	default:
	}
	close(removed.block) // the delivery in flight finishes after the reroute
	if _, err := awaitState(store, "in-flight", outbox.StateDelivered); err != nil {
		t.Fatal(err)
	}
	select {
	case topic := <-retired:
		if topic != "a/p.q/removed" {
			t.Fatalf("retired %s", topic)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("removed route not retired after its last delivery")
	}
	if m, err := store.Message(context.Background(), "stranded"); err != nil || m.State != outbox.StatePending {
		t.Fatalf("message of the removed topic: %+v, %v (want pending, not claimed)", m, err)
	}

	// A changed route (another deliverer) is delivered by the new one.
	changed := &recorder{}
	ch, err = relay.Reroute(map[string]outbox.Route{
		"a/p.q/kept":  {Deliverer: changed, Options: opts},
		"b/p.q/added": {Deliverer: added, Options: opts},
	}, nil)
	if err != nil || !slices.Equal(ch.Changed, []string{"a/p.q/kept"}) {
		t.Fatalf("rerouted = %+v, %v", ch, err)
	}
	enqueue(t, store, "a/p.q/kept", "kept-2")
	if _, err := awaitState(store, "kept-2", outbox.StateDelivered); err != nil {
		t.Fatal(err)
	}
	changed.mu.Lock()
	defer changed.mu.Unlock()
	if !slices.Equal(changed.got, []string{"kept-2"}) {
		t.Fatalf("new deliverer delivered %v", changed.got)
	}
}
