// Package outboxtest is the conformance suite every outbox.Store runs: the store
// contract itself, the Subscriber and Relay on top of it, and watermill's universal
// Pub/Sub tests for the features the outbox declares.
package outboxtest

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/tests"
	"github.com/google/uuid"

	"github.com/amtsbote/amtsbote/outbox"
)

// Opener returns a store on a database the suite may write to. Stores returned
// by one Opener within a test share that database (for a shared-database store,
// two calls behave like two processes). The opener registers the cleanup.
type Opener func(t *testing.T) outbox.Store

// Run runs the whole conformance suite.
func Run(t *testing.T, open Opener) {
	t.Run("Store", func(t *testing.T) { RunStore(t, open) })
	t.Run("Admin", func(t *testing.T) { RunAdmin(t, open) })
	t.Run("Relay", func(t *testing.T) { RunRelay(t, open) })
	t.Run("Handoff", func(t *testing.T) { RunHandoff(t, open) })
	t.Run("Audit", func(t *testing.T) { RunAudit(t, open) })
	t.Run("Blobs", func(t *testing.T) { RunBlobs(t, open) })
	t.Run("Answers", func(t *testing.T) { RunAnswers(t, open) })
}

// RunStore checks the Store contract.
func RunStore(t *testing.T, open Opener) {
	cases := []struct {
		name string
		fn   func(t *testing.T, s outbox.Store)
		// serial: the case lets a lease run out and counts what RecoverLost,
		// which works across the whole store, recovers; run in parallel, one
		// such case recovers another's lease.
		serial bool
	}{
		{"SubmissionAndMessagesCommitTogether", testCommitTogether, false},
		{"RollbackStoresNothing", testRollback, false},
		{"IdempotencyKeyReturnsOriginal", testIdempotencyKey, false},
		{"ConcurrentIdempotencyKeyStoresOne", testConcurrentIdempotencyKey, false},
		{"ClaimLeasesOnce", testClaimLeasesOnce, false},
		{"ExpiredLeaseIsRecoveredAsUnknownAttempt", testExpiredLease, true},
		{"ExtendLeasesRenews", testExtendLeases, true},
		{"CompleteDelivered", testCompleteDelivered, false},
		{"CompleteRetrySchedules", testCompleteRetry, false},
		{"CompleteDead", testCompleteDead, false},
		{"CompleteWithLostLease", testLostLease, false},
		{"LateCompletionAfterSameOwnerReclaimed", testLateCompletionSameOwner, true},
		{"ReleaseMakesClaimable", testRelease, false},
		{"MakeDueWithoutAttempt", testMakeDue, false},
		{"OrderedClaimsHeadOnly", testOrdered, false},
		{"TopicsAreIsolated", testTopicIsolation, false},
		{"WatchSignalsAfterCommit", testWatch, false},
		{"ConcurrentClaimsNeverOverlap", testConcurrentClaims, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !c.serial {
				t.Parallel() // runs once the serial cases are done
			}
			c.fn(t, open(t))
		})
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// NewSubmission returns a submission with fresh ids.
func NewSubmission(key string) outbox.Submission {
	body := []byte(`{"tenant":"t","procedure":"p.q","applicant":{},"data":{}}`)
	h := sha256.Sum256(body)
	return outbox.Submission{
		ID: uuid.NewString(), PortalID: "portal-" + key, TenantID: "t", ProcedureID: "p.q",
		IdempotencyKey: key, RequestHash: h[:], Payload: body,
	}
}

// NewMessage returns a message for topic with a fresh id.
func NewMessage(topic, submissionID string) outbox.Message {
	return outbox.Message{
		ID: uuid.NewString(), Topic: topic, SubmissionID: submissionID,
		Payload: []byte("<x/>"), Metadata: map[string]string{"k": "v"},
	}
}

func topicName() string { return "t/p.q/" + uuid.NewString()[:8] }

// Publish inserts msgs in one transaction, as an intake commit does.
func Publish(t *testing.T, s outbox.Store, msgs ...outbox.Message) {
	t.Helper()
	if err := s.InTx(ctxT(t), func(tx outbox.Tx) error { return tx.InsertMessages(ctxT(t), msgs) }); err != nil {
		t.Fatalf("publish: %v", err)
	}
}

func claim(t *testing.T, s outbox.Store, p outbox.ClaimParams) []outbox.Message {
	t.Helper()
	if p.Owner == "" {
		p.Owner = "owner-a"
	}
	if p.Lease == 0 {
		p.Lease = time.Minute
	}
	if p.Limit == 0 {
		p.Limit = 10
	}
	msgs, err := s.Claim(ctxT(t), p)
	if err != nil {
		t.Fatalf("claim: %v", err)
	}
	return msgs
}

func ids(msgs []outbox.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.ID
	}
	return out
}

func sameIDs(t *testing.T, what string, got []outbox.Message, want ...outbox.Message) {
	t.Helper()
	g, w := fmt.Sprint(ids(got)), fmt.Sprint(ids(want))
	if g != w {
		t.Fatalf("%s: got %s, want %s", what, g, w)
	}
}

func complete(t *testing.T, s outbox.Store, c outbox.Completion) {
	t.Helper()
	if c.Owner == "" {
		c.Owner = "owner-a"
	}
	if c.StartedAt.IsZero() {
		c.StartedAt = time.Now()
		c.FinishedAt = time.Now()
	}
	if err := s.Complete(ctxT(t), c); err != nil {
		t.Fatalf("complete %s: %v", c.ID, err)
	}
}

func messageOf(t *testing.T, s outbox.Store, subID, msgID string) outbox.Message {
	t.Helper()
	_, msgs, err := s.Submission(ctxT(t), subID)
	if err != nil {
		t.Fatalf("read submission %s: %v", subID, err)
	}
	for _, m := range msgs {
		if m.ID == msgID {
			return m
		}
	}
	t.Fatalf("message %s not found in submission %s", msgID, subID)
	return outbox.Message{}
}

// accept stores a submission with one message per topic and returns them.
func accept(t *testing.T, s outbox.Store, topics ...string) (outbox.Submission, []outbox.Message) {
	t.Helper()
	sub := NewSubmission("")
	var msgs []outbox.Message
	for _, tp := range topics {
		msgs = append(msgs, NewMessage(tp, sub.ID))
	}
	err := s.InTx(ctxT(t), func(tx outbox.Tx) error {
		if _, created, err := tx.CreateSubmission(ctxT(t), sub); err != nil || !created {
			return fmt.Errorf("create: created=%v err=%w", created, err)
		}
		return tx.InsertMessages(ctxT(t), msgs)
	})
	if err != nil {
		t.Fatalf("accept: %v", err)
	}
	return sub, msgs
}

func testCommitTogether(t *testing.T, s outbox.Store) {
	a, b := topicName(), topicName()
	sub, msgs := accept(t, s, a, b)
	got, gotMsgs, err := s.Submission(ctxT(t), sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != sub.ID || got.PortalID != sub.PortalID || string(got.Payload) != string(sub.Payload) ||
		string(got.RequestHash) != string(sub.RequestHash) || got.CreatedAt.IsZero() {
		t.Fatalf("submission round trip: got %+v", got)
	}
	sameIDs(t, "messages", gotMsgs, msgs...)
	for _, m := range gotMsgs {
		if m.State != outbox.StatePending || m.Attempts != 0 || m.SubmissionID != sub.ID ||
			string(m.Payload) != "<x/>" || m.Metadata["k"] != "v" || m.NextAttemptAt.IsZero() {
			t.Errorf("message round trip: %+v", m)
		}
	}
}

func testRollback(t *testing.T, s outbox.Store) {
	sub := NewSubmission("")
	topic := topicName()
	boom := errors.New("boom")
	err := s.InTx(ctxT(t), func(tx outbox.Tx) error {
		if _, _, err := tx.CreateSubmission(ctxT(t), sub); err != nil {
			return err
		}
		if err := tx.InsertMessages(ctxT(t), []outbox.Message{NewMessage(topic, sub.ID)}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx error = %v, want boom", err)
	}
	if _, _, err := s.Submission(ctxT(t), sub.ID); !errors.Is(err, outbox.ErrNotFound) {
		t.Fatalf("submission after rollback: err = %v, want ErrNotFound", err)
	}
	if got := claim(t, s, outbox.ClaimParams{Topic: topic}); len(got) != 0 {
		t.Fatalf("claimed %d messages after rollback", len(got))
	}
}

func createWithKey(ctx context.Context, s outbox.Store, sub outbox.Submission, topic string) (outbox.Submission, bool, error) {
	var stored outbox.Submission
	var created bool
	err := s.InTx(ctx, func(tx outbox.Tx) error {
		var err error
		stored, created, err = tx.CreateSubmission(ctx, sub)
		if err != nil || !created {
			return err
		}
		return tx.InsertMessages(ctx, []outbox.Message{NewMessage(topic, sub.ID)})
	})
	return stored, created, err
}

func testIdempotencyKey(t *testing.T, s outbox.Store) {
	key := uuid.NewString()
	topic := topicName()
	first := NewSubmission(key)
	got, created, err := createWithKey(ctxT(t), s, first, topic)
	if err != nil || !created || got.ID != first.ID {
		t.Fatalf("first: created=%v id=%s err=%v", created, got.ID, err)
	}
	second := NewSubmission(key)
	got, created, err = createWithKey(ctxT(t), s, second, topic)
	if err != nil || created || got.ID != first.ID || string(got.RequestHash) != string(first.RequestHash) {
		t.Fatalf("second: created=%v id=%s (want %s) err=%v", created, got.ID, first.ID, err)
	}
	// Another portal may use the same key.
	other := NewSubmission(key)
	other.PortalID = "another-portal"
	if _, created, err := createWithKey(ctxT(t), s, other, topic); err != nil || !created {
		t.Fatalf("other portal: created=%v err=%v", created, err)
	}
	if n := len(claim(t, s, outbox.ClaimParams{Topic: topic})); n != 2 {
		t.Fatalf("messages stored: %d, want 2", n)
	}
}

func testConcurrentIdempotencyKey(t *testing.T, s outbox.Store) {
	key := uuid.NewString()
	topic := topicName()
	const n = 50
	var wg sync.WaitGroup
	var createdCount atomic.Int32
	results := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, created, err := createWithKey(ctxT(t), s, NewSubmission(key), topic)
			results[i], errs[i] = got.ID, err
			if created {
				createdCount.Add(1)
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if results[i] != results[0] {
			t.Fatalf("call %d returned submission %s, call 0 returned %s", i, results[i], results[0])
		}
	}
	if createdCount.Load() != 1 {
		t.Fatalf("created %d submissions, want 1", createdCount.Load())
	}
	if got := claim(t, s, outbox.ClaimParams{Topic: topic, Limit: 100}); len(got) != 1 {
		t.Fatalf("%d messages stored, want 1", len(got))
	}
}

func testClaimLeasesOnce(t *testing.T, s outbox.Store) {
	topic := topicName()
	m1, m2, m3 := NewMessage(topic, ""), NewMessage(topic, ""), NewMessage(topic, "")
	Publish(t, s, m1, m2, m3)
	got := claim(t, s, outbox.ClaimParams{Topic: topic, Limit: 2})
	sameIDs(t, "first claim", got, m1, m2)
	got = claim(t, s, outbox.ClaimParams{Topic: topic, Owner: "owner-b"})
	sameIDs(t, "second claim", got, m3)
	if got := claim(t, s, outbox.ClaimParams{Topic: topic, Owner: "owner-c"}); len(got) != 0 {
		t.Fatalf("third claim got %v, want nothing while all are leased", ids(got))
	}
}

func testExpiredLease(t *testing.T, s outbox.Store) {
	topic := topicName()
	sub, msgs := accept(t, s, topic)
	m := msgs[0]
	before := time.Now().Add(-time.Second)
	// The lease is long enough that the claim below happens within it even on a loaded machine.
	sameIDs(t, "claim", claim(t, s, outbox.ClaimParams{Topic: topic, Lease: 3 * time.Second}), m)
	if got := claim(t, s, outbox.ClaimParams{Topic: topic, Owner: "owner-b"}); len(got) != 0 {
		t.Fatalf("claimed a leased message: %v", ids(got))
	}
	if due, ok, err := s.NextDue(ctxT(t), topic); err != nil || ok {
		t.Fatalf("NextDue = %v, %v, %v; a leased message is its owner's, not due", due, ok, err)
	}
	if lost, err := s.RecoverLost(ctxT(t)); err != nil || len(lost) != 0 {
		t.Fatalf("RecoverLost within the lease = %v, %v; want none", lost, err)
	}
	time.Sleep(3100 * time.Millisecond)
	// A lease that ran out is not claimable until its lost attempt is recorded.
	if got := claim(t, s, outbox.ClaimParams{Topic: topic, Owner: "owner-b"}); len(got) != 0 {
		t.Fatalf("claimed a message whose lease ran out before its attempt was recovered: %v", ids(got))
	}
	want := []outbox.LostAttempt{{Topic: topic, MessageID: m.ID, Owner: "owner-a"}}
	if lost, err := s.RecoverLost(ctxT(t)); err != nil || !slices.Equal(lost, want) {
		t.Fatalf("RecoverLost = %v, %v; want %v", lost, err, want)
	}
	if lost, err := s.RecoverLost(ctxT(t)); err != nil || len(lost) != 0 {
		t.Fatalf("second RecoverLost = %v, %v; want none (recorded once)", lost, err)
	}
	got := messageOf(t, s, sub.ID, m.ID)
	if got.State != outbox.StateRetrying || got.Attempts != 1 || got.LastErrorClass != outbox.ClassOutcomeUnknown ||
		got.NextAttemptAt.After(time.Now()) {
		t.Fatalf("after recovery: %+v, want retrying, 1 attempt, class outcome_unknown, due now", got)
	}
	atts, err := s.Attempts(ctxT(t), m.ID)
	if err != nil || len(atts) != 1 {
		t.Fatalf("attempts = %+v, %v; want the lost one", atts, err)
	}
	a := atts[0]
	if a.Number != 1 || a.Owner != "owner-a" || a.Outcome != outbox.OutcomeUnknown || a.Error == "" ||
		a.ErrorClass != outbox.ClassOutcomeUnknown || a.StartedAt.Before(before) || a.FinishedAt.Before(a.StartedAt) {
		t.Fatalf("lost attempt = %+v", a)
	}
	reclaimed := claim(t, s, outbox.ClaimParams{Topic: topic, Owner: "owner-b"})
	sameIDs(t, "reclaim", reclaimed, m)
	if reclaimed[0].Attempts != 1 {
		t.Fatalf("reclaimed with %d attempts, want 1 (the next attempt is number 2)", reclaimed[0].Attempts)
	}
	// The first owner's completion must not count any more.
	err = s.Complete(ctxT(t), outbox.Completion{Topic: topic, ID: m.ID, Owner: "owner-a", Outcome: outbox.OutcomeDelivered,
		StartedAt: time.Now(), FinishedAt: time.Now()})
	if !errors.Is(err, outbox.ErrLeaseLost) {
		t.Fatalf("completion by expired owner: err = %v, want ErrLeaseLost", err)
	}
	complete(t, s, outbox.Completion{Topic: topic, ID: m.ID, Owner: "owner-b", Outcome: outbox.OutcomeDelivered})
	if got := messageOf(t, s, sub.ID, m.ID); got.Attempts != 2 || got.LastErrorClass != "" {
		t.Fatalf("after delivery: %d attempts, class %q; want 2 and none", got.Attempts, got.LastErrorClass)
	}
}

func testExtendLeases(t *testing.T, s outbox.Store) {
	topic := topicName()
	m1, m2 := NewMessage(topic, ""), NewMessage(topic, "")
	Publish(t, s, m1, m2)
	sameIDs(t, "claim", claim(t, s, outbox.ClaimParams{Topic: topic, Lease: 2 * time.Second}), m1, m2)
	if n, err := s.ExtendLeases(ctxT(t), "owner-b", topic, []string{m1.ID, m2.ID}, time.Now().Add(time.Hour)); err != nil || n != 0 {
		t.Fatalf("ExtendLeases by another owner = %d, %v; want 0", n, err)
	}
	if n, err := s.ExtendLeases(ctxT(t), "owner-a", topic, []string{m1.ID, m2.ID, "no-such-id"}, time.Now().Add(time.Hour)); err != nil || n != 2 {
		t.Fatalf("ExtendLeases = %d, %v; want 2", n, err)
	}
	time.Sleep(2100 * time.Millisecond)
	if lost, err := s.RecoverLost(ctxT(t)); err != nil || len(lost) != 0 {
		t.Fatalf("RecoverLost after a heartbeat = %v, %v; want none: the leases were renewed", lost, err)
	}
	complete(t, s, outbox.Completion{Topic: topic, ID: m1.ID, Outcome: outbox.OutcomeDelivered})
	if n, err := s.ExtendLeases(ctxT(t), "owner-a", topic, []string{m1.ID}, time.Now().Add(time.Hour)); err != nil || n != 0 {
		t.Fatalf("ExtendLeases of a completed message = %d, %v; want 0", n, err)
	}
}

func testCompleteDelivered(t *testing.T, s outbox.Store) {
	topic := topicName()
	sub, msgs := accept(t, s, topic)
	m := msgs[0]
	claim(t, s, outbox.ClaimParams{Topic: topic})
	start := time.Now().Add(-time.Second)
	complete(t, s, outbox.Completion{Topic: topic, ID: m.ID, Outcome: outbox.OutcomeDelivered, StartedAt: start, FinishedAt: time.Now()})
	got := messageOf(t, s, sub.ID, m.ID)
	if got.State != outbox.StateDelivered || got.Attempts != 1 || got.DeliveredAt.IsZero() || got.LastError != "" {
		t.Fatalf("after delivery: %+v", got)
	}
	atts, err := s.Attempts(ctxT(t), m.ID)
	if err != nil || len(atts) != 1 || atts[0].Outcome != outbox.OutcomeDelivered || atts[0].Number != 1 ||
		atts[0].Owner != "owner-a" || atts[0].StartedAt.After(atts[0].FinishedAt) {
		t.Fatalf("attempts = %+v, %v", atts, err)
	}
	if got := claim(t, s, outbox.ClaimParams{Topic: topic}); len(got) != 0 {
		t.Fatalf("delivered message claimed again: %v", ids(got))
	}
}

func testCompleteRetry(t *testing.T, s outbox.Store) {
	topic := topicName()
	sub, msgs := accept(t, s, topic)
	m := msgs[0]
	claim(t, s, outbox.ClaimParams{Topic: topic})
	next := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	complete(t, s, outbox.Completion{Topic: topic, ID: m.ID, Outcome: outbox.OutcomeRetry, Error: "connection refused",
		Class: outbox.ClassReceiverUnavailable, NextAttemptAt: next})
	got := messageOf(t, s, sub.ID, m.ID)
	if got.State != outbox.StateRetrying || got.Attempts != 1 || got.LastError != "connection refused" ||
		got.LastErrorClass != outbox.ClassReceiverUnavailable || !got.NextAttemptAt.Equal(next) {
		t.Fatalf("after retry: %+v (want next attempt %v)", got, next)
	}
	if got := claim(t, s, outbox.ClaimParams{Topic: topic}); len(got) != 0 {
		t.Fatalf("message claimed before its next attempt: %v", ids(got))
	}
	due, ok, err := s.NextDue(ctxT(t), topic)
	if err != nil || !ok || !due.Equal(next) {
		t.Fatalf("NextDue = %v, %v, %v; want %v", due, ok, err, next)
	}
	atts, err := s.Attempts(ctxT(t), m.ID)
	if err != nil || len(atts) != 1 || atts[0].Outcome != outbox.OutcomeRetry || atts[0].Error != "connection refused" ||
		atts[0].ErrorClass != outbox.ClassReceiverUnavailable {
		t.Fatalf("attempts = %+v, %v", atts, err)
	}
}

func testCompleteDead(t *testing.T, s outbox.Store) {
	topic := topicName()
	sub, msgs := accept(t, s, topic)
	m := msgs[0]
	claim(t, s, outbox.ClaimParams{Topic: topic})
	complete(t, s, outbox.Completion{Topic: topic, ID: m.ID, Outcome: outbox.OutcomeDead, Error: "400 Bad Request"})
	got := messageOf(t, s, sub.ID, m.ID)
	if got.State != outbox.StateDead || got.Attempts != 1 || got.LastError != "400 Bad Request" {
		t.Fatalf("after dead: %+v", got)
	}
	if got := claim(t, s, outbox.ClaimParams{Topic: topic}); len(got) != 0 {
		t.Fatalf("dead message claimed: %v", ids(got))
	}
	if _, ok, err := s.NextDue(ctxT(t), topic); ok || err != nil {
		t.Fatalf("NextDue on a topic with only a dead message: ok=%v err=%v", ok, err)
	}
}

func testLostLease(t *testing.T, s outbox.Store) {
	topic := topicName()
	m := NewMessage(topic, "")
	Publish(t, s, m)
	claim(t, s, outbox.ClaimParams{Topic: topic})
	err := s.Complete(ctxT(t), outbox.Completion{Topic: topic, ID: m.ID, Owner: "intruder", Outcome: outbox.OutcomeDelivered,
		StartedAt: time.Now(), FinishedAt: time.Now()})
	if !errors.Is(err, outbox.ErrLeaseLost) {
		t.Fatalf("completion by non-owner: err = %v, want ErrLeaseLost", err)
	}
	complete(t, s, outbox.Completion{Topic: topic, ID: m.ID, Outcome: outbox.OutcomeDelivered})
	err = s.Complete(ctxT(t), outbox.Completion{Topic: topic, ID: m.ID, Owner: "owner-a", Outcome: outbox.OutcomeDelivered,
		StartedAt: time.Now(), FinishedAt: time.Now()})
	if !errors.Is(err, outbox.ErrLeaseLost) {
		t.Fatalf("second completion: err = %v, want ErrLeaseLost", err)
	}
	if atts, _ := s.Attempts(ctxT(t), m.ID); len(atts) != 1 {
		t.Fatalf("%d attempts recorded, want 1", len(atts))
	}
}

// A process whose heartbeat missed may recover its own lease and claim the
// message again while its first attempt runs: the first attempt's late
// outcome (same owner, older attempt number) must not complete the second's
// lease.
func testLateCompletionSameOwner(t *testing.T, s outbox.Store) {
	topic := topicName()
	m := NewMessage(topic, "")
	Publish(t, s, m)
	sameIDs(t, "claim", claim(t, s, outbox.ClaimParams{Topic: topic, Lease: time.Second}), m)
	time.Sleep(1100 * time.Millisecond)
	if lost, err := s.RecoverLost(ctxT(t)); err != nil || len(lost) != 1 {
		t.Fatalf("RecoverLost = %v, %v; want the one lease", lost, err)
	}
	sameIDs(t, "reclaim by the same owner", claim(t, s, outbox.ClaimParams{Topic: topic}), m)
	err := s.Complete(ctxT(t), outbox.Completion{Topic: topic, ID: m.ID, Owner: "owner-a", Attempt: 1,
		Outcome: outbox.OutcomeDelivered, StartedAt: time.Now(), FinishedAt: time.Now()})
	if !errors.Is(err, outbox.ErrLeaseLost) {
		t.Fatalf("late completion of attempt 1: err = %v, want ErrLeaseLost", err)
	}
	complete(t, s, outbox.Completion{Topic: topic, ID: m.ID, Attempt: 2, Outcome: outbox.OutcomeDelivered})
	atts, err := s.Attempts(ctxT(t), m.ID)
	if err != nil || len(atts) != 2 || atts[0].Outcome != outbox.OutcomeUnknown || atts[1].Outcome != outbox.OutcomeDelivered {
		t.Fatalf("attempts = %+v, %v; want unknown, delivered", atts, err)
	}
}

func testRelease(t *testing.T, s outbox.Store) {
	topic := topicName()
	m := NewMessage(topic, "")
	Publish(t, s, m)
	claim(t, s, outbox.ClaimParams{Topic: topic})
	if err := s.Release(ctxT(t), "someone-else", topic, []string{m.ID}); err != nil {
		t.Fatal(err)
	}
	if got := claim(t, s, outbox.ClaimParams{Topic: topic, Owner: "owner-b"}); len(got) != 0 {
		t.Fatalf("release by a non-owner freed the message")
	}
	if err := s.Release(ctxT(t), "owner-a", topic, []string{m.ID}); err != nil {
		t.Fatal(err)
	}
	got := claim(t, s, outbox.ClaimParams{Topic: topic, Owner: "owner-b"})
	sameIDs(t, "claim after release", got, m)
	if got[0].Attempts != 0 {
		t.Fatalf("release counted an attempt: %d", got[0].Attempts)
	}
}

func testOrdered(t *testing.T, s outbox.Store) {
	topic := topicName()
	m1, m2, m3 := NewMessage(topic, ""), NewMessage(topic, ""), NewMessage(topic, "")
	Publish(t, s, m1)
	Publish(t, s, m2, m3)
	p := outbox.ClaimParams{Topic: topic, Ordered: true, Limit: 5}
	sameIDs(t, "head", claim(t, s, p), m1)
	if got := claim(t, s, p); len(got) != 0 {
		t.Fatalf("claimed %v while the head is leased", ids(got))
	}
	complete(t, s, outbox.Completion{Topic: topic, ID: m1.ID, Outcome: outbox.OutcomeRetry, Error: "x", NextAttemptAt: time.Now().Add(time.Hour)})
	if got := claim(t, s, p); len(got) != 0 {
		t.Fatalf("claimed %v while the head waits for its retry", ids(got))
	}
	// An unordered claim may overtake the waiting head.
	sameIDs(t, "unordered", claim(t, s, outbox.ClaimParams{Topic: topic, Limit: 1}), m2)
	complete(t, s, outbox.Completion{Topic: topic, ID: m2.ID, Outcome: outbox.OutcomeDelivered})
	if got := claim(t, s, p); len(got) != 0 {
		t.Fatalf("claimed %v while the head waits for its retry", ids(got))
	}
}

func testTopicIsolation(t *testing.T, s outbox.Store) {
	a, b := topicName(), topicName()
	ma, mb := NewMessage(a, ""), NewMessage(b, "")
	Publish(t, s, ma, mb)
	sameIDs(t, "topic a", claim(t, s, outbox.ClaimParams{Topic: a}), ma)
	sameIDs(t, "topic b", claim(t, s, outbox.ClaimParams{Topic: b}), mb)
}

func testWatch(t *testing.T, s outbox.Store) {
	topic, other := topicName(), topicName()
	ch, stop := s.Watch(topic)
	defer stop()
	_ = s.InTx(ctxT(t), func(tx outbox.Tx) error {
		_ = tx.InsertMessages(ctxT(t), []outbox.Message{NewMessage(topic, "")})
		return errors.New("roll back")
	})
	Publish(t, s, NewMessage(other, ""))
	select {
	case <-ch:
		t.Fatal("watch signalled for a rollback or another topic")
	case <-time.After(300 * time.Millisecond):
	}
	Publish(t, s, NewMessage(topic, ""))
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatal("watch not signalled after commit")
	}
}

func testConcurrentClaims(t *testing.T, s outbox.Store) {
	topic := topicName()
	const n = 200
	msgs := make([]outbox.Message, n)
	for i := range msgs {
		msgs[i] = NewMessage(topic, "")
	}
	Publish(t, s, msgs...)
	var mu sync.Mutex
	seen := map[string]string{}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			owner := fmt.Sprintf("worker-%d", w)
			for {
				got, err := s.Claim(ctxT(t), outbox.ClaimParams{Topic: topic, Owner: owner, Limit: 7, Lease: time.Minute})
				if err != nil {
					t.Errorf("claim: %v", err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, m := range got {
					if prev, dup := seen[m.ID]; dup {
						t.Errorf("message %s claimed by %s and %s", m.ID, prev, owner)
					}
					seen[m.ID] = owner
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != n {
		t.Fatalf("claimed %d distinct messages, want %d", len(seen), n)
	}
}

// Features are the watermill features the outbox declares: messages persist across
// subscriber instances (Persistent); delivery is at-least-once, since a lease can
// expire under a slow handler (no ExactlyOnceDelivery); a topic is one destination
// with one delivery per message, not a log that consumer groups or new subscribers
// re-read (no ConsumerGroups, no NewSubscriberReceivesOldMessages); a message's
// context ends with its Ack (no ContextPreserved). GuaranteedOrder holds for topics
// in ordered (FIFO) mode, and is run as a separate suite. Ordered topics deliver
// one message at a time by design, so that suite runs at the suite's short sizes
// (ForceShort); the unordered suite runs at full size.
func Features(ordered bool) tests.Features {
	return tests.Features{
		Persistent:      true,
		GuaranteedOrder: ordered,
		ForceShort:      ordered,
	}
}

// RunWatermill runs watermill's universal Pub/Sub suite against the outbox on
// open's store. The suite's topics use a fast retry policy so Nacks come back quickly.
func RunWatermill(t *testing.T, open Opener, ordered bool) {
	store := open(t)
	constructor := func(t *testing.T) (message.Publisher, message.Subscriber) {
		sub, err := outbox.NewSubscriber(store, outbox.SubscriberConfig{
			Lease:        10 * time.Second,
			PollInterval: 200 * time.Millisecond,
			DrainTimeout: time.Second,
			Topics: func(string) outbox.TopicOptions {
				return outbox.TopicOptions{
					Policy:      outbox.RetryPolicy{InitialInterval: time.Millisecond, MaxInterval: 10 * time.Millisecond, Multiplier: 2},
					Concurrency: 8,
					Ordered:     ordered,
				}
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		return NewPublisher(store), sub
	}
	tests.TestPubSub(t, Features(ordered), constructor, nil)
}
