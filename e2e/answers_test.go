package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/transform/answers/answerstest"
)

const answersConfig = `
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
metrics:
  listen: %[4]s
procedures:
  - id: bau.baugenehmigung
    name: Bauantrag
tenants:
  - id: musterstadt
    name: Stadt Musterstadt
    ags: "09162000"
    behoerdenkennung: "psw:09162000"
    procedures:
      - procedure: bau.baugenehmigung
        destinations:
          - id: bauamt
            type: filedrop
            filedrop: {dir: %[1]s/drop}
            answers:
              key_hash: %[5]s
              inbox: {dir: %[1]s/inbox, poll_interval: 100ms}
              amqp: {url: {env: ANSWERS_TEST_AMQP_URL}, queue: %[6]s}
          - id: eakte
            type: filedrop
            format: xdomea
            xdomea: {creator: amtsbote}
            filedrop: {dir: %[1]s/eakte}
            answers:
              amqp: {url: {env: ANSWERS_TEST_AMQP_URL}, queue: %[7]s}
portals:
  - id: demo-portal
    key_hash: %[8]s
    tenants: [musterstadt]
    procedures: [bau.baugenehmigung]
    callback:
      url: %[9]s/hooks/amtsbote
      secret: {env: NOTIFY_TEST_CALLBACK_SECRET}
      retry:
        initial_interval: 200ms
        max_interval: 1s
`

// answersEnv is a running amtsbote with answer channels over HTTP, a file
// inbox and RabbitMQ, and a portal receiving callbacks.
type answersEnv struct {
	p                    *proc
	dir, admin, metrics  string
	configPath           string
	ch                   *amqp.Channel
	bauQueue, eakteQueue string
	mu                   sync.Mutex
	callbacks            []callbackRequest
}

const (
	answersPortalKey = "portal-key"
	answersKey       = "answers-key-bauamt"
	answersAdminKey  = "admin-key"
)

func newAnswersEnv(t *testing.T) *answersEnv {
	t.Helper()
	url := os.Getenv("AMTSBOTE_TEST_AMQP")
	if url == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("AMTSBOTE_TEST_AMQP is required in CI")
		}
		t.Skip("AMTSBOTE_TEST_AMQP not set: the answers end to end needs RabbitMQ")
	}
	conn, err := amqp.Dial(url)
	if err != nil {
		t.Fatalf("RabbitMQ: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	suffix := uuid.NewString()[:8]
	e := &answersEnv{dir: t.TempDir(), admin: freeAddr(t), metrics: freeAddr(t), ch: ch,
		bauQueue: "e2e.answers.bauamt." + suffix, eakteQueue: "e2e.answers.eakte." + suffix}
	// Each queue dead-letters into a queue of its own, as an operator sets it up.
	for _, q := range []string{e.bauQueue, e.eakteQueue} {
		if _, err := ch.QueueDeclare(q+".dead", false, true, false, false, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := ch.QueueDeclare(q, false, true, false, false, amqp.Table{
			"x-dead-letter-exchange": "", "x-dead-letter-routing-key": q + ".dead"}); err != nil {
			t.Fatal(err)
		}
	}
	portal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ts, ok := verifyCallback(r, body)
		c := callbackRequest{eventID: r.Header.Get("Amtsbote-Event-Id"), raw: body, signedOK: ok, timestamp: ts}
		_ = json.Unmarshal(body, &c.event)
		e.mu.Lock()
		e.callbacks = append(e.callbacks, c)
		e.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(portal.Close)
	if err := os.MkdirAll(filepath.Join(e.dir, "inbox"), 0o700); err != nil {
		t.Fatal(err)
	}
	text := fmt.Sprintf(answersConfig, e.dir, e.admin, config.HashKey(answersAdminKey), e.metrics,
		config.HashKey(answersKey), e.bauQueue, e.eakteQueue, config.HashKey(answersPortalKey), portal.URL)
	e.configPath = writeConfig(t, e.dir, text)
	e.p = start(t, e.dir, []string{"ANSWERS_TEST_AMQP_URL=" + url, "NOTIFY_TEST_CALLBACK_SECRET=" + callbackSecret},
		"--config", e.configPath)
	return e
}

// postAnswer posts body to /v1/answers with key.
func (e *answersEnv) postAnswer(t *testing.T, key string, body []byte, contentType string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+e.p.addr+"/v1/answers", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return do(t, req)
}

// drop puts an answer into the inbox as a Fachverfahren should: written
// beside it, then renamed in.
func (e *answersEnv) drop(t *testing.T, name string, body []byte) {
	t.Helper()
	tmp := filepath.Join(e.dir, "tmp-"+name)
	if err := os.WriteFile(tmp, body, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(e.dir, "inbox", name)); err != nil {
		t.Fatal(err)
	}
}

// awaitInbox waits until the inbox moved name to sub (done or failed).
func (e *answersEnv) awaitInbox(t *testing.T, sub, name string) {
	t.Helper()
	waitFor(t, 20*time.Second, "inbox file "+name+" in "+sub+"/", func() bool {
		_, err := os.Stat(filepath.Join(e.dir, "inbox", sub, name))
		return err == nil
	})
}

// publish sends body to queue q.
func (e *answersEnv) publish(t *testing.T, q string, body []byte, contentType string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.ch.PublishWithContext(ctx, "", q, false, false, amqp.Publishing{ContentType: contentType, Body: body,
		DeliveryMode: amqp.Persistent}); err != nil {
		t.Fatal(err)
	}
}

// queueDepth is the number of messages ready in queue q.
func (e *answersEnv) queueDepth(t *testing.T, q string) int {
	t.Helper()
	st, err := e.ch.QueueDeclarePassive(q, false, true, false, false, nil)
	if err != nil {
		t.Fatalf("queue %s: %v", q, err)
	}
	return st.Messages
}

// adminAnswers lists the answers (state "" for all) through the admin API.
func (e *answersEnv) adminAnswers(t *testing.T, state string) []map[string]any {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+e.admin+"/admin/v1/answers?limit=1000&state="+state, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+answersAdminKey)
	code, body := do(t, req)
	if code != http.StatusOK {
		t.Fatalf("admin answers: %d %v", code, body)
	}
	var out []map[string]any
	for _, a := range body["answers"].([]any) {
		out = append(out, a.(map[string]any))
	}
	return out
}

// answerCallbacks returns the submission.answer callbacks received, by status.
func (e *answersEnv) answerCallbacks(t *testing.T, submission string) []string {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, c := range e.callbacks {
		if c.event["type"] == "submission.answer" && c.event["submission_id"] == submission {
			if !c.signedOK {
				t.Errorf("callback %s: the signature does not verify", c.eventID)
			}
			out = append(out, c.event["status"].(string))
		}
	}
	slices.Sort(out)
	return out
}

// scrape returns the metrics text.
func (e *answersEnv) scrape(t *testing.T) string {
	t.Helper()
	resp, err := http.Get("http://" + e.metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestAnswers is the done-when of issue #15 with the real binary: a
// Bauantrag sent to the Bauamt and filed in the E-Akte is answered with
// 1120 and 1121 over HTTP, 0201 into the file inbox, 0205 with its PDF and
// the xdomea 0630 over RabbitMQ; the portal's status shows each step with
// the Aktenzeichen and the DMS id, each callback's HMAC verifies; replaying
// every answer changes nothing; an unmatched answer shows in the admin API
// and the metric; a hostile corpus over the three channels is refused with
// nothing stored and the server serving on.
func TestAnswers(t *testing.T) {
	t.Parallel()
	e := newAnswersEnv(t)
	body, err := os.ReadFile("../testdata/submissions/bau.baugenehmigung-minimal.json")
	if err != nil {
		t.Fatal(err)
	}
	sub := e.p.accept(t, answersPortalKey, "bau-1", body)
	st := e.p.awaitStatus(t, answersPortalKey, sub, "delivered", 30*time.Second)
	msgs := map[string]string{}
	for _, d := range st["destinations"].([]any) {
		m := d.(map[string]any)
		msgs[m["destination"].(string)] = m["message_id"].(string)
	}
	if msgs["bauamt"] == "" || msgs["eakte"] == "" {
		t.Fatalf("destinations %v", st["destinations"])
	}

	// The answers, each over its channel.
	eingang := answerstest.Render(t, answerstest.Eingangsbestaetigung, answerstest.Refs{Reference: msgs["bauamt"], SubmissionID: sub})
	az := answerstest.Render(t, answerstest.Aktenzeichen, answerstest.Refs{SubmissionID: sub})
	pruefung := answerstest.Render(t, answerstest.FormellePruefung, answerstest.Refs{Reference: msgs["bauamt"], SubmissionID: sub})
	bescheid := answerstest.BescheidContainer(t, answerstest.Refs{Reference: msgs["bauamt"], SubmissionID: sub})
	import0630 := answerstest.Render(t, answerstest.ImportBestaetigen, answerstest.Refs{Reference: msgs["eakte"]})
	send := func(t *testing.T, round string) {
		for _, b := range [][]byte{eingang, az} {
			code, rc := e.postAnswer(t, answersKey, b, "application/xml")
			want := http.StatusAccepted
			if round == "replay" {
				want = http.StatusOK
			}
			if code != want || rc["matched"] != true || rc["submission_id"] != sub {
				t.Fatalf("%s: POST /v1/answers: %d %v", round, code, rc)
			}
		}
		e.drop(t, round+"-0201.xml", pruefung)
		e.awaitInbox(t, "done", round+"-0201.xml")
		e.publish(t, e.bauQueue, bescheid, "application/zip")
		e.publish(t, e.eakteQueue, import0630, "application/xml")
		waitFor(t, 20*time.Second, "the queues consumed", func() bool {
			return e.queueDepth(t, e.bauQueue) == 0 && e.queueDepth(t, e.eakteQueue) == 0
		})
	}
	send(t, "first")
	want := []string{"received_by_authority", "case_number_assigned", "incomplete", "decided", "filed"}
	var answers []any
	waitFor(t, 20*time.Second, "five answers in the status", func() bool {
		st = e.p.status(t, answersPortalKey, sub)
		answers, _ = st["answers"].([]any)
		return len(answers) == len(want)
	})
	states := map[string]map[string]any{}
	for _, a := range answers {
		m := a.(map[string]any)
		states[m["state"].(string)] = m
	}
	for _, s := range want {
		if states[s] == nil {
			t.Fatalf("no answer in state %s: %v", s, answers)
		}
	}
	if st["status"] != "decided" {
		t.Errorf("status %v, want decided", st["status"])
	}
	if states["case_number_assigned"]["aktenzeichen"] == nil || states["filed"]["dms_id"] == nil ||
		states["incomplete"]["findings"] == nil {
		t.Errorf("Aktenzeichen, DMS id or findings missing: %v", answers)
	}
	docs, _ := states["decided"]["documents"].([]any)
	if len(docs) != 1 {
		t.Fatalf("the Bescheid's documents: %v", states["decided"])
	}
	download := docs[0].(map[string]any)["download"].(string)
	for key, wantCode := range map[string]int{answersPortalKey: 200} {
		req, _ := http.NewRequest(http.MethodGet, "http://"+e.p.addr+download, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		pdf, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != wantCode || !bytes.Equal(pdf, answerstest.Read(t, answerstest.BescheidPDF)) {
			t.Fatalf("download %s: %d, %d bytes", download, resp.StatusCode, len(pdf))
		}
	}
	wantCallbacks := []string{"case_number", "decided", "filed", "incomplete", "received"}
	waitFor(t, 20*time.Second, "five signed answer callbacks", func() bool {
		return slices.Equal(e.answerCallbacks(t, sub), wantCallbacks)
	})

	// Replay: every answer again over its channel changes nothing.
	send(t, "replay")
	if n := len(e.adminAnswers(t, "")); n != 5 {
		t.Fatalf("%d answers stored after the replay, want 5", n)
	}
	st = e.p.status(t, answersPortalKey, sub)
	if a, _ := st["answers"].([]any); len(a) != 5 || st["status"] != "decided" {
		t.Fatalf("status changed by the replay: %v", st)
	}
	if got := e.answerCallbacks(t, sub); !slices.Equal(got, wantCallbacks) {
		t.Fatalf("callbacks after the replay %v, want %v", got, wantCallbacks)
	}

	// Unmatched: an answer to nothing known.
	code, rc := e.postAnswer(t, answersKey,
		answerstest.Render(t, answerstest.Eingangsbestaetigung, answerstest.Refs{Reference: uuid.NewString()}), "application/xml")
	if code != http.StatusAccepted || rc["matched"] != false {
		t.Fatalf("unmatched answer: %d %v", code, rc)
	}
	unmatched := e.adminAnswers(t, "unmatched")
	if len(unmatched) != 1 || unmatched[0]["id"] != rc["id"] {
		t.Fatalf("unmatched in the admin API: %v", unmatched)
	}
	if m := e.scrape(t); !strings.Contains(m, `amtsbote_answers_unmatched{tenant="musterstadt"} 1`) {
		t.Fatalf("metrics lack the unmatched answer:\n%s", grepLines(m, "amtsbote_answers"))
	}

	// The CLI sees it too (the store directly, as amtsbote outbox does).
	env := []string{"ANSWERS_TEST_AMQP_URL=" + os.Getenv("AMTSBOTE_TEST_AMQP"), "NOTIFY_TEST_CALLBACK_SECRET=" + callbackSecret}
	code2, out, errOut := run(t, e.dir, env, "", "answers", "list", "--state", "unmatched", "--config", e.configPath)
	if code2 != 0 || !strings.Contains(out, rc["id"].(string)) || strings.Count(out, "\n") != 2 {
		t.Fatalf("answers list: %d\n%s%s", code2, out, errOut)
	}
	code2, out, errOut = run(t, e.dir, env, "", "answers", "show", rc["id"].(string), "--config", e.configPath)
	if code2 != 0 || !strings.Contains(out, "unmatched") || !strings.Contains(out, "received") {
		t.Fatalf("answers show: %d\n%s%s", code2, out, errOut)
	}

	// Hostile corpus over the three channels: refused, nothing stored.
	entries, err := os.ReadDir("../testdata/answers/hostile")
	if err != nil {
		t.Fatal(err)
	}
	var corpus [][]byte
	for _, en := range entries {
		b, err := os.ReadFile(filepath.Join("../testdata/answers/hostile", en.Name()))
		if err != nil {
			t.Fatal(err)
		}
		corpus = append(corpus, b)
	}
	// A reference to another tenant's or no submission is stored unmatched
	// by design; hostile here is what is no acceptable answer.
	corpus = append(corpus,
		[]byte(strings.Repeat("<a>", 10000)+strings.Repeat("</a>", 10000)),
		bytes.Repeat([]byte("<"), 21<<20),                      // over max_bytes
		bytes.Replace(eingang, []byte("</"), []byte(" </"), 1), // a duplicate id with another body
	)
	if len(corpus) < 40 {
		t.Fatalf("hostile corpus has %d cases, want at least 40", len(corpus))
	}
	for i, b := range corpus {
		switch i % 3 {
		case 0:
			code, resp := e.postAnswer(t, answersKey, b, "")
			if code < 400 || code > 499 {
				t.Fatalf("hostile case %d over HTTP: %d %v", i, code, resp)
			}
		case 1:
			name := fmt.Sprintf("hostile-%02d.xml", i)
			e.drop(t, name, b)
			e.awaitInbox(t, "failed", name)
			if _, err := os.Stat(filepath.Join(e.dir, "inbox", "failed", name+".reason.txt")); err != nil {
				t.Fatalf("hostile case %d: no reason file: %v", i, err)
			}
		case 2:
			e.publish(t, e.bauQueue, b, "")
		}
	}
	deadLetters := (len(corpus) + 0) / 3
	waitFor(t, 30*time.Second, "the hostile AMQP messages dead-lettered", func() bool {
		return e.queueDepth(t, e.bauQueue) == 0 && e.queueDepth(t, e.bauQueue+".dead") == deadLetters
	})
	if n := len(e.adminAnswers(t, "")); n != 6 {
		t.Fatalf("%d answers stored after the hostile corpus, want 6", n)
	}
	if logs := e.p.stderr.String(); strings.Contains(logs, "panic") || strings.Contains(logs, "/etc/passwd") {
		t.Fatalf("the log shows a panic or hostile content:\n%s", grepLines(logs, "panic"))
	}
	e.p.status(t, answersPortalKey, sub) // still serving

	// An operator discards the unmatched answer, with a reason.
	code2, out, errOut = run(t, e.dir, env, "", "answers", "discard", rc["id"].(string), "--reason", "vendor test message",
		"--by", "e2e", "--config", e.configPath)
	if code2 != 0 {
		t.Fatalf("answers discard: %d\n%s%s", code2, out, errOut)
	}
	if left := e.adminAnswers(t, "unmatched"); len(left) != 0 {
		t.Fatalf("unmatched after the discard: %v", left)
	}
	if d := e.adminAnswers(t, "discarded"); len(d) != 1 || d[0]["reason"] != "vendor test message" || d[0]["resolved_by"] != "cli:e2e" {
		t.Fatalf("discarded: %v", d)
	}
}

// grepLines returns the lines of s containing sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
