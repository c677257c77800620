package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestAuditTrailOfReplayedSubmission: a submission rejected by its
// Fachverfahren (400) dies, is replayed with the CLI, is delivered, and its
// audit trail — from the CLI and from the portal API — shows every step in order.
func TestAuditTrailOfReplayedSubmission(t *testing.T) {
	t.Parallel()
	var fixed atomic.Bool
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !fixed.Load() {
			http.Error(w, "Aktenzeichen fehlt", http.StatusBadRequest)
		}
	}))
	defer receiver.Close()

	dir := t.TempDir()
	cfg := writeConfig(t, dir, httpConfig(dir, "audit-key", receiver.URL+"/einreichungen", "10s"))
	p := start(t, dir, nil, "--config", cfg)

	id := p.accept(t, "audit-key", "", demoBody(t))
	msgID, _ := destination(t, p.awaitStatus(t, "audit-key", id, "failed", 20*time.Second))["message_id"].(string)

	mustCLI := func(args ...string) string {
		t.Helper()
		code, out, errOut := cli(t, dir, args...)
		if code != 0 {
			t.Fatalf("amtsbote %v: exit %d\n%s", args, code, errOut)
		}
		return out
	}
	fixed.Store(true)
	mustCLI("outbox", "replay", msgID, "--by", "jane", "--reason", "Aktenzeichen ergänzt", "--config", cfg)
	p.awaitStatus(t, "audit-key", id, "delivered", 20*time.Second)

	var trail struct {
		Events []struct {
			Kind, Destination, Actor, Detail string
			Attempt                          int
			Outcome                          string
		}
	}
	if err := json.Unmarshal([]byte(mustCLI("audit", id, "--json", "--config", cfg)), &trail); err != nil {
		t.Fatal(err)
	}
	var steps []string
	for _, e := range trail.Events {
		s := e.Kind
		if e.Attempt > 0 {
			s += fmt.Sprintf("#%d:%s", e.Attempt, e.Outcome)
		}
		steps = append(steps, s)
	}
	want := []string{"accepted", "transformed", "attempt#1:dead", "dead", "replayed", "attempt#2:delivered", "delivered"}
	if !slices.Equal(steps, want) {
		t.Fatalf("audit trail:\n got %v\nwant %v", steps, want)
	}
	if r := trail.Events[4]; r.Actor != "jane" || r.Detail != "Aktenzeichen ergänzt" {
		t.Errorf("replay event: %+v", r)
	}
	if d := trail.Events[2]; !strings.Contains(d.Detail, "400") || d.Destination != "fachverfahren" {
		t.Errorf("failed attempt: %+v", d)
	}
	table := mustCLI("audit", id, "--config", cfg)
	if !strings.Contains(table, "attempt #2: delivered") || !strings.Contains(table, "jane") {
		t.Errorf("audit table:\n%s", table)
	}

	// The portal sees the same steps, without the operator's name.
	req, _ := http.NewRequest(http.MethodGet, "http://"+p.addr+"/v1/submissions/"+id+"/events", nil)
	req.Header.Set("Authorization", "Bearer audit-key")
	code, body := do(t, req)
	if code != http.StatusOK {
		t.Fatalf("portal events: %d %v", code, body)
	}
	evs := body["events"].([]any)
	if len(evs) != len(want) || evs[4].(map[string]any)["actor"] != "operator" {
		t.Fatalf("portal events: %v", evs)
	}
	if code := p.stop(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code after SIGTERM: %d", code)
	}
}
