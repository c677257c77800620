package postgres_test

import (
	"context"
	"testing"
	"time"

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

// A message committed by one process wakes the watchers of another at once
// (LISTEN/NOTIFY), without waiting for a poll.
func TestNotifyAcrossProcesses(t *testing.T) {
	open := opener(t)
	a, b := open(t), open(t)
	topic := "t/p.q/notify"
	ch, stop := a.Watch(topic)
	defer stop()
	msg := outboxtest.NewMessage(topic, "")
	if err := b.InTx(context.Background(), func(tx outbox.Tx) error {
		return tx.InsertMessages(context.Background(), []outbox.Message{msg})
	}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatal("no notification in the other process within 5s")
	}
}
