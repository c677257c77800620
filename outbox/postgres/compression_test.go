package postgres_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/outbox/outboxtest"
	"github.com/amtsbote/amtsbote/outbox/postgres"
	"github.com/amtsbote/amtsbote/outbox/postgres/pgtest"
)

// Payloads large enough for TOAST to compress are compressed with lz4 (migration
// 010), where the server has it; values stored before keep their method and
// stay readable.
func TestPayloadsCompressedWithLZ4(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `SET default_toast_compression = lz4`); err != nil {
		t.Skipf("this PostgreSQL has no lz4 (%v): migration 010 keeps pglz", err)
	}
	if _, err := conn.Exec(ctx, `RESET default_toast_compression`); err != nil {
		t.Fatal(err)
	}

	s, err := postgres.Open(ctx, postgres.Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// A compressible payload well over TOAST's threshold (about 2 KB), as XÖV is.
	xml := bytes.Repeat([]byte("<xmeld:person><name>Mustermann</name><ort>Musterstadt</ort></xmeld:person>\n"), 100)
	sub := outboxtest.NewSubmission("lz4")
	sub.Payload = append([]byte(`{"data":"`), append(bytes.Repeat([]byte("Musterstraße 1, "), 300), `"}`...)...)
	msg := outboxtest.NewMessage("t/p.q/lz4", sub.ID)
	msg.Payload = xml
	if err := s.InTx(ctx, func(tx outbox.Tx) error {
		if _, _, err := tx.CreateSubmission(ctx, sub); err != nil {
			return err
		}
		return tx.InsertMessages(ctx, []outbox.Message{msg})
	}); err != nil {
		t.Fatal(err)
	}

	for _, q := range []struct{ name, sql, id string }{
		{"submission", `SELECT pg_column_compression(payload), payload FROM submissions WHERE id = $1`, sub.ID},
		{"message", `SELECT pg_column_compression(payload), payload FROM outbox_messages WHERE id = $1`, msg.ID},
	} {
		var method *string
		var payload []byte
		if err := conn.QueryRow(ctx, q.sql, q.id).Scan(&method, &payload); err != nil {
			t.Fatalf("%s: %v", q.name, err)
		}
		if method == nil || *method != "lz4" {
			t.Errorf("%s payload compressed with %v, want lz4", q.name, deref(method))
		}
		want := sub.Payload
		if q.name == "message" {
			want = xml
		}
		if !bytes.Equal(payload, want) {
			t.Errorf("%s payload reads back as %d bytes, want the %d stored", q.name, len(payload), len(want))
		}
	}
	var answers string
	if err := conn.QueryRow(ctx, `SELECT attcompression FROM pg_attribute
		WHERE attrelid = 'answers'::regclass AND attname = 'payload'`).Scan(&answers); err != nil {
		t.Fatal(err)
	}
	if answers != "l" {
		t.Errorf("answers.payload compression %q, want l (lz4)", answers)
	}
}

func deref(s *string) string {
	if s == nil {
		return "none (not compressed)"
	}
	return *s
}
