package postgres_test

import (
	"context"
	"testing"

	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/outbox/outboxtest"
	"github.com/amtsbote/amtsbote/outbox/postgres"
	"github.com/amtsbote/amtsbote/outbox/postgres/pgtest"
)

// opener returns an Opener whose stores share one fresh database, each with its own
// pool and listener, as separate processes would.
func opener(t *testing.T) outboxtest.Opener {
	url := pgtest.NewDatabase(t)
	return func(t *testing.T) outbox.Store {
		s, err := postgres.Open(context.Background(), postgres.Config{URL: url})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
}

func TestConformance(t *testing.T) { outboxtest.Run(t, opener(t)) }

func TestWatermillUnordered(t *testing.T) { outboxtest.RunWatermill(t, opener(t), false) }

func TestWatermillOrdered(t *testing.T) { outboxtest.RunWatermill(t, opener(t), true) }
