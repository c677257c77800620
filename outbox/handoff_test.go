package outbox_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/outbox/outboxtest"
)

// Offer refuses where the message must be claimed: a topic not routed
// here, an ordered one, one whose circuit is open, one without a free
// slot, and a relay that does not run.
func TestOfferRefused(t *testing.T) {
	t.Parallel()
	store := openStore(t)
	const plain, ordered, broken = "t/p.q/plain", "t/p.q/ordered", "t/p.q/broken"
	ok := outbox.DelivererFunc(func(context.Context, outbox.Delivery) error { return nil })
	failing := outbox.DelivererFunc(func(context.Context, outbox.Delivery) error { return errors.New("503 Service Unavailable") })
	relay, err := outbox.NewRelay(store, outbox.RelayConfig{
		Routes: map[string]outbox.Route{
			plain:   {Deliverer: ok, Options: outbox.TopicOptions{Policy: quickRetry, Concurrency: 1}},
			ordered: {Deliverer: ok, Options: outbox.TopicOptions{Policy: quickRetry, Ordered: true}},
			broken: {Deliverer: failing, Options: outbox.TopicOptions{Policy: quickRetry,
				Breaker: outbox.BreakerOptions{Threshold: 1, Pause: time.Hour}}},
		},
		Subscriber:  outbox.SubscriberConfig{PollInterval: 20 * time.Millisecond},
		BlipRetries: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := relay.Offer(plain); ok {
		t.Error("Offer before Run gave a slot")
	}
	stop := run(t, relay)
	if _, ok := relay.Offer("t/p.q/elsewhere"); ok {
		t.Error("Offer gave a slot on a topic not routed here")
	}
	if _, ok := relay.Offer(ordered); ok {
		t.Error("Offer gave a slot on an ordered topic")
	}
	// Full: the one slot is taken by a ticket.
	ticket := outboxtest.Offer(t, relay, plain)
	if _, ok := relay.Offer(plain); ok {
		t.Error("Offer gave a second slot with Concurrency 1")
	}
	ticket.Cancel()
	// Open circuit: one failure opens it for an hour.
	enqueue(t, store, broken, "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d")
	deadline := time.Now().Add(30 * time.Second)
	for relay.CircuitState(broken) != outbox.CircuitOpen {
		if time.Now().After(deadline) {
			t.Fatal("circuit not open after 30s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, ok := relay.Offer(broken); ok {
		t.Error("Offer gave a slot on a topic whose circuit is open")
	}
	stop()
	if _, ok := relay.Offer(plain); ok {
		t.Error("Offer gave a slot of a stopped relay")
	}
}

// A ticket taken before a reroute replaced its topic's route is handed to a
// subscription that ended: the lease is released at once and the new route
// delivers the message, the old one never.
func TestHandAfterRerouteReleases(t *testing.T) {
	t.Parallel()
	store := openStore(t)
	const topic = "t/p.q/d"
	oldCalls, newCalls := make(chan string, 4), make(chan string, 4)
	deliverer := func(calls chan string) outbox.Deliverer {
		return outbox.DelivererFunc(func(_ context.Context, d outbox.Delivery) error {
			calls <- d.MessageID
			return nil
		})
	}
	route := func(calls chan string) map[string]outbox.Route {
		return map[string]outbox.Route{topic: {Deliverer: deliverer(calls), Options: outbox.TopicOptions{Policy: quickRetry}}}
	}
	relay, err := outbox.NewRelay(store, outbox.RelayConfig{Routes: route(oldCalls),
		Subscriber: outbox.SubscriberConfig{PollInterval: time.Hour, Lease: time.Hour}, BlipRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	run(t, relay)
	ticket := outboxtest.Offer(t, relay, topic)
	m := outbox.Message{ID: "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b", Topic: topic, Payload: []byte("<x/>")}
	ticket.Lease(&m)
	if err := store.InTx(context.Background(), func(tx outbox.Tx) error {
		return tx.InsertMessages(context.Background(), []outbox.Message{m})
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := relay.Reroute(route(newCalls), nil); err != nil {
		t.Fatal(err)
	}
	ticket.Hand(m)
	if _, err := awaitState(store, m.ID, outbox.StateDelivered); err != nil {
		t.Fatal(err) // the lease (an hour) would have kept it from the new route
	}
	if got := <-newCalls; got != m.ID {
		t.Errorf("new route delivered %s", got)
	}
	select {
	case id := <-oldCalls:
		t.Errorf("the old route delivered %s", id)
	default:
	}
}

// A message whose offer was refused for want of a slot goes first: until
// the claim loop has claimed it, Offer refuses, so that the slot its
// delivery frees goes to the claim loop rather than to the next offer.
// Once a claim finds the topic drained, offers are taken again.
func TestOfferYieldsToBacklog(t *testing.T) {
	t.Parallel()
	store := openStore(t)
	const topic = "t/p.q/backlog"
	const first, waiting = "6f7a8b9c-0d1e-4f2a-8b3c-4d5e6f7a8b9c", "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d"
	release := make(chan struct{})
	calls := make(chan string, 8)
	deliverer := outbox.DelivererFunc(func(_ context.Context, d outbox.Delivery) error {
		calls <- d.MessageID
		if d.MessageID == first {
			<-release
		}
		return nil
	})
	relay, err := outbox.NewRelay(store, outbox.RelayConfig{
		Routes: map[string]outbox.Route{topic: {Deliverer: deliverer, Options: outbox.TopicOptions{Policy: quickRetry, Concurrency: 1}}},
		// No poll during the test: only wake-ups make the loop claim.
		Subscriber:  outbox.SubscriberConfig{PollInterval: time.Hour, Lease: time.Hour},
		BlipRetries: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	run(t, relay)
	ticket := outboxtest.Offer(t, relay, topic)
	m := outbox.Message{ID: first, Topic: topic, Payload: []byte("<x/>")}
	ticket.Lease(&m)
	if err := store.InTx(context.Background(), func(tx outbox.Tx) error {
		return tx.InsertMessages(context.Background(), []outbox.Message{m})
	}); err != nil {
		t.Fatal(err)
	}
	ticket.Hand(m)
	if got := <-calls; got != first {
		t.Fatalf("delivered %s first, want the handed message", got)
	}
	// The one slot is taken: the offer is refused and the message committed
	// unleased, for the claim loop.
	if _, ok := relay.Offer(topic); ok {
		t.Fatal("Offer gave a second slot with Concurrency 1")
	}
	enqueue(t, store, topic, waiting)
	close(release)
	// The freed slot is the waiting message's: offers made meanwhile, as
	// fast as they come, are all refused until its delivery began.
	for delivered := false; !delivered; {
		select {
		case got := <-calls:
			if got != waiting {
				t.Fatalf("delivered %s, want the waiting message", got)
			}
			delivered = true
		default:
			if ticket, ok := relay.Offer(topic); ok {
				ticket.Cancel()
				// Taken legitimately only if, since the select, the waiting
				// message was claimed and delivered and the backlog drained
				// (a slow test goroutine): its call came first then.
				select {
				case got := <-calls:
					if got != waiting {
						t.Fatalf("delivered %s, want the waiting message", got)
					}
					delivered = true
				default:
					t.Fatal("Offer took the freed slot while a refused message waited for it")
				}
			}
		}
	}
	if _, err := awaitState(store, waiting, outbox.StateDelivered); err != nil {
		t.Fatal(err)
	}
	// The backlog is drained once a claim comes up short: offers are taken again.
	outboxtest.Offer(t, relay, topic).Cancel()
}
