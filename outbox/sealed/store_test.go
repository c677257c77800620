package sealed_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/outbox/outboxtest"
	"github.com/amtsbote/amtsbote/outbox/postgres"
	"github.com/amtsbote/amtsbote/outbox/postgres/pgtest"
	"github.com/amtsbote/amtsbote/outbox/sealed"
	"github.com/amtsbote/amtsbote/outbox/sqlite"
)

// Both stores can rewrite payloads for key rotation.
var (
	_ sealed.Rewriter          = (*sqlite.Store)(nil)
	_ sealed.Rewriter          = (*postgres.Store)(nil)
	_ sealed.BlobChunkRewriter = (*sqlite.Store)(nil)
	_ sealed.BlobChunkRewriter = (*postgres.Store)(nil)

	_ sealed.BlobHeaderRewriter = (*sqlite.Store)(nil)
	_ sealed.BlobHeaderRewriter = (*postgres.Store)(nil)
)

// personal is the metadata key the tests treat as personal data (in the
// gateway: the citizen's postbox reference). The conformance suite's
// messages carry it ("k"), so the suite exercises sealed metadata too.
const personal = "k"

// innerStore is what the tests need of a plain store.
type innerStore interface {
	outbox.Store
	sealed.Rewriter
	sealed.BlobChunkRewriter
	sealed.BlobHeaderRewriter
}

// backend opens plain stores on one database and runs SQL on it directly,
// as an attacker with a copy of the database would.
type backend struct {
	open func(t *testing.T) innerStore
	// exec runs a statement written with $1, $2, ... placeholders.
	exec func(t *testing.T, query string, args ...any)
	// queryBytes returns the bytes of the one column of the one row a query
	// (written like exec's) selects.
	queryBytes func(t *testing.T, query string, args ...any) []byte
}

func sqliteBackend(t *testing.T) backend {
	path := filepath.Join(t.TempDir(), "amtsbote.db")
	return backend{
		open: func(t *testing.T) innerStore {
			s, err := sqlite.Open(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
		exec: func(t *testing.T, query string, args ...any) {
			t.Helper()
			db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Exec(strings.ReplaceAll(query, "$", "?"), args...); err != nil {
				t.Fatalf("%s: %v", query, err)
			}
		},
		queryBytes: func(t *testing.T, query string, args ...any) []byte {
			t.Helper()
			db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var b []byte
			if err := db.QueryRow(strings.ReplaceAll(query, "$", "?"), args...).Scan(&b); err != nil {
				t.Fatalf("%s: %v", query, err)
			}
			return b
		},
	}
}

func postgresBackend(t *testing.T) backend {
	url := pgtest.NewDatabase(t)
	return backend{
		open: func(t *testing.T) innerStore {
			s, err := postgres.Open(context.Background(), postgres.Config{URL: url})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
		exec: func(t *testing.T, query string, args ...any) {
			t.Helper()
			pool, err := pgxpool.New(context.Background(), url)
			if err != nil {
				t.Fatal(err)
			}
			defer pool.Close()
			if _, err := pool.Exec(context.Background(), query, args...); err != nil {
				t.Fatalf("%s: %v", query, err)
			}
		},
		queryBytes: func(t *testing.T, query string, args ...any) []byte {
			t.Helper()
			pool, err := pgxpool.New(context.Background(), url)
			if err != nil {
				t.Fatal(err)
			}
			defer pool.Close()
			var b []byte
			if err := pool.QueryRow(context.Background(), query, args...).Scan(&b); err != nil {
				t.Fatalf("%s: %v", query, err)
			}
			return b
		},
	}
}

var backends = map[string]func(t *testing.T) backend{
	"sqlite":   sqliteBackend,
	"postgres": postgresBackend,
}

func wrap(t *testing.T, inner outbox.Store, kr *sealed.Keyring) *sealed.Store {
	t.Helper()
	s, err := sealed.New(inner, sealed.Config{Keyring: kr, MetadataKeys: []string{personal}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestConformance runs the store contract over the decorated stores.
func TestConformance(t *testing.T) {
	for name, newBackend := range backends {
		t.Run(name, func(t *testing.T) {
			kr := keyring(t, "k1", newKey(t, "k1"))
			if name == "sqlite" {
				// One store per file, as the SQLite store's own suite runs: it
				// serves one process, and parallel cases must not share its writer.
				outboxtest.Run(t, func(t *testing.T) outbox.Store { return wrap(t, newBackend(t).open(t), kr) })
				return
			}
			b := newBackend(t)
			outboxtest.Run(t, func(t *testing.T) outbox.Store { return wrap(t, b.open(t), kr) })
		})
	}
}

func TestStore(t *testing.T) {
	for name, newBackend := range backends {
		t.Run(name, func(t *testing.T) {
			for _, tc := range []struct {
				name string
				fn   func(t *testing.T, b backend)
			}{
				{"SealedAtRestOpenedOnRead", testSealedAtRest},
				{"IdempotentRetryReturnsOpened", testIdempotentRetry},
				{"SwappedCiphertextFails", testSwap},
				{"TamperedCiphertextFails", testTamper},
				{"UnknownKeyIsNamed", testUnknownKey},
				{"PlaintextRowsPassThrough", testPlaintextRows},
				{"ReactorSeesOpenedAndItsMessagesAreSealed", testReactor},
				{"RotationResealsEverything", testRotation},
				{"RotationSkipsConcurrentChanges", testRotationConcurrent},
				{"BlobChunksSealedAtRest", testBlobSealedAtRest},
				{"SwappedBlobChunkFails", testBlobSwap},
				{"PlaintextBlobPassesThrough", testBlobPlaintext},
				{"RotationResealsBlobChunks", testBlobRotation},
				{"BlobRotationSkipsConcurrentChanges", testBlobRotationConcurrent},
				{"SwappedBlobChecksumFails", testBlobChecksumSwap},
			} {
				t.Run(tc.name, func(t *testing.T) { tc.fn(t, newBackend(t)) })
			}
		})
	}
}

const marker = "Canary-7f3a Größmann"

// acceptOne stores a submission with one message carrying the marker in its
// payloads and personal metadata.
func acceptOne(t *testing.T, s outbox.Store, topic string) (outbox.Submission, outbox.Message) {
	t.Helper()
	sub := outboxtest.NewSubmission("")
	sub.Payload = []byte(`{"applicant":{"family_name":"` + marker + `"}}`)
	msg := outboxtest.NewMessage(topic, sub.ID)
	msg.Payload = []byte("<x>" + marker + "</x>")
	msg.Metadata = map[string]string{personal: "postbox:" + marker, outbox.MetaTenant: "t"}
	err := s.InTx(context.Background(), func(tx outbox.Tx) error {
		if _, _, err := tx.CreateSubmission(context.Background(), sub); err != nil {
			return err
		}
		return tx.InsertMessages(context.Background(), []outbox.Message{msg})
	})
	if err != nil {
		t.Fatal(err)
	}
	return sub, msg
}

func mustContainNoMarker(t *testing.T, what string, b []byte) {
	t.Helper()
	if bytes.Contains(b, []byte(marker)) || bytes.Contains(b, []byte("Canary-7f3a")) {
		t.Fatalf("%s holds the marker in clear", what)
	}
}

func testSealedAtRest(t *testing.T, b backend) {
	ctx := context.Background()
	inner := b.open(t)
	kr := keyring(t, "k1", newKey(t, "k1"))
	s := wrap(t, inner, kr)
	sub, msg := acceptOne(t, s, "t/p.q/a")
	if msg.Metadata[personal] != "postbox:"+marker {
		t.Fatal("InsertMessages changed the caller's metadata map")
	}

	// Raw: sealed under k1, no marker anywhere; other metadata in clear.
	rawSub, rawMsgs, err := inner.Submission(ctx, sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	if id, ok := sealed.KeyID(rawSub.Payload); !ok || id != "k1" {
		t.Fatalf("stored submission payload is not sealed under k1")
	}
	mustContainNoMarker(t, "stored submission payload", rawSub.Payload)
	raw := rawMsgs[0]
	if id, ok := sealed.KeyID(raw.Payload); !ok || id != "k1" {
		t.Fatalf("stored message payload is not sealed under k1")
	}
	mustContainNoMarker(t, "stored message payload", raw.Payload)
	mustContainNoMarker(t, "stored personal metadata", []byte(raw.Metadata[personal]))
	if !strings.HasPrefix(raw.Metadata[personal], "sealed:") || raw.Metadata[outbox.MetaTenant] != "t" {
		t.Fatalf("stored metadata: personal value not sealed or others changed: %v", raw.Metadata)
	}

	// Every read path opens.
	check := func(path string, m outbox.Message) {
		t.Helper()
		if string(m.Payload) != string(msg.Payload) || m.Metadata[personal] != msg.Metadata[personal] || m.Metadata[outbox.MetaTenant] != "t" {
			t.Fatalf("%s: message not opened: payload %q metadata %v", path, m.Payload, m.Metadata)
		}
	}
	gotSub, gotMsgs, err := s.Submission(ctx, sub.ID)
	if err != nil || string(gotSub.Payload) != string(sub.Payload) || len(gotMsgs) != 1 {
		t.Fatalf("Submission: %v, payload %q", err, gotSub.Payload)
	}
	check("Submission", gotMsgs[0])
	m, err := s.Message(ctx, msg.ID)
	if err != nil {
		t.Fatal(err)
	}
	check("Message", m)
	list, _, err := s.List(ctx, outbox.ListFilter{})
	if err != nil || len(list) != 1 {
		t.Fatalf("List: %d, %v", len(list), err)
	}
	check("List", list[0])
	claimed, err := s.Claim(ctx, outbox.ClaimParams{Topic: msg.Topic, Owner: "o", Limit: 1, Lease: 60e9})
	if err != nil || len(claimed) != 1 {
		t.Fatalf("Claim: %d, %v", len(claimed), err)
	}
	check("Claim", claimed[0])
}

func testIdempotentRetry(t *testing.T, b backend) {
	ctx := context.Background()
	s := wrap(t, b.open(t), keyring(t, "k1", newKey(t, "k1")))
	first := outboxtest.NewSubmission("key-1")
	first.Payload = []byte(`{"n":"` + marker + `"}`)
	retry := outboxtest.NewSubmission("key-1")
	retry.PortalID = first.PortalID
	for i, sub := range []outbox.Submission{first, retry} {
		var got outbox.Submission
		var created bool
		err := s.InTx(ctx, func(tx outbox.Tx) error {
			var err error
			got, created, err = tx.CreateSubmission(ctx, sub)
			return err
		})
		if err != nil || got.ID != first.ID || string(got.Payload) != string(first.Payload) || created != (i == 0) {
			t.Fatalf("call %d: id %s created %v payload %q err %v; want the first submission, opened", i, got.ID, created, got.Payload, err)
		}
	}
}

func testSwap(t *testing.T, b backend) {
	ctx := context.Background()
	s := wrap(t, b.open(t), keyring(t, "k1", newKey(t, "k1")))
	subA, msgA := acceptOne(t, s, "t/p.q/a")
	subB, msgB := acceptOne(t, s, "t/p.q/a")
	// Copy A's ciphertexts into B's rows: valid envelopes under a held key.
	b.exec(t, `UPDATE submissions SET payload = (SELECT payload FROM submissions WHERE id = $1) WHERE id = $2`, subA.ID, subB.ID)
	b.exec(t, `UPDATE outbox_messages SET payload = (SELECT payload FROM outbox_messages WHERE id = $1) WHERE id = $2`, msgA.ID, msgB.ID)
	if _, _, err := s.Submission(ctx, subB.ID); !errors.Is(err, sealed.ErrAuthentication) {
		t.Fatalf("submission with another row's payload: %v; want ErrAuthentication", err)
	}
	if _, err := s.Message(ctx, msgB.ID); !errors.Is(err, sealed.ErrAuthentication) {
		t.Fatalf("message with another row's payload: %v; want ErrAuthentication", err)
	}
	if _, err := s.Message(ctx, msgA.ID); err != nil {
		t.Fatalf("the original row: %v", err)
	}
}

func testTamper(t *testing.T, b backend) {
	ctx := context.Background()
	inner := b.open(t)
	s := wrap(t, inner, keyring(t, "k1", newKey(t, "k1")))
	_, msg := acceptOne(t, s, "t/p.q/a")
	raw, err := inner.Message(ctx, msg.ID)
	if err != nil {
		t.Fatal(err)
	}
	bad := bytes.Clone(raw.Payload)
	bad[len(bad)-20] ^= 0x80
	b.exec(t, `UPDATE outbox_messages SET payload = $1 WHERE id = $2`, bad, msg.ID)
	_, err = s.Message(ctx, msg.ID)
	if !errors.Is(err, sealed.ErrAuthentication) || !strings.Contains(err.Error(), msg.ID) {
		t.Fatalf("tampered payload: %v; want ErrAuthentication naming the message", err)
	}
	if strings.Contains(err.Error(), "Canary") {
		t.Fatalf("error shows payload content: %v", err)
	}
}

func testUnknownKey(t *testing.T, b backend) {
	ctx := context.Background()
	inner := b.open(t)
	_, msg := acceptOne(t, wrap(t, inner, keyring(t, "k2025", newKey(t, "k2025"))), "t/p.q/a")
	s := wrap(t, inner, keyring(t, "k2026", newKey(t, "k2026")))
	_, err := s.Message(ctx, msg.ID)
	if !errors.Is(err, sealed.ErrUnknownKey) || !strings.Contains(err.Error(), "k2025") {
		t.Fatalf("message under a removed key: %v; want ErrUnknownKey naming k2025", err)
	}
}

func testPlaintextRows(t *testing.T, b backend) {
	ctx := context.Background()
	inner := b.open(t)
	// Written before encryption was enabled.
	sub, msg := acceptOne(t, inner, "t/p.q/a")
	s := wrap(t, inner, keyring(t, "k1", newKey(t, "k1")))
	gotSub, msgs, err := s.Submission(ctx, sub.ID)
	if err != nil || string(gotSub.Payload) != string(sub.Payload) || len(msgs) != 1 ||
		string(msgs[0].Payload) != string(msg.Payload) || msgs[0].Metadata[personal] != msg.Metadata[personal] {
		t.Fatalf("rows in clear through the decorator: %v, %q, %v", err, gotSub.Payload, msgs)
	}
	// A value that merely looks like a sealed one stays as it is.
	odd := outboxtest.NewMessage("t/p.q/b", "")
	odd.Metadata = map[string]string{"other": "sealed:not base64!"}
	if err := inner.InTx(ctx, func(tx outbox.Tx) error { return tx.InsertMessages(ctx, []outbox.Message{odd}) }); err != nil {
		t.Fatal(err)
	}
	if m, err := s.Message(ctx, odd.ID); err != nil || m.Metadata["other"] != "sealed:not base64!" {
		t.Fatalf("look-alike value: %v, %v", m.Metadata, err)
	}
}

// testReactor: a store that calls its reactor gets one that sees opened
// metadata and whose messages are sealed. Until the stores implement the
// reactor (SetReactor a no-op), the reactor is never called and the test
// checks only that nothing it returns leaks.
func testReactor(t *testing.T, b backend) {
	ctx := context.Background()
	inner := b.open(t)
	s := wrap(t, inner, keyring(t, "k1", newKey(t, "k1")))
	var seen []string
	var followUps []outbox.Message
	s.SetReactor(outbox.ReactorFunc(func(ctx context.Context, events []outbox.Event) ([]outbox.Message, error) {
		var out []outbox.Message
		for _, e := range events {
			if e.MessageID == "" || e.Kind != outbox.EventTransformed {
				continue
			}
			seen = append(seen, e.Metadata[personal])
			m := outboxtest.NewMessage("t/p.q/status", "")
			m.Payload = []byte("callback " + marker)
			m.Metadata = map[string]string{personal: e.Metadata[personal]}
			out = append(out, m)
		}
		followUps = append(followUps, out...)
		return out, nil
	}))
	_, msg := acceptOne(t, s, "t/p.q/a")
	if len(seen) == 0 {
		t.Skip("the store does not call its reactor yet")
	}
	if seen[0] != msg.Metadata[personal] {
		t.Fatalf("reactor saw metadata %q, want it opened", seen[0])
	}
	raw, err := inner.Message(ctx, followUps[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	mustContainNoMarker(t, "stored follow-up payload", raw.Payload)
	mustContainNoMarker(t, "stored follow-up metadata", []byte(raw.Metadata[personal]))
	if m, err := s.Message(ctx, followUps[0].ID); err != nil || string(m.Payload) != "callback "+marker {
		t.Fatalf("follow-up through the decorator: %q, %v", m.Payload, err)
	}
}

func testRotation(t *testing.T, b backend) {
	ctx := context.Background()
	inner := b.open(t)
	k1, k2 := newKey(t, "k1"), newKey(t, "k2")
	clearSub, clearMsg := acceptOne(t, inner, "t/p.q/a") // before encryption
	old := wrap(t, inner, keyring(t, "k1", k1))
	oldSub, oldMsg := acceptOne(t, old, "t/p.q/a")
	empty := outboxtest.NewMessage("t/p.q/a", "") // a purged payload stays empty
	empty.Payload = nil
	empty.Metadata = nil
	if err := inner.InTx(ctx, func(tx outbox.Tx) error { return tx.InsertMessages(ctx, []outbox.Message{empty}) }); err != nil {
		t.Fatal(err)
	}

	s := wrap(t, inner, keyring(t, "k2", k1, k2))
	newSub, newMsg := acceptOne(t, s, "t/p.q/a") // already under k2
	res, err := s.Reseal(ctx, 1)                 // batch 1: every row its own page
	if err != nil {
		t.Fatal(err)
	}
	// Two submissions and two messages were in clear or under k1.
	if res.Resealed != 4 || res.Remaining != 0 {
		t.Fatalf("Reseal = %+v, want 4 resealed, 0 remaining", res)
	}
	if res, err := s.Reseal(ctx, 100); err != nil || res != (sealed.ResealResult{}) {
		t.Fatalf("second Reseal = %+v, %v; want nothing to do", res, err)
	}

	// With k1 gone, everything opens; raw rows are all under k2.
	only2 := wrap(t, inner, keyring(t, "k2", k2))
	for _, c := range []struct {
		sub outbox.Submission
		msg outbox.Message
	}{{clearSub, clearMsg}, {oldSub, oldMsg}, {newSub, newMsg}} {
		sub, msgs, err := only2.Submission(ctx, c.sub.ID)
		if err != nil || string(sub.Payload) != string(c.sub.Payload) || len(msgs) != 1 ||
			string(msgs[0].Payload) != string(c.msg.Payload) || msgs[0].Metadata[personal] != c.msg.Metadata[personal] {
			t.Fatalf("after rotation, submission %s: %v", c.sub.ID, err)
		}
		rawSub, rawMsgs, err := inner.Submission(ctx, c.sub.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range [][]byte{rawSub.Payload, rawMsgs[0].Payload} {
			if id, ok := sealed.KeyID(v); !ok || id != "k2" {
				t.Fatalf("after rotation a payload of submission %s is not under k2 (%q)", c.sub.ID, id)
			}
		}
		mustContainNoMarker(t, "rotated metadata", []byte(rawMsgs[0].Metadata[personal]))
	}
	if m, err := inner.Message(ctx, empty.ID); err != nil || len(m.Payload) != 0 {
		t.Fatalf("empty payload after rotation: %d bytes, %v", len(m.Payload), err)
	}
}

// testRotationConcurrent: a row that changes between the read and the write
// of a rotation batch keeps the concurrent change.
func testRotationConcurrent(t *testing.T, b backend) {
	ctx := context.Background()
	inner := b.open(t)
	_, msg := acceptOne(t, inner, "t/p.q/a")
	n, err := inner.RewritePayloads(ctx, 10, func(kind, topic, id string, payload []byte, md map[string]string) ([]byte, map[string]string, bool, error) {
		if kind != sealed.KindMessage {
			return payload, md, false, nil
		}
		// Another process purges the payload meanwhile.
		b.exec(t, `UPDATE outbox_messages SET payload = $1 WHERE id = $2`, []byte{}, id)
		return []byte("rewritten"), md, true, nil
	})
	if err != nil || n != 0 {
		t.Fatalf("RewritePayloads = %d, %v; want 0 rewritten", n, err)
	}
	if m, err := inner.Message(ctx, msg.ID); err != nil || len(m.Payload) != 0 {
		t.Fatalf("payload after the concurrent purge: %q, %v; want empty", m.Payload, err)
	}
}
