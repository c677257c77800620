package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wmsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	_ "modernc.org/sqlite" // the driver the SQLite store uses
)

// baselineResult is the throughput and per-transaction latency of a baseline.
type baselineResult struct {
	perSec   float64
	p50, p99 float64 // ms
}

// rowSizes are the sizes of what one submission stores: the request body and
// the outbox message (the XML).
type rowSizes struct{ submission, message int }

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// insertLoop runs n transactions from c goroutines and measures them. With a
// rate above 0, transaction i starts no earlier than i/rate seconds after the
// first (paced like a fixed-rate run, to measure the cost per transaction at
// that rate); else each goroutine starts its next one at once.
func insertLoop(ctx context.Context, n, c int, rate float64, tx func(ctx context.Context, i int) error) (baselineResult, error) {
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				if rate > 0 {
					time.Sleep(time.Until(start.Add(time.Duration(float64(i) / rate * float64(time.Second)))))
				}
				t0 := time.Now()
				if err := tx(ctx, i); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		return baselineResult{}, firstErr
	}
	return baselineResult{perSec: float64(n) / elapsed.Seconds(), p50: percentile(lat, 50), p99: percentile(lat, 99)}, nil
}

// pgxBaseline inserts n submission rows with one outbox row each, one
// transaction per submission, from c goroutines through a pgx pool of c
// connections: the floor for our intake on PostgreSQL. With notify, each
// transaction also sends a NOTIFY before it commits, as the store does to wake
// the relays: the difference shows what that costs.
func pgxBaseline(ctx context.Context, dbURL string, n, c int, rate float64, sizes rowSizes, notify bool) (baselineResult, error) {
	return pgxInsertBaseline(ctx, dbURL, n, c, rate, sizes, notify, false)
}

// pgxInsertBaseline is pgxBaseline; with pipelined, each transaction sends
// its two inserts (and the NOTIFY) as one batch (an implicit transaction, one
// round trip, as intake does) instead of one statement at a time between
// BEGIN and COMMIT.
func pgxInsertBaseline(ctx context.Context, dbURL string, n, c int, rate float64, sizes rowSizes, notify, pipelined bool) (baselineResult, error) {
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return baselineResult{}, err
	}
	cfg.MaxConns = int32(c)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return baselineResult{}, err
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, `
		DROP TABLE IF EXISTS baseline_messages, baseline_submissions;
		CREATE TABLE baseline_submissions (id text PRIMARY KEY, payload bytea NOT NULL, created_at timestamptz NOT NULL);
		CREATE TABLE baseline_messages (seq bigserial PRIMARY KEY, id text NOT NULL,
			submission_id text REFERENCES baseline_submissions (id), payload bytea NOT NULL, created_at timestamptz NOT NULL)`); err != nil {
		return baselineResult{}, fmt.Errorf("pgx baseline: create tables: %w", err)
	}
	sub, msg := randomBytes(sizes.submission), randomBytes(sizes.message)
	if pipelined {
		return insertLoop(ctx, n, c, rate, func(ctx context.Context, _ int) error {
			id, now := uuid.NewString(), time.Now()
			b := &pgx.Batch{}
			b.Queue(`INSERT INTO baseline_submissions (id, payload, created_at) VALUES ($1, $2, $3)`, id, sub, now)
			b.Queue(`INSERT INTO baseline_messages (id, submission_id, payload, created_at) VALUES ($1, $2, $3, $4)`,
				uuid.NewString(), id, msg, now)
			if notify {
				b.Queue(`SELECT pg_notify('baseline', 'topic')`)
			}
			return pool.SendBatch(ctx, b).Close()
		})
	}
	return insertLoop(ctx, n, c, rate, func(ctx context.Context, _ int) error {
		return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			id, now := uuid.NewString(), time.Now()
			if _, err := tx.Exec(ctx, `INSERT INTO baseline_submissions (id, payload, created_at) VALUES ($1, $2, $3)`, id, sub, now); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO baseline_messages (id, submission_id, payload, created_at) VALUES ($1, $2, $3, $4)`,
				uuid.NewString(), id, msg, now); err != nil {
				return err
			}
			if notify {
				_, err := tx.Exec(ctx, `SELECT pg_notify('baseline', 'topic')`)
				return err
			}
			return nil
		})
	})
}

// pgxOutcomeBaseline prepares n outbox rows of msgSize bytes (not measured)
// and returns the measured part: n deliveries recorded from c goroutines as
// the store records them (the row marked delivered, an attempt row
// inserted, committed without waiting for the WAL flush), perTx per
// transaction and each transaction in one round trip (a batch: BEGIN, SET
// LOCAL, the UPDATEs and INSERTs, COMMIT). With perTx 1 it is the floor for
// recording outcomes on PostgreSQL when they do not share a transaction, as
// at a few hundred submissions a second; with perTx the relay's concurrency,
// the most outcomes the completer can gather into one transaction, the floor
// when they do, as in the closed loop. A fixed rate paces the transactions
// at rate/perTx.
func pgxOutcomeBaseline(ctx context.Context, dbURL string, n, c int, rate float64, msgSize, perTx int) (run func() (baselineResult, error), closeFn func(), err error) {
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return nil, nil, err
	}
	cfg.MaxConns = int32(c)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	if _, err := pool.Exec(ctx, `
		DROP TABLE IF EXISTS baseline_attempts, baseline_outbox;
		CREATE TABLE baseline_outbox (seq bigint PRIMARY KEY, id text NOT NULL, payload bytea NOT NULL,
			state text NOT NULL, attempts integer NOT NULL, updated_at timestamptz NOT NULL, delivered_at timestamptz);
		CREATE TABLE baseline_attempts (message_seq bigint NOT NULL REFERENCES baseline_outbox (seq),
			number integer NOT NULL, outcome text NOT NULL, at timestamptz NOT NULL, PRIMARY KEY (message_seq, number))`); err != nil {
		pool.Close()
		return nil, nil, fmt.Errorf("pgx outcome baseline: create tables: %w", err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO baseline_outbox (seq, id, payload, state, attempts, updated_at)
		SELECT g, gen_random_uuid()::text, $2, 'pending', 0, now() FROM generate_series(1, $1::int) g`, n, randomBytes(msgSize)); err != nil {
		pool.Close()
		return nil, nil, fmt.Errorf("pgx outcome baseline: fill: %w", err)
	}
	perTx = max(perTx, 1)
	run = func() (baselineResult, error) {
		return insertLoop(ctx, (n+perTx-1)/perTx, c, rate/float64(perTx), func(ctx context.Context, i int) error {
			now := time.Now()
			b := &pgx.Batch{}
			b.Queue(`BEGIN`)
			b.Queue(`SET LOCAL synchronous_commit TO OFF`)
			for seq := i*perTx + 1; seq <= min((i+1)*perTx, n); seq++ {
				b.Queue(`UPDATE baseline_outbox SET state = 'delivered', attempts = attempts + 1,
					updated_at = $2, delivered_at = $2 WHERE seq = $1`, seq, now)
				b.Queue(`INSERT INTO baseline_attempts (message_seq, number, outcome, at) VALUES ($1, 1, 'delivered', $2)`, seq, now)
			}
			b.Queue(`COMMIT`)
			return pool.SendBatch(ctx, b).Close()
		})
	}
	return run, pool.Close, nil
}

// sqliteBaseline does the same as pgxBaseline through database/sql and
// modernc.org/sqlite with the store's settings: WAL, synchronous=FULL, one
// writer connection, BEGIN IMMEDIATE.
func sqliteBaseline(ctx context.Context, dir string, n, c int, rate float64, sizes rowSizes) (baselineResult, error) {
	v := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(10000)", "foreign_keys(1)"} {
		v.Add("_pragma", p)
	}
	v.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "baseline.db")+"?"+v.Encode())
	if err != nil {
		return baselineResult{}, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	for _, q := range []string{
		`CREATE TABLE baseline_submissions (id TEXT PRIMARY KEY, payload BLOB NOT NULL, created_at INTEGER NOT NULL)`,
		`CREATE TABLE baseline_messages (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL,
			submission_id TEXT REFERENCES baseline_submissions (id), payload BLOB NOT NULL, created_at INTEGER NOT NULL)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return baselineResult{}, fmt.Errorf("sqlite baseline: %w", err)
		}
	}
	sub, msg := randomBytes(sizes.submission), randomBytes(sizes.message)
	return insertLoop(ctx, n, c, rate, func(ctx context.Context, _ int) error {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		id, now := uuid.NewString(), time.Now().UnixMicro()
		if _, err := tx.ExecContext(ctx, `INSERT INTO baseline_submissions (id, payload, created_at) VALUES (?, ?, ?)`, id, sub, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO baseline_messages (id, submission_id, payload, created_at) VALUES (?, ?, ?, ?)`,
			uuid.NewString(), id, msg, now); err != nil {
			return err
		}
		return tx.Commit()
	})
}

// watermillBaseline runs a bare watermill-sql pipeline on PostgreSQL: c
// goroutines publish n messages of size bytes (one transaction each) while one
// subscriber consumes and acks them. It returns the sustained rate (n over the
// time from the first publish to the last ack) and the publish->ack latency.
func watermillBaseline(ctx context.Context, dbURL string, n, c, size int) (baselineResult, error) {
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return baselineResult{}, err
	}
	cfg.MaxConns = int32(c + 4)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return baselineResult{}, err
	}
	defer pool.Close()
	db := wmsql.BeginnerFromPgx(pool)
	logger := watermill.NopLogger{}
	schema := wmsql.DefaultPostgreSQLSchema{GeneratePayloadType: func(string) string { return "BYTEA" }}
	pub, err := wmsql.NewPublisher(db, wmsql.PublisherConfig{SchemaAdapter: schema, AutoInitializeSchema: true}, logger)
	if err != nil {
		return baselineResult{}, err
	}
	defer pub.Close()
	sub, err := wmsql.NewSubscriber(db, wmsql.SubscriberConfig{
		ConsumerGroup:    "bench",
		PollInterval:     10 * time.Millisecond,
		SchemaAdapter:    schema,
		OffsetsAdapter:   wmsql.DefaultPostgreSQLOffsetsAdapter{},
		InitializeSchema: true,
	}, logger)
	if err != nil {
		return baselineResult{}, err
	}
	defer sub.Close()
	topic := "bench_" + uuid.NewString()[:8]
	if err := sub.SubscribeInitialize(topic); err != nil {
		return baselineResult{}, fmt.Errorf("watermill baseline: initialize: %w", err)
	}
	subCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	msgs, err := sub.Subscribe(subCtx, topic)
	if err != nil {
		return baselineResult{}, err
	}

	payload := randomBytes(size)
	lat := make([]time.Duration, 0, n)
	var count atomic.Int64
	acked := make(chan struct{})
	go func() {
		defer close(acked)
		for m := range msgs {
			if t, err := time.Parse(time.RFC3339Nano, m.Metadata.Get("published")); err == nil {
				lat = append(lat, time.Since(t))
			}
			m.Ack()
			if count.Add(1) == int64(n) {
				return
			}
		}
	}()
	start := time.Now()
	if _, err := insertLoop(ctx, n, c, 0, func(ctx context.Context, _ int) error {
		m := message.NewMessage(watermill.NewUUID(), payload)
		m.Metadata.Set("published", time.Now().Format(time.RFC3339Nano))
		return pub.Publish(topic, m)
	}); err != nil {
		return baselineResult{}, fmt.Errorf("watermill baseline: publish: %w", err)
	}
	select {
	case <-acked:
	case <-time.After(5 * time.Minute):
		return baselineResult{}, fmt.Errorf("watermill baseline: only %d of %d messages acked within 5 minutes", count.Load(), n)
	}
	elapsed := time.Since(start)
	return baselineResult{perSec: float64(n) / elapsed.Seconds(), p50: percentile(lat, 50), p99: percentile(lat, 99)}, nil
}

// httpBaseline posts n bodies of size bytes from c keep-alive clients to a
// bare net/http server on the loopback that reads each body and answers
// 202: the floor of one HTTP exchange on this machine, of which a
// submission makes two (the portal's POST and the delivery).
func httpBaseline(ctx context.Context, n, c int, rate float64, size int) (baselineResult, error) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: c, MaxConnsPerHost: c}}
	defer client.CloseIdleConnections()
	body := randomBytes(size)
	return insertLoop(ctx, n, c, rate, func(ctx context.Context, _ int) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			return fmt.Errorf("http baseline: status %d", resp.StatusCode)
		}
		return nil
	})
}
