package e2e

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/outbox/sealed"
	"github.com/amtsbote/amtsbote/outbox/sqlite"
)

// TestEncryptionKeyRotate follows the documented procedure on SQLite: rows
// written in clear and under k1, each submission with an attachment of two
// chunks, are resealed under k2 by rotate (payloads, chunks and checksums),
// after which a configuration with k2 alone serves them; rotate refuses a
// configuration without database.encryption.
func TestEncryptionKeyRotate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeKey := func(name string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(sealed.GenerateKey()+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	k1, k2 := writeKey("k1.key"), writeKey("k2.key")
	configs := 0
	configWith := func(encryption string) string {
		text := fmt.Sprintf(retryConfig, dir, config.HashKey("rotate-key"))
		text = strings.Replace(text, "  path: "+dir+"/amtsbote.db", "  path: "+dir+"/amtsbote.db"+encryption, 1)
		configs++
		path := filepath.Join(dir, fmt.Sprintf("amtsbote-%d.yaml", configs))
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	keyEntry := func(id, file string) string { return "\n      - id: " + id + "\n        key: {file: " + file + "}" }
	var ids, msgIDs []string
	pdf := append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte("Rotation "), outbox.BlobChunkSize/9+100)...) // two chunks
	submit := func(cfg string) {
		p := start(t, dir, nil, "--config", cfg)
		id := p.accept(t, "rotate-key", "", withAttachment(t, demoBody(t), "plan.pdf", pdf))
		st := p.awaitStatus(t, "rotate-key", id, "delivered", 20*time.Second)
		ids = append(ids, id)
		msgIDs = append(msgIDs, destination(t, st)["message_id"].(string))
		if code := p.stop(t, syscall.SIGTERM); code != 0 {
			t.Fatalf("exit code %d", code)
		}
	}

	plain := configWith("")
	submit(plain) // before encryption was enabled
	submit(configWith("\n  encryption:\n    current: k1\n    keys:" + keyEntry("k1", k1)))

	if code, _, errOut := cli(t, dir, "encryption-key", "rotate", "--config", plain); code != 1 ||
		!strings.Contains(errOut, "no database.encryption") {
		t.Fatalf("rotate without encryption: exit %d, %q", code, errOut)
	}
	both := configWith("\n  encryption:\n    current: k2\n    keys:" + keyEntry("k1", k1) + keyEntry("k2", k2))
	// Two submissions and their two messages, and of the two attachments
	// two chunks and a checksum each.
	if code, out, errOut := cli(t, dir, "encryption-key", "rotate", "--config", both, "--batch", "1"); code != 0 ||
		!strings.Contains(out, "resealed 10 rows under key k2; 0 remaining") {
		t.Fatalf("rotate: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	// Every payload is under k2 now.
	raw, err := sqlite.Open(context.Background(), filepath.Join(dir, "amtsbote.db"))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		sub, msgs, err := raw.Submission(context.Background(), id)
		if err != nil || len(msgs) != 1 {
			t.Fatalf("submission %s: %v", id, err)
		}
		for _, p := range [][]byte{sub.Payload, msgs[0].Payload} {
			if kid, ok := sealed.KeyID(p); !ok || kid != "k2" {
				t.Fatalf("a payload of submission %s is not under k2 after rotate (%q)", id, kid)
			}
		}
	}
	raw.Close()
	db, err := sql.Open("sqlite", filepath.Join(dir, "amtsbote.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{"SELECT sha256_sealed FROM outbox_blobs", "SELECT data FROM outbox_blob_chunks"} {
		var n int
		rows, err := db.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var v []byte
			if err := rows.Scan(&v); err != nil {
				t.Fatal(err)
			}
			if kid, ok := sealed.KeyID(v); !ok || kid != "k2" {
				t.Errorf("%s: a value is not under k2 after rotate (%q)", q, kid)
			}
			n++
		}
		rows.Close()
		if n == 0 {
			t.Errorf("%s: no rows, nothing checked", q)
		}
	}

	// k1 removed: the outbox CLI still opens every payload, and writes the
	// attachment as the destination received it.
	only2 := configWith("\n  encryption:\n    current: k2\n    keys:" + keyEntry("k2", k2))
	for _, id := range msgIDs {
		code, out, errOut := cli(t, dir, "outbox", "show", id, "--payload", "--config", only2)
		if code != 0 || !strings.Contains(out, "Größmann") {
			t.Fatalf("outbox show --payload with k2 only: exit %d, stderr %s", code, errOut)
		}
		zipPath := filepath.Join(dir, id+".zip")
		if code, _, errOut := cli(t, dir, "outbox", "show", id, "--content", zipPath, "--config", only2); code != 0 {
			t.Fatalf("outbox show --content with k2 only: exit %d, stderr %s", code, errOut)
		}
		var got []byte
		for name, data := range unzip(t, readFile(t, zipPath)) {
			if strings.HasSuffix(name, "/plan.pdf") {
				got = data
			}
		}
		if !bytes.Equal(got, pdf) {
			t.Fatalf("message %s with k2 only: the attachment has %d bytes, want the %d sent", id, len(got), len(pdf))
		}
	}
	p := start(t, dir, nil, "--config", only2)
	for _, id := range ids {
		if st := p.status(t, "rotate-key", id); st["status"] != "delivered" {
			t.Fatalf("status of %s with k2 only: %v", id, st)
		}
	}
	if code := p.stop(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}

// withAttachment returns the submission JSON body with one attachment, a
// PDF named name with content, in base64.
func withAttachment(t *testing.T, body []byte, name string, content []byte) []byte {
	t.Helper()
	var req map[string]any
	if err := json.Unmarshal(body, &req); err != nil {
		t.Fatal(err)
	}
	req["attachments"] = []any{map[string]any{"id": uuid.NewString(), "filename": name,
		"mime_type": "application/pdf", "content": base64.StdEncoding.EncodeToString(content)}}
	b, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
