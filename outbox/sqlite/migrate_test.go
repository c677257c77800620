package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/outbox/internal/sqlfile"
	"github.com/amtsbote/amtsbote/outbox/outboxtest"
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
	// (With its columns named: a row of too few values fails whatever the foreign keys.)
	_, err = s.write.ExecContext(ctx, `INSERT INTO outbox_attempts (message_seq, number, owner, started_at, finished_at, outcome)
		VALUES (999, 1, 'o', 1, 2, 'dead')`)
	if err == nil || !strings.Contains(err.Error(), "FOREIGN KEY") {
		t.Fatalf("an attempt of no message: %v, want a foreign key error", err)
	}
}

// eventsBefore009 is the Events query of schema version 7: every event a
// stored row.
const eventsBefore009 = `SELECT e.seq, e.submission_id, s.portal_id, s.tenant_id, s.procedure_id, e.message_id, e.topic, e.kind,
       e.attempt, e.outcome, e.actor, e.detail, e.at
FROM outbox_events e JOIN submissions s ON s.id = e.submission_id
WHERE e.submission_id = ? ORDER BY e.seq`

// TestMigrate009KeepsTrails: a database of schema version 7, whose events
// are all stored rows (as the code before migration 009 wrote them), gives
// the same trails after the migration, numbers included: no event twice,
// none lost. An attempt recorded after the upgrade on an old message
// follows them, derived from its row (no event row written).
func TestMigrate009KeepsTrails(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	migs, err := sqlfile.Migrations(files, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	stmts := []string{`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`}
	for _, m := range migs {
		if m.Version > 7 {
			break
		}
		stmts = append(stmts, m.SQL, `INSERT INTO schema_migrations VALUES (`+strconv.Itoa(m.Version)+`, '`+m.Name+`', 0)`)
	}
	// As TestMigrate009KeepsTrails of outbox/postgres; times in seconds.
	stmts = append(stmts,
		`INSERT INTO submissions (id, portal_id, tenant_id, procedure_id, request_hash, payload, created_at)
		 VALUES ('s1', 'p', 't', 'bau', x'00', '{}', 1000000), ('s2', 'p', 't', 'bau', x'00', '{}', 1000000)`,
		`INSERT INTO outbox_messages (seq, id, topic, submission_id, payload, metadata, state, attempts, next_attempt_at,
		     created_at, updated_at, delivered_at, purged_at) VALUES
		 (1, 'm1', 't/bau/fv', 's1', '', '{"message_type":"0200"}', 'delivered', 2, 1000000, 1000000, 5000000, 5000000, 9000000),
		 (2, 'm2', 't/bau/amqp', 's1', '<x/>', '{}', 'retrying', 1, 9999000000000000, 1000000, 2000000, NULL, NULL),
		 (3, 'x1', 't/bau/fv', 's2', '<x/>', '{}', 'pending', 0, 9999000000000000, 1000000, 1000000, NULL, NULL),
		 (4, 'mail1', 't/~notify/office', 's1', '', '{}', 'delivered', 1, 5000000, 5000000, 6000000, 6000000, 9000000),
		 (5, 'm3', 't/bau/case', 's1', '{}', '{}', 'pending', 0, 9999000000000000, 7000000, 7000000, NULL, NULL)`,
		`INSERT INTO outbox_attempts (message_seq, number, owner, started_at, finished_at, outcome, error, error_class) VALUES
		 (1, 1, 'o', 1000000, 1000000, 'dead', '400 Bad Request', 'receiver_rejected'),
		 (2, 1, 'o', 2000000, 2000000, 'retry', '503', 'receiver_unavailable'),
		 (1, 2, 'o2', 5000000, 5000000, 'delivered', NULL, NULL),
		 (4, 1, 'o2', 6000000, 6000000, 'delivered', NULL, NULL)`,
		`INSERT INTO outbox_replays (message_seq, replayed_at, replayed_by, reason, attempts) VALUES (1, 4000000, 'op', 'fixed', 1)`,
		`INSERT INTO outbox_events (submission_id, message_id, topic, kind, attempt, outcome, actor, detail, at) VALUES
		 ('s1', '', '', 'accepted', 0, '', 'portal:p', '', 1000000),
		 ('s1', 'm1', 't/bau/fv', 'transformed', 0, '', 'portal:p', '0200', 1000000),
		 ('s1', 'm2', 't/bau/amqp', 'transformed', 0, '', 'portal:p', '', 1000000),
		 ('s2', '', '', 'accepted', 0, '', 'portal:p', '', 1000000),
		 ('s2', 'x1', 't/bau/fv', 'transformed', 0, '', 'portal:p', '', 1000000),
		 ('s1', 'm1', 't/bau/fv', 'attempt', 1, 'dead', 'relay:o', '400 Bad Request', 1000000),
		 ('s1', 'm1', 't/bau/fv', 'dead', 0, '', 'relay:o', '400 Bad Request', 1000000),
		 ('s1', 'm2', 't/bau/amqp', 'attempt', 1, 'retry', 'relay:o', '503', 2000000),
		 ('s1', 'm1', 't/bau/fv', 'payload_viewed', 0, '', 'console:op', 'Rückfrage', 3000000),
		 ('s1', 'm1', 't/bau/fv', 'replayed', 0, '', 'op', 'fixed', 4000000),
		 ('s1', 'm1', 't/bau/fv', 'attempt', 2, 'delivered', 'relay:o2', '', 5000000),
		 ('s1', 'm1', 't/bau/fv', 'delivered', 0, '', 'relay:o2', '', 5000000),
		 ('s1', 'mail1', 't/~notify/office', 'attempt', 1, 'delivered', 'relay:o2', '', 6000000),
		 ('s1', 'mail1', 't/~notify/office', 'delivered', 0, '', 'relay:o2', '', 6000000),
		 ('s1', 'm3', 't/bau/case', 'transformed', 0, '', '', '', 7000000),
		 ('s1', 'm1', 't/bau/fv', 'purged', 0, '', 'retention', '', 9000000),
		 ('s1', 'mail1', 't/~notify/office', 'purged', 0, '', 'retention', '', 9000000)`)
	for _, q := range stmts {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	old := executor{r: db, w: db, q: map[string]string{"Events": eventsBefore009}}
	before := map[string][]outbox.Event{}
	for _, id := range []string{"s1", "s2"} {
		if before[id], err = old.Events(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if len(before["s1"]) != 15 || len(before["s2"]) != 2 {
		t.Fatalf("fixture: %d and %d events", len(before["s1"]), len(before["s2"]))
	}
	db.Close()

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	outboxtest.TrailsUnchanged(t, s, before)

	// m2's second attempt, after the upgrade: derived, after the old events.
	if _, err := s.write.ExecContext(ctx, `UPDATE outbox_messages SET next_attempt_at = 0 WHERE id = 'm2'`); err != nil {
		t.Fatal(err)
	}
	outboxtest.NewEventsFollowUpgradedTrail(t, s, before["s1"], func() int {
		var n int
		if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM outbox_events`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	})
}
