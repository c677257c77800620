package sqlite_test

import (
	"context"
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
