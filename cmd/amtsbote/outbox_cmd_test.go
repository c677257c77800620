package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/amtsbote/amtsbote/adapters/adminapi"
	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/outbox/outboxtest"
	"github.com/amtsbote/amtsbote/outbox/postgres"
	"github.com/amtsbote/amtsbote/outbox/postgres/pgtest"
	"github.com/amtsbote/amtsbote/outbox/sqlite"
)

// cli runs "amtsbote outbox args..." in-process.
func cli(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = outboxCmd(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// seedMessage stores a message on topic; dead makes it dead after one failed attempt.
func seedMessage(t *testing.T, st outbox.Store, topic string, dead bool) outbox.Message {
	t.Helper()
	m := outbox.Message{ID: uuid.NewString(), Topic: topic, Payload: []byte("<name>Erika Mustermann</name>"),
		Metadata: map[string]string{outbox.MetaContentType: "application/xml"}}
	outboxtest.Publish(t, st, m)
	if dead {
		outboxtest.Kill(t, st, m)
	}
	return m
}

func TestOutboxCLISQLite(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "amtsbote.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	testOutboxCLI(t, st, "--data-dir", dir)
}

func TestOutboxCLIPostgres(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	st, err := postgres.Open(context.Background(), postgres.Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	path := filepath.Join(t.TempDir(), "amtsbote.yaml")
	if err := os.WriteFile(path, []byte(fmt.Sprintf(postgresConfig, url, config.HashKey("cli-key"))), 0o600); err != nil {
		t.Fatal(err)
	}
	testOutboxCLI(t, st, "--config", path)
}

// postgresConfig is a valid configuration on the PostgreSQL database at
// %[1]s, with a portal whose key hash is %[2]s.
const postgresConfig = `
database:
  url: %[1]s
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
            type: filedrop
            filedrop:
              dir: /nonexistent/drop
portals:
  - id: demo-portal
    key_hash: %[2]s
    tenants: [musterstadt]
    procedures: [meldewesen.wohnungsgeberbestaetigung]
`

// testOutboxCLI runs the outbox subcommands against st, which loc names.
func testOutboxCLI(t *testing.T, st outbox.Store, loc ...string) {
	dead := seedMessage(t, st, "musterstadt/p.q/fv", true)
	alive := seedMessage(t, st, "musterstadt/p.q/fv", false)
	foreign := seedMessage(t, st, "anderstadt/p.q/fv", true)
	with := func(args ...string) []string { return append(args, loc...) }

	code, out, errOut := cli(t, with("list", "--status", "dead")...)
	if code != 0 || !strings.HasPrefix(out, "ID ") || !strings.Contains(out, dead.ID) || !strings.Contains(out, foreign.ID) ||
		strings.Contains(out, alive.ID) || !strings.Contains(out, "400 Bad Request") || strings.Contains(out, "More:") {
		t.Fatalf("list --status dead: exit %d\n%s%s", code, out, errOut)
	}

	code, out, errOut = cli(t, with("list", "--status", "dead", "--tenant", "musterstadt", "--destination", "fv", "--json")...)
	if code != 0 || strings.Contains(out, "Mustermann") {
		t.Fatalf("list --json: exit %d\n%s%s", code, out, errOut)
	}
	var page adminapi.ListResponse
	if err := json.Unmarshal([]byte(out), &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Messages) != 1 || page.Messages[0].ID != dead.ID || page.Messages[0].State != outbox.StateDead || page.Next != "" {
		t.Fatalf("list --json = %+v", page)
	}

	code, out, _ = cli(t, with("list", "--limit", "1")...)
	if code != 0 || !strings.Contains(out, dead.ID) || strings.Contains(out, alive.ID) || !strings.Contains(out, "More: --after ") {
		t.Fatalf("list --limit 1: exit %d\n%s", code, out)
	}
	next := strings.TrimSpace(out[strings.Index(out, "--after ")+len("--after "):])
	code, out, _ = cli(t, with("list", "--limit", "1", "--after", next)...)
	if code != 0 || !strings.Contains(out, alive.ID) {
		t.Fatalf("list --after %s: exit %d\n%s", next, code, out)
	}

	code, out, errOut = cli(t, with("show", dead.ID)...)
	for _, want := range []string{"State:", "dead", "Attempt history (1):", "#1 ", "400 Bad Request", "Replays (0):", "not shown"} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q", want)
		}
	}
	if code != 0 || strings.Contains(out, "Mustermann") {
		t.Fatalf("show: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, _ = cli(t, append([]string{"show", dead.ID, "--payload"}, loc...)...); code != 0 || !strings.Contains(out, "Erika Mustermann") {
		t.Fatalf("show --payload: exit %d\n%s", code, out)
	}
	if code, _, errOut = cli(t, with("show", uuid.NewString())...); code != 1 || !strings.Contains(errOut, "not found") {
		t.Fatalf("show unknown: exit %d %s", code, errOut)
	}

	if code, _, errOut = cli(t, with("replay", alive.ID, "--by", "erika")...); code != 1 || !strings.Contains(errOut, "not dead") {
		t.Fatalf("replay of a pending message: exit %d %s", code, errOut)
	}
	if code, out, errOut = cli(t, with("replay", dead.ID, "--by", "erika", "--reason", "Fachverfahren wieder erreichbar")...); code != 0 {
		t.Fatalf("replay: exit %d %s%s", code, out, errOut)
	}
	code, out, _ = cli(t, with("show", dead.ID)...)
	if code != 0 || !strings.Contains(out, "pending") || !strings.Contains(out, "Replays (1):") ||
		!strings.Contains(out, "by erika after 1 attempt(s): Fachverfahren wieder erreichbar") {
		t.Fatalf("show after replay: exit %d\n%s", code, out)
	}
	m, err := st.Message(context.Background(), dead.ID)
	if err != nil || m.State != outbox.StatePending || m.Attempts != 1 {
		t.Fatalf("store after replay: %+v %v", m, err)
	}

	code, out, errOut = cli(t, with("replay", "--all-dead", "--tenant", "anderstadt", "--by", "erika")...)
	if code != 0 || out != "Replayed 1 dead message(s).\n" {
		t.Fatalf("replay --all-dead: exit %d %q %s", code, out, errOut)
	}
	if code, out, _ = cli(t, with("list", "--status", "dead")...); code != 0 || strings.Count(out, "\n") != 1 {
		t.Fatalf("dead letters left:\n%s", out)
	}

	for _, bad := range [][]string{
		{"replay"}, {"replay", dead.ID, "--all-dead"}, {"replay", dead.ID, "--tenant", "x"},
		{"list", "--status", "lost"}, {"list", "--limit", "0"}, {"show"}, {"frobnicate"},
	} {
		if code, _, _ := cli(t, with(bad...)...); code != 2 {
			t.Errorf("%v: exit %d, want 2", bad, code)
		}
	}
}

func TestOutboxCLIWithoutDatabase(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	code, _, errOut := cli(t, "list", "--data-dir", dir)
	if code != 1 || !strings.Contains(errOut, "no outbox database") {
		t.Fatalf("exit %d %s", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "amtsbote.db")); err == nil {
		t.Fatal("list created a database")
	}
}
