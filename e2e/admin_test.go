package e2e

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/outbox/outboxtest"
	"github.com/amtsbote/amtsbote/outbox/sqlite"
)

// TestAdminAPIReplaysDeadLetter: serve with an admin block answers the admin
// API on its own listener, only with the admin key, and a dead message
// replayed there is delivered by the running relay.
func TestAdminAPIReplaysDeadLetter(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "amtsbote.db"))
	if err != nil {
		t.Fatal(err)
	}
	// A dead letter, as the relay leaves one, before serve starts.
	dead := outbox.Message{ID: uuid.NewString(), Topic: "musterstadt/meldewesen.wohnungsgeberbestaetigung/fachverfahren",
		Payload: []byte("<name>Erika Mustermann</name>"), Metadata: map[string]string{outbox.MetaContentType: "application/xml"}}
	outboxtest.Publish(t, st, dead)
	outboxtest.Kill(t, st, dead)
	st.Close()

	adminAddr := freeAddr(t)
	text := fmt.Sprintf(retryConfig, dir, config.HashKey("portal-key")) +
		fmt.Sprintf("admin:\n  listen: %s\n  key_hash: %s\n", adminAddr, config.HashKey("admin-key"))
	p := start(t, dir, nil, "--config", writeConfig(t, dir, text))

	adminReq := func(method, path, key, body string) (int, map[string]any) {
		t.Helper()
		req, err := http.NewRequest(method, "http://"+adminAddr+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+key)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		return do(t, req)
	}
	if code, _ := adminReq(http.MethodGet, "/admin/v1/messages", "portal-key", ""); code != http.StatusUnauthorized {
		t.Fatalf("admin API with the portal key: %d", code)
	}
	req, _ := http.NewRequest(http.MethodGet, "http://"+p.addr+"/v1/submissions/x", nil)
	req.Header.Set("Authorization", "Bearer admin-key")
	if code, _ := do(t, req); code != http.StatusUnauthorized {
		t.Fatalf("portal API with the admin key: %d", code)
	}
	code, body := adminReq(http.MethodGet, "/admin/v1/messages?status=dead", "admin-key", "")
	if code != http.StatusOK || !strings.Contains(fmt.Sprint(body), dead.ID) {
		t.Fatalf("dead letters: %d %v", code, body)
	}
	if code, body := adminReq(http.MethodPost, "/admin/v1/messages/"+dead.ID+"/replay", "admin-key", `{"reason":"test"}`); code != http.StatusOK {
		t.Fatalf("replay: %d %v", code, body)
	}
	waitFor(t, 15*time.Second, "replayed message delivered", func() bool {
		_, body := adminReq(http.MethodGet, "/admin/v1/messages/"+dead.ID, "admin-key", "")
		return body["state"] == "delivered"
	})
	if code := p.stop(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("exit %d", code)
	}
}
