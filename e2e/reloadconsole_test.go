package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/transform/answers/answerstest"
)

// consoleSession is a browser without JavaScript on the console: a cookie
// jar, redirects followed.
type consoleSession struct {
	t    *testing.T
	base string
	c    *http.Client
	csrf string
}

var consoleCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func consoleLogin(t *testing.T, adminAddr, key string) *consoleSession {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	s := &consoleSession{t: t, base: "http://" + adminAddr + "/console/", c: &http.Client{Jar: jar}}
	page := s.get("login")
	s.post("login", url.Values{"key": {key}}, page)
	s.csrf = consoleCSRF.FindStringSubmatch(s.get(""))[1]
	return s
}

func (s *consoleSession) get(path string) string {
	s.t.Helper()
	resp, err := s.c.Get(s.base + path)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		s.t.Fatalf("GET %s: %d\n%s", path, resp.StatusCode, b)
	}
	return string(b)
}

// post sends form with the CSRF token of page and returns the page it leads to.
func (s *consoleSession) post(path string, form url.Values, page string) string {
	s.t.Helper()
	m := consoleCSRF.FindStringSubmatch(page)
	if m == nil {
		s.t.Fatalf("no CSRF token on the page before POST %s", path)
	}
	form.Set("csrf", m[1])
	resp, err := s.c.PostForm(s.base+path, form)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		s.t.Fatalf("POST %s: %d\n%s", path, resp.StatusCode, b)
	}
	return string(b)
}

// TestReloadReachesConsoleAndAnswers: a reload that adds a municipality
// with an HTTP answers key shows the new generation and the tenant in the
// console for the admin (not for an operator of another tenant), and the
// new tenant's answers are taken: an unmatched one appears on the console's
// page and is discarded there with a reason.
func TestReloadReachesConsoleAndAnswers(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	confd := filepath.Join(dir, "conf.d")
	if err := os.MkdirAll(confd, 0o750); err != nil {
		t.Fatal(err)
	}
	writeTenant := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(confd, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeTenant("gemeinde-01.yaml", reloadTenant(tenantID(1), 1, fileDrop(filepath.Join(dir, "drop"))))
	adminAddr, metricsAddr := freeAddr(t), freeAddr(t)
	mainText := fmt.Sprintf(reloadMain, dir, config.HashKey("portal-key"), adminAddr, metricsAddr, config.HashKey("admin-key"))
	// An operator of gemeinde-01, under admin:
	mainText = strings.Replace(mainText, "include:", fmt.Sprintf(`  operators:
    - id: it-gemeinde-01
      name: IT Gemeinde 01
      key_hash: %s
      tenants: [%s]
include:`, config.HashKey("operator-key"), tenantID(1)), 1)
	cfgPath := writeConfig(t, dir, mainText)
	p := start(t, dir, nil, "--config", cfgPath)

	admin := consoleLogin(t, adminAddr, "admin-key")
	op := consoleLogin(t, adminAddr, "operator-key")
	if ov := admin.get(""); !strings.Contains(ov, `<span id="generation">1</span>`) || strings.Contains(ov, `id="tenant-neustadt"`) {
		t.Fatalf("overview at start:\n%s", ov)
	}

	writeTenant("neustadt.yaml", reloadTenant("neustadt", 41, fileDrop(filepath.Join(dir, "drop"))+
		"            answers:\n              key_hash: "+config.HashKey("answers-key")+"\n"))
	if code, out, errOut := run(t, dir, []string{"AMTSBOTE_ADMIN_KEY=admin-key"}, "", "reload", "--config", cfgPath); code != 0 {
		t.Fatalf("reload: exit %d\n%s%s", code, out, errOut)
	}
	ov := admin.get("")
	if !strings.Contains(ov, `<span id="generation">2</span>`) || !strings.Contains(ov, `id="tenant-neustadt"`) {
		t.Fatalf("admin's overview after the reload:\n%s", ov)
	}
	if ov := op.get(""); strings.Contains(ov, `id="tenant-neustadt"`) || !strings.Contains(ov, `id="tenant-gemeinde-01"`) ||
		!strings.Contains(ov, `<span id="generation">2</span>`) {
		t.Fatalf("operator's overview after the reload:\n%s", ov)
	}

	// An answer of the new tenant that refers to nothing known: stored unmatched.
	ref := uuid.NewString()
	req, err := http.NewRequest(http.MethodPost, "http://"+p.addr+"/v1/answers",
		bytes.NewReader(answerstest.Render(t, answerstest.Eingangsbestaetigung, answerstest.Refs{Reference: ref})))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer answers-key")
	req.Header.Set("Content-Type", "application/xml")
	if code, rc := do(t, req); code != http.StatusAccepted || rc["matched"] != false {
		t.Fatalf("answer of the new tenant: %d %v", code, rc)
	}
	list := admin.get("answers")
	m := regexp.MustCompile(`href="/console/answers/([0-9a-f-]{36})"`).FindStringSubmatch(list)
	if m == nil || !strings.Contains(list, ref) {
		t.Fatalf("unmatched answer not listed:\n%s", list)
	}
	if l := op.get("answers"); strings.Contains(l, ref) {
		t.Fatal("the operator of another tenant sees the answer")
	}
	page := admin.get("answers/" + m[1])
	confirm := admin.post("answers/"+m[1]+"/discard", url.Values{"reason": {"Irrläufer"}}, page)
	done := admin.post("answers/"+m[1]+"/discard", url.Values{"reason": {"Irrläufer"}, "confirm": {"yes"}}, confirm)
	if !strings.Contains(done, `data-state="discarded"`) || !strings.Contains(done, "Irrläufer") {
		t.Fatalf("after discard:\n%s", done)
	}
	if l := admin.get("answers"); strings.Contains(l, ref) {
		t.Fatal("the discarded answer is still listed")
	}
}
