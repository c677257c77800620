package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/amtsbote/amtsbote/outbox/outboxtest"
)

// TestBlobHeaders runs the checks of what the store keeps for the encrypting
// decorator (SealedSHA256, RewriteBlobHeaders); raw SQL goes through the
// store's write connection, as another writer's would.
func TestBlobHeaders(t *testing.T) {
	outboxtest.RunBlobHeaders(t, func(t *testing.T) (outboxtest.BlobHeaderStore, outboxtest.ExecSQL) {
		s, err := Open(context.Background(), filepath.Join(t.TempDir(), "amtsbote.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s, func(ctx context.Context, query string, args ...any) (int64, error) {
			res, err := s.write.ExecContext(ctx, query, args...)
			if err != nil {
				return 0, err
			}
			return res.RowsAffected()
		}
	})
}
