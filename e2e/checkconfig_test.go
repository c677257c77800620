package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/config"
)

// TestCheckConfig: a valid file passes; a broken one lists every problem and exits 1.
func TestCheckConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := writeConfig(t, dir, fmt.Sprintf(retryConfig, dir, config.HashKey("k")))
	if code, out, errOut := cli(t, dir, "check-config", good); code != 0 || !strings.Contains(out, "ok") {
		t.Fatalf("good config: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	badDir := t.TempDir()
	bad := fmt.Sprintf(retryConfig, badDir, "sha256:nothex")
	bad = strings.Replace(bad, `ags: "09162000"`, `ags: "0916"`, 1)
	bad = strings.Replace(bad, "type: filedrop", "type: carrier-pigeon", 1)
	path := writeConfig(t, badDir, bad)
	code, _, errOut := cli(t, badDir, "check-config", path)
	if code != 1 {
		t.Fatalf("bad config: exit %d, want 1", code)
	}
	for _, want := range []string{"tenants[0].ags", "portals[0].key_hash", "tenants[0].procedures[0].destinations[0].type"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("check-config output lacks %s:\n%s", want, errOut)
		}
	}
}

// TestCheckConfigPreviousKey: check-config accepts a configuration with a
// previous key, active or expired, and says which.
func TestCheckConfigPreviousKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	text := fmt.Sprintf(retryConfig, dir, config.HashKey("new"))
	for _, tt := range []struct {
		expires time.Time
		want    string
	}{
		{time.Now().Add(24 * time.Hour), "note: portal demo-portal accepts its previous API key until "},
		{time.Now().Add(-time.Hour), "warning: portal demo-portal: its previous API key expired at "},
	} {
		path := writeConfig(t, dir, withPreviousKey(text, "new", "old", tt.expires))
		code, out, errOut := cli(t, dir, "check-config", path)
		if code != 0 || !strings.Contains(out, "ok") {
			t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
		}
		if want := tt.want + tt.expires.Format(time.RFC3339); !strings.Contains(errOut, want) {
			t.Errorf("check-config stderr lacks %q:\n%s", want, errOut)
		}
	}
}
