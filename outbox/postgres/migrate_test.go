package postgres

import (
	"context"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/outbox/internal/sqlfile"
	"github.com/amtsbote/amtsbote/outbox/outboxtest"
	"github.com/amtsbote/amtsbote/outbox/postgres/pgtest"
)

// eventsBefore009 is the Events query of schema version 8: every event a
// stored row.
const eventsBefore009 = `SELECT e.seq, e.submission_id, s.portal_id, s.tenant_id, s.procedure_id, e.message_id, e.topic, e.kind,
       e.attempt, e.outcome, e.actor, e.detail, e.at
FROM outbox_events e JOIN submissions s ON s.id = e.submission_id
WHERE e.submission_id = $1 ORDER BY e.seq`

// TestMigrate009KeepsTrails: a database of schema version 8, whose events
// are all stored rows (as the code before migration 009 wrote them), gives
// the same trails after the migration, numbers included: no event twice,
// none lost. An attempt recorded after the upgrade on an old message
// follows them, derived from its row (no event row written).
func TestMigrate009KeepsTrails(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	migrateTo(t, pool, 8)
	// s1: accepted, its message m1 dead, replayed and delivered, its payload
	// purged; m2 retrying after one attempt; m3 queued in a later
	// transaction (no actor); a follow-up mail with its attempt. Then s2,
	// interleaved, so that the trails' numbers have gaps.
	stmts := []string{
		`INSERT INTO submissions (id, portal_id, tenant_id, procedure_id, request_hash, payload, created_at)
		 VALUES ('s1', 'p', 't', 'bau', '\x00', '{}', '2026-01-01 10:00:00+00'),
		        ('s2', 'p', 't', 'bau', '\x00', '{}', '2026-01-01 10:00:01+00')`,
		`INSERT INTO outbox_messages (seq, id, topic, submission_id, payload, metadata, state, attempts, next_attempt_at,
		     created_at, updated_at, delivered_at, purged_at)
		 VALUES (1, 'm1', 't/bau/fv', 's1', '', '{"message_type":"0200"}', 'delivered', 2, '2026-01-01 10:00:00+00',
		         '2026-01-01 10:00:00+00', '2026-01-01 10:05:00+00', '2026-01-01 10:05:00+00', '2026-02-01 00:00:00+00'),
		        (2, 'm2', 't/bau/amqp', 's1', '<x/>', '{}', 'retrying', 1, '2030-01-01 00:00:00+00',
		         '2026-01-01 10:00:00+00', '2026-01-01 10:00:02+00', NULL, NULL),
		        (3, 'x1', 't/bau/fv', 's2', '<x/>', '{}', 'pending', 0, '2030-01-01 00:00:00+00',
		         '2026-01-01 10:00:01+00', '2026-01-01 10:00:01+00', NULL, NULL),
		        (4, 'mail1', 't/~notify/office', 's1', '', '{}', 'delivered', 1, '2026-01-01 10:05:00+00',
		         '2026-01-01 10:05:00+00', '2026-01-01 10:05:01+00', '2026-01-01 10:05:01+00', '2026-02-01 00:00:00+00'),
		        (5, 'm3', 't/bau/case', 's1', '{}', '{}', 'pending', 0, '2030-01-01 00:00:00+00',
		         '2026-01-01 10:06:00+00', '2026-01-01 10:06:00+00', NULL, NULL)`,
		`INSERT INTO outbox_attempts (message_seq, number, owner, started_at, finished_at, outcome, error, error_class) VALUES
		 (1, 1, 'o', '2026-01-01 10:00:01+00', '2026-01-01 10:00:01+00', 'dead', '400 Bad Request', 'receiver_rejected'),
		 (2, 1, 'o', '2026-01-01 10:00:02+00', '2026-01-01 10:00:02+00', 'retry', '503', 'receiver_unavailable'),
		 (1, 2, 'o2', '2026-01-01 10:05:00+00', '2026-01-01 10:05:00+00', 'delivered', NULL, NULL),
		 (4, 1, 'o2', '2026-01-01 10:05:01+00', '2026-01-01 10:05:01+00', 'delivered', NULL, NULL)`,
		`INSERT INTO outbox_replays (message_seq, replayed_at, replayed_by, reason, attempts)
		 VALUES (1, '2026-01-01 10:04:00+00', 'op', 'fixed', 1)`,
		`INSERT INTO outbox_events (submission_id, message_id, topic, kind, attempt, outcome, actor, detail, at) VALUES
		 ('s1', '', '', 'accepted', 0, '', 'portal:p', '', '2026-01-01 10:00:00+00'),
		 ('s1', 'm1', 't/bau/fv', 'transformed', 0, '', 'portal:p', '0200', '2026-01-01 10:00:00+00'),
		 ('s1', 'm2', 't/bau/amqp', 'transformed', 0, '', 'portal:p', '', '2026-01-01 10:00:00+00'),
		 ('s2', '', '', 'accepted', 0, '', 'portal:p', '', '2026-01-01 10:00:01+00'),
		 ('s2', 'x1', 't/bau/fv', 'transformed', 0, '', 'portal:p', '', '2026-01-01 10:00:01+00'),
		 ('s1', 'm1', 't/bau/fv', 'attempt', 1, 'dead', 'relay:o', '400 Bad Request', '2026-01-01 10:00:01+00'),
		 ('s1', 'm1', 't/bau/fv', 'dead', 0, '', 'relay:o', '400 Bad Request', '2026-01-01 10:00:01+00'),
		 ('s1', 'm2', 't/bau/amqp', 'attempt', 1, 'retry', 'relay:o', '503', '2026-01-01 10:00:02+00'),
		 ('s1', 'm1', 't/bau/fv', 'payload_viewed', 0, '', 'console:op', 'Rückfrage', '2026-01-01 10:03:00+00'),
		 ('s1', 'm1', 't/bau/fv', 'replayed', 0, '', 'op', 'fixed', '2026-01-01 10:04:00+00'),
		 ('s1', 'm1', 't/bau/fv', 'attempt', 2, 'delivered', 'relay:o2', '', '2026-01-01 10:05:00+00'),
		 ('s1', 'm1', 't/bau/fv', 'delivered', 0, '', 'relay:o2', '', '2026-01-01 10:05:00+00'),
		 ('s1', 'mail1', 't/~notify/office', 'attempt', 1, 'delivered', 'relay:o2', '', '2026-01-01 10:05:01+00'),
		 ('s1', 'mail1', 't/~notify/office', 'delivered', 0, '', 'relay:o2', '', '2026-01-01 10:05:01+00'),
		 ('s1', 'm3', 't/bau/case', 'transformed', 0, '', '', '', '2026-01-01 10:06:00+00'),
		 ('s1', 'm1', 't/bau/fv', 'purged', 0, '', 'retention', '', '2026-02-01 00:00:00+00'),
		 ('s1', 'mail1', 't/~notify/office', 'purged', 0, '', 'retention', '', '2026-02-01 00:00:00+00')`,
		`SELECT setval('outbox_messages_seq_seq', 5)`,
	}
	for _, q := range stmts {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	old := executor{db: pool, q: map[string]string{"Events": eventsBefore009}}
	before := map[string][]outbox.Event{}
	for _, id := range []string{"s1", "s2"} {
		if before[id], err = old.Events(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if len(before["s1"]) != 15 || len(before["s2"]) != 2 {
		t.Fatalf("fixture: %d and %d events", len(before["s1"]), len(before["s2"]))
	}

	s, err := Open(ctx, Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	outboxtest.TrailsUnchanged(t, s, before)

	// m2's second attempt, after the upgrade: derived, after the old events.
	if _, err := pool.Exec(ctx, `UPDATE outbox_messages SET next_attempt_at = now() WHERE id = 'm2'`); err != nil {
		t.Fatal(err)
	}
	outboxtest.NewEventsFollowUpgradedTrail(t, s, before["s1"], func() int {
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM outbox_events`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	})
}

// migrateTo brings the empty database of pool to schema version as Open
// would have then: the migrations up to version, recorded as applied, so
// that Open applies the later ones.
func migrateTo(t *testing.T, pool *pgxpool.Pool, version int) {
	t.Helper()
	migs, err := sqlfile.Migrations(files, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	stmts := []string{`CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now())`}
	for _, m := range migs {
		if m.Version > version {
			break
		}
		stmts = append(stmts, m.SQL, `INSERT INTO schema_migrations (version, name) VALUES (`+strconv.Itoa(m.Version)+`, '`+m.Name+`')`)
	}
	for _, q := range stmts {
		if _, err := pool.Exec(context.Background(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}
