package sqlstore_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/outbox/postgres"
	"github.com/amtsbote/amtsbote/outbox/postgres/pgtest"
	"github.com/amtsbote/amtsbote/outbox/sqlite"
)

// A submission whose id is taken by one with another idempotency key is a
// conflict of ids, reported as such: the drivers answer ErrNotFound for
// the key (the Driver contract), not their dialect's "no rows".
func TestCreateSubmissionIDTakenOtherKey(t *testing.T) {
	t.Parallel()
	stores := map[string]func(t *testing.T) outbox.Store{
		"sqlite": func(t *testing.T) outbox.Store {
			s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "amtsbote.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
		"postgres": func(t *testing.T) outbox.Store {
			s, err := postgres.Open(context.Background(), postgres.Config{URL: pgtest.NewDatabase(t)})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
	}
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			st := open(t)
			ctx := context.Background()
			sub := outbox.Submission{ID: "0b7c1d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f", PortalID: "buergerportal", TenantID: "musterstadt",
				ProcedureID: "bau.baugenehmigung", IdempotencyKey: "k-1", RequestHash: []byte{1}, Payload: []byte("{}"), CreatedAt: time.Now()}
			create := func(s outbox.Submission) (bool, error) {
				var created bool
				err := st.InTx(ctx, func(tx outbox.Tx) error {
					var err error
					_, created, err = tx.CreateSubmission(ctx, s)
					return err
				})
				return created, err
			}
			if created, err := create(sub); err != nil || !created {
				t.Fatalf("first: created %v, %v", created, err)
			}
			again := sub
			again.IdempotencyKey = "k-2"
			_, err := create(again)
			if err == nil || !strings.Contains(err.Error(), "id already exists") {
				t.Fatalf("same id, other key: %v, want the id conflict", err)
			}
			if created, err := create(sub); err != nil || created {
				t.Errorf("same id, same key: created %v, %v; want the stored one", created, err)
			}
		})
	}
}
