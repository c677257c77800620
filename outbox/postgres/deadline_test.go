package postgres

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/outbox/postgres/pgtest"
)

// TestCommitWithinBudget: a transaction begun with a deadline commits
// while it is within the time it had then, and rolls back on the database's
// side when its COMMIT arrives later (as after a database that hung), so
// that nothing commits after its caller gave up.
func TestCommitWithinBudget(t *testing.T) {
	s, err := Open(context.Background(), Config{URL: pgtest.NewDatabase(t), StatementTimeout: 30 * time.Second,
		AcquireTimeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	d := &driver{executor: executor{db: s.pool, q: s.q}, pool: s.pool}
	for _, tc := range []struct {
		id        string
		budget    time.Duration // the time left at Begin, as the guard sees it
		committed bool
	}{
		{"00000000-0000-4000-8000-000000000001", time.Minute, true},
		{"00000000-0000-4000-8000-000000000002", 0, true}, // no deadline: no guard
		{"00000000-0000-4000-8000-000000000003", time.Microsecond, false},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		tx, err := d.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		tx.(*txExecutor).budget = tc.budget
		if _, err := tx.InsertSubmission(ctx, outbox.Submission{ID: tc.id, PortalID: "p", TenantID: "t", ProcedureID: "x.y",
			RequestHash: make([]byte, 32), Payload: []byte("{}"), CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond) // beyond the shortest budget
		err = tx.Commit(ctx)
		_ = tx.Rollback(ctx)
		cancel()
		if tc.committed != (err == nil) {
			t.Errorf("%s: Commit = %v, want committed %v", tc.id, err, tc.committed)
		}
		if err != nil && !strings.Contains(err.Error(), "transaction deadline passed") {
			t.Errorf("%s: Commit = %v, want the deadline's error", tc.id, err)
		}
		_, _, err = s.Submission(context.Background(), tc.id)
		if found := err == nil; found != tc.committed {
			t.Errorf("%s: stored %v (%v), want %v", tc.id, found, err, tc.committed)
		}
		if err != nil && !errors.Is(err, outbox.ErrNotFound) {
			t.Errorf("%s: %v", tc.id, err)
		}
	}
	// The pool is usable after the refused commit.
	if err := s.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestStatementTimeout: the sessions carry the configured statement
// timeout, and a call hanging on the database ends with it.
func TestStatementTimeout(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	s, err := Open(context.Background(), Config{URL: dbURL, StatementTimeout: 300 * time.Millisecond,
		AcquireTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var setting string
	if err := s.pool.QueryRow(context.Background(), "SHOW statement_timeout").Scan(&setting); err != nil {
		t.Fatal(err)
	}
	if setting != "300ms" {
		t.Errorf("statement_timeout = %q, want 300ms", setting)
	}
	_, err = s.pool.Exec(context.Background(), "SELECT pg_sleep(10)")
	if err == nil || !strings.Contains(err.Error(), "statement timeout") {
		t.Errorf("a 10 s statement: %v, want the statement timeout", err)
	}

	// A statement_timeout parameter in the URL takes precedence.
	s2, err := Open(context.Background(), Config{URL: dbURL + "&statement_timeout=1234", StatementTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if err := s2.pool.QueryRow(context.Background(), "SHOW statement_timeout").Scan(&setting); err != nil {
		t.Fatal(err)
	}
	if setting != "1234ms" {
		t.Errorf("statement_timeout with the URL's = %q, want 1234ms", setting)
	}
}

// TestHeldCommitRollsBack: a database hangs (a proxy holds the bytes)
// just as a transaction sends its COMMIT. With a deadline, the caller gets
// an error at it, and when the database resumes and reads the held COMMIT,
// the transaction rolls back: nothing commits behind a caller that gave up.
// Without a deadline, the same held COMMIT commits once the database
// resumes (the proxy delivers what it held, so the first case is no
// accident of a COMMIT that never arrived).
func TestHeldCommitRollsBack(t *testing.T) {
	s, proxy, db := frozenStore(t, 0)

	for _, tc := range []struct {
		id       string
		deadline bool
	}{
		{"00000000-0000-4000-8000-00000000000a", true},
		{"00000000-0000-4000-8000-00000000000b", false},
	} {
		ctx, cancel := context.Background(), context.CancelFunc(func() {})
		if tc.deadline {
			ctx, cancel = context.WithTimeout(ctx, time.Second)
		}
		done := make(chan error, 1)
		go func() {
			done <- s.InTx(ctx, func(tx outbox.Tx) error {
				_, _, err := tx.CreateSubmission(ctx, outbox.Submission{ID: tc.id, PortalID: "p", TenantID: "t",
					ProcedureID: "x.y", RequestHash: make([]byte, 32), Payload: []byte("{}"), CreatedAt: time.Now()})
				proxy.Freeze(true) // the COMMIT that follows is held
				return err
			})
		}()
		var txErr error
		if tc.deadline {
			txErr = <-done
			if txErr == nil {
				t.Fatalf("%s: InTx succeeded against a hung database", tc.id)
			}
			time.Sleep(500 * time.Millisecond) // well after the deadline
		} else {
			time.Sleep(1500 * time.Millisecond)
		}
		proxy.Freeze(false)
		if !tc.deadline {
			if txErr = <-done; txErr != nil {
				t.Fatalf("%s: InTx without a deadline: %v", tc.id, txErr)
			}
		}
		cancel()
		// The database has read what the proxy held.
		time.Sleep(time.Second)
		var n int
		if err := db.QueryRow(context.Background(), `SELECT count(*) FROM submissions WHERE id = $1`, tc.id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if want := map[bool]int{true: 0, false: 1}[tc.deadline]; n != want {
			t.Errorf("%s (deadline %v, InTx: %v): %d stored, want %d", tc.id, tc.deadline, txErr, n, want)
		}
	}
	// The store works again.
	if err := s.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// frozenStore opens a store on a new database behind a freeze proxy (with
// maxConns connections; 0: the default) and a direct connection to the same
// database, both closed at the end of the test.
func frozenStore(t *testing.T, maxConns int32) (*Store, *pgtest.FreezeProxy, *pgx.Conn) {
	t.Helper()
	direct := pgtest.NewDatabase(t)
	u, err := url.Parse(direct)
	if err != nil {
		t.Fatal(err)
	}
	proxy := pgtest.NewFreezeProxy(t, u.Host)
	proxied := *u
	proxied.Host = proxy.Addr()
	s, err := Open(context.Background(), Config{URL: proxied.String(), MaxConns: maxConns,
		StatementTimeout: 30 * time.Second, AcquireTimeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	db, err := pgx.Connect(context.Background(), direct)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close(context.Background()) })
	return s, proxy, db
}
