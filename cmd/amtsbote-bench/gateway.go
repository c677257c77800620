package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/template"
	"time"

	"github.com/amtsbote/amtsbote/config"
)

// buildGateway builds ./cmd/amtsbote of the module the harness runs in into dir.
func buildGateway(ctx context.Context, dir string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the amtsbote module: run from the repository or pass -binary")
	}
	bin := filepath.Join(dir, "amtsbote")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/amtsbote")
	build.Dir = filepath.Dir(gomod)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return "", fmt.Errorf("build amtsbote: %w", err)
	}
	return bin, nil
}

// gatewayConfig is the generated configuration: one tenant, one procedure, one
// http destination pointing at the harness's receiver.
type gatewayConfig struct {
	Dir         string // SQLite database directory
	DatabaseURL string // PostgreSQL; empty selects SQLite
	ReceiverURL string
	KeyHash     string
	Concurrency int           // deliveries in flight
	Lease       time.Duration // relay lease
	// MetricsAddr is the gateway's metrics listener; empty: none.
	MetricsAddr string
	// CountStatements sets database.count_statements (PostgreSQL).
	CountStatements bool
	// Clients is the harness's concurrency: its one portal may have that
	// many submissions in progress (server.intake.portal_max_uploads,
	// default 32), so that the load is the gateway's and not a queue in
	// front of it. Zero keeps the defaults.
	Clients int
	// Extra is YAML appended at the end: further top-level sections
	// (the FIT-Connect mode's fitconnect block).
	Extra string
}

var configTemplate = template.Must(template.New("config").Parse(`server:
  shutdown_timeout: 5s
  drain_delay: 0s
{{- if .Clients}}
  intake:
    max_uploads: {{.MaxUploads}}
    portal_max_uploads: {{.Clients}}
{{- end}}
database:
{{- if .DatabaseURL}}
  url: "{{.DatabaseURL}}"
{{- if .CountStatements}}
  count_statements: true
{{- end}}
{{- else}}
  path: {{.Dir}}/amtsbote.db
{{- end}}
{{- if .MetricsAddr}}
metrics:
  listen: {{.MetricsAddr}}
{{- end}}
relay:
  lease: {{.Lease}}
  poll_interval: 1s
  concurrency: {{.Concurrency}}
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
          - id: fachverfahren
            type: http
            http:
              url: {{.ReceiverURL}}
              timeout: 1s
            retry:
              initial_interval: 200ms
              max_interval: 2s
portals:
  - id: bench-portal
    key_hash: {{.KeyHash}}
    tenants: [musterstadt]
    procedures: [meldewesen.wohnungsgeberbestaetigung]
{{.Extra}}`))

// MaxUploads is server.intake.max_uploads for Clients: the default (256)
// or more.
func (c gatewayConfig) MaxUploads() int { return max(256, c.Clients) }

// writeGatewayConfig writes the configuration into dir and returns its path.
func writeGatewayConfig(dir string, c gatewayConfig) (string, error) {
	var b strings.Builder
	if err := configTemplate.Execute(&b, c); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "amtsbote.yaml")
	return path, os.WriteFile(path, []byte(b.String()), 0o600)
}

// checkConfig validates a configuration file as serve would (without the
// environment's AMTSBOTE_DATABASE_URL, which the harness clears for the gateway).
func checkConfig(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	lookup := func(name string) (string, bool) {
		if name == config.EnvDatabaseURL {
			return "", false
		}
		return os.LookupEnv(name)
	}
	_, err = config.Parse(data, lookup, os.ReadFile)
	return err
}

// gateway is one amtsbote serve process; start may be called again after kill.
type gateway struct {
	binary string
	config string
	addr   string   // listen address, kept across restarts
	env    []string // extra environment
	log    *os.File // stderr of every incarnation, appended

	cmd  *exec.Cmd
	done chan struct{}
}

func newGateway(binary, config, logPath string, env []string) (*gateway, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	return &gateway{binary: binary, config: config, addr: addr, env: env, log: log}, nil
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// start runs the process and waits until its portal API answers.
func (g *gateway) start(ctx context.Context) error {
	cmd := exec.Command(g.binary, "serve", "--config", g.config, "--listen", g.addr)
	cmd.Env = append(os.Environ(), g.env...)
	cmd.Stdout, cmd.Stderr = g.log, g.log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start amtsbote: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	g.cmd, g.done = cmd, done
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := client.Get("http://" + g.addr + "/v1/submissions/x")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("amtsbote exited during start-up (%v); see %s", cmd.ProcessState, g.log.Name())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("amtsbote did not answer on %s within 60s; see %s", g.addr, g.log.Name())
		}
	}
}

// running reports whether the current incarnation is alive.
func (g *gateway) running() bool {
	if g.cmd == nil {
		return false
	}
	select {
	case <-g.done:
		return false
	default:
		return true
	}
}

// signal sends sig and waits up to 60s for the exit.
func (g *gateway) signal(sig syscall.Signal) error {
	if !g.running() {
		return nil
	}
	if err := g.cmd.Process.Signal(sig); err != nil {
		return err
	}
	select {
	case <-g.done:
		return nil
	case <-time.After(60 * time.Second):
		_ = g.cmd.Process.Kill()
		<-g.done
		return fmt.Errorf("amtsbote did not exit within 60s after %v", sig)
	}
}

// peakRSS returns the peak resident set size (VmHWM) of the running process in bytes.
func (g *gateway) peakRSS() (int64, error) {
	if !g.running() {
		return 0, errors.New("not running")
	}
	return vmHWM(g.cmd.Process.Pid)
}

func vmHWM(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) == 2 && f[1] == "kB" {
				kb, err := strconv.ParseInt(f[0], 10, 64)
				return kb * 1024, err
			}
		}
	}
	return 0, errors.New("no VmHWM in /proc status")
}

// close ends the process (SIGTERM, orderly) and closes the log.
func (g *gateway) close() error {
	err := g.signal(syscall.SIGTERM)
	if cerr := g.log.Close(); err == nil {
		err = cerr
	}
	return err
}
