package outbox

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"
)

// releaseStore records Release; a test that reaches any other method of
// RelayStore fails on the nil interface.
type releaseStore struct {
	RelayStore
	mu       sync.Mutex
	released []string
}

func (s *releaseStore) Release(_ context.Context, _, _ string, ids []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.released = append(s.released, ids...)
	return nil
}

// A message handed over just after its subscription ended (Hand saw it
// running, then run returned and drained the queue) is not queued where no
// freed slot would ever start it: its lease is released and its count in
// inflight given back, so that the end of the subscription does not hang.
func TestHandOverAfterEndReleases(t *testing.T) {
	store := &releaseStore{}
	c := newConsumer(store, SubscriberConfig{})
	soft, cancel := context.WithCancel(context.Background())
	cancel()
	sub := &subscription{consumer: c, topic: "t/p.q/d", soft: soft, hard: context.Background(),
		slots: make(chan struct{}, 1), freed: make(chan struct{}, 1), opts: TopicOptions{Concurrency: 1}}
	sub.slots <- struct{}{} // the one slot is taken by an attempt still finishing
	sub.places = 1          // the ticket's
	sub.inflight.Add(1)
	sub.endHandoff()

	sub.handOver(Message{ID: "5c6d7e8f-9a0b-4c1d-8e2f-3a4b5c6d7e8f", Topic: sub.topic})

	done := make(chan struct{})
	go func() {
		sub.inflight.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the handed message kept its count in inflight: the subscription's end would wait forever")
	}
	if !slices.Equal(store.released, []string{"5c6d7e8f-9a0b-4c1d-8e2f-3a4b5c6d7e8f"}) {
		t.Errorf("released %v, want the handed message", store.released)
	}
	if sub.places != 0 || len(sub.queue) != 0 {
		t.Errorf("places %d, queue %d; want 0, 0", sub.places, len(sub.queue))
	}
	if n := len(c.held); n != 0 {
		t.Errorf("%d topics still held, want none", n)
	}
}
