package outbox_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/outbox/sqlite"
)

// downHeartbeats is a store whose lease renewals fail while down is set, as
// when the database is briefly unreachable for the heartbeat only.
type downHeartbeats struct {
	*sqlite.Store
	down atomic.Bool
}

func (s *downHeartbeats) ExtendLeases(ctx context.Context, owner, topic string, ids []string, until time.Time) (int, error) {
	if s.down.Load() {
		return 0, errors.New("database unavailable")
	}
	return s.Store.ExtendLeases(ctx, owner, topic, ids, until)
}

// A process whose heartbeat failed until its lease ran out recovers the
// lease itself and claims the message again while its first attempt still
// runs. The late outcome of the first attempt must then be refused, not
// recorded on the second attempt's lease (same owner), and the second
// attempt's lease must still be renewed after the first one ends: the
// attempt log is 1 unknown, 2 delivered, and there is no third delivery.
func TestLateCompletionAfterOwnRecovery(t *testing.T) {
	t.Parallel()
	store := &downHeartbeats{Store: openStore(t)}
	store.down.Store(true)
	topic := "t/p.q/d"
	const lease = 300 * time.Millisecond
	type call struct {
		attempt int
		release chan error
	}
	calls := make(chan call, 8)
	d := outbox.DelivererFunc(func(ctx context.Context, dl outbox.Delivery) error {
		c := call{attempt: dl.Attempt, release: make(chan error)}
		calls <- c
		return <-c.release
	})
	observed := make(chan error, 8)
	relay, err := outbox.NewRelay(store, outbox.RelayConfig{
		Routes: map[string]outbox.Route{topic: {Deliverer: d, Options: outbox.TopicOptions{Policy: quickRetry, Concurrency: 2}}},
		Subscriber: outbox.SubscriberConfig{PollInterval: 20 * time.Millisecond, Lease: lease, RecoverInterval: 20 * time.Millisecond,
			Observe: func(m outbox.Message, c outbox.Completion, err error) {
				if m.Attempts == 0 && c.Outcome != outbox.OutcomeUnknown { // the first attempt's own outcome
					observed <- err
				}
			}},
		BlipRetries:  -1,
		CloseTimeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, relay)
	defer stop()
	id := "1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9"
	enqueue(t, store, topic, id)
	await := func(what string) call {
		t.Helper()
		select {
		case c := <-calls:
			return c
		case <-time.After(10 * time.Second):
			t.Fatalf("no %s after 10s", what)
			return call{}
		}
	}
	first := await("first delivery")
	second := await("second delivery after the lease ran out")
	store.down.Store(false) // the database is back for the heartbeats
	if first.attempt != 1 || second.attempt != 2 {
		t.Fatalf("attempt numbers %d and %d, want 1 and 2", first.attempt, second.attempt)
	}
	first.release <- nil // the first attempt ends late, successfully
	select {
	case err := <-observed:
		if !errors.Is(err, outbox.ErrLeaseLost) {
			t.Errorf("late outcome of the first attempt recorded (err %v), want ErrLeaseLost: the second attempt still holds the message", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("first attempt's outcome not observed")
	}
	if m, err := store.Message(context.Background(), id); err != nil {
		t.Fatal(err)
	} else if m.State == outbox.StateDelivered {
		t.Errorf("message delivered while its second attempt is still in flight")
	}
	// The second attempt's lease must outlive several lease periods.
	select {
	case c := <-calls:
		t.Errorf("attempt %d started while attempt 2 still runs: its lease was not renewed", c.attempt)
		close(c.release)
	case <-time.After(4 * lease):
	}
	second.release <- nil
	if _, err := awaitState(store.Store, id, outbox.StateDelivered); err != nil {
		t.Fatal(err)
	}
	as, err := store.Attempts(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range as {
		got = append(got, string(a.Outcome))
	}
	if len(as) != 2 || as[0].Number != 1 || as[0].Outcome != outbox.OutcomeUnknown || as[1].Number != 2 || as[1].Outcome != outbox.OutcomeDelivered {
		t.Errorf("attempt log %v, want [unknown delivered] numbered 1, 2", got)
	}
}
