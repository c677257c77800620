package outbox_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/outbox/outboxtest"
	"github.com/amtsbote/amtsbote/outbox/sqlite"
)

// enqueueMany stores n messages of topic due at once, in one transaction,
// and returns their ids in the order stored.
func enqueueMany(t *testing.T, store outbox.Store, topic string, n int) []string {
	t.Helper()
	ids := make([]string, n)
	msgs := make([]outbox.Message, n)
	for i := range msgs {
		ids[i] = fmt.Sprintf("5e6f7a8b-9c0d-4e1f-8a2b-%012d", i)
		msgs[i] = outbox.Message{ID: ids[i], Topic: topic, Payload: []byte("<x/>")}
	}
	if err := store.InTx(context.Background(), func(tx outbox.Tx) error {
		return tx.InsertMessages(context.Background(), msgs)
	}); err != nil {
		t.Fatal(err)
	}
	return ids
}

// A backlog is claimed ahead: one claim leases as many messages as the hand
// queue has places for, and the slots take them from the queue as they
// free, so that the backlog costs a claim per tens of messages, not one per
// freed slot. Each message is still attempted once, as attempt 1.
func TestBacklogClaimedAhead(t *testing.T) {
	t.Parallel()
	store := &outboxtest.CountingStore{Store: openStore(t)}
	const topic = "t/p.q/ahead"
	const n, concurrency = 400, 2
	ids := enqueueMany(t, store, topic, n)
	var mu sync.Mutex
	delivered := map[string]int{}
	all := make(chan struct{})
	deliverer := outbox.DelivererFunc(func(_ context.Context, d outbox.Delivery) error {
		time.Sleep(100 * time.Microsecond) // the slots free one by one, not all at once
		mu.Lock()
		defer mu.Unlock()
		if delivered[d.MessageID]++; len(delivered) == n && delivered[d.MessageID] == 1 {
			close(all)
		}
		return nil
	})
	startRelay(t, store, topic, deliverer, outbox.TopicOptions{Concurrency: concurrency}, outbox.SubscriberConfig{})
	select {
	case <-all:
	case <-time.After(30 * time.Second):
		t.Fatal("backlog not delivered within 30s")
	}
	// Every freed slot claiming on its own took a claim per one or two
	// messages (over 200 here); claimed ahead, a claim takes a quarter to
	// the whole of HandLimit (64 here) each time.
	if got, most := store.Claims.Load(), int64(4*n/outbox.HandLimit(concurrency)+2); got > most {
		t.Errorf("%d claims for a backlog of %d, want at most %d", got, n, most)
	}
	for _, id := range ids {
		m, err := awaitState(store.Store.(*sqlite.Store), id, outbox.StateDelivered)
		if err != nil {
			t.Fatal(err)
		}
		if m.Attempts != 1 || delivered[id] != 1 {
			t.Fatalf("%s: %d attempts recorded, %d deliveries, want 1 each", id, m.Attempts, delivered[id])
		}
	}
}

// A relay that stops releases the leases of the messages it claimed ahead
// and has not attempted: the next process delivers them at once, as their
// first attempt, rather than after their lease (an hour).
func TestClaimedAheadReleasedAtStop(t *testing.T) {
	t.Parallel()
	store := &outboxtest.CountingStore{Store: openStore(t)}
	const topic = "t/p.q/ahead-stop"
	ids := enqueueMany(t, store, topic, 40)
	calls := make(chan string, 64)
	_, stop := startRelay(t, store, topic, blockingDeliverer(ids[0], calls, nil), outbox.TopicOptions{Concurrency: 1},
		outbox.SubscriberConfig{Owner: "stopping", DrainTimeout: 100 * time.Millisecond}) // the first delivery is given up
	if got := <-calls; got != ids[0] {
		t.Fatalf("delivered %s first, want %s", got, ids[0])
	}
	// The first claim took the one slot's message in full: the next claims
	// the rest ahead, while the slot is busy.
	for deadline := time.Now().Add(10 * time.Second); store.Claims.Load() < 2; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no claim ahead within 10s while the slot was busy")
		}
	}
	stopThenNext(t, store, topic, stop, calls, 4)
	for _, id := range ids[1:] {
		m, err := awaitState(store.Store.(*sqlite.Store), id, outbox.StateDelivered)
		if err != nil {
			t.Fatal(err) // its lease (an hour) would have kept it from the next process
		}
		if m.Attempts != 1 {
			t.Errorf("%s: %d attempts, want 1 (the first, by the next process)", id, m.Attempts)
		}
	}
}
