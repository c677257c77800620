package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/config"
)

// binary is the amtsbote command built once for the end-to-end tests, which run it
// as operators do: as a process that can be signalled and killed.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "amtsbote-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "amtsbote")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build amtsbote:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a running amtsbote process.
type proc struct {
	cmd    *exec.Cmd
	addr   string
	stdout *syncBuffer
	stderr *syncBuffer
	done   chan error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// start runs `amtsbote serve` with args in dir and waits until it answers HTTP.
func start(t *testing.T, dir string, env []string, args ...string) *proc {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(binary, append([]string{"serve", "--listen", addr}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	p := &proc{cmd: cmd, addr: addr, stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("amtsbote %s stderr:\n%s", addr, p.stderr.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/v1/submissions/x")
		if err == nil {
			resp.Body.Close()
			return p
		}
		select {
		case err := <-p.done:
			t.Fatalf("amtsbote exited during start-up: %v\n%s", err, p.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("amtsbote did not answer on %s within 30s\n%s", addr, p.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop sends sig and returns the exit code.
func (p *proc) stop(t *testing.T, sig syscall.Signal) int {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		t.Fatalf("amtsbote did not exit within 60s after %v", sig)
	}
	return p.cmd.ProcessState.ExitCode()
}

func (p *proc) post(t *testing.T, key, idemKey string, body []byte) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+p.addr+"/v1/submissions", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	return do(t, req)
}

func (p *proc) status(t *testing.T, key, id string) map[string]any {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+p.addr+"/v1/submissions/"+id, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	code, body := do(t, req)
	if code != http.StatusOK {
		t.Fatalf("GET status: %d %v", code, body)
	}
	return body
}

func do(t *testing.T, req *http.Request) (int, map[string]any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatalf("%s %s: %d, body is not JSON: %q", req.Method, req.URL.Path, resp.StatusCode, raw)
	}
	return resp.StatusCode, body
}

// destination returns the only destination entry of a status answer.
func destination(t *testing.T, status map[string]any) map[string]any {
	t.Helper()
	ds, ok := status["destinations"].([]any)
	if !ok || len(ds) != 1 {
		t.Fatalf("status has destinations %v, want exactly one", status["destinations"])
	}
	return ds[0].(map[string]any)
}

// waitFor polls cond until it holds.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func demoBody(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("../../testdata/submissions/demo.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestQuickstart is the README's example: the demo configuration, a POST of
// testdata/submissions/demo.json, the XML file in the drop directory within a
// second, GET says delivered, SIGTERM exits 0.
func TestQuickstart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := start(t, dir, []string{"AMTSBOTE_DEMO_PORTAL_KEY=demo-key"})

	code, body := p.post(t, "demo-key", "quickstart-1", demoBody(t))
	if code != http.StatusAccepted || body["status"] != "accepted" {
		t.Fatalf("POST: %d %v", code, body)
	}
	accepted := time.Now()
	id := body["id"].(string)
	dropDir := filepath.Join(dir, "amtsbote-data", "drop", "musterstadt", "meldewesen.wohnungsgeberbestaetigung")
	var files []string
	waitFor(t, time.Second, "XML file in "+dropDir, func() bool {
		files, _ = filepath.Glob(filepath.Join(dropDir, "*.xml"))
		return len(files) == 1
	})
	t.Logf("file appeared %v after the 202", time.Since(accepted).Round(time.Millisecond))
	xml, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(xml, []byte("<?xml")) || !bytes.Contains(xml, []byte(id)) {
		t.Fatalf("dropped file is not the submission's XML:\n%s", xml)
	}

	var d map[string]any
	waitFor(t, 5*time.Second, "status delivered", func() bool {
		st := p.status(t, "demo-key", id)
		d = destination(t, st)
		return st["status"] == "delivered"
	})
	if d["state"] != "delivered" || d["attempts"] != 1.0 || filepath.Base(files[0]) != d["message_id"].(string)+".xml" {
		t.Fatalf("destination after delivery: %v (file %s)", d, files[0])
	}
	if got := p.stop(t, syscall.SIGTERM); got != 0 {
		t.Fatalf("exit code after SIGTERM: %d\n%s", got, p.stderr.String())
	}
	logs := p.stderr.String()
	for _, want := range []string{`"msg":"amtsbote started"`, `"msg":"shutting down: intake stops"`, `"msg":"amtsbote stopped"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s", want)
		}
	}
	if strings.Contains(logs, "Größmann") || strings.Contains(logs, "demo-key") {
		t.Errorf("logs contain personal data or the portal key:\n%s", logs)
	}
}

const retryConfig = `
server:
  shutdown_timeout: 5s
database:
  path: %[1]s/amtsbote.db
relay:
  lease: 2s
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
            type: filedrop
            filedrop:
              dir: %[1]s/drop
            retry:
              initial_interval: 200ms
              max_interval: 2s
portals:
  - id: demo-portal
    key_hash: %[2]s
    tenants: [musterstadt]
    procedures: [meldewesen.wohnungsgeberbestaetigung]
`

func writeConfig(t *testing.T, dir, text string) string {
	t.Helper()
	path := filepath.Join(dir, "amtsbote.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func attemptTimes(t *testing.T, d map[string]any) (started, finished []time.Time) {
	t.Helper()
	log, _ := d["attempt_log"].([]any)
	for _, a := range log {
		m := a.(map[string]any)
		s, err1 := time.Parse(time.RFC3339Nano, m["started_at"].(string))
		f, err2 := time.Parse(time.RFC3339Nano, m["finished_at"].(string))
		if err1 != nil || err2 != nil {
			t.Fatalf("attempt times: %v %v", err1, err2)
		}
		started, finished = append(started, s), append(finished, f)
	}
	return started, finished
}

// TestAcceptedSurvivesOutageAndKill: with the drop directory unusable, an accepted
// submission is retried with growing delays, visible in GET; the server is killed
// with SIGKILL between the 202 and the delivery; after a restart, and once the
// directory is usable, the message is delivered.
func TestAcceptedSurvivesOutageAndKill(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := writeConfig(t, dir, fmt.Sprintf(retryConfig, dir, config.HashKey("retry-key")))
	// A regular file where the drop directory should be: unwritable even for root.
	obstruction := filepath.Join(dir, "drop")
	if err := os.WriteFile(obstruction, []byte("not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := start(t, dir, nil, "--config", cfg)
	code, body := p.post(t, "retry-key", "", demoBody(t))
	if code != http.StatusAccepted {
		t.Fatalf("POST: %d %v", code, body)
	}
	id := body["id"].(string)

	var d map[string]any
	waitFor(t, 20*time.Second, "four failed attempts", func() bool {
		d = destination(t, p.status(t, "retry-key", id))
		return d["attempts"].(float64) >= 4
	})
	if d["state"] != "retrying" || !strings.Contains(d["last_error"].(string), "not a directory") || d["next_attempt_at"] == nil {
		t.Fatalf("while the directory is unusable: %v", d)
	}
	started, finished := attemptTimes(t, d)
	// Scheduled delays: 200ms·2^(n-1) with ±50% jitter, so the third delay
	// (≥ 400ms) always exceeds the first (≤ 300ms).
	first, third := started[1].Sub(finished[0]), started[3].Sub(finished[2])
	if third <= first {
		t.Fatalf("delays do not grow: first %v, third %v", first, third)
	}
	t.Logf("delays between attempts: first %v, third %v", first, third)

	if got := p.stop(t, syscall.SIGKILL); got != -1 {
		t.Fatalf("SIGKILL: exit code %d", got)
	}
	if err := os.Remove(obstruction); err != nil {
		t.Fatal(err)
	}
	p = start(t, dir, nil, "--config", cfg)
	waitFor(t, 20*time.Second, "delivery after restart", func() bool {
		d = destination(t, p.status(t, "retry-key", id))
		return d["state"] == "delivered"
	})
	if _, err := os.Stat(filepath.Join(dir, "drop", "musterstadt", "meldewesen.wohnungsgeberbestaetigung", d["message_id"].(string)+".xml")); err != nil {
		t.Fatalf("delivered, but no file: %v", err)
	}
	if got := p.stop(t, syscall.SIGTERM); got != 0 {
		t.Fatalf("exit code after SIGTERM: %d", got)
	}
}

// TestCheckConfig: a valid file passes; a broken one lists every problem and exits 1.
func TestCheckConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := writeConfig(t, dir, fmt.Sprintf(retryConfig, dir, config.HashKey("k")))
	var out, errOut bytes.Buffer
	if code := run([]string{"check-config", good}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "ok") {
		t.Fatalf("good config: exit %d, stdout %q, stderr %q", code, out.String(), errOut.String())
	}
	badDir := t.TempDir()
	bad := fmt.Sprintf(retryConfig, badDir, "sha256:nothex")
	bad = strings.Replace(bad, `ags: "09162000"`, `ags: "0916"`, 1)
	bad = strings.Replace(bad, "type: filedrop", "type: carrier-pigeon", 1)
	path := writeConfig(t, badDir, bad)
	out.Reset()
	errOut.Reset()
	if code := run([]string{"check-config", path}, &out, &errOut); code != 1 {
		t.Fatalf("bad config: exit %d, want 1", code)
	}
	for _, want := range []string{"tenants[0].ags", "portals[0].key_hash", "tenants[0].procedures[0].destinations[0].type"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("check-config output lacks %s:\n%s", want, errOut.String())
		}
	}
}

func TestVersionAndUsage(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	if code := run([]string{"version"}, &out, &errOut); code != 0 || !strings.HasPrefix(out.String(), "amtsbote ") {
		t.Fatalf("version: exit %d, %q", code, out.String())
	}
	if code := run([]string{"frobnicate"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "unknown command") {
		t.Fatalf("unknown command: exit %d, %q", code, errOut.String())
	}
}

// TestShutdownAnswers503: after SIGTERM, new requests get 503 with Retry-After
// during the drain delay, then the process exits 0.
func TestShutdownAnswers503(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := start(t, dir, []string{"AMTSBOTE_DEMO_PORTAL_KEY=demo-key"})
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "draining logged", func() bool {
		return strings.Contains(p.stderr.String(), "shutting down: intake stops")
	})
	req, err := http.NewRequest(http.MethodPost, "http://"+p.addr+"/v1/submissions", bytes.NewReader(demoBody(t)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer demo-key")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("request during the drain delay: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("during shutdown: %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatal("no exit within 30s")
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}

// TestDeployExampleIsValid keeps deploy/amtsbote.example.yaml true: with the
// environment it documents, check-config accepts it.
func TestDeployExampleIsValid(t *testing.T) {
	secrets := t.TempDir()
	if err := os.WriteFile(filepath.Join(secrets, "gewerbeportal.key_hash"), []byte(config.HashKey("k2")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	key := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)) // as encryption-key generate prints it
	if err := os.WriteFile(filepath.Join(secrets, "encryption-k1.key"), []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]string{"smtp.password": "smtp-secret", "buergerportal.callback_secret": strings.Repeat("c", 40)} {
		if err := os.WriteFile(filepath.Join(secrets, name), []byte(v+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("AMTSBOTE_DB_PASSWORD", "secret")
	t.Setenv("AMTSBOTE_BUERGERPORTAL_KEY_HASH", config.HashKey("k1"))
	t.Setenv("AMTSBOTE_SECRETS_DIR", secrets)
	t.Setenv("AMTSBOTE_DATABASE_URL", "")
	var out, errOut bytes.Buffer
	if code := run([]string{"check-config", "../../deploy/amtsbote.example.yaml"}, &out, &errOut); code != 0 {
		t.Fatalf("check-config deploy/amtsbote.example.yaml: exit %d\n%s", code, errOut.String())
	}
}
