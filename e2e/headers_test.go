package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/amtsbote/amtsbote/config"
)

// TestSecurityHeadersOnEveryListener: the portal API, the admin API and the
// metrics listener answer with nosniff, and with no-store where the answer
// is not a cacheable document; and the data directory and database files
// are the owner's alone.
func TestSecurityHeadersOnEveryListener(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	adminAddr, metricsAddr := freeAddr(t), freeAddr(t)
	text := fmt.Sprintf(retryConfig, dir+"/data", config.HashKey("portal-key")) +
		fmt.Sprintf("admin:\n  listen: %s\n  key_hash: %s\n", adminAddr, config.HashKey("admin-key"))
	p := start(t, dir, nil, "--config", writeConfig(t, dir, text), "--metrics-listen", metricsAddr)

	for _, c := range []struct {
		url     string
		noStore bool
	}{
		{"http://" + p.addr + "/v1/submissions/x", true},
		{"http://" + p.addr + "/no-such-route", true},
		{"http://" + p.addr + "/openapi.yaml", false}, // a versioned document: its own caching
		{"http://" + adminAddr + "/admin/v1/messages", true},
		{"http://" + metricsAddr + "/metrics", true},
		{"http://" + metricsAddr + "/healthz", true},
		{"http://" + metricsAddr + "/readyz", true},
	} {
		resp, err := http.Get(c.url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s (%d): X-Content-Type-Options %q, want nosniff", c.url, resp.StatusCode, got)
		}
		if got := resp.Header.Get("Cache-Control"); c.noStore && got != "no-store" {
			t.Errorf("%s (%d): Cache-Control %q, want no-store", c.url, resp.StatusCode, got)
		}
	}

	for path, want := range map[string]os.FileMode{
		filepath.Join(dir, "data"):                    0o700,
		filepath.Join(dir, "data", "amtsbote.db"):     0o600,
		filepath.Join(dir, "data", "amtsbote.db-wal"): 0o600,
	} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode().Perm(), want)
		}
	}
}
