package outboxtest

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/outbox"
)

// RunHandoff checks messages handed from a commit to the relay of the same
// process (Relay.Offer) on the store: delivered without a claim and without
// waking the topic's watchers, recorded as a claimed one; a failed commit
// gives the place back; a message committed but never handed (the process
// died) is recovered as an attempt of unknown outcome and delivered again;
// one handed while the relay stops has its lease released.
func RunHandoff(t *testing.T, open Opener) {
	cases := []struct {
		name string
		fn   func(t *testing.T, s outbox.Store)
	}{
		{"HandedIsDeliveredWithoutClaim", testHandoffDelivers},
		{"FailedCommitGivesPlaceBack", testHandoffRollback},
		{"NeverHandedIsRecovered", testHandoffLost},
		{"HandedAtShutdownIsReleased", testHandoffShutdown},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t, open(t))
		})
	}
}

// CountingStore counts a relay's claims and next-due queries on Store: a
// handed message must cost neither.
type CountingStore struct {
	outbox.Store
	Claims, NextDues atomic.Int64
}

// Claim counts and claims.
func (c *CountingStore) Claim(ctx context.Context, p outbox.ClaimParams) ([]outbox.Message, error) {
	c.Claims.Add(1)
	return c.Store.Claim(ctx, p)
}

// NextDue counts and asks.
func (c *CountingStore) NextDue(ctx context.Context, topic string) (time.Time, bool, error) {
	c.NextDues.Add(1)
	return c.Store.NextDue(ctx, topic)
}

// handoffRelay is a relay of one topic on s, running until the test ends
// or cancel is called; done receives Run's result.
type handoffRelay struct {
	*outbox.Relay
	owner  string
	cancel context.CancelFunc
	done   chan struct{} // closed once Run returned
}

func startHandoffRelay(t *testing.T, s outbox.RelayStore, topic, owner string, d outbox.Deliverer, sc outbox.SubscriberConfig) *handoffRelay {
	t.Helper()
	sc.Owner = owner
	r, err := outbox.NewRelay(s, outbox.RelayConfig{
		Routes:       map[string]outbox.Route{topic: {Deliverer: d, Options: outbox.TopicOptions{Policy: fastPolicy, Concurrency: 1}}},
		Subscriber:   sc,
		BlipRetries:  -1,
		CloseTimeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &handoffRelay{Relay: r, owner: owner, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(h.done)
		if err := r.Run(ctx); err != nil {
			t.Errorf("relay run: %v", err)
		}
	}()
	select {
	case <-r.Running():
	case <-time.After(30 * time.Second):
		t.Fatal("relay did not start")
	}
	t.Cleanup(h.stop)
	return h
}

// stop ends the relay and waits for it.
func (h *handoffRelay) stop() {
	h.cancel()
	<-h.done
}

// commitLeased stores a submission with m in one transaction, m leased
// through ticket; fail, when set, makes the transaction fail after the
// insert.
func commitLeased(ctx context.Context, s outbox.Store, ticket *outbox.Ticket, m *outbox.Message, fail error) error {
	ticket.Lease(m)
	return s.InTx(ctx, func(tx outbox.Tx) error {
		sub := NewSubmission("")
		sub.ID = m.SubmissionID
		if _, _, err := tx.CreateSubmission(ctx, sub); err != nil {
			return err
		}
		if err := tx.InsertMessages(ctx, []outbox.Message{*m}); err != nil {
			return err
		}
		return fail
	})
}

// Offer takes a ticket of r on topic, waiting up to 30 s for a slot: the
// claim loop reserves the free ones while it claims.
func Offer(t *testing.T, r *outbox.Relay, topic string) *outbox.Ticket {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if ticket, ok := r.Offer(topic); ok {
			return ticket
		}
		if time.Now().After(deadline) {
			t.Fatalf("no slot offered on %s within 30s", topic)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// awaitCount waits up to 30 s for n to reach want.
func awaitCount(t *testing.T, what string, n *atomic.Int64, want int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for n.Load() < want {
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d after 30s, want %d", what, n.Load(), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// attemptsOf returns the attempt log of a message as "number outcome owner".
func attemptsOf(t *testing.T, s outbox.Store, id string) []outbox.Attempt {
	t.Helper()
	as, err := s.Attempts(ctxT(t), id)
	if err != nil {
		t.Fatal(err)
	}
	return as
}

func testHandoffDelivers(t *testing.T, s outbox.Store) {
	topic := topicName()
	cs := &CountingStore{Store: s}
	rec := newRecorder(nil)
	// No poll during the test: only a wake-up would make the loop claim.
	r := startHandoffRelay(t, cs, topic, "handoff-owner", rec, outbox.SubscriberConfig{PollInterval: time.Hour, Lease: 30 * time.Second})
	awaitCount(t, "claims at start", &cs.Claims, 1)
	awaitCount(t, "next-due queries at start", &cs.NextDues, 1)
	claims, nextDue := cs.Claims.Load(), cs.NextDues.Load()
	watch, stopWatch := s.Watch(topic)
	defer stopWatch()

	ticket := Offer(t, r.Relay, topic)
	m := NewMessage(topic, NewSubmission("").ID)
	if err := commitLeased(ctxT(t), s, ticket, &m, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case <-watch:
		t.Error("the commit of a leased message woke the topic's watchers")
	default:
	}
	ticket.Hand(m)
	got := waitState(t, s, m.SubmissionID, m.ID, outbox.StateDelivered, 30*time.Second)
	if got.Attempts != 1 {
		t.Errorf("attempts = %d, want 1", got.Attempts)
	}
	if calls, delivered := rec.count(m.ID); calls != 1 || delivered != 1 {
		t.Errorf("%d calls, %d deliveries; want 1, 1", calls, delivered)
	}
	if n, d := cs.Claims.Load()-claims, cs.NextDues.Load()-nextDue; n != 0 || d != 0 {
		t.Errorf("the handed message cost %d claims and %d next-due queries, want none", n, d)
	}
	as := attemptsOf(t, s, m.ID)
	if len(as) != 1 || as[0].Number != 1 || as[0].Outcome != outbox.OutcomeDelivered || as[0].Owner != r.owner {
		t.Errorf("attempts = %+v, want 1 delivered by %s", as, r.owner)
	}
	// The audit trail answers as for a claimed message.
	want := []string{"accepted", "transformed", "attempt/1/delivered", "delivered"}
	if got := trail(events(t, s, m.SubmissionID)); !slices.Equal(got, want) {
		t.Errorf("trail:\n got %v\nwant %v", got, want)
	}
}

func testHandoffRollback(t *testing.T, s outbox.Store) {
	topic := topicName()
	rec := newRecorder(nil)
	r := startHandoffRelay(t, s, topic, "rollback-owner", rec, outbox.SubscriberConfig{PollInterval: 50 * time.Millisecond, Lease: 30 * time.Second})
	ticket := Offer(t, r.Relay, topic)
	others := make([]*outbox.Ticket, outbox.HandLimit(1)-1)
	for i := range others {
		others[i] = Offer(t, r.Relay, topic)
	}
	if _, ok := r.Offer(topic); ok {
		t.Fatalf("Offer gave place %d with Concurrency 1", outbox.HandLimit(1)+1)
	}
	m := NewMessage(topic, NewSubmission("").ID)
	errBroken := errors.New("broken")
	if err := commitLeased(ctxT(t), s, ticket, &m, errBroken); !errors.Is(err, errBroken) {
		t.Fatalf("commit = %v, want the transaction's error", err)
	}
	ticket.Cancel()
	ticket.Hand(m) // after Cancel: nothing
	if _, err := s.Message(ctxT(t), m.ID); !errors.Is(err, outbox.ErrNotFound) {
		t.Errorf("Message after the rollback: %v, want ErrNotFound", err)
	}
	// Its place is free again (once the claim loop found nothing left by
	// the refusal), and nothing was delivered.
	Offer(t, r.Relay, topic).Cancel() // else the cancelled ticket kept its place
	for _, o := range others {
		o.Cancel()
	}
	// The claim loop still runs: a message published the usual way is delivered.
	sub, msgs := accept(t, s, topic)
	waitState(t, s, sub.ID, msgs[0].ID, outbox.StateDelivered, 30*time.Second)
	if calls, _ := rec.count(m.ID); calls != 0 {
		t.Errorf("the rolled back message was delivered %d times", calls)
	}
}

func testHandoffLost(t *testing.T, s outbox.Store) {
	topic := topicName()
	rec := newRecorder(nil)
	const lease = 300 * time.Millisecond
	r := startHandoffRelay(t, s, topic, "lost-owner", rec, outbox.SubscriberConfig{PollInterval: 50 * time.Millisecond,
		Lease: lease, RecoverInterval: 50 * time.Millisecond})
	ticket := Offer(t, r.Relay, topic)
	m := NewMessage(topic, NewSubmission("").ID)
	if err := commitLeased(ctxT(t), s, ticket, &m, nil); err != nil {
		t.Fatal(err)
	}
	// The process "dies" between the commit and Hand: the message is never
	// handed, its lease is never renewed. (Its slot is given back so that
	// the same relay can play the next process.)
	ticket.Cancel()
	waitState(t, s, m.SubmissionID, m.ID, outbox.StateDelivered, 30*time.Second)
	as := attemptsOf(t, s, m.ID)
	if len(as) != 2 || as[0].Outcome != outbox.OutcomeUnknown || as[0].Owner != r.owner || as[0].Number != 1 ||
		as[1].Outcome != outbox.OutcomeDelivered || as[1].Number != 2 {
		t.Errorf("attempts = %+v, want 1 unknown by %s, 2 delivered", as, r.owner)
	}
	if calls, _ := rec.count(m.ID); calls != 1 {
		t.Errorf("%d deliveries, want 1 (after the recovery)", calls)
	}
}

func testHandoffShutdown(t *testing.T, s outbox.Store) {
	topic := topicName()
	first := newRecorder(nil)
	r := startHandoffRelay(t, s, topic, "stopping-owner", first, outbox.SubscriberConfig{PollInterval: 50 * time.Millisecond, Lease: time.Hour})
	ticket := Offer(t, r.Relay, topic)
	m := NewMessage(topic, NewSubmission("").ID)
	if err := commitLeased(ctxT(t), s, ticket, &m, nil); err != nil {
		t.Fatal(err)
	}
	r.cancel() // the relay stops; its subscription waits for the ticket
	if _, ok := r.Offer(topic); ok {
		t.Error("a stopping relay offered a slot")
	}
	ticket.Hand(m)
	select {
	case <-r.done:
	case <-time.After(30 * time.Second):
		t.Fatal("relay did not stop")
	}
	if calls, _ := first.count(m.ID); calls != 0 {
		t.Fatalf("the stopping relay delivered the handed message (%d calls)", calls)
	}
	// The lease (an hour) was released: the next process delivers at once,
	// as its first attempt.
	next := newRecorder(nil)
	startHandoffRelay(t, s, topic, "next-owner", next, outbox.SubscriberConfig{PollInterval: 50 * time.Millisecond, Lease: 30 * time.Second})
	waitState(t, s, m.SubmissionID, m.ID, outbox.StateDelivered, 30*time.Second)
	as := attemptsOf(t, s, m.ID)
	if len(as) != 1 || as[0].Owner != "next-owner" || as[0].Outcome != outbox.OutcomeDelivered {
		t.Errorf("attempts = %+v, want 1 delivered by next-owner", as)
	}
}
