package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/internal/testlog"
)

// serveDemo runs serve in-process on the demo configuration with every
// listener on a free port, the drain delay off and the shutdown timeout
// 200ms. It returns the portal API's address and a stop that cancels serve
// and returns its exit code and log.
func serveDemo(t *testing.T) (addr string, stop func() (int, string)) {
	t.Helper()
	dir := t.TempDir()
	var yaml, errOut bytes.Buffer
	if code := run([]string{"demo-config", "--data-dir", dir}, &yaml, &errOut); code != 0 {
		t.Fatalf("demo-config: exit %d: %s", code, errOut.String())
	}
	cfg := yaml.String()
	for old, repl := range map[string]string{
		"listen: 127.0.0.1:8080": "listen: 127.0.0.1:0", "listen: 127.0.0.1:8081": "listen: 127.0.0.1:0",
		"shutdown_timeout: 30s": "shutdown_timeout: 200ms", "drain_delay: 1s": "drain_delay: 0s",
	} {
		if !strings.Contains(cfg, old) {
			t.Fatalf("demo-config has no %q", old)
		}
		cfg = strings.Replace(cfg, old, repl, 1)
	}
	path := filepath.Join(dir, "amtsbote.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	logs := &testlog.Buffer{}
	code := make(chan int, 1)
	go func() { code <- serve(ctx, []string{"--config", path, "--data-dir", dir}, &bytes.Buffer{}, logs) }()
	t.Cleanup(cancel)
	deadline := time.Now().Add(30 * time.Second)
	for addr == "" {
		for _, line := range strings.Split(logs.String(), "\n") {
			var rec struct{ Msg, Listen string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "amtsbote started" {
				addr = rec.Listen
			}
		}
		select {
		case c := <-code:
			t.Fatalf("serve exited with %d before it started:\n%s", c, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start within 30s:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return addr, func() (int, string) {
		cancel()
		select {
		case c := <-code:
			return c, logs.String()
		case <-time.After(30 * time.Second):
			t.Fatalf("serve did not stop within 30s:\n%s", logs.String())
			return 0, ""
		}
	}
}

// serve exits 0 after a clean stop, and 1 when a part fails while stopping:
// here the portal API, whose request in flight (headers half sent) does not
// finish within the shutdown timeout. The log names the part.
func TestServeExitCode(t *testing.T) {
	t.Setenv(envDemoPortalKey, "")
	t.Setenv("AMTSBOTE_DATABASE_URL", "")
	t.Run("clean stop", func(t *testing.T) {
		_, stop := serveDemo(t)
		if code, logs := stop(); code != 0 {
			t.Errorf("exit %d after a clean stop, want 0:\n%s", code, logs)
		}
	})
	t.Run("request outlasts the shutdown timeout", func(t *testing.T) {
		addr, stop := serveDemo(t)
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Write([]byte("POST /v1/submissions HTTP/1.1\r\nHost: x\r\n")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond) // the server reads the first bytes: the connection is active
		code, logs := stop()
		if code != 1 {
			t.Errorf("exit %d, want 1:\n%s", code, logs)
		}
		if !strings.Contains(logs, `"msg":"part failed while stopping","part":"http servers"`) {
			t.Errorf("no error naming the part in the log:\n%s", logs)
		}
	})
}
