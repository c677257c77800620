package postgres_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/amtsbote/amtsbote/outbox/outboxtest"
	"github.com/amtsbote/amtsbote/outbox/postgres"
	"github.com/amtsbote/amtsbote/outbox/postgres/pgtest"
)

// TestBlobHeaders runs the checks of what the store keeps for the encrypting
// decorator (SealedSHA256, RewriteBlobHeaders); raw SQL goes through a
// connection of its own, as another process's would.
func TestBlobHeaders(t *testing.T) {
	outboxtest.RunBlobHeaders(t, func(t *testing.T) (outboxtest.BlobHeaderStore, outboxtest.ExecSQL) {
		url := pgtest.NewDatabase(t)
		s, err := postgres.Open(context.Background(), postgres.Config{URL: url})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		conn, err := pgx.Connect(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close(context.Background()) })
		return s, func(ctx context.Context, query string, args ...any) (int64, error) {
			tag, err := conn.Exec(ctx, query, args...)
			return tag.RowsAffected(), err
		}
	})
}
