package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/outbox/internal/sqlfile"
)

// TestMigrateKeepsData upgrades a database of schema version 2 holding a
// delivered message with an attempt and a replay: migration 3 rebuilds the
// messages table, and nothing may be lost or left dangling.
func TestMigrateKeepsData(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	migs, err := sqlfile.Migrations(files, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	stmts := []string{`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`}
	for _, m := range migs[:2] {
		stmts = append(stmts, m.SQL, `INSERT INTO schema_migrations VALUES (`+string(rune('0'+m.Version))+`, '`+m.Name+`', 0)`)
	}
	stmts = append(stmts,
		`INSERT INTO submissions (id, portal_id, tenant_id, procedure_id, request_hash, payload, created_at)
		 VALUES ('s1', 'p', 't', 'bau', x'00', '{}', 1)`,
		`INSERT INTO outbox_messages (seq, id, topic, submission_id, payload, state, attempts, next_attempt_at, created_at, updated_at, delivered_at)
		 VALUES (7, 'm1', 't/bau/fv', 's1', '<x/>', 'delivered', 2, 1, 1, 3, 3)`,
		`INSERT INTO outbox_attempts VALUES (7, 1, 'o', 1, 2, 'dead', 'boom')`,
		`INSERT INTO outbox_attempts VALUES (7, 2, 'o', 2, 3, 'delivered', NULL)`,
		`INSERT INTO outbox_replays (message_seq, replayed_at, replayed_by, reason, attempts) VALUES (7, 2, 'op', '', 1)`)
	for _, q := range stmts {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if ok, err := s.MigrationsApplied(ctx); err != nil || !ok {
		t.Fatalf("migrations applied: %v %v", ok, err)
	}
	_, msgs, err := s.Submission(ctx, "s1")
	if err != nil || len(msgs) != 1 || msgs[0].State != outbox.StateDelivered || string(msgs[0].Payload) != "<x/>" {
		t.Fatalf("message after migration: %+v %v", msgs, err)
	}
	attempts, err := s.Attempts(ctx, "m1")
	if err != nil || len(attempts) != 2 || attempts[0].Error != "boom" {
		t.Fatalf("attempts after migration: %+v %v", attempts, err)
	}
	replays, err := s.Replays(ctx, "m1")
	if err != nil || len(replays) != 1 || replays[0].By != "op" {
		t.Fatalf("replays after migration: %+v %v", replays, err)
	}
	// Foreign keys are enforced again on the write connection.
	_, err = s.write.ExecContext(ctx, `INSERT INTO outbox_attempts VALUES (999, 1, 'o', 1, 2, 'dead', NULL)`)
	if err == nil {
		t.Fatal("an attempt of no message was accepted: foreign keys are off")
	}
}
