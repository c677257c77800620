package sqlite_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/outbox/outboxtest"
	"github.com/amtsbote/amtsbote/outbox/sqlite"
)

func open(t *testing.T) outbox.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "amtsbote.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) { outboxtest.Run(t, open) }

func TestWatermillUnordered(t *testing.T) { outboxtest.RunWatermill(t, open, false) }

func TestWatermillOrdered(t *testing.T) { outboxtest.RunWatermill(t, open, true) }

// A data directory whose path holds URI characters ('#', '?', '%') opens the
// right file with its settings (WAL) and its schema.
func TestOpenPathWithURICharacters(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a#b?c%20d")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "amtsbote.db")
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if ok, err := s.MigrationsApplied(context.Background()); err != nil || !ok {
		t.Fatalf("migrations applied = %v, %v", ok, err)
	}
	if _, err := os.Stat(path + "-wal"); err != nil {
		t.Fatalf("no WAL file beside %s: %v", path, err)
	}
}

// A reactor that panics leaves no transaction open: the one write connection
// serves the next transaction, and nothing of the panicking one is stored.
func TestPanicInTransactionRollsBack(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s := open(t)
	create := func(id string) error {
		return s.InTx(ctx, func(tx outbox.Tx) error {
			_, _, err := tx.CreateSubmission(ctx, outbox.Submission{ID: id, PortalID: "p", TenantID: "t",
				ProcedureID: "p.q", RequestHash: []byte{1}, Payload: []byte("{}")})
			return err
		})
	}
	s.SetReactor(outbox.ReactorFunc(func(context.Context, []outbox.Event) ([]outbox.Message, error) {
		panic("reactor failed")
	}))
	func() {
		defer func() {
			if recover() == nil {
				t.Error("InTx did not pass the panic on")
			}
		}()
		_ = create("s1")
	}()
	s.SetReactor(nil)
	if err := create("s2"); err != nil {
		t.Fatalf("transaction after the panic: %v", err)
	}
	if _, _, err := s.Submission(ctx, "s1"); !errors.Is(err, outbox.ErrNotFound) {
		t.Fatalf("submission of the panicking transaction: err = %v, want ErrNotFound", err)
	}
}

// TestFilesOwnerOnly: the database file and its -wal and -shm files are
// 0600 whatever the umask, also when they existed with a wider mode.
func TestFilesOwnerOnly(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "amtsbote.db")
	check := func(when string) {
		t.Helper()
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatalf("%s: %v", when, err)
			}
			if fi.Mode().Perm() != sqlite.FileMode {
				t.Errorf("%s: %s has mode %v, want %v", when, filepath.Base(p), fi.Mode().Perm(), sqlite.FileMode)
			}
		}
	}
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	outboxtest.Publish(t, s, outboxtest.NewMessage("t/p.q/d", "")) // writes the WAL
	check("created")
	s.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		_ = os.Chmod(p, 0o644)
	}
	s, err = sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	outboxtest.Publish(t, s, outboxtest.NewMessage("t/p.q/d", ""))
	check("reopened")
}
