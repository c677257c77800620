package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/amtsbote/amtsbote/adapters/smtp/smtptest"
	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/outbox/postgres"
	"github.com/amtsbote/amtsbote/outbox/postgres/pgtest"
	"github.com/amtsbote/amtsbote/outbox/sealed"
	"github.com/amtsbote/amtsbote/outbox/sqlite"
)

const canaryConfig = `
server:
  shutdown_timeout: 5s
database:
%[3]s
relay:
  poll_interval: 500ms
mail:
  host: 127.0.0.1
  port: %[4]d
  tls: starttls
  ca_file: %[1]s/smtp-ca.pem
  from: "Amtsbote <amtsbote@musterstadt.example>"
procedures:
  - id: meldewesen.wohnungsgeberbestaetigung
    name: Wohnungsgeberbestätigung
tenants:
  - id: musterstadt
    name: Stadt Musterstadt
    ags: "09162000"
    behoerdenkennung: "psw:09162000"
    contacts:
      office: buergerbuero@musterstadt.example
    procedures:
      - procedure: meldewesen.wohnungsgeberbestaetigung
        notify:
          office: true
        destinations:
          - id: fachverfahren
            type: filedrop
            filedrop:
              dir: %[1]s/drop
portals:
  - id: canary-portal
    key_hash: %[2]s
    tenants: [musterstadt]
    procedures: [meldewesen.wohnungsgeberbestaetigung]
`

// canaryBackend is a store the canary runs on: the database section of the
// configuration and a dump of everything the database holds, as raw bytes.
type canaryBackend struct {
	name     string
	database func(t *testing.T, dir string) string
	dump     func(t *testing.T, dir string) []byte
}

var canaryBackends = []canaryBackend{
	{
		name: "sqlite",
		database: func(t *testing.T, dir string) string {
			return "  path: " + dir + "/amtsbote.db"
		},
		// The database file with its WAL and shared memory, as on disk.
		dump: func(t *testing.T, dir string) []byte {
			files, err := filepath.Glob(filepath.Join(dir, "amtsbote.db*"))
			if err != nil || len(files) == 0 {
				t.Fatalf("no database files in %s: %v", dir, err)
			}
			var all []byte
			for _, f := range files {
				all = append(all, readFile(t, f)...)
			}
			return all
		},
	},
	{
		name: "postgres",
		database: func(t *testing.T, dir string) string {
			url := pgtest.NewDatabase(t)
			if err := os.WriteFile(filepath.Join(dir, "pg-url"), []byte(url), 0o600); err != nil {
				t.Fatal(err)
			}
			return "  url: " + url
		},
		// Every row of every table as text (bytea columns show as hex).
		dump: func(t *testing.T, dir string) []byte {
			ctx := context.Background()
			conn, err := pgx.Connect(ctx, string(readFile(t, filepath.Join(dir, "pg-url"))))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(ctx)
			rows, err := conn.Query(ctx, `SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = 'public'`)
			if err != nil {
				t.Fatal(err)
			}
			tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil || len(tables) < 3 {
				t.Fatalf("tables %v: %v", tables, err)
			}
			var all bytes.Buffer
			for _, table := range tables {
				rows, err := conn.Query(ctx, "SELECT t::text FROM "+table+" t")
				if err != nil {
					t.Fatal(err)
				}
				texts, err := pgx.CollectRows(rows, pgx.RowTo[string])
				if err != nil {
					t.Fatal(err)
				}
				for _, s := range texts {
					all.WriteString(s + "\n")
				}
			}
			return all.Bytes()
		},
	},
}

// canaryMarker is a unique name that passes the name checks (letters only).
func canaryMarker() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = 'a' + b[i]%26
	}
	return "Kanarie" + string(b)
}

// canaryRequest is the demo request with the marker as the applicant's and a
// Meldepflichtiger's family name, in a free-text field, in the postbox
// reference and inside an attached PDF. It returns the attachment's base64
// content as sent.
func canaryRequest(t *testing.T, marker string) ([]byte, string) {
	t.Helper()
	var req map[string]any
	if err := json.Unmarshal(demoBody(t), &req); err != nil {
		t.Fatal(err)
	}
	req["applicant"].(map[string]any)["familienname"] = marker
	data := req["data"].(map[string]any)
	data["wohnung"].(map[string]any)["adresszusatz"] = "bei " + marker
	data["meldepflichtige"].([]any)[0].(map[string]any)["familienname"] = marker
	req["identity"] = map[string]any{"method": "servicekonto", "provider": "BundID", "trust_level": "substantial",
		"postbox_reference": "postfach-" + marker}
	pdf := base64.StdEncoding.EncodeToString([]byte("%PDF-1.4\n% " + marker + "\n%%EOF\n"))
	req["attachments"] = []any{map[string]any{"id": uuid.NewString(), "filename": "nachweis.pdf",
		"mime_type": "application/pdf", "content": pdf}}
	body, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return body, pdf
}

// leakSource is one place personal data must not reach, read after the
// submission was delivered.
type leakSource struct {
	name string
	read func() []byte
}

// TestCanary plants a marker in a submission and follows it through the
// gateway: it reaches the destination, but it appears neither in the logs
// (at debug level), nor in /metrics, nor in the office mail (a real SMTP
// server), and with database.encryption set not in the database either; in the control run without encryption it is found in
// the database, which shows that the search can find it.
func TestCanary(t *testing.T) {
	for _, b := range canaryBackends {
		for _, encrypted := range []bool{true, false} {
			name := b.name + "/encrypted"
			if !encrypted {
				name = b.name + "/control-in-clear"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				runCanary(t, b, encrypted)
			})
		}
	}
}

func runCanary(t *testing.T, b canaryBackend, encrypted bool) {
	dir := t.TempDir()
	database := b.database(t, dir)
	if encrypted {
		keyFile := filepath.Join(dir, "encryption.key")
		if err := os.WriteFile(keyFile, []byte(sealed.GenerateKey()+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		database += "\n  encryption:\n    current: k1\n    keys:\n      - id: k1\n        key: {file: " + keyFile + "}"
	}
	mailServer := smtptest.New(t, smtptest.Options{TLS: smtptest.StartTLS})
	if err := os.WriteFile(filepath.Join(dir, "smtp-ca.pem"), mailServer.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, dir, fmt.Sprintf(canaryConfig, dir, config.HashKey("canary-key"), database, mailServer.Port))
	metricsAddr := freeAddr(t)
	p := start(t, dir, []string{"AMTSBOTE_LOG_LEVEL=debug"}, "--config", cfg, "--metrics-listen", metricsAddr)

	marker := canaryMarker()
	body, pdf := canaryRequest(t, marker)
	id := p.accept(t, "canary-key", "", body)
	d := destination(t, p.awaitStatus(t, "canary-key", id, "delivered", 20*time.Second))
	// The destination legitimately receives the marker: the search below
	// looks for something that really travelled through the gateway.
	zipPath := filepath.Join(dir, "drop", "musterstadt", "meldewesen.wohnungsgeberbestaetigung", d["message_id"].(string)+".zip")
	files := unzip(t, readFile(t, zipPath))
	if !bytes.Contains(files[d["message_id"].(string)+".xml"], []byte(marker)) {
		t.Fatalf("the delivered XML lacks the marker: %v", keys(files))
	}

	waitFor(t, 20*time.Second, "the office mail", func() bool { return len(mailServer.Messages()) > 0 })

	content, err := base64.StdEncoding.DecodeString(pdf)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(content)
	forms := map[string][]byte{
		"marker":                []byte(marker),
		"marker as hex":         []byte(hex.EncodeToString([]byte(marker))),
		"attachment as base64":  []byte(pdf),
		"attachment base64 hex": []byte(hex.EncodeToString([]byte(pdf))),
		// Whoever has a copy of a document could look for its checksum.
		"attachment's SHA-256":        sum[:],
		"attachment's SHA-256 as hex": []byte(hex.EncodeToString(sum[:])),
	}
	metricsText := scrapeText(t, "http://"+metricsAddr+"/metrics")
	dbWhileRunning := b.dump(t, dir)
	if got := p.stop(t, syscall.SIGTERM); got != 0 {
		t.Fatalf("exit code after SIGTERM: %d", got)
	}
	sources := []leakSource{
		{"logs (stdout and stderr)", func() []byte { return []byte(p.stdout.String() + p.stderr.String()) }},
		{"/metrics", func() []byte { return metricsText }},
		{"mails", func() []byte {
			var all []byte
			for _, m := range mailServer.Messages() {
				all = append(append(all, m.Raw...), m.Text...)
			}
			return all
		}},
		// A further place (a webhook body, an admin API answer) joins here as one more source.
	}
	db := leakSource{"database", func() []byte { return append(dbWhileRunning, b.dump(t, dir)...) }}
	if !encrypted {
		// Control: in clear, the search finds the marker, so it can fail.
		if !bytes.Contains(db.read(), []byte(marker)) && !bytes.Contains(db.read(), forms["marker as hex"]) {
			t.Fatal("control run: the marker is not found in the unencrypted database; the search is blind")
		}
		if !bytes.Contains(db.read(), sum[:]) && !bytes.Contains(db.read(), forms["attachment's SHA-256 as hex"]) {
			t.Fatal("control run: the attachment's SHA-256 is not found in the unencrypted database; the search is blind")
		}
	} else {
		sources = append(sources, db)
		checkAllSealed(t, dir, database, cfg, id)
		if !strings.Contains(p.stderr.String(), "payloads are encrypted at rest") {
			t.Error("serve did not log that encryption at rest is on")
		}
	}
	for _, s := range sources {
		content := s.read()
		if len(content) == 0 {
			t.Errorf("%s: nothing read, the check would be empty", s.name)
		}
		for what, form := range forms {
			if bytes.Contains(content, form) {
				t.Errorf("%s contains the %s in clear", s.name, what)
			}
		}
	}
}

// bundleBlobs returns the blobs the bundle of message id references, reading
// its sealed payload with the key through the binary (outbox show --json
// --payload with the configuration at cfgPath).
func bundleBlobs(t *testing.T, dir, cfgPath, id string) []string {
	t.Helper()
	code, out, errOut := cli(t, dir, "outbox", "show", id, "--json", "--payload", "--config", cfgPath)
	if code != 0 {
		t.Fatalf("outbox show %s: exit %d\n%s", id, code, errOut)
	}
	var shown struct{ Payload []byte }
	if err := json.Unmarshal([]byte(out), &shown); err != nil {
		t.Fatal(err)
	}
	b, err := outbox.ParseBundle(shown.Payload)
	if err != nil {
		t.Fatal(err)
	}
	return b.BlobIDs()
}

// rawStore is what checkAllSealed reads of a store opened without the key.
type rawStore interface {
	Submission(ctx context.Context, id string) (outbox.Submission, []outbox.Message, error)
	List(ctx context.Context, f outbox.ListFilter) ([]outbox.Message, string, error)
	Blob(ctx context.Context, id string) (outbox.Blob, error)
	BlobChunk(ctx context.Context, id string, seq int) ([]byte, error)
	Close() error
}

// openRaw opens the database of a database section without the key: the
// PostgreSQL URL it names, else the SQLite file in dir.
func openRaw(t *testing.T, dir, database string) rawStore {
	t.Helper()
	if url, ok := strings.CutPrefix(strings.SplitN(database, "\n", 2)[0], "  url: "); ok {
		s, err := postgres.Open(context.Background(), postgres.Config{URL: url})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s, err := sqlite.Open(context.Background(), filepath.Join(dir, "amtsbote.db"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func scrapeText(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return b
}

// checkAllSealed reads the database without the key and checks that the
// submission's request, every stored message (the office mail included) and
// every chunk of the attachments the messages' bundles reference is sealed
// under k1.
func checkAllSealed(t *testing.T, dir, database, cfgPath, submissionID string) {
	t.Helper()
	raw := openRaw(t, dir, database)
	defer raw.Close()
	sub, _, err := raw.Submission(context.Background(), submissionID)
	if err != nil {
		t.Fatal(err)
	}
	payloads := map[string][]byte{"submission " + sub.ID: sub.Payload}
	msgs, _, err := raw.List(context.Background(), outbox.ListFilter{Limit: outbox.MaxListLimit})
	if err != nil || len(msgs) < 2 {
		t.Fatalf("stored messages: %d, %v; want the delivery and the office mail", len(msgs), err)
	}
	chunks := 0
	for _, m := range msgs {
		payloads["message "+m.Topic+" "+m.ID] = m.Payload
		if m.Metadata[outbox.MetaPayloadFormat] != outbox.PayloadFormatBundle {
			continue
		}
		// The bundle is sealed: its blob ids are read through the key.
		for _, id := range bundleBlobs(t, dir, cfgPath, m.ID) {
			b, err := raw.Blob(context.Background(), id)
			if err != nil {
				t.Fatalf("blob %s: %v", id, err)
			}
			if b.SHA256 != [sha256.Size]byte{} {
				t.Errorf("blob %s: the checksum is stored in clear", id)
			}
			payloads["blob "+id+" checksum"] = b.SealedSHA256
			for seq := range b.Chunks {
				c, err := raw.BlobChunk(context.Background(), id, seq)
				if err != nil {
					t.Fatalf("blob %s chunk %d: %v", id, seq, err)
				}
				payloads[fmt.Sprintf("blob %s chunk %d", id, seq)] = c
				chunks++
			}
		}
	}
	if chunks == 0 {
		t.Error("no attachment chunk found to check")
	}
	for what, p := range payloads {
		if id, ok := sealed.KeyID(p); !ok || id != "k1" {
			t.Errorf("%s is stored without encryption", what)
		}
	}
}
