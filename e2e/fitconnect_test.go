package e2e

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/adapters/fitconnect"
	"github.com/amtsbote/amtsbote/adapters/fitconnect/fitconnecttest"
	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/transform/xmeld"
	"github.com/amtsbote/amtsbote/transform/xoev/xoevtest"
)

const (
	fcLeikaBau  = "urn:de:fim:leika:leistung:99010003001006"
	fcLeikaMeld = "urn:de:fim:leika:leistung:99115004001000"
	fcDestIn    = "879ee109-a690-4db8-ab32-424284184d7d" // the municipality's Zustellpunkt
	fcDestOut   = "13ad2349-975c-4167-bcd8-da606b4e1d84" // a FIT-Connect recipient Amtsbote sends to
	fcClient    = "amtsbote-musterstadt"
	fcSecret    = "fitconnect-client-secret-0123"
	fcCBSecret  = "fitconnect-callback-secret-0123456789abcdef"
)

// fitconnectConfig: bau and meld of musterstadt to a file drop, a
// FIT-Connect subscriber for them, and optionally a fitconnect
// destination for bau. %[1]s dir, %[2]s fake URL, %[3]s portal key hash,
// %[4]s callback listen, %[5]s portal callback URL.
const fitconnectConfig = `
server:
  shutdown_timeout: 5s
database:
  path: %[1]s/amtsbote.db
relay:
  lease: 3s
  poll_interval: 300ms
procedures:
  - id: bau.baugenehmigung
    name: Baugenehmigung
  - id: meldewesen.wohnungsgeberbestaetigung
    name: Wohnungsgeberbestätigung
tenants:
  - id: musterstadt
    name: Stadt Musterstadt
    ags: "09162000"
    behoerdenkennung: "psw:09162000"
    procedures:
      - procedure: bau.baugenehmigung
        destinations:
          - id: fachverfahren
            type: filedrop
            filedrop:
              dir: %[1]s/drop
            retry:
              initial_interval: 200ms
              max_interval: 1s
%[6]s
      - procedure: meldewesen.wohnungsgeberbestaetigung
        destinations:
          - id: fachverfahren
            type: filedrop
            filedrop:
              dir: %[1]s/drop
portals:
  - id: demo-portal
    key_hash: %[3]s
    tenants: [musterstadt]
    procedures: ["*"]
    callback:
      url: %[5]s/hooks/amtsbote
      secret: ` + callbackSecret + `
      retry:
        initial_interval: 200ms
        max_interval: 1s
admin:
  listen: %[7]s
  key_hash: %[8]s
fitconnect:
  callback_listen: %[4]s
  subscribers:
    - id: musterstadt
      tenant: musterstadt
      destination_id: ` + fcDestIn + `
      submission_api: %[2]s
      token_url: %[2]s/token
      client_id: ` + fcClient + `
      client_secret: {env: FC_CLIENT_SECRET}
      decryption_key: {file: %[1]s/decryption.jwk}
      signing_key: {file: %[1]s/signing.jwk}
      callback_secret: ` + fcCBSecret + `
      poll_interval: 1s
      timeout: 2s
      retry:
        initial_interval: 200ms
        max_interval: 1s
      services:
        - leika: ` + fcLeikaBau + `
          procedure: bau.baugenehmigung
        - leika: ` + fcLeikaMeld + `
          procedure: meldewesen.wohnungsgeberbestaetigung
`

const fitconnectDestination = `          - id: landkreis
            type: fitconnect
            fitconnect:
              submission_api: %[2]s
              token_url: %[2]s/token
              client_id: ` + fcClient + `
              client_secret: {env: FC_CLIENT_SECRET}
              destination_id: ` + fcDestOut + `
              service: ` + fcLeikaBau + `
              service_name: Bauantrag
              event_poll_interval: 1s
            retry:
              initial_interval: 200ms
              max_interval: 1s`

// fitconnectDestinationCallback is the fitconnect destination with a
// NewEvents callback and a poll interval of 10 minutes. %[1]s dir, %[2]s
// fake URL, %[3]s callback listen.
const fitconnectDestinationCallback = `          - id: landkreis
            type: fitconnect
            fitconnect:
              submission_api: %[2]s
              token_url: %[2]s/token
              client_id: ` + fcClient + `
              client_secret: {env: FC_CLIENT_SECRET}
              destination_id: ` + fcDestOut + `
              service: ` + fcLeikaBau + `
              service_name: Bauantrag
              event_poll_interval: 10m
              callback_url: http://%[3]s/fitconnect/events/musterstadt/bau.baugenehmigung/landkreis
              callback_secret: {env: FC_EVENTS_SECRET}
            retry:
              initial_interval: 200ms
              max_interval: 1s`

const fcEventsSecret = "fitconnect-new-events-secret-0123456789abcdef"

// fcEnv is a fake Zustelldienst, the keys and a configuration directory.
type fcEnv struct {
	fake      *fitconnecttest.Fake
	url       string
	dir       string
	keys      fitconnecttest.Keys
	recipient fitconnecttest.Keys
	cbListen  string
	admin     string
	portal    *callbackLog
	config    string
	env       []string
}

// callbackLog records the portal's status callbacks.
type callbackLog struct {
	mu     sync.Mutex
	events []map[string]any
	bad    int
}

func (l *callbackLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	_, ok := verifyCallback(r, body)
	l.mu.Lock()
	defer l.mu.Unlock()
	if !ok {
		l.bad++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var ev map[string]any
	_ = json.Unmarshal(body, &ev)
	l.events = append(l.events, ev)
	w.WriteHeader(http.StatusNoContent)
}

func (l *callbackLog) statuses(submission string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, e := range l.events {
		if e["submission_id"] == submission {
			out = append(out, fmt.Sprint(e["status"]))
		}
	}
	return out
}

func newFCEnv(t *testing.T, withDestination bool) *fcEnv {
	t.Helper()
	dest := ""
	if withDestination {
		dest = fitconnectDestination
	}
	return newFCEnvDest(t, dest)
}

// newFCEnvDest is newFCEnv with a destination template (empty: none),
// formatted with the directory, the fake's URL and the callback listener.
func newFCEnvDest(t *testing.T, destination string) *fcEnv {
	t.Helper()
	fake, err := fitconnecttest.New()
	if err != nil {
		t.Fatal(err)
	}
	keys, err := fitconnecttest.SharedKeys("musterstadt")
	if err != nil {
		t.Fatal(err)
	}
	recipient, err := fitconnecttest.SharedKeys("recipient")
	if err != nil {
		t.Fatal(err)
	}
	fake.AddClient(fcClient, fcSecret)
	fake.AddDestination(fitconnecttest.Destination{ID: fcDestIn, EncryptionKey: keys.Encryption,
		SigningKeys: []fitconnect.Key{keys.Signing}, Services: []string{fcLeikaBau, fcLeikaMeld}})
	fake.AddDestination(fitconnecttest.Destination{ID: fcDestOut, EncryptionKey: recipient.Encryption,
		SigningKeys: []fitconnect.Key{recipient.Signing}, Services: []string{fcLeikaBau}})
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	portal := &callbackLog{}
	portalSrv := httptest.NewServer(portal)
	t.Cleanup(portalSrv.Close)

	e := &fcEnv{fake: fake, url: srv.URL, dir: t.TempDir(), keys: keys, recipient: recipient, cbListen: freeAddr(t), admin: freeAddr(t), portal: portal,
		env: []string{"FC_CLIENT_SECRET=" + fcSecret, "FC_EVENTS_SECRET=" + fcEventsSecret}}
	fake.SetCallback(fcDestIn, "http://"+e.cbListen+"/fitconnect/callbacks/musterstadt", fcCBSecret)
	for name, k := range map[string]fitconnect.Key{"decryption.jwk": keys.Encryption, "signing.jwk": keys.Signing} {
		if err := os.WriteFile(filepath.Join(e.dir, name), fitconnecttest.JSON(k), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	dest := ""
	if destination != "" {
		dest = fmt.Sprintf(destination, e.dir, e.url, e.cbListen)
	}
	e.config = writeConfig(t, e.dir, fmt.Sprintf(fitconnectConfig, e.dir, e.url, config.HashKey("demo-key"), e.cbListen, portalSrv.URL, dest,
		e.admin, config.HashKey("admin-key")))
	return e
}

func (e *fcEnv) start(t *testing.T) *proc {
	t.Helper()
	return start(t, e.dir, e.env, "--config", e.config)
}

// fcFachdaten are a test submission's Fachdaten and attachments.
func fcFachdaten(t *testing.T, name string) ([]byte, []fitconnecttest.Attachment) {
	t.Helper()
	fd, atts, err := fitconnecttest.FromPortalBody(readFile(t, "../testdata/submissions/"+name))
	if err != nil {
		t.Fatal(err)
	}
	return fd, atts
}

// drops returns the delivered files (.xml, .zip) in the drop directory of
// a procedure, not the temporary ones of a delivery in progress.
func (e *fcEnv) drops(t *testing.T, procedure string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(e.dir, "drop", "musterstadt", procedure, "*"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		base := filepath.Base(f)
		if !strings.HasPrefix(base, ".") && (strings.HasSuffix(base, ".xml") || strings.HasSuffix(base, ".zip")) {
			out = append(out, f)
		}
	}
	return out
}

// accepts counts the verified accept events of a case.
func (e *fcEnv) events(t *testing.T, caseID, eventType string) []fitconnect.Event {
	t.Helper()
	evs, err := e.fake.DecodedEvents(caseID, e.keys.Signing)
	if err != nil {
		t.Fatalf("events of case %s do not verify with Amtsbote's public key: %v", caseID, err)
	}
	var out []fitconnect.Event
	for _, ev := range evs {
		if ev.Type == eventType {
			out = append(out, ev)
		}
	}
	return out
}

// messages lists the stored messages of the tenant's destinations through
// the CLI, as an operator sees them.
func (e *fcEnv) messages(t *testing.T, args ...string) []map[string]any {
	t.Helper()
	code, out, errOut := run(t, e.dir, e.env, "", append([]string{"outbox", "list", "--config", e.config, "--json"}, args...)...)
	if code != 0 {
		t.Fatalf("outbox list: %d %s", code, errOut)
	}
	var resp struct {
		Messages []map[string]any `json:"messages"`
	}
	if err := json.Unmarshal([]byte(out), &resp); err != nil {
		t.Fatalf("outbox list: %v: %s", err, out)
	}
	return resp.Messages
}

// TestFitConnectInbound: a Bauantrag with attachments and a
// Wohnungsgeberbestätigung posted to the Zustelldienst are picked up,
// dropped as valid XBau 0200 and XMeld-style XML, and accepted with events
// that verify with Amtsbote's public key; they are visible to operators.
func TestFitConnectInbound(t *testing.T) {
	e := newFCEnv(t, false)
	p := e.start(t)
	bau, atts := fcFachdaten(t, "bau.baugenehmigung-mit-dateien.json")
	meld, _ := fcFachdaten(t, "meldewesen.wohnungsgeberbestaetigung-minimal.json")
	sentBau, err := e.fake.Send(fitconnecttest.SendRequest{DestinationID: fcDestIn, Service: fitconnect.ServiceType{Identifier: fcLeikaBau, Name: "Bauantrag"}, Data: bau, Attachments: atts})
	if err != nil {
		t.Fatal(err)
	}
	sentMeld, err := e.fake.Send(fitconnecttest.SendRequest{DestinationID: fcDestIn, Service: fitconnect.ServiceType{Identifier: fcLeikaMeld}, Data: meld})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "both accepted", func() bool {
		return e.fake.State(sentBau.SubmissionID) == fitconnecttest.StateAccepted && e.fake.State(sentMeld.SubmissionID) == fitconnecttest.StateAccepted
	})
	for _, s := range []fitconnecttest.Sent{sentBau, sentMeld} {
		if n := len(e.events(t, s.CaseID, fitconnect.EventAcceptSubmission)); n != 1 {
			t.Errorf("case %s: %d accept events, want 1", s.CaseID, n)
		}
	}
	waitFor(t, 10*time.Second, "drops", func() bool {
		return len(e.drops(t, "bau.baugenehmigung")) == 1 && len(e.drops(t, "meldewesen.wohnungsgeberbestaetigung")) == 1
	})
	xbauXSD := xoevtest.Schema(t, "xbau-2.6/xsd_dev/xbau-nachrichten-baugenehmigung.xsd")
	xmeldXSD := xoevtest.LocalSchema(t, "wohnungsgeberbestaetigung.xsd", xmeld.Schema)
	xoevtest.Validate(t, xmeldXSD, readFile(t, e.drops(t, "meldewesen.wohnungsgeberbestaetigung")[0]))
	zipPath := e.drops(t, "bau.baugenehmigung")[0]
	files := unzip(t, readFile(t, zipPath))
	msgID := strings.TrimSuffix(filepath.Base(zipPath), ".zip")
	xoevtest.Validate(t, xbauXSD, files[msgID+".xml"])
	if !strings.Contains(string(files[msgID+".xml"]), "baugenehmigung.antrag.0200") {
		t.Errorf("the drop is not an XBau 0200 Antrag")
	}
	for _, a := range atts {
		if got := files["anlagen/"+a.ID+"/"+a.FileName]; sha256.Sum256(got) != sha256.Sum256(a.Content) {
			t.Errorf("attachment %s differs in the drop", a.FileName)
		}
	}
	// Operators see them like any other submission.
	msgs := e.messages(t, "--tenant", "musterstadt")
	if len(msgs) != 2 {
		t.Fatalf("outbox list shows %d messages, want 2", len(msgs))
	}
	for _, m := range msgs {
		if m["state"] != "delivered" || m["submission_id"] == "" {
			t.Errorf("message %v", m)
		}
		// The admin API shows its audit trail, accepted by the subscriber.
		req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("http://%s/admin/v1/submissions/%s/events", e.admin, m["submission_id"]), nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer admin-key")
		code, body := do(t, req)
		if code != http.StatusOK || !strings.Contains(toJSON(body), `"actor":"portal:fitconnect:musterstadt"`) {
			t.Errorf("admin API events: %d %v", code, body)
		}
	}
	if code := p.stop(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}

// TestFitConnectReject: a tampered submission gets reject-submission with
// the problem encryption-issue; nothing is delivered.
func TestFitConnectReject(t *testing.T) {
	e := newFCEnv(t, false)
	e.start(t)
	meld, _ := fcFachdaten(t, "meldewesen.wohnungsgeberbestaetigung-minimal.json")
	sent, err := e.fake.Send(fitconnecttest.SendRequest{DestinationID: fcDestIn, Service: fitconnect.ServiceType{Identifier: fcLeikaMeld}, Data: meld, TamperData: true})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "rejected", func() bool { return e.fake.State(sent.SubmissionID) == fitconnecttest.StateRejected })
	rejects := e.events(t, sent.CaseID, fitconnect.EventRejectSubmission)
	if len(rejects) != 1 || len(rejects[0].Payload.Problems) != 1 || rejects[0].Payload.Problems[0].Type != fitconnect.ProblemEncryptionIssue {
		t.Fatalf("reject events %+v, want one with %s", rejects, fitconnect.ProblemEncryptionIssue)
	}
	time.Sleep(time.Second) // a second poll finds nothing new
	if d := e.drops(t, "meldewesen.wohnungsgeberbestaetigung"); len(d) != 0 {
		t.Errorf("delivered %v", d)
	}
	if msgs := e.messages(t, "--tenant", "musterstadt"); len(msgs) != 0 {
		t.Errorf("stored %d messages for the tenant", len(msgs))
	}

	// Callbacks with a bad HMAC or a stale timestamp are refused with 401.
	body := []byte(`{"type":"` + fitconnect.CallbackNewSubmissions + `","submissions":[]}`)
	url := "http://" + e.cbListen + "/fitconnect/callbacks/musterstadt"
	for name, c := range map[string]struct {
		secret string
		at     time.Time
		want   int
	}{
		"valid":    {fcCBSecret, time.Now(), http.StatusOK},
		"bad hmac": {"another-secret-0123456789abcdef0123", time.Now(), http.StatusUnauthorized},
		"stale":    {fcCBSecret, time.Now().Add(-6 * time.Minute), http.StatusUnauthorized},
	} {
		err := fitconnecttest.SendCallback(http.DefaultClient, url, c.secret, body, c.at)
		switch {
		case c.want == http.StatusOK && err != nil:
			t.Errorf("%s callback: %v", name, err)
		case c.want != http.StatusOK && (err == nil || !strings.Contains(err.Error(), "401")):
			t.Errorf("%s callback: %v, want 401", name, err)
		}
	}
}

// TestFitConnectCrash: kill -9 while the accept event is posted, after
// the submission was committed: after the restart exactly one stored
// submission, one delivery and one accept event.
func TestFitConnectCrash(t *testing.T) {
	e := newFCEnv(t, false)
	p := e.start(t)
	e.fake.HoldEvents()
	meld, _ := fcFachdaten(t, "meldewesen.wohnungsgeberbestaetigung-minimal.json")
	sent, err := e.fake.Send(fitconnecttest.SendRequest{DestinationID: fcDestIn, Service: fitconnect.ServiceType{Identifier: fcLeikaMeld}, Data: meld})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the accept event posted and held", func() bool { return e.fake.HeldEvents() > 0 })
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-p.done
	waitFor(t, 10*time.Second, "the held post dropped", func() bool { return e.fake.HeldEvents() == 0 })
	if st := e.fake.State(sent.SubmissionID); st != fitconnecttest.StateSubmitted {
		t.Fatalf("after the kill the submission is %s, want still submitted", st)
	}
	e.fake.ReleaseEvents()
	p = e.start(t)
	waitFor(t, 30*time.Second, "accepted after the restart", func() bool { return e.fake.State(sent.SubmissionID) == fitconnecttest.StateAccepted })
	waitFor(t, 10*time.Second, "delivered", func() bool { return len(e.drops(t, "meldewesen.wohnungsgeberbestaetigung")) == 1 })
	time.Sleep(2 * time.Second) // polls and retries that could duplicate anything
	if n := len(e.events(t, sent.CaseID, fitconnect.EventAcceptSubmission)); n != 1 {
		t.Errorf("%d accept events, want 1", n)
	}
	if d := e.drops(t, "meldewesen.wohnungsgeberbestaetigung"); len(d) != 1 {
		t.Errorf("%d deliveries, want 1", len(d))
	}
	p.stop(t, syscall.SIGTERM)
	msgs := e.messages(t, "--tenant", "musterstadt")
	subs := map[any]bool{}
	for _, m := range msgs {
		subs[m["submission_id"]] = true
	}
	if len(msgs) != 1 || len(subs) != 1 {
		t.Errorf("%d messages of %d submissions, want 1 of 1", len(msgs), len(subs))
	}
	events := e.messages(t, "--tenant", "~fitconnect")
	if len(events) != 1 || events[0]["state"] != "delivered" {
		t.Errorf("event messages %v, want one delivered", events)
	}
}

// TestFitConnectOutbound: a submission routed to a fitconnect destination
// reaches the fake and decrypts with the destination's private key to the
// same XML and attachments as the file drop got; the recipient's accept
// turns the destination's status to accepted_by_recipient and fires the
// signed portal callback.
func TestFitConnectOutbound(t *testing.T) {
	e := newFCEnv(t, true)
	p := e.start(t)
	body := readFile(t, "../testdata/submissions/bau.baugenehmigung-mit-dateien.json")
	var req struct{ Attachments []attachment }
	if err := json.Unmarshal(body, &req); err != nil {
		t.Fatal(err)
	}
	id := p.accept(t, "demo-key", "", body)
	waitFor(t, 30*time.Second, "the submission at the recipient", func() bool { return len(e.fake.Received(fcDestOut)) == 1 })
	sub := e.fake.Received(fcDestOut)[0]
	xml, err := fitconnect.Decrypt(e.recipient.Encryption, sub.EncryptedData)
	if err != nil {
		t.Fatal(err)
	}
	mdJSON, err := fitconnect.Decrypt(e.recipient.Encryption, sub.EncryptedMetadata)
	if err != nil {
		t.Fatal(err)
	}
	md, err := fitconnect.ParseMetadata(mdJSON)
	if err != nil {
		t.Fatal(err)
	}
	if !md.ContentStructure.Data.Hash.Matches(xml) {
		t.Error("the metadata's data hash does not match")
	}
	// The same XML as the file drop's, the same attachments as posted.
	waitFor(t, 10*time.Second, "dropped", func() bool { return len(e.drops(t, "bau.baugenehmigung")) == 1 })
	zipPath := e.drops(t, "bau.baugenehmigung")[0]
	files := unzip(t, readFile(t, zipPath))
	dropped := files[strings.TrimSuffix(filepath.Base(zipPath), ".zip")+".xml"]
	xoevtest.Validate(t, xoevtest.Schema(t, "xbau-2.6/xsd_dev/xbau-nachrichten-baugenehmigung.xsd"), xml)
	if !sameXMLBody(xml, dropped) {
		t.Errorf("the XML sent differs from the XML dropped beyond the message id and reader")
	}
	if len(md.ContentStructure.Attachments) != len(req.Attachments) {
		t.Fatalf("%d attachments sent, want %d", len(md.ContentStructure.Attachments), len(req.Attachments))
	}
	for _, a := range req.Attachments {
		want, _ := base64.StdEncoding.DecodeString(a.Content)
		var found bool
		for _, ma := range md.ContentStructure.Attachments {
			if ma.FileName != a.Filename {
				continue
			}
			got, err := fitconnect.Decrypt(e.recipient.Encryption, sub.Attachments[ma.AttachmentID])
			if err != nil {
				t.Fatal(err)
			}
			found = sha256.Sum256(got) == sha256.Sum256(want) && ma.Hash.Matches(got)
		}
		if !found {
			t.Errorf("attachment %s not sent with the same content", a.Filename)
		}
	}
	st := p.status(t, "demo-key", id)
	if s := fcDestinationState(t, st, "landkreis"); s != "awaiting_recipient" {
		t.Errorf("before the decision the destination is %s, want awaiting_recipient", s)
	}
	if err := e.fake.Decide(sub.ID, fitconnect.EventAcceptSubmission, e.recipient.Signing, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "accepted_by_recipient", func() bool {
		return fcDestinationState(t, p.status(t, "demo-key", id), "landkreis") == "accepted_by_recipient"
	})
	waitFor(t, 10*time.Second, "the portal callback", func() bool {
		for _, s := range e.portal.statuses(id) {
			if s == fitconnect.StatusRecipientAccepted {
				return true
			}
		}
		return false
	})

	// A second submission, rejected by the recipient.
	id2 := p.accept(t, "demo-key", "", body)
	waitFor(t, 30*time.Second, "the second submission at the recipient", func() bool { return len(e.fake.Received(fcDestOut)) == 2 })
	sub2 := e.fake.Received(fcDestOut)[1]
	if err := e.fake.Decide(sub2.ID, fitconnect.EventRejectSubmission, e.recipient.Signing,
		[]fitconnect.Problem{{Type: fitconnect.ProblemSchemaViolation, Title: "Schema-Fehler"}}); err != nil {
		t.Fatal(err)
	}
	var st2 map[string]any
	waitFor(t, 30*time.Second, "rejected_by_recipient", func() bool {
		st2 = p.status(t, "demo-key", id2)
		return fcDestinationState(t, st2, "landkreis") == "rejected_by_recipient"
	})
	if st2["status"] != "failed" {
		t.Errorf("status %v, want failed", st2["status"])
	}
	waitFor(t, 10*time.Second, "the portal callback of the reject", func() bool {
		for _, s := range e.portal.statuses(id2) {
			if s == fitconnect.StatusRecipientRejected {
				return true
			}
		}
		return false
	})
	e.portal.mu.Lock()
	bad := e.portal.bad
	e.portal.mu.Unlock()
	if bad != 0 {
		t.Errorf("%d callbacks with a bad signature", bad)
	}
}

// TestFitConnectNewEvents: with a NewEvents callback configured and an
// event_poll_interval of 10 minutes, the recipient's accept turns the
// destination to accepted_by_recipient within seconds, because the
// callback makes the case message due at once. The control: before the
// decision the case message's next look is minutes away, so without the
// callback nothing would read the event log in that time.
func TestFitConnectNewEvents(t *testing.T) {
	e := newFCEnvDest(t, fitconnectDestinationCallback)
	p := e.start(t)
	body := readFile(t, "../testdata/submissions/bau.baugenehmigung-mit-dateien.json")
	id := p.accept(t, "demo-key", "", body)
	waitFor(t, 30*time.Second, "the submission at the recipient", func() bool { return len(e.fake.Received(fcDestOut)) == 1 })
	sub := e.fake.Received(fcDestOut)[0]
	if sub.SenderCallbackURL == "" {
		t.Fatal("the submission was created without the NewEvents callback")
	}

	// The case was looked at once, right after sending (not decided yet).
	caseID := fitconnect.CaseMessageID(sub.ID)
	var next time.Time
	waitFor(t, 30*time.Second, "the first look at the event log", func() bool {
		for _, m := range e.messages(t, "--tenant", "~fitconnect-case") {
			if m["id"] == caseID && m["state"] == "retrying" {
				var err error
				next, err = time.Parse(time.RFC3339Nano, fmt.Sprint(m["next_attempt_at"]))
				if err != nil {
					t.Fatalf("next_attempt_at %v: %v", m["next_attempt_at"], err)
				}
				return true
			}
		}
		return false
	})
	if until := time.Until(next); until < 5*time.Minute {
		t.Fatalf("the next look at the event log is in %v; the control needs minutes (event_poll_interval 10m)", until)
	}
	if s := fcDestinationState(t, p.status(t, "demo-key", id), "landkreis"); s != "awaiting_recipient" {
		t.Fatalf("before the decision the destination is %s, want awaiting_recipient", s)
	}

	decided := time.Now()
	if err := e.fake.Decide(sub.ID, fitconnect.EventAcceptSubmission, e.recipient.Signing, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "accepted_by_recipient after the callback", func() bool {
		return fcDestinationState(t, p.status(t, "demo-key", id), "landkreis") == "accepted_by_recipient"
	})
	took := time.Since(decided)
	if !time.Now().Before(next) {
		t.Fatalf("accepted only at the scheduled look (%v), not through the callback", next)
	}
	t.Logf("accepted_by_recipient %v after the decision; the next poll was %v away", took.Round(time.Millisecond), time.Until(next).Round(time.Second))
	waitFor(t, 10*time.Second, "the portal callback", func() bool {
		for _, s := range e.portal.statuses(id) {
			if s == fitconnect.StatusRecipientAccepted {
				return true
			}
		}
		return false
	})
	if errs := e.fake.CallbackErrors(); len(errs) != 0 {
		t.Errorf("NewEvents callbacks failed: %v", errs)
	}

	// A callback with a wrong HMAC is refused (401) and changes nothing.
	cb, _ := json.Marshal(fitconnect.CallbackBody{Type: fitconnect.CallbackNewEvents,
		Submissions: []fitconnect.SubmissionForPickup{{DestinationID: fcDestOut, SubmissionID: sub.ID, CaseID: sub.CaseID}}})
	err := fitconnecttest.SendCallback(http.DefaultClient, "http://"+e.cbListen+"/fitconnect/events/musterstadt/bau.baugenehmigung/landkreis",
		"wrong-secret-0123456789abcdef0123456789", cb, time.Now())
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("callback with a wrong secret: %v, want 401", err)
	}
}

func fcDestinationState(t *testing.T, status map[string]any, dest string) string {
	t.Helper()
	for _, d := range status["destinations"].([]any) {
		m := d.(map[string]any)
		if m["destination"] == dest {
			return fmt.Sprint(m["state"])
		}
	}
	t.Fatalf("no destination %s in %v", dest, status)
	return ""
}

// sameXMLBody compares two messages of one submission for two
// destinations: they differ only in the message id (nachrichtenUUID) and
// the reader; the Fachdaten after the Nachrichtenkopf must be equal.
func sameXMLBody(a, b []byte) bool {
	const end = "</nachrichtenkopf.g2g>"
	ia, ib := strings.Index(string(a), end), strings.Index(string(b), end)
	return ia > 0 && ib > 0 && string(a[ia:]) == string(b[ib:])
}

// TestFitConnectCheckConfig: check-config accepts the FIT-Connect
// configuration and refuses bad keys with the reason.
func TestFitConnectCheckConfig(t *testing.T) {
	e := newFCEnv(t, true)
	if code, out, errOut := run(t, e.dir, e.env, "", "check-config", e.config); code != 0 || !strings.Contains(out, "ok") {
		t.Fatalf("good config: exit %d, %s %s", code, out, errOut)
	}
	for _, tc := range []struct {
		name       string
		decryption []byte
		signing    []byte
		want       []string
	}{
		{"does not parse", []byte(`{"kty":"RSA",`), nil, []string{"fitconnect.subscribers[0].decryption_key: not a valid JWK"}},
		{"public key", fitconnecttest.JSON(e.keys.Encryption.Public()), nil, []string{"decryption_key: a private key is required"}},
		{"keys swapped", fitconnecttest.JSON(e.keys.Signing), fitconnecttest.JSON(e.keys.Encryption),
			[]string{"decryption_key: alg must be RSA-OAEP-256", "signing_key: alg must be PS512"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.decryption != nil {
				if err := os.WriteFile(filepath.Join(e.dir, "decryption.jwk"), tc.decryption, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if tc.signing != nil {
				if err := os.WriteFile(filepath.Join(e.dir, "signing.jwk"), tc.signing, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			t.Cleanup(func() {
				os.WriteFile(filepath.Join(e.dir, "decryption.jwk"), fitconnecttest.JSON(e.keys.Encryption), 0o600)
				os.WriteFile(filepath.Join(e.dir, "signing.jwk"), fitconnecttest.JSON(e.keys.Signing), 0o600)
			})
			code, _, errOut := run(t, e.dir, e.env, "", "check-config", e.config)
			if code != 1 {
				t.Fatalf("exit %d, want 1: %s", code, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("check-config says\n%s\nwithout %q", errOut, w)
				}
			}
		})
	}
}
