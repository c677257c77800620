package e2e

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/adapters/notify"
	"github.com/amtsbote/amtsbote/adapters/smtp/smtptest"
	"github.com/amtsbote/amtsbote/config"
)

const notifyConfig = `
server:
  shutdown_timeout: 5s
database:
  path: %[1]s/amtsbote.db
relay:
  lease: 10s
  poll_interval: 200ms
admin:
  listen: %[2]s
  key_hash: %[3]s
mail:
  host: 127.0.0.1
  port: %[4]d
  tls: starttls
  ca_file: %[1]s/smtp-ca.pem
  username: amtsbote
  password: {env: NOTIFY_TEST_SMTP_PASSWORD}
  from: "Amtsbote <amtsbote@musterstadt.example>"
alarms:
  check_interval: 100ms
  stalled_after: 1h
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
      technical: it@musterstadt.example
    procedures:
      - procedure: meldewesen.wohnungsgeberbestaetigung
        notify:
          office: true
          link: "https://fv.musterstadt.example/vorgang/{{.SubmissionID}}"
        destinations:
          - id: fachverfahren
            type: http
            http:
              url: %[5]s
              timeout: 1s
            retry:
              initial_interval: 200ms
              max_interval: 1s
portals:
  - id: demo-portal
    key_hash: %[6]s
    tenants: [musterstadt]
    procedures: [meldewesen.wohnungsgeberbestaetigung]
    callback:
      url: %[7]s/hooks/amtsbote
      secret: {env: NOTIFY_TEST_CALLBACK_SECRET}
      retry:
        initial_interval: 200ms
        max_interval: 1s
`

const (
	canary         = "Kanarienvogel-Quappendorf"
	callbackSecret = "portal-callback-secret-0123456789abcdef"
	smtpPassword   = "smtp-password-4711"
)

// callbackRequest is one status callback as the portal received it.
type callbackRequest struct {
	event     map[string]any
	eventID   string
	raw       []byte
	signedOK  bool
	timestamp int64
}

// verifyCallback is the portal's check, independent of adapters/webhook:
// HMAC-SHA256 with the shared secret over "<timestamp>.<raw body>", hex,
// prefixed "v1=", and at most 5 minutes between the timestamp and now.
func verifyCallback(r *http.Request, body []byte) (int64, bool) {
	ts := r.Header.Get("Amtsbote-Timestamp")
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return 0, false
	}
	if d := time.Since(time.Unix(secs, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return secs, false
	}
	mac := hmac.New(sha256.New, []byte(callbackSecret))
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	want := "v1=" + hex.EncodeToString(mac.Sum(nil))
	return secs, hmac.Equal([]byte(r.Header.Get("Amtsbote-Signature")), []byte(want))
}

// TestNotifications runs the binary against a real SMTP server (STARTTLS on a
// self-signed certificate, AUTH PLAIN) and a callback receiver with its own
// signature check: the office mail of a submission with a canary applicant
// name, signed callbacks, a dead letter with exactly one alarm mail, its
// replay with exactly one recovery mail; the canary appears nowhere.
func TestNotifications(t *testing.T) {
	t.Parallel()
	mailServer := smtptest.New(t, smtptest.Options{TLS: smtptest.StartTLS, Username: "amtsbote", Password: smtpPassword})

	var failing atomic.Bool
	fachverfahren := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if failing.Load() {
			http.Error(w, "Schema-Fehler", http.StatusUnprocessableEntity) // permanent: dead at once
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer fachverfahren.Close()

	var mu sync.Mutex
	var callbacks []callbackRequest
	portal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ts, ok := verifyCallback(r, body)
		c := callbackRequest{eventID: r.Header.Get("Amtsbote-Event-Id"), raw: body, signedOK: ok, timestamp: ts}
		_ = json.Unmarshal(body, &c.event)
		mu.Lock()
		callbacks = append(callbacks, c)
		mu.Unlock()
		if !ok || r.URL.Path != "/hooks/amtsbote" || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "rejected", http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer portal.Close()
	eventsOf := func(submission string) []string {
		mu.Lock()
		defer mu.Unlock()
		var types []string
		for _, c := range callbacks {
			if c.event["submission_id"] == submission {
				types = append(types, c.event["status"].(string))
			}
		}
		slices.Sort(types)
		return types
	}

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "smtp-ca.pem"), mailServer.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	adminAddr := freeAddr(t)
	text := fmt.Sprintf(notifyConfig, dir, adminAddr, config.HashKey("admin-key"), mailServer.Port,
		fachverfahren.URL+"/einreichungen", config.HashKey("portal-key"), portal.URL)
	p := start(t, dir, []string{"NOTIFY_TEST_SMTP_PASSWORD=" + smtpPassword, "NOTIFY_TEST_CALLBACK_SECRET=" + callbackSecret},
		"--config", writeConfig(t, dir, text))

	body := bytes.ReplaceAll(demoBody(t), []byte("Größmann"), []byte(canary))
	if !bytes.Contains(body, []byte(canary)) {
		t.Fatal("the canary is not in the submission")
	}
	mailsTo := func(rcpt string) []smtptest.Message {
		var out []smtptest.Message
		for _, m := range mailServer.Messages() {
			if slices.Contains(m.To, rcpt) {
				out = append(out, m)
			}
		}
		return out
	}

	// 1. Delivered: one office mail, callbacks accepted and delivered.
	code, resp := p.post(t, "portal-key", "notify-1", body)
	if code != http.StatusAccepted {
		t.Fatalf("POST: %d %v", code, resp)
	}
	first := resp["id"].(string)
	waitFor(t, 20*time.Second, "office mail of the first submission", func() bool { return len(mailsTo("buergerbuero@musterstadt.example")) == 1 })
	waitFor(t, 20*time.Second, "callbacks accepted and delivered", func() bool {
		return slices.Equal(eventsOf(first), []string{"accepted", "delivered"})
	})
	office := mailsTo("buergerbuero@musterstadt.example")[0]
	checkOfficeMail(t, office, first)

	// 2. Dead letter: callback failed, exactly one alarm mail listing the submission.
	failing.Store(true)
	code, resp = p.post(t, "portal-key", "notify-2", body)
	if code != http.StatusAccepted {
		t.Fatalf("POST: %d %v", code, resp)
	}
	second := resp["id"].(string)
	waitFor(t, 20*time.Second, "callback failed", func() bool { return slices.Equal(eventsOf(second), []string{"accepted", "failed"}) })
	waitFor(t, 20*time.Second, "alarm mail", func() bool { return len(mailsTo("it@musterstadt.example")) == 1 })
	time.Sleep(time.Second) // ten more checks: still one alarm
	alarms := mailsTo("it@musterstadt.example")
	if len(alarms) != 1 {
		t.Fatalf("%d alarm mails while the incident lasts, want 1", len(alarms))
	}
	alarm := alarms[0]
	if !strings.Contains(alarm.Subject(), "Störung") || !strings.Contains(alarm.Subject(), "musterstadt/meldewesen.wohnungsgeberbestaetigung/fachverfahren") {
		t.Errorf("alarm subject = %q", alarm.Subject())
	}
	if !strings.Contains(alarm.Text, second) || strings.Contains(alarm.Text, first) {
		t.Errorf("alarm mail does not list exactly the dead submission %s:\n%s", second, alarm.Text)
	}

	// 3. Replay and delivery: exactly one recovery mail, callbacks replayed and delivered, the office mail.
	failing.Store(false)
	messageID := destination(t, p.status(t, "portal-key", second))["message_id"].(string)
	req, _ := http.NewRequest(http.MethodPost, "http://"+adminAddr+"/admin/v1/messages/"+messageID+"/replay", strings.NewReader(`{"reason":"Fachverfahren repariert"}`))
	req.Header.Set("Authorization", "Bearer admin-key")
	req.Header.Set("Content-Type", "application/json")
	if code, resp := do(t, req); code != http.StatusOK {
		t.Fatalf("replay: %d %v", code, resp)
	}
	waitFor(t, 20*time.Second, "callbacks replayed and delivered", func() bool {
		return slices.Equal(eventsOf(second), []string{"accepted", "delivered", "failed", "replayed"})
	})
	waitFor(t, 20*time.Second, "recovery mail", func() bool { return len(mailsTo("it@musterstadt.example")) == 2 })
	waitFor(t, 20*time.Second, "office mail of the second submission", func() bool { return len(mailsTo("buergerbuero@musterstadt.example")) == 2 })
	time.Sleep(time.Second) // ten more checks: no further mail
	alarms = mailsTo("it@musterstadt.example")
	if len(alarms) != 2 {
		t.Fatalf("%d alarm and recovery mails, want 2", len(alarms))
	}
	if s := alarms[1].Subject(); !strings.Contains(s, "Entwarnung") {
		t.Errorf("recovery subject = %q", s)
	}
	if n := len(mailsTo("buergerbuero@musterstadt.example")); n != 2 {
		t.Errorf("%d office mails, want one per submission", n)
	}
	checkOfficeMail(t, mailsTo("buergerbuero@musterstadt.example")[1], second)

	// Every mail and callback: authenticated, encrypted, signed, and without the canary.
	for _, m := range mailServer.Messages() {
		if !m.TLS || m.Username != "amtsbote" {
			t.Errorf("mail %s: tls=%v user=%q", m.Header.Get("Message-Id"), m.TLS, m.Username)
		}
		if bytes.Contains(m.Raw, []byte(canary)) || strings.Contains(m.Text, canary) {
			t.Errorf("mail %s contains the applicant's name", m.Header.Get("Message-Id"))
		}
	}
	mu.Lock()
	for _, c := range callbacks {
		if !c.signedOK {
			t.Errorf("callback %s: signature does not verify", c.eventID)
		}
		if c.eventID == "" || c.event["id"] != c.eventID {
			t.Errorf("callback event id header %q, body id %v", c.eventID, c.event["id"])
		}
		if c.event["portal"] != "demo-portal" || c.event["tenant"] != "musterstadt" || c.event["occurred_at"] == nil {
			t.Errorf("callback event %s", c.raw)
		}
		if c.event["status"] != "accepted" && (c.event["destination"] != "fachverfahren" || c.event["message_id"] == "") {
			t.Errorf("callback event without destination: %s", c.raw)
		}
		if bytes.Contains(c.raw, []byte(canary)) {
			t.Errorf("callback contains the applicant's name: %s", c.raw)
		}
	}
	mu.Unlock()

	if code := p.stop(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code after SIGTERM: %d", code)
	}
	if logs := p.stderr.String(); strings.Contains(logs, canary) || strings.Contains(logs, callbackSecret) || strings.Contains(logs, smtpPassword) {
		t.Errorf("logs contain the applicant's name or a secret:\n%s", logs)
	}
}

// checkOfficeMail checks recipients, headers and body of a submission's office mail.
func checkOfficeMail(t *testing.T, m smtptest.Message, submission string) {
	t.Helper()
	if !slices.Equal(m.To, []string{"buergerbuero@musterstadt.example"}) || m.From != "amtsbote@musterstadt.example" {
		t.Errorf("office mail envelope from %q to %v", m.From, m.To)
	}
	wantID := "<" + notify.OfficeMailID(submission) + "@musterstadt.example>"
	if got := m.Header.Get("Message-Id"); got != wantID {
		t.Errorf("office mail Message-ID = %q, want %q", got, wantID)
	}
	if got := m.Header.Get("Auto-Submitted"); got != "auto-generated" {
		t.Errorf("Auto-Submitted = %q", got)
	}
	if s := m.Subject(); !strings.Contains(s, "Wohnungsgeberbestätigung") || !strings.Contains(s, submission) {
		t.Errorf("office mail subject = %q", s)
	}
	for _, want := range []string{"Referenz:    " + submission, "https://fv.musterstadt.example/vorgang/" + submission, "Uhr"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("office mail body lacks %q:\n%s", want, m.Text)
		}
	}
}
