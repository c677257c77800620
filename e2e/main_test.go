package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/internal/testlog"
)

// binary is the amtsbote command, built once per test run by TestMain, which
// the scenarios run as operators do: as a process that can be signalled and
// killed.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "amtsbote-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "amtsbote")
	build := exec.Command("go", "build", "-o", binary, "../cmd/amtsbote")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build amtsbote:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// cli runs the binary with args in dir (a command other than serve, such as
// check-config or outbox) and returns its exit code and output.
func cli(t *testing.T, dir string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return run(t, dir, nil, "", args...)
}

// run runs the binary with args in dir (the test's directory when empty),
// env added to the process environment and stdin, and returns its exit code
// and output.
func run(t *testing.T, dir string, env []string, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			t.Fatalf("amtsbote %s: %v", strings.Join(args, " "), err)
		}
	}
	return cmd.ProcessState.ExitCode(), out.String(), errOut.String()
}

// xdomeaZIP ends the name of a dropped xdomea container, which xdomea names
// like the message inside it: <message id>_FVDaten.SGOAblegen.0605.zip.
const xdomeaZIP = "_FVDaten.SGOAblegen.0605.zip"

// proc is a running amtsbote process.
type proc struct {
	cmd    *exec.Cmd
	addr   string
	stdout *testlog.Buffer
	stderr *testlog.Buffer
	done   chan error
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

// start runs `amtsbote serve` with args in dir and waits until it has
// logged its start and answers HTTP. The port freeAddr found may be taken by
// another test's process before the gateway binds it: then the gateway exits
// and start tries another port, and a stranger on the port is never taken for
// the gateway, which must have logged its start first.
func start(t *testing.T, dir string, env []string, args ...string) *proc {
	t.Helper()
	for attempt := 1; ; attempt++ {
		p, err := startOnce(t, dir, env, args...)
		if err == nil {
			return p
		}
		if !strings.Contains(err.Error(), "address already in use") || attempt == 3 {
			t.Fatal(err)
		}
		t.Logf("attempt %d: %v; trying another port", attempt, err)
	}
}

func startOnce(t *testing.T, dir string, env []string, args ...string) (*proc, error) {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(binary, append([]string{"serve", "--listen", addr}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	p := &proc{cmd: cmd, addr: addr, stdout: &testlog.Buffer{}, stderr: &testlog.Buffer{}, done: make(chan error, 1)}
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
		select {
		case err := <-p.done:
			return nil, fmt.Errorf("amtsbote exited during start-up: %v\n%s", err, p.stderr.String())
		default:
		}
		if strings.Contains(p.stderr.String(), `"msg":"amtsbote started"`) {
			resp, err := http.Get("http://" + addr + "/v1/submissions/x")
			if err == nil {
				resp.Body.Close()
				return p, nil
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("amtsbote did not start on %s within 30s\n%s", addr, p.stderr.String())
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
	return p.postWith(t, key, "Idempotency-Key", idemKey, body)
}

// postWith posts a JSON submission with the portal key and, unless value
// is "", the header name: value.
func (p *proc) postWith(t *testing.T, key, name, value string, body []byte) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+p.addr+"/v1/submissions", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	if value != "" {
		req.Header.Set(name, value)
	}
	return do(t, req)
}

// accept posts body like post and returns the submission id of the 202
// Accepted it must get.
func (p *proc) accept(t *testing.T, key, idemKey string, body []byte) string {
	t.Helper()
	code, resp := p.post(t, key, idemKey, body)
	if code != http.StatusAccepted {
		t.Fatalf("POST: %d %v", code, resp)
	}
	return resp["id"].(string)
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

// awaitStatus polls the status of submission id until it is status and
// returns that answer.
func (p *proc) awaitStatus(t *testing.T, key, id, status string, within time.Duration) map[string]any {
	t.Helper()
	var st map[string]any
	waitFor(t, within, "status "+status, func() bool {
		st = p.status(t, key, id)
		return st["status"] == status
	})
	return st
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
	b, err := os.ReadFile("../testdata/submissions/demo.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
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

// httpConfig is retryConfig with key as the portal's key and, instead of
// the file drop, an HTTP destination at url with a 1s timeout and the further
// lines of its http block; lease must fit the attempts of one claim.
func httpConfig(dir, key, url, lease string, httpLines ...string) string {
	text := fmt.Sprintf(retryConfig, dir, config.HashKey(key))
	block := "            type: http\n            http:\n              url: " + url + "\n              timeout: 1s"
	for _, l := range httpLines {
		block += "\n              " + l
	}
	text = strings.Replace(text, "            type: filedrop\n            filedrop:\n              dir: "+dir+"/drop", block, 1)
	return strings.Replace(text, "lease: 2s", "lease: "+lease, 1)
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
