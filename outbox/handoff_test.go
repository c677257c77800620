package outbox_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/outbox/outboxtest"
	"github.com/amtsbote/amtsbote/outbox/sqlite"
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
	// Full: HandLimit places are taken by tickets.
	tickets := offerAll(t, relay, plain, outbox.HandLimit(1))
	if _, ok := relay.Offer(plain); ok {
		t.Errorf("Offer gave place %d with Concurrency 1", outbox.HandLimit(1)+1)
	}
	cancelAll(tickets)
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

// offerAll takes n tickets on topic.
func offerAll(t *testing.T, relay *outbox.Relay, topic string, n int) []*outbox.Ticket {
	t.Helper()
	tickets := make([]*outbox.Ticket, n)
	for i := range tickets {
		tickets[i] = outboxtest.Offer(t, relay, topic)
	}
	return tickets
}

func cancelAll(tickets []*outbox.Ticket) {
	for _, t := range tickets {
		t.Cancel()
	}
}

// commitHanded commits a message of topic with id leased through a ticket,
// and hands it over.
func commitHanded(t *testing.T, store outbox.Store, relay *outbox.Relay, topic, id string) {
	t.Helper()
	commitTicket(t, store, outboxtest.Offer(t, relay, topic), topic, id)
}

// commitTicket commits a message of topic with id leased through ticket,
// and hands it over.
func commitTicket(t *testing.T, store outbox.Store, ticket *outbox.Ticket, topic, id string) {
	t.Helper()
	m := outbox.Message{ID: id, Topic: topic, Payload: []byte("<x/>")}
	ticket.Lease(&m)
	if err := store.InTx(context.Background(), func(tx outbox.Tx) error {
		return tx.InsertMessages(context.Background(), []outbox.Message{m})
	}); err != nil {
		ticket.Cancel()
		t.Fatal(err)
	}
	ticket.Hand(m)
}

// stopThenNext stops a relay of topic, checks that it started no delivery
// (reported on calls) meanwhile, and starts the next process's relay of
// topic, with concurrency slots and a deliverer that accepts every message.
func stopThenNext(t *testing.T, store outbox.RelayStore, topic string, stop func(), calls <-chan string, concurrency int) {
	t.Helper()
	stop()
	select {
	case got := <-calls:
		t.Fatalf("the stopping relay delivered %s", got)
	default:
	}
	startRelay(t, store, topic, outbox.DelivererFunc(func(context.Context, outbox.Delivery) error { return nil }),
		outbox.TopicOptions{Concurrency: concurrency}, outbox.SubscriberConfig{Owner: "next"})
}

// blockingDeliverer reports each delivery's message id on calls and holds
// the delivery of block until release is closed (or its context ends).
func blockingDeliverer(block string, calls chan<- string, release <-chan struct{}) outbox.Deliverer {
	return outbox.DelivererFunc(func(ctx context.Context, d outbox.Delivery) error {
		calls <- d.MessageID
		if d.MessageID == block {
			select {
			case <-release:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	})
}

// startRelay runs a relay of topic on store with deliverer and opts, which
// neither retries blips nor polls unless sc says so, until the test ends;
// stop ends it earlier.
func startRelay(t *testing.T, store outbox.RelayStore, topic string, d outbox.Deliverer, opts outbox.TopicOptions, sc outbox.SubscriberConfig) (*outbox.Relay, func()) {
	t.Helper()
	if opts.Policy == (outbox.RetryPolicy{}) {
		opts.Policy = quickRetry
	}
	if sc.PollInterval == 0 {
		sc.PollInterval = time.Hour // only wake-ups make the loop claim
	}
	if sc.Lease == 0 {
		sc.Lease = time.Hour
	}
	relay, err := outbox.NewRelay(store, outbox.RelayConfig{
		Routes:      map[string]outbox.Route{topic: {Deliverer: d, Options: opts}},
		Subscriber:  sc,
		BlipRetries: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	return relay, run(t, relay)
}

// Handed messages beyond the free slots wait in memory and take the slots
// as they free, in the order handed: no claim, attempt 1 each.
func TestHandedWaitForSlotInOrder(t *testing.T) {
	t.Parallel()
	store := &outboxtest.CountingStore{Store: openStore(t)}
	const topic = "t/p.q/queue"
	ids := []string{"8b9c0d1e-2f3a-4b4c-8d5e-6f7a8b9c0d1e", "9c0d1e2f-3a4b-4c5d-8e6f-7a8b9c0d1e2f", "0d1e2f3a-4b5c-4d6e-8f7a-8b9c0d1e2f3a"}
	release := make(chan struct{})
	calls := make(chan string, 8)
	relay, _ := startRelay(t, store, topic, blockingDeliverer(ids[0], calls, release), outbox.TopicOptions{Concurrency: 1}, outbox.SubscriberConfig{})
	// The claim loop's first claim and next-due query find nothing.
	for deadline := time.Now().Add(10 * time.Second); store.NextDues.Load() == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no next-due query within 10s of the start")
		}
	}
	claims := store.Claims.Load()
	for _, id := range ids {
		commitHanded(t, store, relay, topic, id)
	}
	if got := <-calls; got != ids[0] {
		t.Fatalf("delivered %s first, want %s", got, ids[0])
	}
	select {
	case got := <-calls:
		t.Fatalf("delivered %s while the one slot was taken", got)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	for _, want := range ids[1:] {
		if got := <-calls; got != want {
			t.Fatalf("delivered %s, want %s (the order handed)", got, want)
		}
	}
	for _, id := range ids {
		m, err := awaitState(store.Store.(*sqlite.Store), id, outbox.StateDelivered)
		if err != nil {
			t.Fatal(err)
		}
		if m.Attempts != 1 {
			t.Errorf("%s: %d attempts, want 1", id, m.Attempts)
		}
	}
	if n := store.Claims.Load() - claims; n != 0 {
		t.Errorf("the waiting messages cost %d claims, want none", n)
	}
}

// A relay that stops releases the leases of the handed messages still
// waiting for a slot: the next process delivers them at once, as their
// first attempt, rather than after their lease (an hour).
func TestHandedWaitingReleasedAtStop(t *testing.T) {
	t.Parallel()
	store := openStore(t)
	const topic = "t/p.q/stopping"
	const busy, waiting = "1e2f3a4b-5c6d-4e7f-8a8b-9c0d1e2f3a4b", "2f3a4b5c-6d7e-4f8a-9b9c-0d1e2f3a4b5c"
	calls := make(chan string, 8)
	relay, stop := startRelay(t, store, topic, blockingDeliverer(busy, calls, nil), outbox.TopicOptions{Concurrency: 1},
		outbox.SubscriberConfig{Owner: "stopping", DrainTimeout: 100 * time.Millisecond}) // the busy delivery is given up
	commitHanded(t, store, relay, topic, busy)
	if got := <-calls; got != busy {
		t.Fatalf("delivered %s, want %s", got, busy)
	}
	commitHanded(t, store, relay, topic, waiting)
	stopThenNext(t, store, topic, stop, calls, 2)
	m, err := awaitState(store, waiting, outbox.StateDelivered)
	if err != nil {
		t.Fatal(err) // its lease (an hour) would have kept it from the next process
	}
	if m.Attempts != 1 {
		t.Errorf("%d attempts, want 1 (the first, by the next process)", m.Attempts)
	}
}

// A message whose offer was refused goes first: until the claim loop has
// claimed it, Offer refuses, even where places are free again, so that the
// slot that frees next goes to the claim loop rather than to a new ticket.
// Once the claim loop has it (claimed ahead into the hand queue while the
// slot is busy, or claimed as the slot frees), offers are taken again, and a
// message handed after it waits behind it.
func TestOfferYieldsToBacklog(t *testing.T) {
	t.Parallel()
	store := openStore(t)
	const topic = "t/p.q/backlog"
	const first, waiting, later = "6f7a8b9c-0d1e-4f2a-8b3c-4d5e6f7a8b9c", "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d", "8a9b0c1d-2e3f-4a4b-8c5d-6e7f8a9b0c1d"
	release := make(chan struct{})
	calls := make(chan string, 8)
	relay, _ := startRelay(t, store, topic, blockingDeliverer(first, calls, release), outbox.TopicOptions{Concurrency: 1}, outbox.SubscriberConfig{})
	// The one slot is taken by a delivery that waits for release.
	commitHanded(t, store, relay, topic, first)
	if got := <-calls; got != first {
		t.Fatalf("delivered %s first, want the handed message", got)
	}
	// All places taken: the offer is refused and the message committed
	// unleased, for the claim loop.
	tickets := offerAll(t, relay, topic, outbox.HandLimit(1))
	if _, ok := relay.Offer(topic); ok {
		t.Fatalf("Offer gave place %d with Concurrency 1", outbox.HandLimit(1)+1)
	}
	enqueue(t, store, topic, waiting)
	cancelAll(tickets)
	// Places are free; an offer taken now must queue behind the refused
	// message, which the claim loop has claimed by then.
	handedLater := false
	for range 50 {
		if ticket, ok := relay.Offer(topic); ok {
			commitTicket(t, store, ticket, topic, later)
			handedLater = true
			break
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	if got := <-calls; got != waiting {
		t.Fatalf("delivered %s, want the waiting message", got)
	}
	if handedLater {
		if got := <-calls; got != later {
			t.Fatalf("delivered %s, want the message handed after the refused one", got)
		}
	}
	if _, err := awaitState(store, waiting, outbox.StateDelivered); err != nil {
		t.Fatal(err)
	}
	t.Logf("a message handed after the refused one: %v", handedLater)
	// The backlog is drained once a claim comes up short: offers are taken again.
	outboxtest.Offer(t, relay, topic).Cancel()
}

// When the circuit opens, the handed messages waiting for a slot are not
// attempted: their leases are released, and they wait in the database for
// the breaker's pause like any other message of the topic.
func TestHandedWaitingReleasedWhenCircuitOpens(t *testing.T) {
	t.Parallel()
	store := openStore(t)
	const topic = "t/p.q/breaking"
	const failing, waiting = "3a4b5c6d-7e8f-4a9b-8c0d-1e2f3a4b5c6d", "4b5c6d7e-8f9a-4b0c-9d1e-2f3a4b5c6d7e"
	release := make(chan struct{})
	calls := make(chan string, 8)
	deliverer := outbox.DelivererFunc(func(ctx context.Context, d outbox.Delivery) error {
		calls <- d.MessageID
		<-release
		return errors.New("503 Service Unavailable")
	})
	relay, _ := startRelay(t, store, topic, deliverer,
		outbox.TopicOptions{Concurrency: 1, Breaker: outbox.BreakerOptions{Threshold: 1, Pause: time.Hour}}, outbox.SubscriberConfig{})
	commitHanded(t, store, relay, topic, failing)
	if got := <-calls; got != failing {
		t.Fatalf("delivered %s, want %s", got, failing)
	}
	commitHanded(t, store, relay, topic, waiting)
	close(release) // the failure opens the circuit for an hour
	for deadline := time.Now().Add(10 * time.Second); relay.CircuitState(topic) != outbox.CircuitOpen; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("circuit not open within 10s of the failure")
		}
	}
	// Another process claims the waiting message at once: its lease (an
	// hour) was released.
	other := make(chan string, 8)
	startRelay(t, store, topic, blockingDeliverer("", other, nil), outbox.TopicOptions{Concurrency: 1}, outbox.SubscriberConfig{PollInterval: 20 * time.Millisecond, Owner: "other"})
	m, err := awaitState(store, waiting, outbox.StateDelivered)
	if err != nil {
		t.Fatal(err)
	}
	if m.Attempts != 1 {
		t.Errorf("%d attempts, want 1 (by the other process)", m.Attempts)
	}
	select {
	case got := <-calls:
		t.Errorf("%s attempted while the circuit is open", got)
	default:
	}
}
