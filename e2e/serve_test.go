package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/config"
)

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

	d := destination(t, p.awaitStatus(t, "demo-key", id, "delivered", 5*time.Second))
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
	id := p.accept(t, "retry-key", "", demoBody(t))

	var d map[string]any
	waitFor(t, 20*time.Second, "four failed attempts", func() bool {
		d = destination(t, p.status(t, "retry-key", id))
		return d["attempts"].(float64) >= 4
	})
	// The portal sees the reason, not the server's path (issue #19, point 6).
	if d["state"] != "retrying" || d["last_error"] != "storage_unavailable" || d["next_attempt_at"] == nil {
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
