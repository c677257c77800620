package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestHTTPDestination runs the binary with an http destination against a real
// receiver that fails every third request with 503: every accepted submission
// arrives, identified by its message id.
func TestHTTPDestination(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	requests := 0
	got := map[string]int{}
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		requests++
		if requests%3 == 0 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		if r.Header.Get("Authorization") != "Bearer fv-token" || !strings.HasPrefix(string(body), "<?xml") {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		got[r.Header.Get("X-Amtsbote-Message-Id")]++
	}))
	defer receiver.Close()

	dir := t.TempDir()
	text := httpConfig(dir, "http-key", receiver.URL+"/einreichungen", "10s", // 3 × timeout + 5s must fit
		"auth:", "  bearer: fv-token")
	p := start(t, dir, nil, "--config", writeConfig(t, dir, text))

	const n = 30
	ids := make([]string, 0, n)
	for i := range n {
		code, resp := p.post(t, "http-key", fmt.Sprintf("http-%d", i), demoBody(t))
		if code != http.StatusAccepted {
			t.Fatalf("POST %d: %d %v", i, code, resp)
		}
		ids = append(ids, resp["id"].(string))
	}
	for _, id := range ids {
		p.awaitStatus(t, "http-key", id, "delivered", 30*time.Second)
	}
	mu.Lock()
	if len(got) != n {
		t.Errorf("receiver got %d distinct messages, want %d", len(got), n)
	}
	mu.Unlock()
	if code := p.stop(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code after SIGTERM: %d", code)
	}
}
