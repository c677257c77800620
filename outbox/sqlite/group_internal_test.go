package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/outbox/sqlstore"
)

// openConfig opens a store in a temporary directory with cfg (Path set here).
func openConfig(t *testing.T, cfg Config) *Store {
	t.Helper()
	cfg.Path = filepath.Join(t.TempDir(), "amtsbote.db")
	s, err := OpenConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// createIn creates submission id in tx.
func createIn(ctx context.Context, tx outbox.Tx, id string) error {
	_, _, err := tx.CreateSubmission(ctx, outbox.Submission{ID: id, PortalID: "p", TenantID: "t",
		ProcedureID: "p.q", RequestHash: []byte{1}, Payload: []byte("{}")})
	return err
}

// stored reports whether submission id is committed (read on the read pool).
func stored(t *testing.T, s *Store, id string) bool {
	t.Helper()
	_, _, err := s.Submission(context.Background(), id)
	if errors.Is(err, outbox.ErrNotFound) {
		return false
	}
	if err != nil {
		t.Fatalf("read %s: %v", id, err)
	}
	return true
}

// awaitQueued waits (up to 30 s) until n callers wait for the write turn.
func awaitQueued(t *testing.T, s *Store, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for s.d.wr.waiting() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d callers wait for the write connection, want %d", s.d.wr.waiting(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// holdTurn starts a transaction that creates submission id and holds the
// write turn until release is closed; its result arrives on the returned
// channel.
func holdTurn(ctx context.Context, s *Store, id string, release <-chan struct{}) <-chan error {
	in, done := make(chan struct{}), make(chan error, 1)
	go func() {
		done <- s.InTx(ctx, func(tx outbox.Tx) error {
			err := createIn(ctx, tx, id)
			close(in)
			<-release
			return err
		})
	}()
	<-in
	return done
}

// Concurrent write transactions that queue for the connection while one
// holds it are committed together: 16 transactions, 1 COMMIT, all stored.
func TestGroupCommitSharesOneCommit(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := openConfig(t, Config{})
	const n = 16
	before := s.d.wr.commits.Load()
	release := make(chan struct{})
	first := holdTurn(ctx, s, "g0", release)
	errs := make(chan error, n-1)
	for i := 1; i < n; i++ {
		go func() {
			errs <- s.InTx(ctx, func(tx outbox.Tx) error { return createIn(ctx, tx, fmt.Sprintf("g%d", i)) })
		}()
	}
	awaitQueued(t, s, n-1)
	close(release)
	if err := <-first; err != nil {
		t.Fatalf("first transaction: %v", err)
	}
	for i := 1; i < n; i++ {
		if err := <-errs; err != nil {
			t.Errorf("transaction: %v", err)
		}
	}
	if got := s.d.wr.commits.Load() - before; got != 1 {
		t.Errorf("%d transactions ran %d COMMITs, want 1", n, got)
	}
	for i := range n {
		if id := fmt.Sprintf("g%d", i); !stored(t, s, id) {
			t.Errorf("submission %s not stored", id)
		}
	}
}

// MaxGroup bounds a group: 9 transactions with MaxGroup 4 need 3 COMMITs.
func TestGroupCommitBounded(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := openConfig(t, Config{MaxGroup: 4})
	const n = 9
	before := s.d.wr.commits.Load()
	release := make(chan struct{})
	first := holdTurn(ctx, s, "b0", release)
	errs := make(chan error, n-1)
	for i := 1; i < n; i++ {
		go func() {
			errs <- s.InTx(ctx, func(tx outbox.Tx) error { return createIn(ctx, tx, fmt.Sprintf("b%d", i)) })
		}()
	}
	awaitQueued(t, s, n-1)
	close(release)
	for i := 0; i < n-1; i++ {
		if err := <-errs; err != nil {
			t.Errorf("transaction: %v", err)
		}
	}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if got := s.d.wr.commits.Load() - before; got != 3 {
		t.Errorf("%d transactions in groups of at most 4 ran %d COMMITs, want 3", n, got)
	}
}

// A member that fails or panics undoes only its own work: the others of
// its group are committed, in one COMMIT.
func TestGroupMemberFailureStaysLocal(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := openConfig(t, Config{})
	before := s.d.wr.commits.Load()
	release := make(chan struct{})
	first := holdTurn(ctx, s, "m0", release)
	refused := errors.New("refused")
	var wg sync.WaitGroup
	results := make([]error, 6)
	for i := 1; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if p := recover(); p != nil {
					results[i] = fmt.Errorf("panic: %v", p)
				}
			}()
			results[i] = s.InTx(ctx, func(tx outbox.Tx) error {
				if err := createIn(ctx, tx, fmt.Sprintf("m%d", i)); err != nil {
					return err
				}
				switch i {
				case 2:
					return refused
				case 4:
					panic("member failed")
				}
				return nil
			})
		}()
	}
	awaitQueued(t, s, 5)
	close(release)
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		want := i != 2 && i != 4
		if i > 0 && (results[i] == nil) != want {
			t.Errorf("member %d: error %v, want success %v", i, results[i], want)
		}
		if got := stored(t, s, fmt.Sprintf("m%d", i)); got != want {
			t.Errorf("member %d stored = %v, want %v", i, got, want)
		}
	}
	if !errors.Is(results[2], refused) {
		t.Errorf("failing member's error = %v, want its own", results[2])
	}
	if got := s.d.wr.commits.Load() - before; got != 1 {
		t.Errorf("group with failing members ran %d COMMITs, want 1", got)
	}
}

// A group whose COMMIT fails fails every member and commits nothing of any:
// one member defers a foreign key check to the COMMIT and breaks it. The
// write connection serves the next transaction.
func TestGroupCommitFailureFailsAll(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := openConfig(t, Config{})
	release := make(chan struct{})
	first := holdTurn(ctx, s, "f0", release)
	errs := make(chan error, 4)
	for i := 1; i < 4; i++ {
		go func() {
			errs <- s.InTx(ctx, func(tx outbox.Tx) error { return createIn(ctx, tx, fmt.Sprintf("f%d", i)) })
		}()
	}
	go func() {
		tx, err := s.d.Begin(ctx)
		if err != nil {
			errs <- err
			return
		}
		defer tx.Rollback(ctx)
		ex := tx.(*txExecutor)
		if _, err := ex.w.ExecContext(ctx, `PRAGMA defer_foreign_keys = ON`); err != nil {
			errs <- err
			return
		}
		m := outbox.Message{ID: "orphan", Topic: "t/p.q/d", SubmissionID: "no-such-submission", Payload: []byte("x")}
		if err := ex.InsertMessage(ctx, m, time.Now(), time.Now(), sqlstore.InsertQueued); err != nil {
			errs <- fmt.Errorf("insert with deferred foreign key check: %w", err)
			return
		}
		errs <- tx.Commit(ctx)
	}()
	awaitQueued(t, s, 4)
	close(release)
	if err := <-first; err == nil {
		t.Error("first member committed though its group's COMMIT failed")
	}
	for range 4 {
		if err := <-errs; err == nil {
			t.Error("a member committed though its group's COMMIT failed")
		}
	}
	for i := range 4 {
		if id := fmt.Sprintf("f%d", i); stored(t, s, id) {
			t.Errorf("submission %s stored though its group's COMMIT failed", id)
		}
	}
	if msgs, _, err := s.d.MessagesByID(ctx, "orphan", ""); err != nil || len(msgs) != 0 {
		t.Errorf("orphan message: %d stored, %v", len(msgs), err)
	}
	if err := s.InTx(ctx, func(tx outbox.Tx) error { return createIn(ctx, tx, "after") }); err != nil {
		t.Fatalf("transaction after the failed group: %v", err)
	}
	if !stored(t, s, "after") {
		t.Error("transaction after the failed group not stored")
	}
}

// A caller whose context ends while it waits for the connection gets its
// error and nothing of it is committed; so does one whose context ends
// before its commit. The rest of the group commits.
func TestGroupContextEnds(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := openConfig(t, Config{})
	release := make(chan struct{})
	first := holdTurn(ctx, s, "c0", release)

	waitCtx, endWait := context.WithCancel(ctx)
	waiting := make(chan error, 1)
	go func() {
		waiting <- s.InTx(waitCtx, func(tx outbox.Tx) error { return createIn(waitCtx, tx, "c-waiting") })
	}()
	lateCtx, endLate := context.WithCancel(ctx)
	late := make(chan error, 1)
	go func() {
		late <- s.InTx(lateCtx, func(tx outbox.Tx) error {
			err := createIn(lateCtx, tx, "c-late")
			endLate() // the budget runs out before the commit
			return err
		})
	}()
	others := make(chan error, 1)
	go func() { others <- s.InTx(ctx, func(tx outbox.Tx) error { return createIn(ctx, tx, "c1") }) }()
	awaitQueued(t, s, 3)
	endWait()
	if err := <-waiting; !errors.Is(err, context.Canceled) {
		t.Errorf("caller whose context ended while waiting: %v, want context.Canceled", err)
	}
	awaitQueued(t, s, 2)
	close(release)
	if err := <-late; !errors.Is(err, context.Canceled) {
		t.Errorf("caller whose context ended before its commit: %v, want context.Canceled", err)
	}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if err := <-others; err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]bool{"c0": true, "c1": true, "c-waiting": false, "c-late": false} {
		if got := stored(t, s, id); got != want {
			t.Errorf("%s stored = %v, want %v", id, got, want)
		}
	}
}

// The background checkpoint keeps the WAL bounded while writers write
// without a pause (no checkpoint runs in their commits).
func TestWALStaysBounded(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	path := filepath.Join(t.TempDir(), "amtsbote.db")
	s, err := OpenConfig(ctx, Config{Path: path, CheckpointInterval: 5 * time.Millisecond, CheckpointPages: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	wal := path + "-wal"
	const writers, each, size = 8, 60, 32 << 10
	payload := make([]byte, size)
	var mu sync.Mutex
	var largest int64
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				err := s.InTx(ctx, func(tx outbox.Tx) error {
					_, _, err := tx.CreateSubmission(ctx, outbox.Submission{ID: fmt.Sprintf("w%d-%d", w, i), PortalID: "p",
						TenantID: "t", ProcedureID: "p.q", RequestHash: []byte{1}, Payload: payload})
					return err
				})
				if err != nil {
					errs <- err
					return
				}
				fi, err := os.Stat(wal)
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				largest = max(largest, fi.Size())
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	written := int64(writers * each * size)
	const bound = 4 << 20
	t.Logf("wrote %d KiB of payloads; largest WAL %d KiB; %d checkpoints", written>>10, largest>>10, s.ckpt.runs.Load())
	if largest > bound {
		t.Errorf("WAL grew to %d KiB while %d KiB were written, want at most %d KiB", largest>>10, written>>10, bound>>10)
	}
}

// Under concurrent transactions that succeed, fail, panic or run out of
// time at any point (waiting, running, committing), exactly the
// transactions whose InTx returned nil are stored.
func TestGroupOutcomesMatchStorage(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s := openConfig(t, Config{MaxGroup: 8})
	const workers, each = 12, 25
	results := make([][]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		results[w] = make([]error, each)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				id := fmt.Sprintf("o%d-%d", w, i)
				txCtx, txCancel := ctx, context.CancelFunc(func() {})
				if (w+i)%4 == 0 { // a budget that may end anywhere
					txCtx, txCancel = context.WithTimeout(ctx, time.Duration((w*each+i)%9)*150*time.Microsecond)
				}
				func() {
					defer txCancel()
					defer func() {
						if p := recover(); p != nil {
							results[w][i] = fmt.Errorf("panic: %v", p)
						}
					}()
					results[w][i] = s.InTx(txCtx, func(tx outbox.Tx) error {
						if err := createIn(txCtx, tx, id); err != nil {
							return err
						}
						switch (w + 3*i) % 7 {
						case 1:
							return errors.New("refused")
						case 2:
							panic("failed")
						}
						return nil
					})
				}()
			}
		}()
	}
	wg.Wait()
	ok, late := 0, 0
	for w := range workers {
		for i := range each {
			id := fmt.Sprintf("o%d-%d", w, i)
			if got, want := stored(t, s, id), results[w][i] == nil; got != want {
				t.Errorf("%s: stored %v, but InTx returned %v", id, got, results[w][i])
			}
			if results[w][i] == nil {
				ok++
			}
			if errors.Is(results[w][i], context.DeadlineExceeded) {
				late++
			}
		}
	}
	t.Logf("%d of %d transactions committed in %d COMMITs; %d ran out of time", ok, workers*each, s.d.wr.commits.Load(), late)
	if ok == 0 {
		t.Error("no transaction committed")
	}
}
