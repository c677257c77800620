package intake_test

import (
	"context"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/intake"
	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/outbox/outboxtest"
)

// With the relay of the process as its Handoff, Accept commits the
// messages leased to it and hands them over: they are delivered without a
// claim. A replayed request (nothing stored) gives its tickets back.
func TestAcceptHandsMessagesToRelay(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, st outbox.Store) {
		cfg := testConfig(t)
		delivered := make(chan outbox.Delivery, 8)
		cc := &outboxtest.CountingStore{Store: st}
		relay, routes := runRelay(t, cc, cfg, outbox.SubscriberConfig{Owner: "intake-test", PollInterval: time.Hour},
			func(_ context.Context, dl outbox.Delivery) error { delivered <- dl; return nil })
		// Each topic's loop claims once at start, then asks for the next due
		// time, its slots free again (it reserves them while it claims).
		deadline := time.Now().Add(30 * time.Second)
		for cc.NextDues.Load() < int64(len(routes)) {
			if time.Now().After(deadline) {
				t.Fatalf("%d next-due queries at start after 30s, want %d", cc.NextDues.Load(), len(routes))
			}
			time.Sleep(10 * time.Millisecond)
		}
		claims, nextDue := cc.Claims.Load(), cc.NextDues.Load()
		s, err := intake.New(intake.Config{Config: cfg, Store: st, Registry: testRegistry(t), Product: testProduct,
			Handoff: relay})
		if err != nil {
			t.Fatal(err)
		}
		r := demoRequest(t, gewerbe)
		r.IdempotencyKey = "handoff"
		rc, err := s.Accept(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		for range 2 { // gewerbe: fachverfahren and eakte
			select {
			case dl := <-delivered:
				if dl.SubmissionID != rc.SubmissionID || dl.Attempt != 1 {
					t.Errorf("delivered %+v, want attempt 1 of %s", dl, rc.SubmissionID)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("not delivered within 30s")
			}
		}
		if n, d := cc.Claims.Load()-claims, cc.NextDues.Load()-nextDue; n != 0 || d != 0 {
			t.Errorf("%d claims and %d next-due queries for handed messages, want none", n, d)
		}
		// The replay stores nothing: its ticket is cancelled, the slot
		// (Concurrency 1) free again once the first delivery's is.
		if again, err := s.Accept(context.Background(), r); err != nil || !again.Replayed {
			t.Fatalf("replay = %+v, %v", again, err)
		}
		deadline = time.Now().Add(30 * time.Second)
		for {
			_, msgs, err := st.Submission(context.Background(), rc.SubmissionID)
			if err == nil && len(msgs) == 2 && msgs[0].State == outbox.StateDelivered && msgs[1].State == outbox.StateDelivered {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("submission not delivered after 30s: %v", err)
			}
			time.Sleep(10 * time.Millisecond)
		}
		topic := msgs0Topic(t, st, rc.SubmissionID)
		deadline = time.Now().Add(30 * time.Second)
		for {
			if ticket, ok := relay.Offer(topic); ok {
				ticket.Cancel()
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("slot not free after the replay")
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

func msgs0Topic(t *testing.T, st outbox.Store, id string) string {
	t.Helper()
	_, msgs, err := st.Submission(context.Background(), id)
	if err != nil || len(msgs) == 0 {
		t.Fatalf("submission %s: %v", id, err)
	}
	return msgs[0].Topic
}

// leaseRecorder records the messages inserted through InTx.
type leaseRecorder struct {
	outbox.Store
	inserted chan []outbox.Message
}

func (r *leaseRecorder) InTx(ctx context.Context, fn func(outbox.Tx) error) error {
	return r.Store.InTx(ctx, func(tx outbox.Tx) error { return fn(recordingTx{Tx: tx, r: r}) })
}

type recordingTx struct {
	outbox.Tx
	r *leaseRecorder
}

func (t recordingTx) InsertMessages(ctx context.Context, msgs []outbox.Message) error {
	t.r.inserted <- append([]outbox.Message(nil), msgs...)
	return t.Tx.InsertMessages(ctx, msgs)
}

// A handed message's lease outlasts the intake transaction even when
// relay.lease is shorter than the database budget: else a slow commit
// would have it recovered as lost while this process hands it over.
func TestHandedLeaseOutlastsTransaction(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, st outbox.Store) {
		cfg := testConfig(t)
		relay, _ := runRelay(t, st, cfg, outbox.SubscriberConfig{Owner: "lease-test", PollInterval: time.Hour, Lease: time.Second},
			func(context.Context, outbox.Delivery) error { return nil })
		rec := &leaseRecorder{Store: st, inserted: make(chan []outbox.Message, 4)}
		const budget = 5 * time.Second
		s, err := intake.New(intake.Config{Config: cfg, Store: rec, Registry: testRegistry(t), Product: testProduct,
			Handoff: relay, DatabaseTimeout: budget})
		if err != nil {
			t.Fatal(err)
		}
		// The claim loops reserve their slots while they claim at start:
		// submit until a message was handed (leased at insert).
		deadline := time.Now().Add(30 * time.Second)
		for n := 0; ; n++ {
			before := time.Now()
			if _, err := s.Accept(context.Background(), demoRequest(t, gewerbe)); err != nil {
				t.Fatal(err)
			}
			msgs := <-rec.inserted
			var handed int
			for _, m := range msgs {
				if m.LeaseOwner == "" {
					continue
				}
				handed++
				if min := before.Add(budget); m.LeaseUntil.Before(min) {
					t.Errorf("message %s leased until %s, before the transaction's budget ends (%s)",
						m.ID, m.LeaseUntil.Format(time.RFC3339Nano), min.Format(time.RFC3339Nano))
				}
			}
			if handed > 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("no message handed after %d submissions in 30s", n+1)
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// runRelay runs a relay on st, until the test ends, with one route of
// concurrency 1 per destination of cfg, each delivering with deliver; it
// returns once the relay runs.
func runRelay(t *testing.T, st outbox.RelayStore, cfg *config.Config, sc outbox.SubscriberConfig,
	deliver func(context.Context, outbox.Delivery) error) (*outbox.Relay, map[string]outbox.Route) {
	t.Helper()
	routes := map[string]outbox.Route{}
	for _, ten := range cfg.Tenants {
		for _, r := range ten.Procedures {
			for _, d := range r.Destinations {
				routes[ten.ID+"/"+r.Procedure+"/"+d.ID] = outbox.Route{Deliverer: outbox.DelivererFunc(deliver),
					Options: outbox.TopicOptions{Concurrency: 1,
						Policy: outbox.RetryPolicy{InitialInterval: time.Second, MaxInterval: time.Second, Multiplier: 1}}}
			}
		}
	}
	relay, err := outbox.NewRelay(st, outbox.RelayConfig{Routes: routes, Subscriber: sc})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- relay.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	<-relay.Running()
	return relay, routes
}
