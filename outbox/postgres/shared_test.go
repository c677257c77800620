package postgres_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/outbox/outboxtest"
	"github.com/amtsbote/amtsbote/outbox/postgres"
	"github.com/amtsbote/amtsbote/outbox/postgres/pgtest"
)

// submit returns an InTxShared fn that creates sub with one message, and
// first waits for hold to be closed (nil: does not wait).
func submit(sub outbox.Submission, topic string, hold <-chan struct{}) func(outbox.Tx) error {
	return func(tx outbox.Tx) error {
		if hold != nil {
			<-hold
		}
		if _, _, err := tx.CreateSubmission(context.Background(), sub); err != nil {
			return err
		}
		return tx.InsertMessages(context.Background(), []outbox.Message{outboxtest.NewMessage(topic, sub.ID)})
	}
}

// sharedStore opens a store on a fresh database and returns its URL.
func sharedStore(t *testing.T) (*postgres.Store, string) {
	t.Helper()
	url := pgtest.NewDatabase(t)
	// More connections than shared transactions run at once (4) and the
	// listener take, as serve's default (16).
	s, err := postgres.Open(context.Background(), postgres.Config{URL: url, MaxConns: 16})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, url
}

// transactions returns how many transactions inserted the submissions ids:
// the distinct xmin of their rows.
func transactions(t *testing.T, url string, ids []string) int {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(context.Background(),
		"SELECT count(DISTINCT xmin::text) FROM submissions WHERE id = ANY($1)", ids).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// busy starts the shared transactions that run at once (4), each holding
// in its fn until the returned release is called, so that the next callers
// queue; it returns once they run.
func busy(t *testing.T, s *postgres.Store, topic string, errs chan<- error) (release func()) {
	t.Helper()
	hold := make(chan struct{})
	var started sync.WaitGroup
	for range 4 {
		started.Add(1)
		sub := outboxtest.NewSubmission("")
		go func() {
			errs <- s.InTxShared(context.Background(), func(tx outbox.Tx) error {
				started.Done()
				return submit(sub, topic, hold)(tx)
			})
		}()
	}
	running := make(chan struct{})
	go func() {
		started.Wait()
		close(running)
	}()
	select {
	case <-running:
	case <-time.After(10 * time.Second):
		t.Fatal("the four shared transactions did not all start within 10s")
	}
	return func() { close(hold) }
}

// await receives n results from errs, failing on an error or after 10s.
func await(t *testing.T, errs <-chan error, n int) {
	t.Helper()
	for range n {
		select {
		case err := <-errs:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a shared transaction did not end within 10s")
		}
	}
}

// Submissions that queue while the shared transactions run commit together:
// the next transaction takes them all, and each is stored with its message.
func TestInTxSharedCommitsQueuedTogether(t *testing.T) {
	ctx := context.Background()
	s, url := sharedStore(t)
	const topic = "t/p.q/shared"
	errs := make(chan error, 32)
	release := busy(t, s, topic, errs)
	subs := make([]outbox.Submission, 10)
	for i := range subs {
		subs[i] = outboxtest.NewSubmission("")
		go func() { errs <- s.InTxShared(ctx, submit(subs[i], topic, nil)) }()
	}
	time.Sleep(100 * time.Millisecond) // the ten queue behind the four
	release()
	await(t, errs, 14)
	ids := make([]string, len(subs))
	for i, sub := range subs {
		ids[i] = sub.ID
	}
	if n := transactions(t, url, ids); n != 1 {
		t.Errorf("the ten queued submissions were stored by %d transactions, want 1", n)
	}
	for _, sub := range subs {
		got, msgs, err := s.Submission(ctx, sub.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != sub.ID || len(msgs) != 1 {
			t.Errorf("submission %s: stored %q with %d messages, want it with 1", sub.ID, got.ID, len(msgs))
		}
	}
}

// One caller's failure in a shared transaction costs the others nothing:
// the transaction rolls back and each runs again alone. A submission whose id
// exists fails alone, and the same idempotency key twice in one shared
// transaction stores the first and answers the second as its retry.
func TestInTxSharedIsolatesFailures(t *testing.T) {
	ctx := context.Background()
	s, _ := sharedStore(t)
	const topic = "t/p.q/shared-fail"
	existing := outboxtest.NewSubmission("")
	if err := s.InTxShared(ctx, submit(existing, topic, nil)); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 32)
	release := busy(t, s, topic, errs)

	good := []outbox.Submission{outboxtest.NewSubmission(""), outboxtest.NewSubmission("")}
	dupID := outboxtest.NewSubmission("")
	dupID.ID = existing.ID
	keyed := outboxtest.NewSubmission("key-1")
	retry := keyed
	retry.ID = outboxtest.NewSubmission("").ID
	boom := errors.New("boom")

	type result struct {
		name    string
		err     error
		created bool
	}
	results := make(chan result, 8)
	call := func(name string, sub outbox.Submission, fail error) {
		var created bool
		err := s.InTxShared(ctx, func(tx outbox.Tx) error {
			if fail != nil {
				return fail
			}
			var err error
			if _, created, err = tx.CreateSubmission(ctx, sub); err != nil || !created {
				return err
			}
			return tx.InsertMessages(ctx, []outbox.Message{outboxtest.NewMessage(topic, sub.ID)})
		})
		results <- result{name, err, created}
	}
	go call("good 1", good[0], nil)
	go call("duplicate id", dupID, nil)
	go call("failing", outboxtest.NewSubmission(""), boom)
	go call("keyed", keyed, nil)
	go call("keyed retry", retry, nil)
	go call("good 2", good[1], nil)
	time.Sleep(100 * time.Millisecond) // they queue behind the busy four
	release()
	await(t, errs, 4)
	got := map[string]result{}
	for range 6 {
		select {
		case r := <-results:
			got[r.name] = r
		case <-time.After(10 * time.Second):
			t.Fatal("a call did not end within 10s")
		}
	}
	for _, name := range []string{"good 1", "good 2"} {
		if r := got[name]; r.err != nil || !r.created {
			t.Errorf("%s: err %v, created %v; want created", name, r.err, r.created)
		}
	}
	if r := got["duplicate id"]; r.err == nil {
		t.Error("duplicate id: no error")
	}
	if r := got["failing"]; !errors.Is(r.err, boom) {
		t.Errorf("failing: err %v, want its own", r.err)
	}
	if k, rt := got["keyed"], got["keyed retry"]; k.err != nil || rt.err != nil || k.created == rt.created {
		t.Errorf("same key twice: %+v and %+v, want one created and one found", k, rt)
	}
	for _, sub := range good {
		if _, msgs, err := s.Submission(ctx, sub.ID); err != nil || len(msgs) != 1 {
			t.Errorf("%s: %v, %d messages; want stored with 1", sub.ID, err, len(msgs))
		}
	}
	// The existing submission kept its one message: the duplicate stored nothing.
	if _, msgs, err := s.Submission(ctx, existing.ID); err != nil || len(msgs) != 1 {
		t.Errorf("existing submission: %v, %d messages, want 1", err, len(msgs))
	}
}

// A submission whose deadline passes while it queues behind the running
// shared transactions is answered with its context's error, and nothing of
// it is stored; those queued with it commit.
func TestInTxSharedDeadlineInQueue(t *testing.T) {
	ctx := context.Background()
	s, _ := sharedStore(t)
	const topic = "t/p.q/shared-deadline"
	errs := make(chan error, 32)
	release := busy(t, s, topic, errs)
	late, other := outboxtest.NewSubmission(""), outboxtest.NewSubmission("")
	lateErr := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		lateErr <- s.InTxShared(ctx, submit(late, topic, nil))
	}()
	go func() { errs <- s.InTxShared(ctx, submit(other, topic, nil)) }()
	time.Sleep(200 * time.Millisecond) // both queue; the first one's deadline passes
	release()
	await(t, errs, 5)
	select {
	case err := <-lateErr:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("the late submission: %v, want its deadline's error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the late submission got no answer within 10s")
	}
	if _, _, err := s.Submission(ctx, late.ID); !errors.Is(err, outbox.ErrNotFound) {
		t.Errorf("the late submission: %v, want not stored", err)
	}
	if _, msgs, err := s.Submission(ctx, other.ID); err != nil || len(msgs) != 1 {
		t.Errorf("the other submission: %v, %d messages; want stored with 1", err, len(msgs))
	}
}
