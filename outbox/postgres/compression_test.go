package postgres

import (
	"bytes"
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/outbox/outboxtest"
	"github.com/amtsbote/amtsbote/outbox/postgres/pgtest"
)

// TestPayloadsCompressedWithLZ4: after migration 010, payloads large enough
// for TOAST to compress are compressed with lz4 where the server has it. A
// payload stored before the migration keeps pglz and reads back unchanged:
// the migration rewrites nothing.
func TestPayloadsCompressedWithLZ4(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, `SELECT pg_column_compression('x'::text)`); err != nil {
		t.Skipf("PostgreSQL before 14 (%v): migration 010 keeps pglz", err)
	}
	var lz4 bool
	if err := pool.QueryRow(ctx, `SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'`).Scan(&lz4); err != nil {
		t.Fatal(err)
	}
	if !lz4 {
		t.Skip("this PostgreSQL was built without lz4: migration 010 keeps pglz")
	}

	// Compressible payloads well over TOAST's threshold (about 2 KB), as XÖV is.
	xml := func(name string) []byte {
		return bytes.Repeat([]byte("<xmeld:person><name>"+name+"</name><ort>Musterstadt</ort></xmeld:person>\n"), 100)
	}
	json := func(street string) []byte {
		return append(append([]byte(`{"data":"`), bytes.Repeat([]byte(street+", "), 300)...), `"}`...)
	}

	// Schema version 9, and a submission with its message as the code before
	// migration 010 stored them.
	migrateTo(t, pool, 9)
	oldSub, oldXML := json("Alte Straße 1"), xml("Altbestand")
	if _, err := pool.Exec(ctx, `INSERT INTO submissions (id, portal_id, tenant_id, procedure_id, request_hash, payload, created_at)
		VALUES ('old', 'p', 't', 'p.q', '\x00', $1, now())`, oldSub); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO outbox_messages (id, topic, submission_id, payload, state, next_attempt_at, created_at, updated_at)
		VALUES ('old-m', 't/p.q/lz4', 'old', $1, 'pending', now(), now(), now())`, oldXML); err != nil {
		t.Fatal(err)
	}

	s, err := Open(ctx, Config{URL: url}) // applies 010
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sub := outboxtest.NewSubmission("lz4")
	sub.Payload = json("Musterstraße 1")
	msg := outboxtest.NewMessage("t/p.q/lz4", sub.ID)
	msg.Payload = xml("Mustermann")
	if err := s.InTx(ctx, func(tx outbox.Tx) error {
		if _, _, err := tx.CreateSubmission(ctx, sub); err != nil {
			return err
		}
		return tx.InsertMessages(ctx, []outbox.Message{msg})
	}); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name, sql, id, method string
		want                  []byte
	}{
		{"new submission", `SELECT pg_column_compression(payload), payload FROM submissions WHERE id = $1`, sub.ID, "lz4", sub.Payload},
		{"new message", `SELECT pg_column_compression(payload), payload FROM outbox_messages WHERE id = $1`, msg.ID, "lz4", msg.Payload},
		{"old submission", `SELECT pg_column_compression(payload), payload FROM submissions WHERE id = $1`, "old", "pglz", oldSub},
		{"old message", `SELECT pg_column_compression(payload), payload FROM outbox_messages WHERE id = $1`, "old-m", "pglz", oldXML},
	} {
		var method *string
		var payload []byte
		if err := pool.QueryRow(ctx, c.sql, c.id).Scan(&method, &payload); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if method == nil || *method != c.method {
			got := "none (not compressed)"
			if method != nil {
				got = *method
			}
			t.Errorf("%s: payload compressed with %s, want %s", c.name, got, c.method)
		}
		if !bytes.Equal(payload, c.want) {
			t.Errorf("%s: payload reads back as %d bytes, want the %d stored", c.name, len(payload), len(c.want))
		}
	}
	var answers string
	if err := pool.QueryRow(ctx, `SELECT attcompression FROM pg_attribute
		WHERE attrelid = 'answers'::regclass AND attname = 'payload'`).Scan(&answers); err != nil {
		t.Fatal(err)
	}
	if answers != "l" {
		t.Errorf("answers.payload: compression %q, want l (lz4)", answers)
	}
}
