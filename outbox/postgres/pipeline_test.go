package postgres

import (
	"context"
	"crypto/sha256"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/multitracer"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/outbox/outboxtest"
	"github.com/amtsbote/amtsbote/outbox/postgres/pgtest"
	"github.com/amtsbote/amtsbote/outbox/sqlstore"
)

// plainDriver hides BeginPipelined: the store runs plain transactions.
type plainDriver struct{ sqlstore.Driver }

// pipeFixture is a migrated database, a store on it for checks, and a
// driver over a pool of its own whose statements and round trips a counter
// counts (the store's notifier and listener are not on it).
type pipeFixture struct {
	s       *Store
	d       *driver
	counter *StatementCounter
	db      *pgx.Conn
}

func newPipeFixture(t *testing.T) *pipeFixture {
	t.Helper()
	url := pgtest.NewDatabase(t)
	s, err := Open(context.Background(), Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	c := &StatementCounter{}
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	pcfg.ConnConfig.Tracer = multitracer.New(deadlines{call: 30 * time.Second}, c)
	pool, err := pgxpool.NewWithConfig(context.Background(), pcfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	db, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close(context.Background()) })
	return &pipeFixture{s: s, d: &driver{executor: executor{db: pool, q: s.q}, pool: pool}, counter: c, db: db}
}

// count returns the number of rows query finds.
func (f *pipeFixture) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := f.db.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// intake runs what intake.Service.Accept runs in its transaction (no
// attachments) on st, with a deadline as intake has.
func intake(st *sqlstore.Store, sub outbox.Submission, msgs ...outbox.Message) (outbox.Submission, bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var stored outbox.Submission
	var created bool
	err := st.InTx(ctx, func(tx outbox.Tx) error {
		var err error
		stored, created, err = tx.CreateSubmission(ctx, sub)
		if err != nil || !created {
			return err
		}
		return tx.InsertMessages(ctx, msgs)
	})
	return stored, created, err
}

// TestPipelinedIntakeOneRoundTrip: intake's transaction (a new
// submission, its message, the accepted event, the budget check and the
// commit) is one round trip, also with a reactor that needs the
// submission's portal, tenant and procedure and adds a follow-up; the same
// transaction in a plain transaction takes five. Everything is stored: one
// event row (accepted), the transformed event derived from the message.
func TestPipelinedIntakeOneRoundTrip(t *testing.T) {
	f := newPipeFixture(t)
	topic := "t/p.q/pipe"
	for _, tc := range []struct {
		name    string
		d       sqlstore.Driver
		reactor bool
		trips   uint64
	}{
		{"pipelined", f.d, false, 1},
		{"pipelined with reactor", f.d, true, 1},
		{"plain", plainDriver{f.d}, false, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := sqlstore.New(tc.d, sqlstore.Config{})
			var reacted []outbox.Event
			if tc.reactor {
				st.SetReactor(outbox.ReactorFunc(func(_ context.Context, events []outbox.Event) ([]outbox.Message, error) {
					var follow []outbox.Message
					for _, ev := range events {
						reacted = append(reacted, ev)
						if ev.Kind == outbox.EventTransformed {
							follow = append(follow, outbox.Message{ID: "mail-" + ev.MessageID, Topic: "mail/" + ev.Tenant,
								SubmissionID: ev.SubmissionID, Payload: []byte("m")})
						}
					}
					return follow, nil
				}))
			}
			// The first transaction on the connection reads the database's
			// clock and prepares the statements; the second is counted.
			var sub outbox.Submission
			var msg outbox.Message
			for i := range 2 {
				sub, msg = outboxtest.NewSubmission(uuid.NewString()), outboxtest.NewMessage(topic, "")
				msg.SubmissionID = sub.ID
				reacted = nil
				trips, stmts := f.counter.RoundTrips(), f.counter.Statements()
				_, created, err := intake(st, sub, msg)
				if err != nil || !created {
					t.Fatalf("intake %d: created %v, %v", i, created, err)
				}
				if i == 1 {
					if d := f.counter.RoundTrips() - trips; d != tc.trips {
						t.Errorf("intake: %d round trips (%d statements), want %d", d, f.counter.Statements()-stmts, tc.trips)
					}
				}
			}
			if n := f.count(t, `SELECT count(*) FROM submissions WHERE id = $1`, sub.ID); n != 1 {
				t.Errorf("%d submissions stored, want 1", n)
			}
			if n := f.count(t, `SELECT count(*) FROM outbox_messages WHERE submission_id = $1 AND topic = $2`, sub.ID, topic); n != 1 {
				t.Errorf("%d messages stored, want 1", n)
			}
			if n := f.count(t, `SELECT count(*) FROM outbox_events WHERE submission_id = $1`, sub.ID); n != 1 {
				t.Errorf("%d events stored, want 1 (accepted)", n)
			}
			ev, err := st.Events(context.Background(), sub.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(ev) != 2 || ev[0].Kind != outbox.EventAccepted || ev[1].Kind != outbox.EventTransformed || ev[1].MessageID != msg.ID {
				t.Errorf("trail %+v, want accepted and transformed", ev)
			}
			if !tc.reactor {
				return
			}
			if n := f.count(t, `SELECT count(*) FROM outbox_messages WHERE id = $1 AND topic = 'mail/t'`, "mail-"+msg.ID); n != 1 {
				t.Errorf("%d follow-ups stored, want 1 (reacted to %+v)", n, reacted)
			}
			for _, ev := range reacted {
				if ev.PortalID != sub.PortalID || ev.Tenant != sub.TenantID || ev.Procedure != sub.ProcedureID {
					t.Errorf("reactor saw %s event with %q/%q/%q, want %q/%q/%q", ev.Kind, ev.PortalID, ev.Tenant, ev.Procedure,
						sub.PortalID, sub.TenantID, sub.ProcedureID)
				}
			}
		})
	}
}

// TestCompletionBatchStatements: a batch of completions is one statement
// per completion (the outcome with its attempt record, from which the
// events are derived) between BEGIN, the lazy commit's setting and COMMIT,
// in two round trips; with a reactor, which gets the events, also a read of
// each submission's portal, tenant and procedure; a lost lease is reported
// for its completion alone either way; the trails are complete.
func TestCompletionBatchStatements(t *testing.T) {
	for _, tc := range []struct {
		name         string
		reactor      bool
		stmts, trips uint64
	}{{"without reactor", false, 6, 2}, {"with reactor", true, 8, 4}} {
		t.Run(tc.name, func(t *testing.T) {
			f := newPipeFixture(t)
			st := sqlstore.New(f.d, sqlstore.Config{})
			var reacted []outbox.EventKind
			if tc.reactor {
				st.SetReactor(outbox.ReactorFunc(func(_ context.Context, evs []outbox.Event) ([]outbox.Message, error) {
					for _, ev := range evs {
						reacted = append(reacted, ev.Kind)
					}
					return nil, nil
				}))
			}
			ctx := context.Background()
			topic := "t/p.q/complete"
			// The first round prepares the statements on the connection; the second is counted.
			for round := range 2 {
				var subs []string
				var cs []outbox.Completion
				for range 2 {
					sub, msg := outboxtest.NewSubmission(uuid.NewString()), outboxtest.NewMessage(topic, "")
					msg.SubmissionID = sub.ID
					if _, _, err := intake(st, sub, msg); err != nil {
						t.Fatal(err)
					}
					subs = append(subs, sub.ID)
					now := time.Now()
					cs = append(cs, outbox.Completion{Topic: topic, ID: msg.ID, Owner: "o", Outcome: outbox.OutcomeDelivered,
						StartedAt: now, FinishedAt: now})
				}
				if got, err := st.Claim(ctx, outbox.ClaimParams{Topic: topic, Owner: "o", Lease: time.Minute, Limit: 2}); err != nil || len(got) != 2 {
					t.Fatalf("claim: %d, %v", len(got), err)
				}
				lost := cs[0]
				lost.Owner = "someone else" // not the lease's owner: nothing written
				reacted = nil
				trips, stmts := f.counter.RoundTrips(), f.counter.Statements()
				errs, err := st.CompleteBatch(ctx, append(cs, lost))
				if err != nil || errs[0] != nil || errs[1] != nil || !errors.Is(errs[2], outbox.ErrLeaseLost) {
					t.Fatalf("complete: %v %v; want nil, nil, lease lost", errs, err)
				}
				if round == 1 {
					// BEGIN, SET LOCAL, 3 completions, COMMIT; with the reactor a read of each submission
					if d := f.counter.Statements() - stmts; d != tc.stmts {
						t.Errorf("%d statements, want %d", d, tc.stmts)
					}
					if d := f.counter.RoundTrips() - trips; d != tc.trips {
						t.Errorf("%d round trips, want %d", d, tc.trips)
					}
				}
				if want := []outbox.EventKind{outbox.EventAttempt, outbox.EventDelivered, outbox.EventAttempt,
					outbox.EventDelivered}; tc.reactor && !slices.Equal(reacted, want) {
					t.Errorf("reactor got %v, want %v", reacted, want)
				}
				for _, id := range subs {
					ev, err := st.Events(ctx, id)
					if err != nil {
						t.Fatal(err)
					}
					var kinds []outbox.EventKind
					for _, e := range ev {
						kinds = append(kinds, e.Kind)
					}
					if want := []outbox.EventKind{outbox.EventAccepted, outbox.EventTransformed, outbox.EventAttempt,
						outbox.EventDelivered}; !slices.Equal(kinds, want) {
						t.Errorf("trail of %s: %v, want %v", id, kinds, want)
					}
					if n := f.count(t, `SELECT count(*) FROM outbox_attempts a JOIN outbox_messages m ON m.seq = a.message_seq
						WHERE m.submission_id = $1 AND a.number = 1 AND a.owner = 'o' AND a.outcome = 'delivered'`, id); n != 1 {
						t.Errorf("%d attempt records of %s, want 1", n, id)
					}
				}
			}
		})
	}
}

// TestLazyCommit: a lazy pipelined transaction runs with synchronous_commit
// off, whether it flushed before its commit or not, and commits what it
// wrote; a durable one (intake's) keeps the server's setting, on.
func TestLazyCommit(t *testing.T) {
	f := newPipeFixture(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name        string
		lazy, flush bool
		want        string
	}{
		{"lazy, flushed", true, true, "off"},
		{"lazy, committed at once", true, false, ""},
		{"durable, flushed", false, true, "on"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tx, err := f.d.BeginPipelined(ctx, sqlstore.TxOptions{Lazy: tc.lazy})
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback(ctx)
			pt := tx.(*pipeTx)
			sub := outboxtest.NewSubmission(uuid.NewString())
			if _, err := tx.InsertSubmission(ctx, sub); err != nil {
				t.Fatal(err)
			}
			if tc.flush {
				if err := pt.flush(ctx); err != nil {
					t.Fatal(err)
				}
				var got string
				if err := pt.conn.QueryRow(ctx, "SHOW synchronous_commit").Scan(&got); err != nil {
					t.Fatal(err)
				}
				if got != tc.want {
					t.Errorf("synchronous_commit %q in the transaction, want %q", got, tc.want)
				}
			}
			stmts := f.counter.Statements()
			if err := tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			// Not flushed: the commit sends BEGIN and the setting itself.
			if d := f.counter.Statements() - stmts; !tc.flush && d != 4 {
				t.Errorf("commit sent %d statements, want 4 (BEGIN, SET LOCAL, the insert, COMMIT)", d)
			}
			if n := f.count(t, `SELECT count(*) FROM submissions WHERE id = $1`, sub.ID); n != 1 {
				t.Errorf("%d submissions stored, want 1", n)
			}
		})
	}
}

// TestPipelinedConflicts: an idempotent retry (same key) in a pipelined
// transaction returns the stored submission and adds nothing; a new key
// with a taken id fails; both through the plain transaction that runs
// after the pipelined one met the existing row, with nothing of the
// pipelined one committed.
func TestPipelinedConflicts(t *testing.T) {
	f := newPipeFixture(t)
	st := sqlstore.New(f.d, sqlstore.Config{})
	topic := "t/p.q/conflict"
	key := uuid.NewString()
	first := outboxtest.NewSubmission(key)
	if _, created, err := intake(st, first, outboxtest.NewMessage(topic, first.ID)); err != nil || !created {
		t.Fatalf("first: created %v, %v", created, err)
	}
	runs := 0
	retry := outboxtest.NewSubmission(key)
	ctx := context.Background()
	var got outbox.Submission
	var created bool
	err := st.InTx(ctx, func(tx outbox.Tx) error {
		runs++
		var err error
		if got, created, err = tx.CreateSubmission(ctx, retry); err != nil || !created {
			return err
		}
		return tx.InsertMessages(ctx, []outbox.Message{outboxtest.NewMessage(topic, retry.ID)})
	})
	if err != nil || created || got.ID != first.ID {
		t.Fatalf("retry with the same key: %s created %v, %v; want %s", got.ID, created, err, first.ID)
	}
	if runs != 2 {
		t.Errorf("fn ran %d times, want 2 (pipelined, then plain)", runs)
	}
	if n := f.count(t, `SELECT count(*) FROM submissions WHERE idempotency_key = $1`, key); n != 1 {
		t.Errorf("%d submissions with the key, want 1", n)
	}
	if n := f.count(t, `SELECT count(*) FROM outbox_messages WHERE topic = $1`, topic); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
	if n := f.count(t, `SELECT count(*) FROM outbox_events WHERE submission_id = $1 OR submission_id = $2`, first.ID, retry.ID); n != 1 {
		t.Errorf("%d events, want the first's 1 (accepted)", n)
	}
	if n := f.count(t, `SELECT count(*) FROM outbox_messages WHERE topic = $1 AND event_seq IS NOT NULL`, topic); n != 1 {
		t.Errorf("%d messages with a derived transformed event, want the first's 1", n)
	}

	taken := outboxtest.NewSubmission(uuid.NewString())
	taken.ID = first.ID
	_, _, err = intake(st, taken, outboxtest.NewMessage(topic, taken.ID))
	if err == nil || !strings.Contains(err.Error(), "id already exists") {
		t.Errorf("a new key with a taken id: %v, want id already exists", err)
	}
	if n := f.count(t, `SELECT count(*) FROM submissions WHERE idempotency_key = $1`, taken.IdempotencyKey); n != 0 {
		t.Errorf("%d submissions with the new key, want 0", n)
	}
	if n := f.count(t, `SELECT count(*) FROM outbox_messages WHERE topic = $1`, topic); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
}

// TestPipelinedErrorCommitsNothing: a statement of the pipeline that fails
// (a message id taken on its topic) rolls back the writes before it, in the
// implicit transaction of one round trip and in the explicit one a read
// began (flushed).
func TestPipelinedErrorCommitsNothing(t *testing.T) {
	f := newPipeFixture(t)
	st := sqlstore.New(f.d, sqlstore.Config{})
	topic := "t/p.q/error"
	taken := outboxtest.NewMessage(topic, "")
	if _, _, err := intake(st, outboxtest.NewSubmission(""), taken); err != nil {
		t.Fatal(err)
	}
	for _, flush := range []bool{false, true} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		sub := outboxtest.NewSubmission(uuid.NewString())
		err := st.InTx(ctx, func(tx outbox.Tx) error {
			if _, _, err := tx.CreateSubmission(ctx, sub); err != nil {
				return err
			}
			if flush { // a read: BEGIN and the held writes go ahead
				if _, err := tx.SetAlarm(ctx, "pipe-"+sub.ID, true); err != nil {
					return err
				}
			}
			dup := taken
			dup.SubmissionID = sub.ID
			return tx.InsertMessages(ctx, []outbox.Message{outboxtest.NewMessage(topic, sub.ID), dup})
		})
		cancel()
		if err == nil || !strings.Contains(err.Error(), "insert message "+taken.ID) {
			t.Errorf("flush %v: %v, want the duplicate message's error", flush, err)
		}
		if n := f.count(t, `SELECT count(*) FROM submissions WHERE id = $1`, sub.ID); n != 0 {
			t.Errorf("flush %v: %d submissions stored, want 0", flush, n)
		}
		if n := f.count(t, `SELECT count(*) FROM outbox_events WHERE submission_id = $1`, sub.ID); n != 0 {
			t.Errorf("flush %v: %d events stored, want 0", flush, n)
		}
		if n := f.count(t, `SELECT count(*) FROM outbox_alarms WHERE key = $1`, "pipe-"+sub.ID); n != 0 {
			t.Errorf("flush %v: alarm stored", flush)
		}
	}
	if n := f.count(t, `SELECT count(*) FROM outbox_messages WHERE topic = $1`, topic); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
}

// TestPipelinedCommitPastDeadline: a pipelined transaction whose commit
// reaches the database after the caller's deadline (on the database's
// clock) rolls back, in one round trip and after a flush; within the
// deadline it commits. The connections stay usable.
func TestPipelinedCommitPastDeadline(t *testing.T) {
	f := newPipeFixture(t)
	for _, tc := range []struct {
		name      string
		flush     bool
		late      bool
		committed bool
	}{
		{"one round trip, within", false, false, true},
		{"one round trip, late", false, true, false},
		{"flushed, within", true, false, true},
		{"flushed, late", true, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			tx, err := f.d.BeginPipelined(ctx, sqlstore.TxOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = tx.Rollback(ctx) }()
			pt := tx.(*pipeTx)
			if pt.deadline.IsZero() {
				t.Fatal("no deadline with a context that has one")
			}
			if tc.late { // as if the commit arrived a minute after the caller gave up
				pt.deadline = pt.deadline.Add(-31 * time.Second)
			}
			sub := outboxtest.NewSubmission(uuid.NewString())
			if _, err := tx.InsertSubmission(ctx, sub); err != nil {
				t.Fatal(err)
			}
			if tc.flush {
				if _, err := tx.SubmissionExists(ctx, sub.ID); err != nil {
					t.Fatal(err)
				}
			}
			err = tx.Commit(ctx)
			if tc.committed != (err == nil) {
				t.Errorf("Commit = %v, want committed %v", err, tc.committed)
			}
			if err != nil && !strings.Contains(err.Error(), "transaction deadline passed") {
				t.Errorf("Commit = %v, want the deadline's error", err)
			}
			want := map[bool]int{true: 1, false: 0}[tc.committed]
			if n := f.count(t, `SELECT count(*) FROM submissions WHERE id = $1`, sub.ID); n != want {
				t.Errorf("%d stored, want %d", n, want)
			}
		})
	}
	if err := f.d.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	// A connection that refused a late commit commits the next transaction.
	st := sqlstore.New(f.d, sqlstore.Config{})
	if _, _, err := intake(st, outboxtest.NewSubmission(uuid.NewString()), outboxtest.NewMessage("t/p.q/after", "")); err != nil {
		t.Fatal(err)
	}
}

// TestPipelinedReadsSeeHeldWrites: a read in a pipelined transaction sees
// the writes held before it (the flush), and an empty transaction commits
// without a round trip.
func TestPipelinedReadsSeeHeldWrites(t *testing.T) {
	f := newPipeFixture(t)
	ctx := context.Background()
	tx, err := f.d.BeginPipelined(ctx, sqlstore.TxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sub := outboxtest.NewSubmission("")
	if _, err := tx.InsertSubmission(ctx, sub); err != nil {
		t.Fatal(err)
	}
	got, err := tx.SubmissionByID(ctx, sub.ID)
	if err != nil || got.ID != sub.ID {
		t.Fatalf("read in the transaction: %s, %v", got.ID, err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := f.d.SubmissionByID(ctx, sub.ID); !errors.Is(err, outbox.ErrNotFound) {
		t.Errorf("after rollback: %v, want ErrNotFound", err)
	}

	trips := f.counter.RoundTrips()
	tx, err = f.d.BeginPipelined(ctx, sqlstore.TxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if d := f.counter.RoundTrips() - trips; d != 0 {
		t.Errorf("an empty transaction took %d round trips, want 0", d)
	}
}

// TestHeldPipelineRollsBack is TestHeldCommitRollsBack for the one round
// trip of a pipelined transaction whose statements the connection has
// prepared already: the database hangs as the whole transaction is sent.
// With a deadline, the caller gets an error at it, and when the database
// resumes and reads the held pipeline, it rolls back: its transaction
// starts only then, so the check is against the caller's deadline on the
// database's clock, not against the transaction's start. Without a
// deadline, the same held pipeline commits once the database resumes.
func TestHeldPipelineRollsBack(t *testing.T) {
	// One connection for the listener, one for the transactions: the
	// warm-up prepares the statements on the connection the test holds.
	s, proxy, db := frozenStore(t, 2)

	for _, deadline := range []bool{true, false} {
		ctx, cancel := context.Background(), context.CancelFunc(func() {})
		if deadline {
			ctx, cancel = context.WithTimeout(ctx, 5*time.Second)
		}
		// Warm-up: the same transaction, so that nothing is prepared later.
		if err := s.InTx(ctx, func(tx outbox.Tx) error {
			_, _, err := tx.CreateSubmission(ctx, outboxtest.NewSubmission(uuid.NewString()))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		cancel()
		ctx, cancel = context.Background(), context.CancelFunc(func() {})
		if deadline {
			ctx, cancel = context.WithTimeout(ctx, time.Second)
		}
		sub := outboxtest.NewSubmission(uuid.NewString())
		done := make(chan error, 1)
		go func() {
			done <- s.InTx(ctx, func(tx outbox.Tx) error {
				_, _, err := tx.CreateSubmission(ctx, sub)
				proxy.Freeze(true) // the pipeline that follows is held
				return err
			})
		}()
		var txErr error
		if deadline {
			txErr = <-done
			if txErr == nil {
				t.Fatal("InTx succeeded against a hung database")
			}
			time.Sleep(500 * time.Millisecond) // well after the deadline
		} else {
			time.Sleep(1500 * time.Millisecond)
		}
		proxy.Freeze(false)
		if !deadline {
			if txErr = <-done; txErr != nil {
				t.Fatalf("InTx without a deadline: %v", txErr)
			}
		}
		cancel()
		// The database has read what the proxy held.
		time.Sleep(time.Second)
		var n int
		if err := db.QueryRow(context.Background(), `SELECT count(*) FROM submissions WHERE id = $1`, sub.ID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if want := map[bool]int{true: 0, false: 1}[deadline]; n != want {
			t.Errorf("deadline %v (InTx: %v): %d stored, want %d", deadline, txErr, n, want)
		}
	}
	if err := s.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestPipelinedAttachments: a submission with an attachment flushes at the
// blob insert (it reads the staged chunks) and commits all; an idempotent
// retry whose held submission conflicts at that flush runs again in a plain
// transaction, returns the stored submission and commits nothing of its
// own attachment.
func TestPipelinedAttachments(t *testing.T) {
	f := newPipeFixture(t)
	st := sqlstore.New(f.d, sqlstore.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	key := uuid.NewString()
	accept := func(sub outbox.Submission) (outbox.Submission, bool, int, error) {
		blob := outbox.Blob{ID: uuid.NewString(), SubmissionID: sub.ID, Size: 3, SHA256: sha256.Sum256([]byte("abc")), Chunks: 1}
		if err := st.PutBlobChunk(ctx, blob.ID, 0, []byte("abc")); err != nil {
			t.Fatal(err)
		}
		var stored outbox.Submission
		var created bool
		runs := 0
		err := st.InTx(ctx, func(tx outbox.Tx) error {
			runs++
			var err error
			if stored, created, err = tx.CreateSubmission(ctx, sub); err != nil || !created {
				return err
			}
			if err := tx.InsertBlobs(ctx, []outbox.Blob{blob}); err != nil {
				return err
			}
			return tx.InsertMessages(ctx, []outbox.Message{outboxtest.NewMessage("t/p.q/blobs", sub.ID)})
		})
		return stored, created, runs, err
	}
	first := outboxtest.NewSubmission(key)
	if _, created, _, err := accept(first); err != nil || !created {
		t.Fatalf("first: created %v, %v", created, err)
	}
	if n := f.count(t, `SELECT count(*) FROM outbox_blobs WHERE submission_id = $1`, first.ID); n != 1 {
		t.Errorf("%d blobs of the first committed, want 1", n)
	}
	retry := outboxtest.NewSubmission(key)
	got, created, runs, err := accept(retry)
	if err != nil || created || got.ID != first.ID || runs != 2 {
		t.Fatalf("retry: %s created %v after %d runs, %v; want %s, not created, 2 runs", got.ID, created, runs, err, first.ID)
	}
	if n := f.count(t, `SELECT count(*) FROM outbox_blobs`); n != 1 {
		t.Errorf("%d blobs committed, want the first's 1", n)
	}
	if n := f.count(t, `SELECT count(*) FROM outbox_messages WHERE topic = 't/p.q/blobs'`); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
}
