package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/config"
)

// TestOperatorIsolationAdminAPI: against the real binary, an operator
// scoped to musterstadt can neither read nor replay nor discard anderstadt's
// messages on any admin endpoint, replays its own, and wrong keys are
// throttled with 429 and Retry-After.
func TestOperatorIsolationAdminAPI(t *testing.T) {
	t.Parallel()
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "abgelehnt", http.StatusBadRequest)
	}))
	defer receiver.Close()
	dir := t.TempDir()
	adminAddr := freeAddr(t)
	text := fmt.Sprintf(consoleConfig, dir, config.HashKey("portal-key"), receiver.URL, adminAddr,
		config.HashKey("admin-key"), config.HashKey("operator-key"), config.HashKey("answers-key")) + "  failed_key_limit: 3\n"
	p := start(t, dir, nil, "--config", writeConfig(t, dir, text))

	get := func(path, key string) (int, map[string]any) {
		t.Helper()
		r, _ := http.NewRequest(http.MethodGet, "http://"+adminAddr+path, nil)
		r.Header.Set("Authorization", "Bearer "+key)
		return do(t, r)
	}
	post := func(path, key, body string) (int, map[string]any) {
		t.Helper()
		r, _ := http.NewRequest(http.MethodPost, "http://"+adminAddr+path, strings.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+key)
		r.Header.Set("Content-Type", "application/json")
		return do(t, r)
	}
	deadIDs := func(tenant string) []string {
		_, body := get("/admin/v1/messages?status=dead&tenant="+tenant, "admin-key")
		var ids []string
		msgs, _ := body["messages"].([]any)
		for _, m := range msgs {
			ids = append(ids, m.(map[string]any)["id"].(string))
		}
		return ids
	}
	p.accept(t, "portal-key", "", demoBody(t))
	anderSub := p.accept(t, "portal-key", "", []byte(strings.Replace(string(demoBody(t)),
		`"tenant": "musterstadt"`, `"tenant": "anderstadt"`, 1)))
	waitFor(t, 30*time.Second, "both messages dead", func() bool {
		return len(deadIDs("musterstadt")) == 1 && len(deadIDs("anderstadt")) == 1
	})
	own, other := deadIDs("musterstadt")[0], deadIDs("anderstadt")[0]

	for _, c := range []struct{ method, path, body string }{
		{http.MethodGet, "/admin/v1/messages/" + other, ""},
		{http.MethodGet, "/admin/v1/messages?tenant=anderstadt", ""},
		{http.MethodGet, "/admin/v1/submissions/" + anderSub + "/events", ""},
		{http.MethodPost, "/admin/v1/messages/" + other + "/replay", `{"reason":"x"}`},
		{http.MethodPost, "/admin/v1/messages/" + other + "/discard", `{"reason":"x"}`},
		{http.MethodPost, "/admin/v1/replay", `{"tenant":"anderstadt","reason":"x"}`},
	} {
		var code int
		var body map[string]any
		if c.method == http.MethodGet {
			code, body = get(c.path, "operator-key")
		} else {
			code, body = post(c.path, "operator-key", c.body)
		}
		if code != http.StatusNotFound {
			t.Errorf("%s %s as operator: %d %v", c.method, c.path, code, body)
		}
	}
	_, list := get("/admin/v1/messages?status=dead", "operator-key")
	if s := fmt.Sprint(list); !strings.Contains(s, own) || strings.Contains(s, other) {
		t.Fatalf("operator's dead letters: %v", list)
	}
	if code, body := post("/admin/v1/replay", "operator-key", `{"reason":"Empfänger geprüft"}`); code != http.StatusOK || body["replayed"] != float64(1) {
		t.Fatalf("operator's replay of all: %d %v", code, body)
	}
	if ids := deadIDs("anderstadt"); len(ids) != 1 || ids[0] != other {
		t.Fatalf("anderstadt's dead letters after the operator's replay: %v", ids)
	}

	// Wrong keys: 401, then 429 with Retry-After, also for the right key.
	for i := 0; i < 3; i++ {
		if code, _ := get("/admin/v1/messages", "wrong-key"); code != http.StatusUnauthorized {
			t.Fatalf("wrong key %d: %d", i, code)
		}
	}
	r, _ := http.NewRequest(http.MethodGet, "http://"+adminAddr+"/admin/v1/messages", nil)
	r.Header.Set("Authorization", "Bearer admin-key")
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("after the limit: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if strings.Contains(p.stderr.String(), "wrong-key") {
		t.Fatal("the log shows a key")
	}
	if code := p.stop(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("exit %d", code)
	}
}
