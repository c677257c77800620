package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/internal/testlog"
	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/outbox/sqlite"
)

// openStore opens a SQLite store in the test's temporary directory.
func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "amtsbote.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// run runs relay until stop, which waits for it to end; the test ends it otherwise.
func run(t *testing.T, relay *outbox.Relay) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- relay.Run(ctx) }()
	<-relay.Running()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("relay: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// awaitState reads the message until it is in state want, for up to 10s. It
// returns the message, or on timeout the last read and why it is not there.
func awaitState(store *sqlite.Store, id string, want outbox.State) (outbox.Message, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		m, err := store.Message(context.Background(), id)
		if err == nil && m.State == want {
			return m, nil
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("message %s is %s after 10s, want %s", id, m.State, want)
			}
			return m, err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// enqueue stores a message of topic with id, due at once.
func enqueue(t *testing.T, store outbox.Store, topic, id string) {
	t.Helper()
	err := store.InTx(context.Background(), func(tx outbox.Tx) error {
		return tx.InsertMessages(context.Background(), []outbox.Message{{ID: id, Topic: topic, Payload: []byte("<x/>")}})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// quickRetry retries after 10ms, always.
var quickRetry = outbox.RetryPolicy{InitialInterval: 10 * time.Millisecond, MaxInterval: 10 * time.Millisecond, Multiplier: 1}

// failsFirst answers its first delivery with a 503, after calling onFirst
// (when set), and accepts every later one.
func failsFirst(onFirst func()) outbox.Deliverer {
	var mu sync.Mutex
	calls := 0
	return outbox.DelivererFunc(func(context.Context, outbox.Delivery) error {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls > 1 {
			return nil
		}
		if onFirst != nil {
			onFirst()
		}
		return errors.New("503 Service Unavailable")
	})
}

// A receiver's error text may quote the applicant's data: it is kept as the
// message's last error, never written to the logs, even at debug level.
func TestRelayLogsNoDeliveryErrorText(t *testing.T) {
	t.Parallel()
	store := openStore(t)
	var logs testlog.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	const secret = "Familienname 'Mustermann'"
	topic := "t/p.q/d"
	relay, err := outbox.NewRelay(store, outbox.RelayConfig{
		Routes: map[string]outbox.Route{topic: {
			Deliverer: outbox.DelivererFunc(func(context.Context, outbox.Delivery) error {
				return errors.New("422 Unprocessable Entity: " + secret)
			}),
			Options: outbox.TopicOptions{Policy: outbox.RetryPolicy{InitialInterval: time.Hour, MaxInterval: time.Hour, Multiplier: 1}},
		}},
		Subscriber:   outbox.SubscriberConfig{PollInterval: 50 * time.Millisecond},
		CloseTimeout: 5 * time.Second,
		Logger:       logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, relay)
	id := "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f"
	enqueue(t, store, topic, id)
	m, err := awaitState(store, id, outbox.StateRetrying)
	if err != nil {
		t.Fatalf("no failed attempt recorded within 10s (%+v, %v)", m, err)
	}
	if !strings.Contains(m.LastError, secret) {
		t.Fatalf("last error %q lost the receiver's answer", m.LastError)
	}
	stop()
	if strings.Contains(logs.String(), "Mustermann") {
		t.Fatalf("logs contain the receiver's error text:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), id) {
		t.Fatalf("logs do not name the message id:\n%s", logs.String())
	}
}

// flakyClaims fails the n-th Claim once, like a database blip.
type flakyClaims struct {
	outbox.Store
	mu     sync.Mutex
	claims int
	failAt int
}

func (f *flakyClaims) Claim(ctx context.Context, p outbox.ClaimParams) ([]outbox.Message, error) {
	f.mu.Lock()
	f.claims++
	fail := f.claims == f.failAt
	f.mu.Unlock()
	if fail {
		return nil, errors.New("connection reset by peer")
	}
	return f.Store.Claim(ctx, p)
}

// A circuit probe whose claim fails is given back: the destination gets its
// deliveries once the database answers again, instead of waiting for a restart.
func TestCircuitProbeSurvivesClaimError(t *testing.T) {
	t.Parallel()
	base := openStore(t)
	store := &flakyClaims{Store: base}
	topic := "t/p.q/d"
	relay, err := outbox.NewRelay(store, outbox.RelayConfig{
		Routes: map[string]outbox.Route{topic: {
			// The first failure opens the circuit; the probe's claim will fail next.
			Deliverer: failsFirst(func() {
				store.mu.Lock()
				store.failAt = store.claims + 1
				store.mu.Unlock()
			}),
			Options: outbox.TopicOptions{
				Policy:  quickRetry,
				Breaker: outbox.BreakerOptions{Threshold: 1, Pause: 100 * time.Millisecond},
			},
		}},
		Subscriber:   outbox.SubscriberConfig{PollInterval: 50 * time.Millisecond},
		BlipRetries:  -1,
		CloseTimeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, relay)
	id := "7a1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f"
	enqueue(t, base, topic, id)
	if _, err := awaitState(base, id, outbox.StateDelivered); err != nil {
		store.mu.Lock()
		t.Fatalf("not delivered within 10s after a failed probe claim (claims %d, fail at %d)", store.claims, store.failAt)
	}
	stop()
}

// An ordered topic whose head waits for its retry does not spin on claims while
// later messages are due: it wakes on notifications, freed slots and the poll.
func TestOrderedTopicDoesNotSpin(t *testing.T) {
	t.Parallel()
	base := openStore(t)
	store := &flakyClaims{Store: base}
	topic := "t/p.q/fifo"
	relay, err := outbox.NewRelay(store, outbox.RelayConfig{
		Routes: map[string]outbox.Route{topic: {
			Deliverer: outbox.DelivererFunc(func(context.Context, outbox.Delivery) error { return errors.New("503") }),
			Options: outbox.TopicOptions{Ordered: true,
				Policy: outbox.RetryPolicy{InitialInterval: time.Hour, MaxInterval: time.Hour, Multiplier: 1}},
		}},
		Subscriber:   outbox.SubscriberConfig{PollInterval: 100 * time.Millisecond},
		BlipRetries:  -1,
		CloseTimeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, relay)
	for _, id := range []string{"8a1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f", "8b1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f"} {
		enqueue(t, base, topic, id)
	}
	time.Sleep(300 * time.Millisecond) // the head failed and waits an hour; the second is due
	store.mu.Lock()
	before := store.claims
	store.mu.Unlock()
	time.Sleep(time.Second)
	store.mu.Lock()
	n := store.claims - before
	store.mu.Unlock()
	stop()
	if n > 20 { // the 100ms poll allows about 10
		t.Fatalf("%d claims in one second while the head waits: the subscription spins", n)
	}
}

// heldRecords keeps every outcome from being recorded until open is closed.
type heldRecords struct {
	outbox.Store
	open chan struct{}
}

func (h *heldRecords) Complete(ctx context.Context, c outbox.Completion) error {
	select {
	case <-h.open:
	case <-ctx.Done():
		return ctx.Err()
	}
	return h.Store.Complete(ctx, c)
}

// deliveriesWhileRecordsWait publishes want+1 messages to a topic of
// concurrency 1 whose outcomes cannot be recorded yet. It waits for want
// deliveries, then for any further one the relay makes; it returns how many
// there were, then lets the records through and checks that all end
// delivered.
func deliveriesWhileRecordsWait(t *testing.T, ordered bool, want int) int {
	t.Helper()
	base := openStore(t)
	store := &heldRecords{Store: base, open: make(chan struct{})}
	topic := "t/p.q/d"
	delivered := make(chan string, want+1)
	relay, err := outbox.NewRelay(store, outbox.RelayConfig{
		Routes: map[string]outbox.Route{topic: {
			Deliverer: outbox.DelivererFunc(func(_ context.Context, d outbox.Delivery) error {
				delivered <- d.MessageID
				return nil
			}),
			Options: outbox.TopicOptions{Policy: outbox.DefaultRetryPolicy(), Concurrency: 1, Ordered: ordered},
		}},
		Subscriber:   outbox.SubscriberConfig{PollInterval: 20 * time.Millisecond},
		CloseTimeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, want+1)
	for i := range ids {
		ids[i] = fmt.Sprintf("8a1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d%04d", i)
	}
	for _, id := range ids {
		enqueue(t, base, topic, id)
	}
	stop := run(t, relay)
	release := sync.OnceFunc(func() { close(store.open) })
	t.Cleanup(release) // runs before the relay stops, which waits for the records
	deadline := time.Now().Add(10 * time.Second)
	for n := range want {
		select {
		case <-delivered:
		case <-time.After(time.Until(deadline)):
			t.Fatalf("%d deliveries within 10s while the first outcome waited to be recorded, want %d", n, want)
		}
	}
	// A delivery beyond those would come within a few polls; give it ten.
	time.Sleep(200 * time.Millisecond)
	n := want + len(delivered)
	release()
	for _, id := range ids {
		if m, err := awaitState(base, id, outbox.StateDelivered); err != nil {
			t.Fatalf("%s not delivered within 10s after the records were let through (%+v, %v)", id, m, err)
		}
	}
	stop()
	return n
}

// A delivery gives its slot back once its outcome is known: the next message
// is delivered while the record commits. Outcomes waiting to be recorded are
// bounded by HandLimit, so with concurrency 1 the delivery after HandLimit(1)
// of them holds the slot until it can wait too, and the next one waits.
func TestNextDeliveryWhileOutcomeIsRecorded(t *testing.T) {
	t.Parallel()
	want := outbox.HandLimit(1) + 1
	if n := deliveriesWhileRecordsWait(t, false, want); n != want {
		t.Fatalf("%d deliveries while the first outcome waited to be recorded, want %d (the slot given back, then the bound on waiting records)", n, want)
	}
}

// On an ordered topic the next message waits until the outcome of the one
// before is recorded.
func TestOrderedDeliveryWaitsForRecord(t *testing.T) {
	t.Parallel()
	if n := deliveriesWhileRecordsWait(t, true, 1); n != 1 {
		t.Fatalf("%d deliveries on an ordered topic while the first outcome waited to be recorded, want 1", n)
	}
}

// slowRecords takes a while to record each outcome, as a busy database does.
type slowRecords struct{ outbox.Store }

func (s slowRecords) Complete(ctx context.Context, c outbox.Completion) error {
	time.Sleep(100 * time.Millisecond)
	return s.Store.Complete(ctx, c)
}

// A retry due soon is attempted when it is due, not at the next poll, even
// though the claim loop ran on while the failed attempt was being recorded.
func TestRetryDueBeforeNextPoll(t *testing.T) {
	t.Parallel()
	base := openStore(t)
	topic := "t/p.q/d"
	relay, err := outbox.NewRelay(slowRecords{base}, outbox.RelayConfig{
		Routes: map[string]outbox.Route{topic: {
			Deliverer: failsFirst(nil),
			Options: outbox.TopicOptions{
				Policy:      quickRetry,
				Concurrency: 2,
			},
		}},
		Subscriber:   outbox.SubscriberConfig{PollInterval: time.Minute},
		BlipRetries:  -1,
		CloseTimeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, relay)
	id := "9a1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f"
	enqueue(t, base, topic, id)
	// The poll is a minute away; ten seconds are plenty for a retry due after 10ms.
	if _, err := awaitState(base, id, outbox.StateDelivered); err != nil {
		t.Fatal("the retry waited for the poll: not delivered within 10s")
	}
	stop()
}

// A delivery that does not finish within the close timeout, not even when
// its context is cancelled, is given up: Run returns after the grace, no
// attempt is recorded and the lease is released, so another process can
// deliver it at once.
func TestShutdownGivesUpStuckDelivery(t *testing.T) {
	t.Parallel()
	store := openStore(t)
	topic := "t/p.q/d"
	started, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	relay, err := outbox.NewRelay(store, outbox.RelayConfig{
		Routes: map[string]outbox.Route{topic: {
			Deliverer: outbox.DelivererFunc(func(context.Context, outbox.Delivery) error {
				close(started)
				<-release // ignores its context
				return nil
			}),
			Options: outbox.TopicOptions{Policy: quickRetry},
		}},
		Subscriber:   outbox.SubscriberConfig{PollInterval: 50 * time.Millisecond},
		CloseTimeout: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	outbox.SetGiveUpGrace(relay, 200*time.Millisecond)
	stop := run(t, relay)
	id := "aa1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f"
	enqueue(t, store, topic, id)
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("delivery did not start within 10s")
	}
	stopped := make(chan struct{})
	go func() {
		stop()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("Run waited for a stuck delivery beyond the close timeout")
	}
	m, err := store.Message(context.Background(), id)
	if err != nil || m.State != outbox.StatePending || m.Attempts != 0 {
		t.Fatalf("after giving up: %+v, %v; want pending without attempts", m, err)
	}
	claimed, err := store.Claim(context.Background(), outbox.ClaimParams{Topic: topic, Owner: "other", Limit: 1, Lease: time.Minute})
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim by another owner: %d messages, %v; want the released one", len(claimed), err)
	}
}

// A delivery given up at the close timeout has its context cancelled, and
// Run waits for it to return (within the grace), so that the caller does
// not close the deliverers and the store under it.
func TestShutdownWaitsForGivenUpDelivery(t *testing.T) {
	t.Parallel()
	store := openStore(t)
	topic := "t/p.q/d"
	started, cancelled, release := make(chan struct{}), make(chan struct{}), make(chan struct{})
	var returned atomic.Bool
	relay, err := outbox.NewRelay(store, outbox.RelayConfig{
		Routes: map[string]outbox.Route{topic: {
			Deliverer: outbox.DelivererFunc(func(ctx context.Context, _ outbox.Delivery) error {
				close(started)
				<-ctx.Done()
				close(cancelled)
				<-release // cleaning up after the cancellation
				returned.Store(true)
				return ctx.Err()
			}),
			Options: outbox.TopicOptions{Policy: quickRetry},
		}},
		Subscriber:   outbox.SubscriberConfig{PollInterval: 50 * time.Millisecond},
		CloseTimeout: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, relay)
	enqueue(t, store, topic, "bb1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f")
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("delivery did not start within 10s")
	}
	stopped := make(chan struct{})
	go func() {
		stop()
		close(stopped)
	}()
	<-cancelled
	select {
	case <-stopped:
		t.Fatal("Run returned while a delivery it gave up was still running")
	case <-time.After(300 * time.Millisecond):
	}
	close(release)
	<-stopped
	if !returned.Load() {
		t.Error("Run returned before the delivery did")
	}
}

// NewRelay starts no goroutine: a relay built but never run (serve failing
// after building it) leaves nothing behind. The store records in batches,
// which takes goroutines once the relay runs.
func TestNewRelayStartsNoGoroutine(t *testing.T) {
	store := openStore(t)
	if _, ok := any(store).(outbox.BatchCompleter); !ok {
		t.Fatal("the SQLite store records no batches: the test would prove nothing")
	}
	before := runtime.NumGoroutine()
	for range 10 {
		_, err := outbox.NewRelay(store, outbox.RelayConfig{Routes: map[string]outbox.Route{
			"t/p.q/d": {Deliverer: outbox.DelivererFunc(func(context.Context, outbox.Delivery) error { return nil }),
				Options: outbox.TopicOptions{Policy: quickRetry}},
		}})
		if err != nil {
			t.Fatal(err)
		}
	}
	if after := runtime.NumGoroutine(); after > before {
		t.Errorf("%d goroutines after building 10 relays, %d before", after, before)
	}
}

// probingDeliverer fails its first delivery and is a Prober whose probe
// succeeds once back is set.
type probingDeliverer struct {
	outbox.Deliverer
	back   atomic.Bool
	probes atomic.Int32
}

func (p *probingDeliverer) Probe(context.Context) error {
	p.probes.Add(1)
	if !p.back.Load() {
		return errors.New("still down")
	}
	return nil
}

// A destination that reports itself back (its probe succeeds) ends the
// circuit's pause at once: the message is delivered long before the pause
// (an hour) would have ended.
func TestCircuitClosesWhenDestinationReportsBack(t *testing.T) {
	t.Parallel()
	store := openStore(t)
	topic := "t/p.q/d"
	opened := make(chan struct{})
	d := &probingDeliverer{Deliverer: failsFirst(func() { close(opened) })}
	relay, err := outbox.NewRelay(store, outbox.RelayConfig{
		Routes: map[string]outbox.Route{topic: {
			Deliverer: d,
			Options: outbox.TopicOptions{
				Policy:  quickRetry,
				Breaker: outbox.BreakerOptions{Threshold: 1, Pause: time.Hour},
			},
		}},
		Subscriber:    outbox.SubscriberConfig{PollInterval: 50 * time.Millisecond},
		BlipRetries:   -1,
		CloseTimeout:  5 * time.Second,
		ProbeInterval: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, relay)
	defer stop()
	id := "8b2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
	enqueue(t, store, topic, id)
	<-opened
	for d.probes.Load() < 2 { // probed while down: the circuit stays open
		time.Sleep(10 * time.Millisecond)
	}
	if got := relay.CircuitState(topic); got != outbox.CircuitOpen {
		t.Fatalf("circuit %v while the probes fail, want open", got)
	}
	d.back.Store(true)
	if _, err := awaitState(store, id, outbox.StateDelivered); err != nil {
		t.Fatalf("not delivered after the destination reported itself back: %v", err)
	}
	if got := relay.CircuitState(topic); got != outbox.CircuitClosed {
		t.Fatalf("circuit %v after the probe delivery, want closed", got)
	}
}
