package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/outbox"
)

// portalErrorsConfig routes a submission to five destinations that all
// fail: an HTTP receiver that refuses connections, one that answers 400,
// one that answers 500, a file drop under a regular file and an AMQP broker
// that is down.
const portalErrorsConfig = `
database:
  path: %[1]s/amtsbote.db
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
          - id: http-down
            type: http
            http: {url: "http://%[3]s/in"}
          - id: bad-request
            type: http
            http: {url: "%[4]s/in"}
          - id: server-error
            type: http
            http: {url: "%[5]s/in"}
          - id: unwritable
            type: filedrop
            filedrop: {dir: "%[1]s/blocked/drop"}
          - id: broker-down
            type: amqp
            amqp: {url: "amqp://guest:guest@%[3]s/", exchange: fachverfahren}
portals:
  - id: demo-portal
    key_hash: %[2]s
    tenants: [musterstadt]
    procedures: [meldewesen.wohnungsgeberbestaetigung]
`

// TestPortalSeesNoInfrastructure: the status of failed deliveries names a
// classified reason and the attempt's time; no portal-visible field holds a
// host, a port or a path, which operators still see.
func TestPortalSeesNoInfrastructure(t *testing.T) {
	t.Parallel()
	const key = "errors-key"
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "blocked"), []byte("a file, not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}
	closed := freeAddr(t) // nothing listens there
	answer := func(code int) *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "Fehler in Feld /antragsteller/name bei Host fv.intern:8443", code)
		}))
		t.Cleanup(srv.Close)
		return srv
	}
	bad, broken := answer(http.StatusBadRequest), answer(http.StatusInternalServerError)
	cfg := writeConfig(t, dir, fmt.Sprintf(portalErrorsConfig, dir, config.HashKey(key), closed, bad.URL, broken.URL))
	p := start(t, dir, nil, "--config", cfg)
	id := p.accept(t, key, "", demoBody(t))

	var raw []byte
	var st struct {
		Destinations []struct {
			Destination string `json:"destination"`
			LastError   string `json:"last_error"`
			LastErrorAt string `json:"last_error_at"`
			AttemptLog  []struct {
				Error string `json:"error"`
			} `json:"attempt_log"`
		} `json:"destinations"`
	}
	waitFor(t, 60*time.Second, "every destination failed at least once", func() bool {
		raw = statusBody(t, p, key, id)
		if err := json.Unmarshal(raw, &st); err != nil {
			t.Fatal(err)
		}
		for _, d := range st.Destinations {
			if d.LastError == "" {
				return false
			}
		}
		return len(st.Destinations) == 5
	})
	want := map[string]outbox.ErrorClass{
		"http-down":    outbox.ClassReceiverUnavailable,
		"bad-request":  outbox.ClassReceiverRejected,
		"server-error": outbox.ClassReceiverUnavailable,
		"unwritable":   outbox.ClassStorageUnavailable,
		"broker-down":  outbox.ClassReceiverUnavailable,
	}
	for _, d := range st.Destinations {
		if d.LastError != string(want[d.Destination]) {
			t.Errorf("%s: last_error %q, want %q", d.Destination, d.LastError, want[d.Destination])
		}
		if _, err := time.Parse(time.RFC3339Nano, d.LastErrorAt); err != nil {
			t.Errorf("%s: last_error_at %q: %v", d.Destination, d.LastErrorAt, err)
		}
		for _, a := range d.AttemptLog {
			if a.Error != "" && !slices.Contains(outbox.ErrorClasses, outbox.ErrorClass(a.Error)) {
				t.Errorf("%s: attempt error %q is not a documented reason", d.Destination, a.Error)
			}
		}
	}
	_, closedPort, _ := net.SplitHostPort(closed)
	leaks := []string{"127.0.0.1", "localhost", closedPort, portOf(t, bad.URL), portOf(t, broken.URL), dir, "/tmp", "fv.intern",
		"antragsteller", "not a directory", "refused", "answered"}
	// The audit trail the portal reads (GET …/events) carries the failed
	// attempts too: it must show their classes, not their texts.
	events := portalGet(t, p, key, "/v1/submissions/"+id+"/events")
	var evs struct {
		Events []struct {
			Kind   string `json:"kind"`
			Detail string `json:"detail"`
		} `json:"events"`
	}
	if err := json.Unmarshal(events, &evs); err != nil {
		t.Fatal(err)
	}
	attempts := 0
	for _, e := range evs.Events {
		if e.Kind == string(outbox.EventAttempt) || e.Kind == string(outbox.EventDead) {
			attempts++
			if !slices.Contains(outbox.ErrorClasses, outbox.ErrorClass(e.Detail)) {
				t.Errorf("portal event %s: detail %q is not a documented reason", e.Kind, e.Detail)
			}
		}
	}
	if attempts < 5 {
		t.Errorf("%d attempt events in the portal's audit trail, want one per destination at least:\n%s", attempts, events)
	}
	for what, body := range map[string][]byte{"status": raw, "audit trail": events} {
		for _, leak := range leaks {
			if strings.Contains(string(body), leak) {
				t.Errorf("the portal's %s contains %q:\n%s", what, leak, body)
			}
		}
		if path := regexp.MustCompile(`"[^"]*(/[a-z0-9._-]+){2,}[^"]*"`).Find(body); path != nil {
			t.Errorf("the portal's %s contains a path: %s", what, path)
		}
	}

	// Operators still see the texts.
	code, out, stderr := cli(t, dir, "outbox", "list", "--config", cfg, "--json")
	if code != 0 || !strings.Contains(out, "127.0.0.1") {
		t.Errorf("outbox list: %d, want the hosts for operators:\n%s\n%s", code, out, stderr)
	}
}

func statusBody(t *testing.T, p *proc, key, id string) []byte {
	t.Helper()
	return portalGet(t, p, key, "/v1/submissions/"+id)
}

// portalGet reads path from the portal API with key and returns the body of its 200.
func portalGet(t *testing.T, p *proc, key, path string) []byte {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+p.addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", path, resp.StatusCode, err)
	}
	return b
}

func portOf(t *testing.T, u string) string {
	t.Helper()
	_, port, err := net.SplitHostPort(strings.TrimPrefix(u, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	return port
}
