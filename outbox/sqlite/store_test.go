package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

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
