package e2e

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/outbox/postgres/pgtest"
)

// TestProcessesSharePostgres: three serve processes on one PostgreSQL database
// take 3,000 submissions, a third each, and deliver every message exactly once
// (one attempt per message), sharing the deliveries between them.
func TestProcessesSharePostgres(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	dir := t.TempDir()
	text := strings.Replace(fmt.Sprintf(retryConfig, dir, config.HashKey("pg-key")),
		"database:\n  path: "+dir+"/amtsbote.db", "database:\n  url: "+url, 1)
	cfg := writeConfig(t, dir, text)
	procs := []*proc{start(t, dir, nil, "--config", cfg), start(t, dir, nil, "--config", cfg), start(t, dir, nil, "--config", cfg)}

	const total, clients = 3000, 16
	body := demoBody(t)
	work := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted := 0
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				code, resp := procs[i%len(procs)].post(t, "pg-key", fmt.Sprintf("pg-%d", i), body)
				if code != http.StatusAccepted {
					t.Errorf("POST %d: %d %v", i, code, resp)
					continue
				}
				mu.Lock()
				accepted++
				mu.Unlock()
			}
		}()
	}
	for i := range total {
		work <- i
	}
	close(work)
	wg.Wait()
	if accepted != total {
		t.Fatalf("%d of %d accepted", accepted, total)
	}

	ctx := context.Background()
	db, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	count := func(query string) int {
		t.Helper()
		var n int
		if err := db.QueryRow(ctx, query).Scan(&n); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		return n
	}
	waitFor(t, 2*time.Minute, "all messages delivered", func() bool {
		return count(`SELECT count(*) FROM outbox_messages WHERE state = 'delivered'`) == total
	})
	if n := count(`SELECT count(*) FROM submissions`); n != total {
		t.Errorf("%d submissions stored, want %d", n, total)
	}
	if n := count(`SELECT count(*) FROM outbox_messages`); n != total {
		t.Errorf("%d messages stored, want %d", n, total)
	}
	if n := count(`SELECT count(*) FROM outbox_attempts`); n != total {
		t.Errorf("%d delivery attempts for %d messages: some were delivered more than once", n, total)
	}
	owners := count(`SELECT count(DISTINCT owner) FROM outbox_attempts`)
	if owners != len(procs) {
		t.Errorf("deliveries made by %d processes, want %d", owners, len(procs))
	}
	files, _ := filepath.Glob(filepath.Join(dir, "drop", "musterstadt", "meldewesen.wohnungsgeberbestaetigung", "*.xml"))
	if len(files) != total {
		t.Errorf("%d files dropped, want %d", len(files), total)
	}
	for _, p := range procs {
		if code := p.stop(t, syscall.SIGTERM); code != 0 {
			t.Errorf("exit code after SIGTERM: %d", code)
		}
	}
}
