package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/outbox/postgres/pgtest"
	"github.com/amtsbote/amtsbote/transform/answers/answerstest"
)

// consoleConfig has two tenants whose Wohnungsgeberbestätigungen go to an
// HTTP receiver (%[3]s/<tenant>), one portal for both, the admin key, an
// operator scoped to musterstadt and the musterstadt Fachverfahren's answers key.
const consoleConfig = `
server:
  shutdown_timeout: 5s
database:
  path: %[1]s/amtsbote.db
relay:
  lease: 15s
  poll_interval: 500ms
procedures:
  - id: meldewesen.wohnungsgeberbestaetigung
    name: Wohnungsgeberbestätigung
tenants:
  - id: musterstadt
    name: Stadt Musterstadt
    ags: "09162000"
    behoerdenkennung: "psw:09162000"
    procedures:
      - procedure: meldewesen.wohnungsgeberbestaetigung
        destinations:
          - id: fachverfahren
            type: http
            http:
              url: %[3]s/musterstadt
              timeout: 2s
            answers:
              key_hash: %[7]s
  - id: anderstadt
    name: Stadt Anderstadt
    ags: "03241001"
    behoerdenkennung: "psw:03241001"
    procedures:
      - procedure: meldewesen.wohnungsgeberbestaetigung
        destinations:
          - id: fachverfahren
            type: http
            http:
              url: %[3]s/anderstadt
              timeout: 2s
portals:
  - id: demo-portal
    key_hash: %[2]s
    tenants: [musterstadt, anderstadt]
    procedures: [meldewesen.wohnungsgeberbestaetigung]
admin:
  listen: %[4]s
  key_hash: %[5]s
  operators:
    - id: it-muster
      name: IT Musterstadt
      key_hash: %[6]s
      tenants: [musterstadt]
`

// chromium finds Debian's chromium (or another Chrome); the test skips
// without one, except under CI=true, which installs it.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed, but CI=true requires the browser test (.ci/run installs it)")
	}
	t.Skip("chromium not found: skipping the browser test of the console (apt install chromium)")
	return ""
}

// screenshotDir is $AMTSBOTE_SCREENSHOTS, or the test's temporary directory.
func screenshotDir(t *testing.T) string {
	if d := os.Getenv("AMTSBOTE_SCREENSHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

func TestConsoleBrowserSQLite(t *testing.T) {
	t.Parallel()
	testConsoleBrowser(t, "sqlite", "")
}

func TestConsoleBrowserPostgres(t *testing.T) {
	t.Parallel()
	testConsoleBrowser(t, "postgres", pgtest.NewDatabase(t))
}

// testConsoleBrowser drives the console in headless Chromium against the
// real binary: log in, find the dead letter a rejecting receiver made,
// replay it with a reason and see it delivered; show the payload only
// through the audited action; a POST without the CSRF token is refused; a
// scoped operator cannot see another tenant's messages.
func testConsoleBrowser(t *testing.T, store, pgURL string) {
	exe := chromium(t)
	shots := screenshotDir(t)

	var accept atomic.Bool
	var mu sync.Mutex
	delivered := map[string]bool{}
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if !accept.Load() || strings.HasSuffix(r.URL.Path, "/anderstadt") {
			http.Error(w, "Schema-Fehler", http.StatusBadRequest) // permanent: dead at once
			return
		}
		mu.Lock()
		delivered[r.Header.Get("X-Amtsbote-Message-Id")] = true
		mu.Unlock()
	}))
	defer receiver.Close()

	dir := t.TempDir()
	adminAddr := freeAddr(t)
	text := fmt.Sprintf(consoleConfig, dir, config.HashKey("portal-key"), receiver.URL, adminAddr,
		config.HashKey("admin-key"), config.HashKey("operator-key"), config.HashKey("answers-key"))
	if pgURL != "" {
		text = strings.Replace(text, "database:\n  path: "+dir+"/amtsbote.db", "database:\n  url: "+pgURL, 1)
	}
	p := start(t, dir, nil, "--config", writeConfig(t, dir, text))

	adminGet := func(path string) map[string]any {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, "http://"+adminAddr+path, nil)
		req.Header.Set("Authorization", "Bearer admin-key")
		code, body := do(t, req)
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d %v", path, code, body)
		}
		return body
	}
	deadOf := func(tenant string) map[string]any {
		msgs, _ := adminGet("/admin/v1/messages?status=dead&tenant=" + tenant)["messages"].([]any)
		if len(msgs) != 1 {
			return nil
		}
		return msgs[0].(map[string]any)
	}
	musterSub := p.accept(t, "portal-key", "", demoBody(t))
	anderSub := p.accept(t, "portal-key", "", []byte(strings.Replace(string(demoBody(t)),
		`"tenant": "musterstadt"`, `"tenant": "anderstadt"`, 1)))
	var muster, ander map[string]any
	waitFor(t, 30*time.Second, "both messages dead", func() bool {
		muster, ander = deadOf("musterstadt"), deadOf("anderstadt")
		return muster != nil && ander != nil
	})
	musterID, anderID := muster["id"].(string), ander["id"].(string)
	base := "http://" + adminAddr + "/console/"

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.WindowSize(1280, 900),
		chromedp.Flag("accept-lang", "de-DE,de")) // the console's default language, for the screenshots in docs/
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	browser, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	if err := chromedp.Do(browser); err != nil { // starts the browser, without a timeout
		t.Fatalf("start chromium: %v", err)
	}
	ctx, cancelTimeout := context.WithTimeout(browser, 3*time.Minute)
	defer cancelTimeout()

	fail := func(what string, err error) {
		t.Helper()
		html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
		t.Fatalf("%s: %v\npage:\n%s", what, err, html)
	}
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		for i, a := range actions {
			sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			_, err := chromedp.Run(sctx, a)
			cancel()
			if err != nil {
				fail(fmt.Sprintf("%s (step %d)", what, i+1), err)
			}
		}
	}
	get := func(what string, a chromedp.Action[string]) string {
		t.Helper()
		v, err := chromedp.Run(ctx, a)
		if err != nil {
			fail(what, err)
		}
		return v
	}
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			fail("screenshot "+name, err)
		}
		path := filepath.Join(shots, store+"-"+name+".png")
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot %s", path)
	}
	bodyText := func() string {
		t.Helper()
		return get("read page", chromedp.Text(chromedp.CSS("body")))
	}
	login := func(key string) {
		t.Helper()
		run("log in", chromedp.Navigate(base+"login"), chromedp.WaitVisible(chromedp.ID("key")),
			chromedp.SendKeys(chromedp.ID("key"), key), chromedp.Click(chromedp.ID("login")),
			chromedp.WaitVisible(chromedp.ID("operator")))
	}

	// The admin logs in and sees both tenants' dead letters on the overview.
	login("admin-key")
	run("overview", chromedp.WaitVisible(chromedp.ID("tenant-musterstadt")), chromedp.WaitVisible(chromedp.ID("tenant-anderstadt")))
	shot("overview")

	// Dead letters of musterstadt: the rejected message, with the receiver's error.
	run("dead letters", chromedp.Navigate(base+"dead?tenant=musterstadt"), chromedp.WaitVisible(chromedp.ID("dead-letters")))
	if txt := bodyText(); !strings.Contains(txt, musterID) || strings.Contains(txt, anderID) || !strings.Contains(txt, "400") {
		t.Fatalf("dead letters of musterstadt:\n%s", txt)
	}
	shot("dead-letters")
	run("open the dead letter", chromedp.Click(chromedp.CSS(`a.msg[data-id="`+musterID+`"]`)),
		chromedp.WaitVisible(chromedp.ID("message-id")))
	if txt := bodyText(); strings.Contains(txt, "Größmann") {
		t.Fatal("the detail page shows personal data before the audited action")
	}

	// A POST without the CSRF token is refused and changes nothing.
	run("replay without token", chromedp.SetAttributeValue(chromedp.CSS(`form[action*="/replay"] input[name="csrf"]`), "value", ""),
		chromedp.SendKeys(chromedp.ID("replay-reason"), "ohne Token"), chromedp.Click(chromedp.ID("replay")),
		chromedp.WaitVisible(chromedp.ID("error")))
	if deadOf("musterstadt") == nil {
		t.Fatal("a POST without CSRF token replayed the message")
	}

	// The receiver is fixed; the admin replays with a reason, confirms, and sees it delivered.
	accept.Store(true)
	run("replay", chromedp.Navigate(base+"messages/"+musterID), chromedp.WaitVisible(chromedp.ID("replay-reason")),
		chromedp.SendKeys(chromedp.ID("replay-reason"), "Empfänger repariert"), chromedp.Click(chromedp.ID("replay")),
		chromedp.WaitVisible(chromedp.ID("confirm")), chromedp.Click(chromedp.ID("confirm")),
		chromedp.WaitVisible(chromedp.ID("done")))
	waitFor(t, 30*time.Second, "the replayed message shown delivered", func() bool {
		run("reload", chromedp.Navigate(base+"messages/"+musterID), chromedp.WaitVisible(chromedp.ID("state")))
		state, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.ID("state"), "data-state"))
		if err != nil {
			fail("state", err)
		}
		return state.Value == "delivered"
	})
	mu.Lock()
	if !delivered[musterID] {
		t.Error("the receiver did not get the replayed message")
	}
	mu.Unlock()

	// Personal data only after the audited action.
	run("show personal data", chromedp.SendKeys(chromedp.ID("payload-reason"), "Rückfrage der Meldebehörde"),
		chromedp.Click(chromedp.ID("show-payload")), chromedp.WaitVisible(chromedp.ID("payload")))
	payload := get("payload", chromedp.Text(chromedp.ID("payload")))
	if !strings.Contains(payload, "Größmann") {
		t.Fatalf("payload without the applicant's name: %.200s", payload)
	}
	var kinds []string
	for _, e := range adminGet("/admin/v1/submissions/" + musterSub + "/events")["events"].([]any) {
		ev := e.(map[string]any)
		kinds = append(kinds, fmt.Sprint(ev["kind"], " ", ev["actor"], " ", ev["detail"]))
	}
	trail := strings.Join(kinds, "\n")
	if !strings.Contains(trail, "replayed console (") || !strings.Contains(trail, "Empfänger repariert") ||
		!strings.Contains(trail, "payload_viewed console (") || !strings.Contains(trail, "Rückfrage der Meldebehörde") {
		t.Fatalf("audit trail:\n%s", trail)
	}

	// The scoped operator sees musterstadt only.
	run("log out", chromedp.Click(chromedp.CSS(`form.logout button`)), chromedp.WaitVisible(chromedp.ID("key")))
	login("operator-key")
	if txt := bodyText(); !strings.Contains(txt, "IT Musterstadt") || !strings.Contains(txt, "Stadt Musterstadt") || strings.Contains(txt, "Anderstadt") {
		t.Fatalf("operator's overview:\n%s", txt)
	}
	run("operator's dead letters", chromedp.Navigate(base+"dead"), chromedp.WaitVisible(chromedp.ID("dead-none")))
	if txt := bodyText(); strings.Contains(txt, anderID) {
		t.Fatal("the operator sees another tenant's dead letter")
	}
	run("another tenant's message", chromedp.Navigate(base+"messages/"+anderID), chromedp.WaitVisible(chromedp.ID("error")))
	if txt := bodyText(); strings.Contains(txt, anderID) || strings.Contains(txt, "anderstadt") {
		t.Fatalf("another tenant's message page:\n%s", txt)
	}
	run("search another tenant's submission", chromedp.Navigate(base+"search?id="+anderSub), chromedp.WaitVisible(chromedp.ID("search-none")))

	// An answer of the Fachverfahren that refers to nothing known: the
	// operator finds it unmatched and discards it with a reason.
	ref := uuid.NewString()
	req, err := http.NewRequest(http.MethodPost, "http://"+p.addr+"/v1/answers",
		bytes.NewReader(answerstest.Render(t, answerstest.Eingangsbestaetigung, answerstest.Refs{Reference: ref})))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer answers-key")
	req.Header.Set("Content-Type", "application/xml")
	code, rc := do(t, req)
	answerID, _ := rc["id"].(string)
	if code != http.StatusAccepted || rc["matched"] != false || answerID == "" {
		t.Fatalf("unmatched answer: %d %v", code, rc)
	}
	run("unmatched answers", chromedp.Navigate(base+"answers"), chromedp.WaitVisible(chromedp.ID("answers")))
	if txt := bodyText(); !strings.Contains(txt, ref) {
		t.Fatalf("unmatched answers page misses the answer:\n%s", txt)
	}
	shot("answers")
	run("discard the answer", chromedp.Click(chromedp.CSS(`a[href="/console/answers/`+answerID+`"]`)),
		chromedp.WaitVisible(chromedp.ID("answer-discard-reason")),
		chromedp.SendKeys(chromedp.ID("answer-discard-reason"), "Irrläufer des Fachverfahrens"), chromedp.Click(chromedp.ID("answer-discard")),
		chromedp.WaitVisible(chromedp.ID("confirm")), chromedp.Click(chromedp.ID("confirm")),
		chromedp.WaitVisible(chromedp.ID("done")))
	state, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.ID("answer-state"), "data-state"))
	if err != nil || state.Value != "discarded" {
		fail("answer state after discard", err)
	}
	answer := adminGet("/admin/v1/answers/" + answerID)
	if answer["state"] != "discarded" || answer["reason"] != "Irrläufer des Fachverfahrens" ||
		!strings.HasPrefix(fmt.Sprint(answer["resolved_by"]), "console:it-muster (") {
		t.Fatalf("answer after discard: %v", answer)
	}

	if code := p.stop(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("exit %d", code)
	}
}
