package e2e

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/outbox/postgres/pgtest"

	_ "modernc.org/sqlite" // the database/sql driver "sqlite", for the other writer
)

// frozenAnswer is one answer to a submission while the database froze.
type frozenAnswer struct {
	key    string
	status int
	took   time.Duration
	err    error
}

// TestFrozenDatabase runs the binary on PostgreSQL behind a proxy that stops
// forwarding without closing (the database hangs), with the default
// database.request_timeout of 5 s, under load from 6 clients, each sending
// new submissions with fresh Idempotency-Keys. While it is frozen, every
// submission is answered 503 with Retry-After; none hangs until the client
// gives up (a transport error after the client's 20 s is a failure). The
// database itself is read directly while the proxy holds: once resumed, no
// submission whose client was told 503 may be committed (a COMMIT the proxy
// held must roll back); one that committed before its answer was lost is
// returned by the idempotent retry. The same process recovers.
func TestFrozenDatabase(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := pgtest.NewFreezeProxy(t, u.Host)
	proxied := *u
	proxied.Host = proxy.Addr()
	ctx := context.Background()
	db, err := pgx.Connect(ctx, dbURL) // direct: the database itself does not hang
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	stored := func(keys []string) map[string]string {
		t.Helper()
		rows, err := db.Query(ctx, `SELECT idempotency_key, id FROM submissions WHERE idempotency_key = ANY($1)`, keys)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for rows.Next() {
			var k, id string
			if err := rows.Scan(&k, &id); err != nil {
				t.Fatal(err)
			}
			out[k] = id
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}

	dir := t.TempDir()
	text := strings.Replace(fmt.Sprintf(retryConfig, dir, config.HashKey("frozen-key")),
		"database:\n  path: "+dir+"/amtsbote.db", "database:\n  url: "+proxied.String(), 1)
	p := start(t, dir, nil, "--config", writeConfig(t, dir, text))
	sub := newSubmitter("frozen-key", demoBody(t), 6)
	sub.client.Timeout = 20 * time.Second
	first := p.accept(t, "frozen-key", "before", demoBody(t))

	var (
		mu       sync.Mutex
		answers  []frozenAnswer
		frozen   atomic.Bool
		stop     atomic.Bool
		clients  sync.WaitGroup
		sequence atomic.Int64
	)
	for range 6 {
		clients.Add(1)
		go func() {
			defer clients.Done()
			for !stop.Load() {
				key := fmt.Sprintf("frozen-%d", sequence.Add(1))
				during := frozen.Load()
				began := time.Now()
				status, _, ra, err := sub.once(p.addr, key)
				a := frozenAnswer{key: key, status: status, took: time.Since(began), err: err}
				if err == nil && status == http.StatusServiceUnavailable && ra == "" {
					a.err = errors.New("503 without Retry-After")
				}
				mu.Lock()
				if during || frozen.Load() {
					answers = append(answers, a)
				}
				mu.Unlock()
				time.Sleep(50 * time.Millisecond)
			}
		}()
	}
	time.Sleep(time.Second) // submissions flow, some in their transaction
	frozen.Store(true)
	proxy.Freeze(true)
	// A status read is bounded likewise.
	req, err := http.NewRequest(http.MethodGet, "http://"+p.addr+"/v1/submissions/"+first, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer frozen-key")
	if resp, err := sub.client.Do(req); err != nil {
		t.Errorf("status read while the database hangs: %v; want 503", err)
	} else {
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Errorf("status read while the database hangs: %d, Retry-After %q; want 503 with Retry-After",
				resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	}
	time.Sleep(7 * time.Second) // with the read above more than two budgets: every request in flight has been answered
	stop.Store(true)
	clients.Wait()

	// Before resuming: what the database has.
	mu.Lock()
	var refused []string
	var slowest time.Duration
	for _, a := range answers {
		switch {
		case a.err != nil:
			t.Errorf("%s: %v; want an answer, 503 with Retry-After", a.key, a.err)
		case a.status == http.StatusServiceUnavailable:
			refused = append(refused, a.key)
			slowest = max(slowest, a.took)
		case a.status == http.StatusAccepted: // committed just before the freeze
		default:
			t.Errorf("%s: status %d during the freeze; want 503", a.key, a.status)
		}
	}
	mu.Unlock()
	if len(refused) < 6 {
		t.Fatalf("only %d submissions answered 503 while the database was frozen", len(refused))
	}
	t.Logf("%d submissions answered 503 while the database hung; the slowest answer took %v (budget 5 s)", len(refused), slowest)
	before := stored(refused)

	// Resume: the proxy forwards what it held, COMMITs included. None of
	// them may commit a submission whose client was told 503.
	proxy.Freeze(false)
	time.Sleep(3 * time.Second)
	after := stored(refused)
	for k := range after {
		if _, ok := before[k]; !ok {
			t.Errorf("%s committed after the database resumed, although its client was told 503", k)
		}
	}

	// The same process recovers, and the idempotent retries resolve each
	// refused submission: the one stored before is returned, the others are
	// stored now.
	waitFor(t, time.Minute, "a 202 after the database resumed", func() bool {
		status, _, _, err := sub.once(p.addr, "after")
		return err == nil && status == http.StatusAccepted
	})
	for _, k := range refused {
		status, id, _, err := sub.once(p.addr, k)
		if err != nil || status != http.StatusAccepted {
			t.Errorf("retry of %s: status %d, error %v; want 202", k, status, err)
			continue
		}
		if old, ok := before[k]; ok && old != id {
			t.Errorf("retry of %s: id %s, want the stored %s", k, id, old)
		}
	}
	if got := stored(refused); len(got) != len(refused) {
		t.Errorf("%d of %d refused submissions stored after their retries", len(got), len(refused))
	}
	t.Logf("%d of the refused submissions had been committed before their answer was lost; their retries returned them", len(before))
	p.awaitStatus(t, "frozen-key", first, "delivered", time.Minute)
}

// TestSQLiteWriterBusy: on SQLite, another process holding the database's
// write lock makes submissions wait at most database.request_timeout (its
// busy_timeout), then answers 503 with Retry-After; once the lock is
// released, the same process accepts again and the retry with the same key
// stores the submission once.
func TestSQLiteWriterBusy(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	text := strings.Replace(fmt.Sprintf(retryConfig, dir, config.HashKey("busy-key")),
		"database:\n", "database:\n  request_timeout: 2s\n  acquire_timeout: 1s\n", 1)
	p := start(t, dir, nil, "--config", writeConfig(t, dir, text))
	p.accept(t, "busy-key", "before", demoBody(t))

	// Another process's writer: an open IMMEDIATE transaction holds the lock.
	other, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "amtsbote.db")+"?_pragma=busy_timeout(1000)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tx, err := other.Begin()
	if err != nil {
		t.Fatal(err)
	}
	sub := newSubmitter("busy-key", demoBody(t), 1)
	sub.client.Timeout = 20 * time.Second
	began := time.Now()
	status, _, ra, err := sub.once(p.addr, "while-locked")
	took := time.Since(began)
	if err != nil || status != http.StatusServiceUnavailable || ra == "" {
		t.Errorf("submission while another writer holds the lock: status %d, Retry-After %q, error %v; want 503 with Retry-After",
			status, ra, err)
	}
	t.Logf("answered %d after %v with the write lock held elsewhere (request_timeout 2s)", status, took)
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	status, id, _, err := sub.once(p.addr, "while-locked")
	if err != nil || status != http.StatusAccepted {
		t.Fatalf("retry after the lock was released: status %d, error %v; want 202", status, err)
	}
	var n int
	if err := other.QueryRow(`SELECT count(*) FROM submissions WHERE idempotency_key = 'while-locked'`).Scan(&n); err != nil || n != 1 {
		t.Errorf("%d submissions stored under the key (%v), want 1", n, err)
	}
	p.awaitStatus(t, "busy-key", id, "delivered", time.Minute)
}
