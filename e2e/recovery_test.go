package e2e

import (
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

	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/outbox/postgres/pgtest"
)

// recoveryConfig routes each submission to an HTTP receiver and a file
// drop, with the default lease (10s, renewed while a delivery runs) and an
// HTTP timeout longer than the test, so that a hanging delivery is in
// flight when its process is killed. %[1]s is the directory, %[2]s the
// key hash, %[3]s the receiver's URL, %[4]s the database block.
const recoveryConfig = `
server:
  shutdown_timeout: 5s
%[4]s
relay:
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
              url: %[3]s
              timeout: 2m
          - id: archiv
            type: filedrop
            filedrop:
              dir: %[1]s/drop
portals:
  - id: demo-portal
    key_hash: %[2]s
    tenants: [musterstadt]
    procedures: [meldewesen.wohnungsgeberbestaetigung]
`

// hangingReceiver lets the first request of every message hang until the
// client goes away, and accepts every later one, noting the attempt header
// of each request by message id.
type hangingReceiver struct {
	mu       sync.Mutex
	attempts map[string][]string // message id -> X-Amtsbote-Attempt of each request
}

func newHangingReceiver(t *testing.T) (*hangingReceiver, *httptest.Server) {
	h := &hangingReceiver{attempts: map[string][]string{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		id := r.Header.Get("X-Amtsbote-Message-Id")
		h.mu.Lock()
		h.attempts[id] = append(h.attempts[id], r.Header.Get("X-Amtsbote-Attempt"))
		first := len(h.attempts[id]) == 1
		h.mu.Unlock()
		if first {
			<-r.Context().Done() // the sender was killed
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	return h, srv
}

func (h *hangingReceiver) requests() (messages, total int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, a := range h.attempts {
		total += len(a)
	}
	return len(h.attempts), total
}

func (h *hangingReceiver) headers(id string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.attempts[id]...)
}

// TestCrashRecovery: after kill -9 during deliveries, the interrupted
// messages are delivered again within 15s of the restart (SQLite), or by
// the surviving process (PostgreSQL, two processes); their attempt logs
// and attempt headers count the lost attempt, and no temporary file is
// left in the drop directory.
func TestCrashRecovery(t *testing.T) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) { t.Parallel(); crashRecovery(t, "") })
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		if os.Getenv("AMTSBOTE_TEST_POSTGRES") == "" {
			t.Skip("AMTSBOTE_TEST_POSTGRES not set")
		}
		crashRecovery(t, pgtest.NewDatabase(t))
	})
}

func crashRecovery(t *testing.T, pgURL string) {
	const key, n = "recovery-key", 3
	dir := t.TempDir()
	recv, srv := newHangingReceiver(t)
	db := "database:\n  path: " + dir + "/amtsbote.db"
	if pgURL != "" {
		db = "database:\n  url: " + pgURL
	}
	cfg := writeConfig(t, dir, fmt.Sprintf(recoveryConfig, dir, config.HashKey(key), srv.URL, db))
	first := start(t, dir, nil, "--config", cfg)

	body := demoBody(t)
	ids := make([]string, n)
	for i := range ids {
		ids[i] = first.accept(t, key, fmt.Sprintf("recovery-%d", i), body)
	}
	// Every HTTP delivery hangs in flight; the file drops are done.
	waitFor(t, 30*time.Second, "the first attempts in flight", func() bool {
		m, _ := recv.requests()
		return m == n
	})
	dropDir := filepath.Join(dir, "drop", "musterstadt", "meldewesen.wohnungsgeberbestaetigung")
	waitFor(t, 30*time.Second, "the file drops", func() bool {
		files, _ := filepath.Glob(filepath.Join(dropDir, "*.xml"))
		return len(files) == n
	})
	// What a process killed mid-write leaves behind, from some time ago:
	// removed when a process starts.
	stale := filepath.Join(dropDir, ".0e7c1a52-5b0d-4c9e-9f5e-2d8a7b6c5d4e.xml.4711.tmp")
	if err := os.WriteFile(stale, []byte("<partial"), 0o640); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-10 * time.Minute)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}

	var survivor *proc
	if pgURL != "" {
		survivor = start(t, dir, nil, "--config", cfg) // nothing to claim: all is leased to the first
	}
	first.stop(t, syscall.SIGKILL)

	restarted := time.Now()
	if survivor == nil {
		survivor = start(t, dir, nil, "--config", cfg)
		restarted = time.Now() // the restart is up
	}
	for _, id := range ids {
		st := survivor.awaitStatus(t, key, id, "delivered", time.Until(restarted.Add(15*time.Second)))
		for _, d := range st["destinations"].([]any) {
			d := d.(map[string]any)
			if d["destination"] != "fachverfahren" {
				continue
			}
			mid := d["message_id"].(string)
			log := d["attempt_log"].([]any)
			if d["attempts"] != float64(2) || len(log) != 2 {
				t.Fatalf("message %s: %v attempts, log %v; want 2: the lost one and the delivery", mid, d["attempts"], log)
			}
			lost, done := log[0].(map[string]any), log[1].(map[string]any)
			if lost["number"] != float64(1) || lost["outcome"] != "unknown" || lost["error"] != "outcome_unknown" ||
				done["number"] != float64(2) || done["outcome"] != "delivered" {
				t.Errorf("message %s: attempt log %v; want 1 unknown (outcome_unknown), 2 delivered", mid, log)
			}
			if got := recv.headers(mid); strings.Join(got, ",") != "1,2" {
				t.Errorf("message %s: the receiver saw attempt headers %v, want [1 2]", mid, got)
			}
		}
	}
	if time.Since(restarted) > 15*time.Second {
		t.Errorf("delivered again %v after the restart, want within 15s", time.Since(restarted).Round(time.Millisecond))
	}
	if _, total := recv.requests(); total != 2*n {
		t.Errorf("the receiver got %d requests, want %d", total, 2*n)
	}
	tmps, err := filepath.Glob(filepath.Join(dropDir, ".*.tmp"))
	if err != nil || len(tmps) != 0 {
		t.Errorf("temporary files left in the drop directory: %v (%v)", tmps, err)
	}
	xmls, _ := filepath.Glob(filepath.Join(dropDir, "*.xml"))
	if len(xmls) != n {
		t.Errorf("%d files dropped, want %d", len(xmls), n)
	}
}
