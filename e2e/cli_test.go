package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/amtsbote/amtsbote/adapters/openapi"
	"github.com/amtsbote/amtsbote/config"
)

// TestPortalKeyHashAsSecretFile: portal-key --hash prints only the hash, so
// its output configures a key_hash {file: ...} as it is.
func TestPortalKeyHashAsSecretFile(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := run(t, "", nil, "demo-key\n", "portal-key", "--hash")
	const want = "sha256:c48a01f49fd0f2cc404bc3cbbc80e91457a3d41bb429a695243de4c61794155c\n"
	if code != 0 || stdout != want {
		t.Fatalf("portal-key --hash: exit %d, stdout %q, stderr %q; want %q", code, stdout, stderr, want)
	}
	dir := t.TempDir()
	hashFile := filepath.Join(dir, "portal.key_hash")
	if err := os.WriteFile(hashFile, []byte(stdout), 0o600); err != nil {
		t.Fatal(err)
	}
	minimal, err := os.ReadFile("../deploy/amtsbote.minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text, n := replaceLine(string(minimal), "key_hash:", "    key_hash: {file: "+hashFile+"}")
	if n != 1 {
		t.Fatalf("deploy/amtsbote.minimal.yaml has %d key_hash lines, want 1", n)
	}
	path := filepath.Join(dir, "amtsbote.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, stdout, stderr := run(t, "", []string{config.EnvDatabaseURL + "="}, "", "check-config", path); code != 0 {
		t.Fatalf("check-config with the key_hash file: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	cfg, err := config.Parse([]byte(text), noEnv, os.ReadFile)
	if err != nil {
		t.Fatalf("configuration with the key_hash file: %v", err)
	}
	if !cfg.Portals[0].KeyMatches("demo-key") {
		t.Error("the key_hash from portal-key --hash does not authenticate its key")
	}

	// Errors name the command.
	code, stdout, stderr = run(t, "", nil, "", "portal-key", "--hash")
	if code != 1 || stdout != "" || !strings.HasPrefix(stderr, "portal-key: ") {
		t.Errorf("portal-key --hash without a key: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// replaceLine replaces each line containing marker by line and returns the
// text and how many lines it replaced.
func replaceLine(text, marker, line string) (string, int) {
	lines := strings.Split(text, "\n")
	n := 0
	for i, l := range lines {
		if strings.Contains(l, marker) {
			lines[i] = line
			n++
		}
	}
	return strings.Join(lines, "\n"), n
}

// envDemoPortalKey is the variable serve and demo-config read the demo key from.
const envDemoPortalKey = "AMTSBOTE_DEMO_PORTAL_KEY"

func noEnv(string) (string, bool) { return "", false }

// TestMinimalConfigPasses: check-config accepts deploy/amtsbote.minimal.yaml
// as it is (TestDeployExampleIsValid checks deploy/amtsbote.example.yaml).
func TestMinimalConfigPasses(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := run(t, "", []string{config.EnvDatabaseURL + "="}, "", "check-config", "../deploy/amtsbote.minimal.yaml")
	if code != 0 || !strings.Contains(stdout, ": ok (1 tenants, 1 portals, 1 procedures)") {
		t.Errorf("check-config deploy/amtsbote.minimal.yaml: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// TestDemoConfig: demo-config prints the built-in demo configuration as YAML
// that check-config accepts and that loads to the configuration serve runs
// without --config.
func TestDemoConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data $HOME ${X}") // Load expands ${...}: a dollar sign survives
	code, stdout, stderr := run(t, "", []string{envDemoPortalKey + "=demo-key"}, "", "demo-config", "--data-dir", dataDir)
	if code != 0 || stderr != "" {
		t.Fatalf("demo-config: exit %d, stderr %q", code, stderr)
	}
	path := filepath.Join(dir, "demo.yaml")
	if err := os.WriteFile(path, []byte(stdout), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := run(t, "", []string{config.EnvDatabaseURL + "="}, "", "check-config", path)
	if code != 0 || !strings.Contains(out, ": ok (1 tenants, 1 portals, 4 procedures)") {
		t.Fatalf("check-config of demo-config's output: exit %d, stdout %q, stderr %q\n%s", code, out, stderr, stdout)
	}
	got, err := config.Parse([]byte(stdout), noEnv, os.ReadFile)
	if err != nil {
		t.Fatal(err)
	}
	if want := config.Demo(dataDir, config.HashKey("demo-key")); !reflect.DeepEqual(got, want) {
		t.Errorf("demo-config's output loads to\n%+v\nwant the built-in\n%+v", got, want)
	}

	// Without a key given, a new one is printed to stderr and its hash configured.
	code, stdout, stderr = run(t, "", []string{envDemoPortalKey + "="}, "", "demo-config", "--data-dir", dataDir)
	_, key, found := strings.Cut(strings.TrimSpace(stderr), "): ")
	if code != 0 || !found || key == "" || !strings.Contains(stdout, config.HashKey(key)) {
		t.Errorf("demo-config without %s: exit %d, stderr %q; want the new key there and its hash in the YAML", envDemoPortalKey, code, stderr)
	}
}

// TestOpenAPICaching: serve's portal listener serves /openapi.yaml with
// Cache-Control and an ETag, and 304 to a client that has it.
func TestOpenAPICaching(t *testing.T) {
	t.Parallel()
	p := start(t, t.TempDir(), []string{envDemoPortalKey + "=demo-key", config.EnvDatabaseURL + "="})
	get := func(ifNoneMatch string) *http.Response {
		req, err := http.NewRequest(http.MethodGet, "http://"+p.addr+"/openapi.yaml", nil)
		if err != nil {
			t.Fatal(err)
		}
		if ifNoneMatch != "" {
			req.Header.Set("If-None-Match", ifNoneMatch)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	first := get("")
	etag := first.Header.Get("ETag")
	if first.StatusCode != http.StatusOK || first.Header.Get("Cache-Control") != "public, max-age=3600" || etag != openapi.ETag {
		t.Fatalf("GET /openapi.yaml: %d, Cache-Control %q, ETag %q", first.StatusCode, first.Header.Get("Cache-Control"), etag)
	}
	if again := get(etag); again.StatusCode != http.StatusNotModified {
		t.Errorf("GET /openapi.yaml with If-None-Match %s: %d, want 304", etag, again.StatusCode)
	}
	if code := p.stop(t, syscall.SIGTERM); code != 0 {
		t.Errorf("exit code %d after SIGTERM", code)
	}
}
