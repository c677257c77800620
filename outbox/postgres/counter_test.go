package postgres_test

import (
	"context"
	"testing"

	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/outbox/outboxtest"
	"github.com/amtsbote/amtsbote/outbox/postgres"
	"github.com/amtsbote/amtsbote/outbox/postgres/pgtest"
)

// The statement counter sees the statements and round trips of a
// transaction beside the call deadlines' tracer.
func TestStatementCounter(t *testing.T) {
	ctx := context.Background()
	c := &postgres.StatementCounter{}
	s, err := postgres.Open(ctx, postgres.Config{URL: pgtest.NewDatabase(t), Counter: c})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	stmts, trips := c.Statements(), c.RoundTrips()
	if stmts == 0 || trips == 0 {
		t.Fatalf("migrations at Open not counted: %d statements, %d round trips", stmts, trips)
	}
	msg := outboxtest.NewMessage("t/p.q/count", "")
	if err := s.InTx(ctx, func(tx outbox.Tx) error {
		return tx.InsertMessages(ctx, []outbox.Message{msg})
	}); err != nil {
		t.Fatal(err)
	}
	// Pipelined: the insert and the event in one batch, with the commit
	// (TestPipelinedIntakeOneRoundTrip counts exactly).
	if d := c.Statements() - stmts; d < 1 {
		t.Errorf("one transaction with one insert counted %d statements, want at least 1", d)
	}
	if d := c.RoundTrips() - trips; d < 1 {
		t.Errorf("one transaction with one insert counted %d round trips, want at least 1", d)
	}
}
