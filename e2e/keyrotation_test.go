package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/config"
)

// TestPortalKeyRotation runs the binary with a portal in an API key
// rotation: the previous key works next to the new one, /metrics counts its
// use and shows its expiry, and the start-up log names it. A second run,
// with the previous key expired, refuses it and warns at start-up.
func TestPortalKeyRotation(t *testing.T) {
	t.Parallel()
	const newKey, oldKey = "rotated-new-key-5d2a", "rotated-old-key-91fc"
	expires := time.Now().Add(time.Hour).Truncate(time.Second)
	configWith := func(dir string, expires time.Time) string {
		return withPreviousKey(fmt.Sprintf(retryConfig, dir, config.HashKey(newKey)), newKey, oldKey, expires)
	}

	t.Run("during", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		metricsAddr := freeAddr(t)
		p := start(t, dir, nil, "--config", writeConfig(t, dir, configWith(dir, expires)), "--metrics-listen", metricsAddr)
		code, body := p.post(t, oldKey, "rot-1", demoBody(t))
		if code != http.StatusAccepted {
			t.Fatalf("POST with the previous key: %d %v", code, body)
		}
		id := body["id"].(string)
		if st := p.status(t, newKey, id); st["id"] != id {
			t.Fatalf("status with the new key: %v", st)
		}
		if code, _ := p.post(t, "rotated-other-key", "", demoBody(t)); code != http.StatusUnauthorized {
			t.Fatalf("unknown key: %d, want 401", code)
		}
		got := scrape(t, "http://"+metricsAddr+"/metrics")
		for k, w := range map[string]float64{
			`amtsbote_portal_previous_key_requests_total{portal="demo-portal"}`:           1,
			`amtsbote_portal_previous_key_expiry_timestamp_seconds{portal="demo-portal"}`: float64(expires.Unix()),
		} {
			if v, ok := got[k]; !ok || v != w {
				t.Errorf("%s = %v (present %v), want %v", k, v, ok, w)
			}
		}
		if code := p.stop(t, syscall.SIGTERM); code != 0 {
			t.Fatalf("exit code %d", code)
		}
		logs := p.stderr.String()
		for _, s := range []string{newKey, oldKey} {
			if strings.Contains(logs, s) {
				t.Errorf("the log contains an API key")
			}
		}
		if !strings.Contains(logs, `"msg":"portal's previous API key accepted until it expires","portal_id":"demo-portal","expires":"`+
			expires.Format(time.RFC3339)) {
			t.Errorf("start-up log does not name the rotation:\n%s", logs)
		}
		if strings.Count(logs, `"api_key":"previous"`) != 1 {
			t.Errorf("want exactly one request logged with api_key previous:\n%s", logs)
		}
	})

	t.Run("expired", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		p := start(t, dir, nil, "--config", writeConfig(t, dir, configWith(dir, time.Now().Add(-time.Minute))))
		if code, body := p.post(t, oldKey, "rot-2", demoBody(t)); code != http.StatusUnauthorized {
			t.Fatalf("POST with the expired previous key: %d %v, want 401", code, body)
		}
		if code, body := p.post(t, newKey, "rot-3", demoBody(t)); code != http.StatusAccepted {
			t.Fatalf("POST with the new key: %d %v", code, body)
		}
		if code := p.stop(t, syscall.SIGTERM); code != 0 {
			t.Fatalf("exit code %d", code)
		}
		if logs := p.stderr.String(); !strings.Contains(logs,
			`"level":"WARN","msg":"portal's previous API key has expired and is refused; remove portals[0].previous_key","portal_id":"demo-portal"`) {
			t.Errorf("start-up log does not warn about the expired previous key:\n%s", logs)
		}
	})
}

// withPreviousKey gives the portal of retryConfig whose key is key the
// previous key oldKey, expiring at expires.
func withPreviousKey(text, key, oldKey string, expires time.Time) string {
	line := "    key_hash: " + config.HashKey(key) + "\n"
	return strings.Replace(text, line, line+"    previous_key:\n      hash: "+config.HashKey(oldKey)+
		"\n      expires: "+expires.Format(time.RFC3339)+"\n", 1)
}
