package e2e

import (
	"bytes"
	"fmt"
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

// reloadMain is the main file of the reload tests: the procedure, the
// admin API and one portal for every tenant; the tenants are in conf.d.
const reloadMain = `server:
  shutdown_timeout: 10s
database:
  path: %[1]s/amtsbote.db
relay:
  lease: 30s
  poll_interval: 500ms
metrics:
  listen: %[4]s
admin:
  listen: %[3]s
  key_hash: %[5]s
include: ["conf.d/*.yaml"]
procedures:
  - id: meldewesen.wohnungsgeberbestaetigung
    name: Wohnungsgeberbestätigung
portals:
  - id: demo-portal
    key_hash: %[2]s
    tenants: ["*"]
    procedures: ["*"]
`

// reloadTenant is one municipality's file in conf.d; dest is its
// destination block (indented for destinations[]).
func reloadTenant(id string, n int, dest string) string {
	return fmt.Sprintf(`tenants:
  - id: %s
    name: Gemeinde %s
    ags: "09%06d"
    behoerdenkennung: "psw:09%06d"
    procedures:
      - procedure: meldewesen.wohnungsgeberbestaetigung
        destinations:
          - id: fachverfahren
%s`, id, id, n, n, dest)
}

func fileDrop(dir string) string {
	return "            type: filedrop\n            filedrop:\n              dir: " + dir + "\n"
}

func tenantID(n int) string { return fmt.Sprintf("gemeinde-%02d", n) }

// bodyFor is the demo submission for tenant.
func bodyFor(t *testing.T, tenant string) []byte {
	t.Helper()
	return bytes.Replace(demoBody(t), []byte(`"tenant": "musterstadt"`), []byte(`"tenant": "`+tenant+`"`), 1)
}

// TestReloadFortyTenants: 40 municipalities in conf.d, one file each. Under
// a steady load of submissions to all of them, reloads (SIGHUP and amtsbote
// reload) add a 41st, which receives submissions at once; an invalid file,
// a changed listener and removing a tenant with undelivered messages are
// refused with their reasons while the old configuration keeps running; no
// request is answered with 5xx and every accepted submission is delivered.
func TestReloadFortyTenants(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	confd := filepath.Join(dir, "conf.d")
	if err := os.MkdirAll(confd, 0o750); err != nil {
		t.Fatal(err)
	}
	writeFile := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(confd, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for n := 1; n <= 40; n++ {
		writeFile(tenantID(n)+".yaml", reloadTenant(tenantID(n), n, fileDrop(filepath.Join(dir, "drop"))))
	}
	// A 41st whose receiver is down: its messages stay undelivered.
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer down.Close()
	writeFile("gestoert.yaml", reloadTenant("gestoert", 99, "            type: http\n            http:\n              url: "+down.URL+"\n              timeout: 2s\n"))

	adminAddr, metricsAddr := freeAddr(t), freeAddr(t)
	mainText := fmt.Sprintf(reloadMain, dir, config.HashKey("portal-key"), adminAddr, metricsAddr, config.HashKey("admin-key"))
	cfgPath := writeConfig(t, dir, mainText)
	p := start(t, dir, nil, "--config", cfgPath)
	adminEnv := []string{"AMTSBOTE_ADMIN_KEY=admin-key"}
	reload := func() (int, string, string) {
		t.Helper()
		return run(t, dir, adminEnv, "", "reload", "--config", cfgPath)
	}

	// The load: 4 clients, round robin over the tenants, until stopped.
	var (
		mu       sync.Mutex
		accepted []string
		failures []string
		stop     = make(chan struct{})
		wg       sync.WaitGroup
	)
	bodies := make([][]byte, 40)
	for n := range bodies {
		bodies[n] = bodyFor(t, tenantID(n+1))
	}
	for c := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 30 * time.Second}
			for i := c; ; i += 4 {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest(http.MethodPost, "http://"+p.addr+"/v1/submissions", bytes.NewReader(bodies[i%40]))
				req.Header.Set("Authorization", "Bearer portal-key")
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				mu.Lock()
				switch {
				case err != nil:
					failures = append(failures, err.Error())
				case resp.StatusCode == http.StatusAccepted:
					accepted = append(accepted, resp.Header.Get("Location"))
				default:
					failures = append(failures, fmt.Sprintf("tenant %s: %d", tenantID(i%40+1), resp.StatusCode))
				}
				mu.Unlock()
				if resp != nil {
					resp.Body.Close()
				}
			}
		}()
	}
	loadRunning := func(min int) {
		t.Helper()
		waitFor(t, 60*time.Second, fmt.Sprintf("%d more submissions accepted", min), func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(accepted) >= min
		})
	}
	loadRunning(40)

	// A new municipality by SIGHUP: it receives submissions after the reload.
	writeFile("neustadt.yaml", reloadTenant("neustadt", 41, fileDrop(filepath.Join(dir, "drop"))))
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "reload by SIGHUP logged", func() bool {
		return strings.Contains(p.stderr.String(), `"msg":"configuration reloaded","generation":2`)
	})
	id := p.accept(t, "portal-key", "", bodyFor(t, "neustadt"))
	p.awaitStatus(t, "portal-key", id, "delivered", 60*time.Second)

	// Invalid: a file with a tenant without name; refused with the file named.
	writeFile("kaputt.yaml", strings.Replace(reloadTenant("kaputt", 42, fileDrop(dir)), "name: Gemeinde kaputt", `name: ""`, 1))
	code, out, errOut := reload()
	if code != 1 || !strings.Contains(errOut, filepath.Join(confd, "kaputt.yaml")+": tenants[0].name") ||
		!strings.Contains(errOut, "generation 2 keeps running") {
		t.Fatalf("invalid reload: exit %d\n%s%s", code, out, errOut)
	}
	os.Remove(filepath.Join(confd, "kaputt.yaml"))

	// A setting that needs a restart: refused, naming it.
	cfgText := strings.Replace(mainText, "shutdown_timeout: 10s", "shutdown_timeout: 20s", 1)
	writeConfig(t, dir, cfgText)
	if code, out, errOut := reload(); code != 1 || !strings.Contains(errOut, "server: changed; it takes effect only with a restart") {
		t.Fatalf("reload of a restart-only setting: exit %d\n%s%s", code, out, errOut)
	}
	writeConfig(t, dir, mainText)

	// Removing the tenant whose receiver is down, with undelivered messages: refused with the count.
	gid := p.accept(t, "portal-key", "", bodyFor(t, "gestoert"))
	os.Remove(filepath.Join(confd, "gestoert.yaml"))
	code, out, errOut = reload()
	if code != 1 || !strings.Contains(errOut, "tenant gestoert is removed but has 1 undelivered message(s)") {
		t.Fatalf("removing a tenant with undelivered messages: exit %d\n%s%s", code, out, errOut)
	}
	writeFile("gestoert.yaml", reloadTenant("gestoert", 99, "            type: http\n            http:\n              url: "+down.URL+"\n              timeout: 2s\n"))

	// A valid reload by the command: generation 3, the 41 tenants and gestoert.
	code, out, errOut = reload()
	if code != 0 || !strings.Contains(out, "generation 3, 42 tenants") {
		t.Fatalf("reload: exit %d\n%s%s", code, out, errOut)
	}
	if st := p.status(t, "portal-key", gid); st["status"] == "delivered" {
		t.Fatalf("message to the receiver that is down delivered: %v", st)
	}
	mu.Lock()
	sofar := len(accepted) // the clients still append
	mu.Unlock()
	loadRunning(sofar + 40)
	close(stop)
	wg.Wait()

	if len(failures) > 0 {
		t.Fatalf("%d requests failed under reloads, e.g. %v", len(failures), failures[:min(5, len(failures))])
	}
	for _, loc := range accepted {
		id := loc[strings.LastIndex(loc, "/")+1:]
		p.awaitStatus(t, "portal-key", id, "delivered", 60*time.Second)
	}
	metricsText := string(scrapeText(t, "http://"+metricsAddr+"/metrics"))
	for _, want := range []string{"amtsbote_config_generation 3", `amtsbote_config_reloads_total{outcome="refused"} 3`,
		`amtsbote_config_reloads_total{outcome="applied"} 2`,
		// The municipality added by the reload has its series.
		`amtsbote_deliveries_total{destination="fachverfahren",outcome="delivered",procedure="meldewesen.wohnungsgeberbestaetigung",tenant="neustadt"} 1`,
		`amtsbote_submissions_total{outcome="accepted",procedure="meldewesen.wohnungsgeberbestaetigung",tenant="neustadt"} 1`} {
		if !strings.Contains(metricsText, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	t.Logf("%d submissions accepted and delivered under 5 reloads", len(accepted))
	if code := p.stop(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("exit %d", code)
	}
}
