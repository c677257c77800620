package outboxtest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/outbox"
)

// RunRelay checks the Relay on the store: delivery, failures persisted and
// retried, permanent errors, in-process blips, panics, an exhausted policy,
// isolation of destinations, orderly shutdown, the circuit breaker and
// Retry-After. (RunWatermill checks the same claim machinery through the
// watermill Subscriber.)
func RunRelay(t *testing.T, open Opener) {
	cases := []struct {
		name string
		fn   func(t *testing.T, s outbox.Store)
	}{
		{"Delivers", testRelayDelivers},
		{"FailuresArePersistedAndRetried", testRelayRetries},
		{"PermanentErrorIsDeadAfterOneAttempt", testRelayPermanent},
		{"BlipIsRetriedInProcess", testRelayBlip},
		{"PanicIsRecoveredAndRetried", testRelayPanic},
		{"ExhaustedPolicyIsDead", testRelayExhausted},
		{"SlowDestinationDoesNotDelayOthers", testRelayIsolation},
		{"ShutdownLetsInFlightDeliveryFinish", testRelayShutdown},
		{"OpenCircuitStopsHammering", testRelayCircuit},
		{"RetryAfterIsHonoured", testRelayRetryAfter},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t, open(t))
		})
	}
}

// fastPolicy retries within milliseconds.
var fastPolicy = outbox.RetryPolicy{InitialInterval: 20 * time.Millisecond, MaxInterval: 100 * time.Millisecond, Multiplier: 2}

// recorder is a Deliverer that counts calls and fails while fail returns an error.
type recorder struct {
	mu        sync.Mutex
	calls     map[string]int
	delivered map[string]int
	fail      func(d outbox.Delivery, call int) error
}

func newRecorder(fail func(d outbox.Delivery, call int) error) *recorder {
	return &recorder{calls: map[string]int{}, delivered: map[string]int{}, fail: fail}
}

func (r *recorder) Deliver(ctx context.Context, d outbox.Delivery) error {
	r.mu.Lock()
	r.calls[d.MessageID]++
	call := r.calls[d.MessageID]
	r.mu.Unlock()
	if r.fail != nil {
		if err := r.fail(d, call); err != nil {
			return err
		}
	}
	r.mu.Lock()
	r.delivered[d.MessageID]++
	r.mu.Unlock()
	return nil
}

func (r *recorder) count(id string) (calls, delivered int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[id], r.delivered[id]
}

func startRelay(t *testing.T, s outbox.Store, routes map[string]outbox.Route, blips int) (stop func()) {
	t.Helper()
	r, err := outbox.NewRelay(s, outbox.RelayConfig{
		Routes:       routes,
		Subscriber:   outbox.SubscriberConfig{PollInterval: 100 * time.Millisecond, Lease: 30 * time.Second},
		BlipRetries:  blips,
		CloseTimeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	select {
	case <-r.Running():
	case <-time.After(10 * time.Second):
		t.Fatal("relay did not start")
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("relay run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// waitState polls until the message reaches state.
func waitState(t *testing.T, s outbox.Store, subID, msgID string, state outbox.State, within time.Duration) outbox.Message {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		m := messageOf(t, s, subID, msgID)
		if m.State == state {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("message %s is %s after %v, want %s (attempts %d, last error %q)",
				msgID, m.State, within, state, m.Attempts, m.LastError)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func testRelayDelivers(t *testing.T, s outbox.Store) {
	topic := topicName()
	rec := newRecorder(nil)
	startRelay(t, s, map[string]outbox.Route{topic: {Deliverer: rec, Options: outbox.TopicOptions{Policy: fastPolicy, Concurrency: 4}}}, -1)
	var subs []outbox.Submission
	var msgs []outbox.Message
	for range 20 {
		sub, m := accept(t, s, topic)
		subs, msgs = append(subs, sub), append(msgs, m...)
	}
	for i, m := range msgs {
		got := waitState(t, s, subs[i].ID, m.ID, outbox.StateDelivered, 10*time.Second)
		if got.Attempts != 1 {
			t.Errorf("message %s: %d attempts, want 1", m.ID, got.Attempts)
		}
		if calls, delivered := rec.count(m.ID); calls != 1 || delivered != 1 {
			t.Errorf("message %s: %d calls, %d deliveries; want 1, 1", m.ID, calls, delivered)
		}
	}
}

func testRelayRetries(t *testing.T, s outbox.Store) {
	topic := topicName()
	var mu sync.Mutex
	down := true
	rec := newRecorder(func(outbox.Delivery, int) error {
		mu.Lock()
		defer mu.Unlock()
		if down {
			return errors.New("connection refused")
		}
		return nil
	})
	startRelay(t, s, map[string]outbox.Route{topic: {Deliverer: rec, Options: outbox.TopicOptions{Policy: fastPolicy}}}, -1)
	sub, msgs := accept(t, s, topic)
	m := msgs[0]
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := messageOf(t, s, sub.ID, m.ID)
		if got.Attempts >= 3 {
			if got.State != outbox.StateRetrying || !strings.Contains(got.LastError, "connection refused") {
				t.Fatalf("after failures: state %s, last error %q", got.State, got.LastError)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d attempts after 10s", got.Attempts)
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	down = false
	mu.Unlock()
	got := waitState(t, s, sub.ID, m.ID, outbox.StateDelivered, 10*time.Second)
	atts, err := s.Attempts(ctxT(t), m.ID)
	if err != nil || len(atts) != got.Attempts {
		t.Fatalf("attempts: %d rows (err %v), message says %d", len(atts), err, got.Attempts)
	}
	for i, a := range atts[:len(atts)-1] {
		if a.Outcome != outbox.OutcomeRetry || a.Number != i+1 {
			t.Errorf("attempt %d: %+v", i+1, a)
		}
	}
	if last := atts[len(atts)-1]; last.Outcome != outbox.OutcomeDelivered {
		t.Errorf("last attempt: %+v", last)
	}
}

func testRelayPermanent(t *testing.T, s outbox.Store) {
	topic := topicName()
	rec := newRecorder(func(outbox.Delivery, int) error {
		return outbox.Permanent(errors.New("HTTP 400: schema violation"))
	})
	startRelay(t, s, map[string]outbox.Route{topic: {Deliverer: rec, Options: outbox.TopicOptions{Policy: fastPolicy}}}, 2)
	sub, msgs := accept(t, s, topic)
	got := waitState(t, s, sub.ID, msgs[0].ID, outbox.StateDead, 10*time.Second)
	time.Sleep(200 * time.Millisecond) // would-be retries had time to happen
	if calls, _ := rec.count(msgs[0].ID); calls != 1 || got.Attempts != 1 {
		t.Fatalf("permanent failure: %d calls, %d attempts; want 1, 1", calls, got.Attempts)
	}
	if !strings.Contains(got.LastError, "schema violation") {
		t.Fatalf("last error %q does not carry the cause", got.LastError)
	}
}

func testRelayBlip(t *testing.T, s outbox.Store) {
	topic := topicName()
	rec := newRecorder(func(_ outbox.Delivery, call int) error {
		if call == 1 {
			return errors.New("connection reset")
		}
		return nil
	})
	startRelay(t, s, map[string]outbox.Route{topic: {Deliverer: rec, Options: outbox.TopicOptions{Policy: fastPolicy}}}, 2)
	sub, msgs := accept(t, s, topic)
	got := waitState(t, s, sub.ID, msgs[0].ID, outbox.StateDelivered, 10*time.Second)
	if calls, _ := rec.count(msgs[0].ID); calls != 2 || got.Attempts != 1 {
		t.Fatalf("blip: %d calls, %d recorded attempts; want 2 calls in one attempt", calls, got.Attempts)
	}
}

func testRelayPanic(t *testing.T, s outbox.Store) {
	topic := topicName()
	rec := newRecorder(func(_ outbox.Delivery, call int) error {
		if call == 1 {
			panic("adapter bug")
		}
		return nil
	})
	startRelay(t, s, map[string]outbox.Route{topic: {Deliverer: rec, Options: outbox.TopicOptions{Policy: fastPolicy}}}, -1)
	sub, msgs := accept(t, s, topic)
	waitState(t, s, sub.ID, msgs[0].ID, outbox.StateDelivered, 10*time.Second)
	atts, err := s.Attempts(ctxT(t), msgs[0].ID)
	if err != nil || len(atts) != 2 || !strings.Contains(atts[0].Error, "adapter bug") {
		t.Fatalf("attempts after panic: %+v, %v", atts, err)
	}
}

func testRelayExhausted(t *testing.T, s outbox.Store) {
	topic := topicName()
	rec := newRecorder(func(outbox.Delivery, int) error { return errors.New("503 Service Unavailable") })
	policy := fastPolicy
	// Long enough for a second attempt (20 ms after the first) even when the
	// first starts late on a starved machine; CI once saw 300 ms pass before it.
	policy.MaxElapsedTime = 1500 * time.Millisecond
	startRelay(t, s, map[string]outbox.Route{topic: {Deliverer: rec, Options: outbox.TopicOptions{Policy: policy}}}, -1)
	sub, msgs := accept(t, s, topic)
	got := waitState(t, s, sub.ID, msgs[0].ID, outbox.StateDead, 10*time.Second)
	if got.Attempts < 2 || !strings.Contains(got.LastError, "exhausted") {
		t.Fatalf("exhausted: %d attempts, last error %q", got.Attempts, got.LastError)
	}
}

func testRelayIsolation(t *testing.T, s outbox.Store) {
	slow, fast := topicName(), topicName()
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	slowRec := newRecorder(func(d outbox.Delivery, _ int) error {
		<-release
		return nil
	})
	fastRec := newRecorder(nil)
	startRelay(t, s, map[string]outbox.Route{
		slow: {Deliverer: slowRec, Options: outbox.TopicOptions{Policy: fastPolicy, Concurrency: 1}},
		fast: {Deliverer: fastRec, Options: outbox.TopicOptions{Policy: fastPolicy, Concurrency: 1}},
	}, -1)
	for range 5 {
		accept(t, s, slow)
	}
	for range 10 {
		sub, msgs := accept(t, s, fast)
		waitState(t, s, sub.ID, msgs[0].ID, outbox.StateDelivered, 10*time.Second)
	}
}

func testRelayShutdown(t *testing.T, s outbox.Store) {
	topic := topicName()
	started := make(chan struct{})
	rec := newRecorder(func(d outbox.Delivery, _ int) error {
		close(started)
		time.Sleep(500 * time.Millisecond)
		return nil
	})
	stop := startRelay(t, s, map[string]outbox.Route{topic: {Deliverer: rec, Options: outbox.TopicOptions{Policy: fastPolicy}}}, -1)
	sub, msgs := accept(t, s, topic)
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("delivery did not start")
	}
	stop()
	got := messageOf(t, s, sub.ID, msgs[0].ID)
	if got.State != outbox.StateDelivered || got.Attempts != 1 {
		t.Fatalf("after shutdown: state %s, attempts %d; want delivered in 1", got.State, got.Attempts)
	}
}

func testRelayCircuit(t *testing.T, s outbox.Store) {
	topic := topicName()
	const pause = 1500 * time.Millisecond
	var mu sync.Mutex
	down := true
	var at []time.Time // when each attempt started
	rec := newRecorder(func(outbox.Delivery, int) error {
		mu.Lock()
		defer mu.Unlock()
		at = append(at, time.Now())
		if down {
			return errors.New("503 Service Unavailable")
		}
		return nil
	})
	attempts := func() []time.Time {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(at)
	}
	startRelay(t, s, map[string]outbox.Route{topic: {Deliverer: rec, Options: outbox.TopicOptions{
		Policy: fastPolicy, Concurrency: 1,
		Breaker: outbox.BreakerOptions{Threshold: 3, Pause: pause},
	}}}, -1)
	var subs []outbox.Submission
	var msgs []outbox.Message
	for range 5 {
		sub, m := accept(t, s, topic)
		subs, msgs = append(subs, sub), append(msgs, m...)
	}
	// Three failures open the circuit; the next attempt is the probe after
	// the pause. fastPolicy alone would retry within 100ms. Measured from
	// the attempts' own times, so a slow test goroutine cannot skew it.
	deadline := time.Now().Add(15 * time.Second)
	for len(attempts()) < 4 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d attempts within 15s, want 3 and a probe after the pause", len(attempts()))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if a := attempts(); a[3].Sub(a[2]) < pause {
		t.Fatalf("the 4th attempt came %v after the 3rd, inside the circuit's pause of %v", a[3].Sub(a[2]), pause)
	}
	mu.Lock()
	down = false
	mu.Unlock()
	for i, m := range msgs {
		waitState(t, s, subs[i].ID, m.ID, outbox.StateDelivered, 15*time.Second)
	}
}

// retryAfter is a delivery error asking for a pause, like an HTTP 503 with Retry-After.
type retryAfter time.Duration

func (r retryAfter) Error() string             { return "503 Service Unavailable" }
func (r retryAfter) RetryAfter() time.Duration { return time.Duration(r) }

func testRelayRetryAfter(t *testing.T, s outbox.Store) {
	topic := topicName()
	rec := newRecorder(func(_ outbox.Delivery, call int) error {
		if call == 1 {
			return retryAfter(1500 * time.Millisecond)
		}
		return nil
	})
	startRelay(t, s, map[string]outbox.Route{topic: {Deliverer: rec, Options: outbox.TopicOptions{Policy: fastPolicy}}}, 2) // blip retries must not override the pause either
	sub, msgs := accept(t, s, topic)
	waitState(t, s, sub.ID, msgs[0].ID, outbox.StateDelivered, 10*time.Second)
	atts, err := s.Attempts(ctxT(t), msgs[0].ID)
	if err != nil || len(atts) != 2 {
		t.Fatalf("attempts = %+v, %v; want 2", atts, err)
	}
	// fastPolicy alone would retry within 100ms.
	if gap := atts[1].StartedAt.Sub(atts[0].FinishedAt); gap < 1400*time.Millisecond {
		t.Fatalf("second attempt %v after the first, want at least the 1.5s asked for", gap)
	}
}
