package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/amtsbote/amtsbote/outbox/postgres/pgtest"
)

// TestOutcomeBaselineRecordsEachOnce checks that the outcome floors do the
// work they stand for: every prepared row delivered once with one attempt
// row, whether outcomes commit one per transaction or several, including a
// last transaction with fewer.
func TestOutcomeBaselineRecordsEachOnce(t *testing.T) {
	url := pgtest.NewDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, perTx := range []int{1, 16} {
		t.Run(fmt.Sprintf("%d per transaction", perTx), func(t *testing.T) {
			const n = 100
			run, closeFn, err := pgxOutcomeBaseline(ctx, url, n, 4, 0, 512, perTx)
			if err != nil {
				t.Fatal(err)
			}
			defer closeFn()
			res, err := run()
			if err != nil {
				t.Fatal(err)
			}
			if res.perSec <= 0 {
				t.Errorf("rate %v, want > 0", res.perSec)
			}
			conn, err := pgx.Connect(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(ctx)
			var delivered, attempts, distinct int
			if err := conn.QueryRow(ctx, `SELECT
				(SELECT count(*) FROM baseline_outbox WHERE state = 'delivered' AND attempts = 1),
				(SELECT count(*) FROM baseline_attempts),
				(SELECT count(DISTINCT message_seq) FROM baseline_attempts)`).Scan(&delivered, &attempts, &distinct); err != nil {
				t.Fatal(err)
			}
			if delivered != n || attempts != n || distinct != n {
				t.Errorf("%d rows delivered once, %d attempt rows for %d messages; want %d each", delivered, attempts, distinct, n)
			}
		})
	}
}
