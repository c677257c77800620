package e2e

import (
	"bytes"
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
)

// remapConfig serves the declarative dog tax procedure of procedures/hundesteuer
// to an HTTP receiver at %[3]s.
const remapConfig = `server:
  shutdown_timeout: 5s
database:
  path: %[1]s/amtsbote.db
relay:
  lease: 30s
  poll_interval: 500ms
admin:
  listen: %[4]s
  key_hash: %[5]s
procedures:
  - id: steuern.hundesteuer-anmeldung
    name: Anmeldung eines Hundes zur Hundesteuer
    dir: procedures/hundesteuer
tenants:
  - id: musterstadt
    name: Stadt Musterstadt
    ags: "09162000"
    behoerdenkennung: "psw:09162000"
    procedures:
      - procedure: steuern.hundesteuer-anmeldung
        destinations:
          - id: steueramt
            type: http
            http:
              url: %[3]s
              timeout: 2s
portals:
  - id: demo-portal
    key_hash: %[2]s
    tenants: [musterstadt]
    procedures: ["*"]
`

// TestRemapAfterMappingFix: a bug in a declarative mapping (the owner's
// first name written as the family name) makes the receiver reject the
// message, which goes dead; the mapping is fixed and reloaded; a replay
// with remap (admin API for one message, amtsbote outbox replay --remap
// for another) delivers the corrected XML under the same message id, and
// the audit trail names the old and the new mapping version.
func TestRemapAfterMappingFix(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	procDir := filepath.Join(dir, "procedures", "hundesteuer")
	if err := os.MkdirAll(filepath.Join(procDir, "examples"), 0o750); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"procedure.yaml", "schema.json", "mapping.yaml", "examples/zwei-hunde.json", "examples/zwei-hunde.xml"} {
		b, err := os.ReadFile(filepath.Join("..", "testdata", "procedures", "hundesteuer", name))
		if err != nil {
			t.Fatal(err)
		}
		if name == "mapping.yaml" {
			fixed := "{element: hst:familienname, value: ./familienname}"
			if !bytes.Contains(b, []byte(fixed)) {
				t.Fatalf("mapping.yaml lacks %s", fixed)
			}
			if err := os.WriteFile(filepath.Join(procDir, name+".good"), b, 0o600); err != nil {
				t.Fatal(err)
			}
			b = bytes.Replace(b, []byte(fixed), []byte("{element: hst:familienname, value: ./vorname}"), 1)
		}
		if err := os.WriteFile(filepath.Join(procDir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// The author updates the golden output with the bug in it: the bug
	// passes check-config, as bugs do.
	updateGolden := func() {
		t.Helper()
		if code, out, errOut := cli(t, dir, "procedure", "test", procDir, "--update"); code != 0 {
			t.Fatalf("procedure test --update: exit %d\n%s%s", code, out, errOut)
		}
	}
	updateGolden()

	// The receiver accepts only a Halter with the family name Dvořák.
	var (
		mu       sync.Mutex
		received = map[string][]byte{} // by message id, the delivered XML
	)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !bytes.Contains(body, []byte("<hst:familienname>Dvořák</hst:familienname>")) {
			http.Error(w, "familienname fehlt oder ist falsch", http.StatusUnprocessableEntity)
			return
		}
		start := bytes.Index(body, []byte("<hst:nachrichtenUUID>"))
		end := bytes.Index(body, []byte("</hst:nachrichtenUUID>"))
		if start < 0 || end < start {
			http.Error(w, "no message id", http.StatusUnprocessableEntity)
			return
		}
		mu.Lock()
		received[string(body[start+len("<hst:nachrichtenUUID>"):end])] = body
		mu.Unlock()
	}))
	defer receiver.Close()

	adminAddr := freeAddr(t)
	cfgPath := writeConfig(t, dir, fmt.Sprintf(remapConfig, dir, config.HashKey("portal-key"), receiver.URL,
		adminAddr, config.HashKey("admin-key")))
	p := start(t, dir, nil, "--config", cfgPath)

	body, err := os.ReadFile("../testdata/procedures/hundesteuer/examples/zwei-hunde.json")
	if err != nil {
		t.Fatal(err)
	}
	admin := func(method, path, reqBody string) (int, map[string]any) {
		t.Helper()
		req, err := http.NewRequest(method, "http://"+adminAddr+path, strings.NewReader(reqBody))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer admin-key")
		if reqBody != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		return do(t, req)
	}
	// Two submissions, each with one message, both rejected: dead.
	var subs, msgs []string
	for range 2 {
		id := p.accept(t, "portal-key", "", body)
		subs = append(subs, id)
		var msgID string
		waitFor(t, 60*time.Second, "message of "+id+" dead", func() bool {
			_, list := admin(http.MethodGet, "/admin/v1/messages?status=dead", "")
			for _, m := range list["messages"].([]any) {
				mm := m.(map[string]any)
				if mm["submission_id"] == id {
					msgID = mm["id"].(string)
					return true
				}
			}
			return false
		})
		msgs = append(msgs, msgID)
	}

	// A plain replay sends the same wrong XML again: refused once more.
	// Instead the mapping is fixed and reloaded.
	good, err := os.ReadFile(filepath.Join(procDir, "mapping.yaml.good"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(procDir, "mapping.yaml"), good, 0o600); err != nil {
		t.Fatal(err)
	}
	updateGolden()
	code, out, errOut := run(t, dir, []string{"AMTSBOTE_ADMIN_KEY=admin-key"}, "", "reload", "--config", cfgPath)
	if code != 0 || !strings.Contains(out, "generation 2") {
		t.Fatalf("reload: exit %d\n%s%s", code, out, errOut)
	}

	// Remap through the admin API.
	code, res := admin(http.MethodPost, "/admin/v1/messages/"+msgs[0]+"/replay", `{"remap":true,"reason":"Familienname korrigiert"}`)
	if code != http.StatusOK || res["old_mapping"] == res["new_mapping"] ||
		!strings.HasPrefix(fmt.Sprint(res["new_mapping"]), "sha256:") {
		t.Fatalf("replay with remap: %d %v", code, res)
	}
	// And through the CLI.
	code, out, errOut = cli(t, dir, "outbox", "replay", msgs[1], "--remap", "--config", cfgPath, "--by", "erika")
	if code != 0 || !strings.Contains(out, "mapped again: mapping sha256:") {
		t.Fatalf("outbox replay --remap: exit %d\n%s%s", code, out, errOut)
	}

	for i, id := range msgs {
		waitFor(t, 60*time.Second, "re-mapped message "+id+" delivered", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return received[id] != nil
		})
		p.awaitStatus(t, "portal-key", subs[i], "delivered", 30*time.Second)
		code, out, errOut := cli(t, dir, "audit", subs[i], "--json", "--config", cfgPath)
		out = strings.ReplaceAll(out, `\u003e`, ">") // JSON escapes the arrow's >
		if code != 0 || !strings.Contains(out, fmt.Sprintf("re-mapped: mapping %v -> %v", res["old_mapping"], res["new_mapping"])) {
			t.Fatalf("audit of %s: exit %d\n%s%s", subs[i], code, out, errOut)
		}
	}
	mu.Lock()
	if !bytes.Contains(received[msgs[0]], []byte("<hst:vorname>Zoë</hst:vorname>")) {
		t.Errorf("delivered XML lacks the first name:\n%s", received[msgs[0]])
	}
	mu.Unlock()

	// A message that is not dead (delivered now) is not re-mapped.
	if code, res := admin(http.MethodPost, "/admin/v1/messages/"+msgs[0]+"/replay", `{"remap":true}`); code != http.StatusConflict {
		t.Fatalf("remap of a delivered message: %d %v", code, res)
	}
	if code := p.stop(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("exit %d", code)
	}
}
