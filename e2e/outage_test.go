package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/amtsbote/amtsbote/outbox/postgres/pgtest"
)

// envPGRestart, when set, is a shell command that restarts the PostgreSQL
// server of AMTSBOTE_TEST_POSTGRES, e.g.
// `pg_ctlcluster --skip-systemctl-redirect 15 main restart`, or with
// `-m immediate` a crash of the server. It disturbs every other test using
// that server at the same time.
const envPGRestart = "AMTSBOTE_TEST_PG_RESTART"

// outageTally counts the answers the load got.
type outageTally struct {
	mu          sync.Mutex
	accepted    []string // submission ids of 202 answers
	unavailable int      // 503 with Retry-After
	other       []string // anything else: a failure
}

func (o *outageTally) add(status int, id, retryAfter string, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	switch {
	case err != nil:
		o.other = append(o.other, "transport error: "+err.Error())
	case status == http.StatusAccepted:
		o.accepted = append(o.accepted, id)
	case status == http.StatusServiceUnavailable && retryAfter != "":
		o.unavailable++
	default:
		o.other = append(o.other, fmt.Sprintf("status %d, Retry-After %q", status, retryAfter))
	}
}

// TestDatabaseOutage runs the gateway on PostgreSQL under load while its
// database connections are killed (pg_terminate_backend), the database refuses
// connections for a while, and, with AMTSBOTE_TEST_PG_RESTART set, the server
// restarts. Every answer must be a 202 or a 503 with Retry-After; every 202'd
// submission must be stored and delivered; the gateway recovers without a restart.
// It does not run in parallel with this package's other tests.
func TestDatabaseOutage(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	dbName := strings.TrimPrefix(u.Path, "/")
	ctx := context.Background()
	admin := func() *pgx.Conn {
		t.Helper()
		var c *pgx.Conn
		waitFor(t, time.Minute, "admin connection to PostgreSQL", func() bool {
			c, err = pgx.Connect(ctx, os.Getenv(pgtest.EnvURL))
			return err == nil
		})
		t.Cleanup(func() { c.Close(ctx) })
		return c
	}
	adm := admin()
	sqlExec := func(sql string, args ...any) {
		t.Helper()
		if _, err := adm.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	terminate := func() {
		t.Helper()
		sqlExec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, dbName)
	}
	t.Cleanup(func() {
		// Let pgtest drop the database even if the test stopped mid-outage.
		if c, err := pgx.Connect(ctx, os.Getenv(pgtest.EnvURL)); err == nil {
			_, _ = c.Exec(ctx, "ALTER DATABASE "+dbName+" ALLOW_CONNECTIONS true")
			c.Close(ctx)
		}
	})

	dir := t.TempDir()
	received, receiver := newDeliveryLog(t)
	text := strings.Replace(httpConfig(dir, "outage-key", receiver.URL, "9s"),
		"database:\n  path: "+dir+"/amtsbote.db", "database:\n  url: "+dbURL, 1)
	p := start(t, dir, nil, "--config", writeConfig(t, dir, text))
	sub := newSubmitter("outage-key", demoBody(t), 8)

	// The load: 8 clients, each submitting and retrying its submission with the
	// same key after a 503 until it gets a 202, then the next one.
	var tally outageTally
	var stop atomic.Bool
	var wg sync.WaitGroup
	for c := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			deadline := time.Now().Add(3 * time.Minute)
			for i := 0; !stop.Load(); i++ {
				key := fmt.Sprintf("outage-%d-%d", c, i)
				for time.Now().Before(deadline) {
					status, id, ra, err := sub.once(p.addr, key)
					tally.add(status, id, ra, err)
					if err != nil || status == http.StatusAccepted {
						break
					}
					time.Sleep(100 * time.Millisecond)
				}
			}
		}()
	}
	time.Sleep(time.Second)

	// 1. Connections killed under load, repeatedly.
	for range 5 {
		terminate()
		time.Sleep(300 * time.Millisecond)
	}

	// 2. The database refuses connections: every submission and status request
	// is answered 503 with Retry-After.
	sqlExec("ALTER DATABASE " + dbName + " ALLOW_CONNECTIONS false")
	terminate()
	time.Sleep(200 * time.Millisecond)
	terminate()
	for _, probe := range []string{"probe-1", "probe-2"} {
		status, _, ra, err := sub.once(p.addr, probe)
		if err != nil || status != http.StatusServiceUnavailable || ra == "" {
			t.Errorf("submission while the database refuses connections: status %d, Retry-After %q, error %v; want 503 with Retry-After", status, ra, err)
		}
	}
	tally.mu.Lock()
	someID := ""
	if len(tally.accepted) > 0 {
		someID = tally.accepted[0]
	}
	tally.mu.Unlock()
	if someID != "" {
		req, _ := http.NewRequest(http.MethodGet, "http://"+p.addr+"/v1/submissions/"+someID, nil)
		req.Header.Set("Authorization", "Bearer outage-key")
		resp, err := sub.client.Do(req)
		if err != nil {
			t.Errorf("status request during the outage: %v", err)
		} else {
			resp.Body.Close()
			if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
				t.Errorf("status request during the outage: %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
			}
		}
	}
	time.Sleep(time.Second)
	sqlExec("ALTER DATABASE " + dbName + " ALLOW_CONNECTIONS true")

	// 3. Optionally, the whole server restarts.
	if cmd := os.Getenv(envPGRestart); cmd != "" {
		t.Logf("restarting PostgreSQL: %s", cmd)
		if out, err := osexec(cmd); err != nil {
			t.Fatalf("%s: %v\n%s", envPGRestart, err, out)
		}
		adm = admin()
	} else {
		t.Logf("%s not set: PostgreSQL is not restarted (connections are killed and refused only)", envPGRestart)
	}
	time.Sleep(time.Second)
	stop.Store(true)
	wg.Wait()

	// The same process recovers: after the pool has replaced its connections,
	// submissions are accepted at the first try.
	select {
	case err := <-p.done:
		t.Fatalf("the gateway exited during the outage: %v", err)
	default:
	}
	waitFor(t, time.Minute, "a 202 after the outage", func() bool {
		status, id, ra, err := sub.once(p.addr, "recovery-first")
		tally.add(status, id, ra, err)
		return err == nil && status == http.StatusAccepted
	})
	time.Sleep(1500 * time.Millisecond)
	for i := range 10 {
		status, id, ra, err := sub.once(p.addr, fmt.Sprintf("recovery-%d", i))
		if err != nil || status != http.StatusAccepted {
			t.Errorf("submission %d after recovery: status %d, Retry-After %q, error %v; want 202", i, status, ra, err)
			continue
		}
		tally.add(status, id, ra, err)
	}

	tally.mu.Lock()
	accepted, unavailable, other := tally.accepted, tally.unavailable, tally.other
	tally.mu.Unlock()
	for _, o := range other {
		t.Errorf("answer during the outage: %s; want 202 or 503 with Retry-After", o)
	}
	// No 202 without a commit: every accepted id is stored.
	var stored int
	if err := adm.QueryRow(ctx, `SELECT count(*) FROM pg_database WHERE datname = $1`, dbName).Scan(&stored); err != nil || stored != 1 {
		t.Fatalf("test database: %d, %v", stored, err)
	}
	db, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	if err := db.QueryRow(ctx, `SELECT count(*) FROM submissions WHERE id = ANY($1)`, accepted).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored != len(accepted) {
		t.Errorf("%d submissions answered 202, but only %d stored", len(accepted), stored)
	}
	waitFor(t, 2*time.Minute, "every 202 delivered", func() bool { return received.missing(accepted) == 0 })
	notOne, unknown, duplicates := received.dedup(accepted)
	if notOne != 0 || unknown != 0 {
		t.Errorf("after deduplication by message id: %d submissions without exactly one message, %d deliveries of unknown submissions", notOne, unknown)
	}
	// Every outcome is recorded in the end, also one committed lazily and
	// lost with a crash of the server: its message is leased still and is
	// delivered again once the lease (9 s) runs out.
	waitFor(t, 2*time.Minute, "every message of a 202 recorded as delivered", func() bool {
		var open int
		err := db.QueryRow(ctx, `SELECT count(*) FROM outbox_messages WHERE submission_id = ANY($1) AND state <> 'delivered'`,
			accepted).Scan(&open)
		return err == nil && open == 0
	})
	t.Logf("%d accepted, %d answers 503 with Retry-After, all stored and delivered (%d duplicate deliveries)", len(accepted), unavailable, duplicates)
	if got := p.stop(t, syscall.SIGTERM); got != 0 {
		t.Errorf("exit code after SIGTERM: %d", got)
	}
}

// osexec runs a shell command line.
func osexec(line string) ([]byte, error) {
	return exec.Command("sh", "-c", line).CombinedOutput()
}
