package postgres_test

import (
	"context"
	"encoding/json"
	"os"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/amtsbote/amtsbote/outbox/internal/sqlfile"
	"github.com/amtsbote/amtsbote/outbox/postgres"
	"github.com/amtsbote/amtsbote/outbox/postgres/pgtest"
)

// The statements that change one message (or a few) by topic and id, or by
// seq, read only the rows they change, whatever the statistics say. The
// table has the statistics of an empty table (never analysed, autovacuum
// off) and several thousand open messages of one topic: then a statement
// filtering on topic and id is planned over the partial index
// outbox_messages_open and reads every open message of the topic (issue 20).
// Both the generic plan (prepared statements after five runs) and the
// custom plan are checked, executed with EXPLAIN ANALYZE in a transaction
// that is rolled back.
func TestAddressedByKey(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	s, err := postgres.Open(ctx, postgres.Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, stmt := range []string{
		`ALTER TABLE outbox_messages SET (autovacuum_enabled = false)`,
		// Leased open messages m1..m3000 of t/plan, owner o; m3001 open and unleased;
		// m3002 dead; and a few messages of another topic with the same ids.
		`INSERT INTO outbox_messages (id, topic, payload, state, next_attempt_at, created_at, updated_at, lease_owner, lease_until, leased_at)
		 SELECT 'm' || g, 't/plan', '\x00', 'pending', now(), now(), now(), 'o', now() + interval '1 minute', now()
		 FROM generate_series(1, 3000) g`,
		`INSERT INTO outbox_messages (id, topic, payload, state, next_attempt_at, created_at, updated_at)
		 VALUES ('m3001', 't/plan', '\x00', 'retrying', now() + interval '1 hour', now(), now()),
		        ('m3002', 't/plan', '\x00', 'dead', now(), now(), now())`,
		`INSERT INTO outbox_messages (id, topic, payload, state, next_attempt_at, created_at, updated_at)
		 SELECT 'm' || g, 't/other', '\x00', 'pending', now(), now(), now() FROM generate_series(1, 10) g`,
	} {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	var analysed bool
	if err := conn.QueryRow(ctx, `SELECT last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL
		FROM pg_stat_user_tables WHERE relname = 'outbox_messages'`).Scan(&analysed); err != nil {
		t.Fatal(err)
	}
	if analysed {
		t.Fatal("outbox_messages was analysed: the test needs the statistics of an empty table")
	}
	var dead int64
	if err := conn.QueryRow(ctx, `SELECT seq FROM outbox_messages WHERE topic = 't/plan' AND id = 'm3002'`).Scan(&dead); err != nil {
		t.Fatal(err)
	}
	seq := strconv.FormatInt(dead, 10)

	q, err := sqlfile.Queries(os.DirFS("."), "queries.sql")
	if err != nil {
		t.Fatal(err)
	}
	// Each statement with its arguments as SQL literals, and the rows it must change.
	cases := []struct {
		name    string
		args    string
		changed int
	}{
		{"Complete", `'delivered', now(), '', now(), 't/plan', 'm1500', 'o', '', 0, now(), 'delivered'`, 1},
		{"Complete", `'retrying', now(), 'boom', now(), 't/plan', 'm2999', 'o', 'transient', 1, now(), 'retry'`, 1},
		{"Release", `'t/plan', ARRAY['m10', 'm2000'], 'o'`, 2},
		{"ExtendLeases", `now() + interval '2 minutes', 't/plan', ARRAY['m11', 'm2001', 'm9999'], 'o'`, 2},
		{"MakeDue", `now(), 't/plan', 'm3001'`, 1},
		{"ReplayMessage", seq + `, now(), 'tester', 'plan test'`, 1},
		{"DiscardMessage", seq + `, now()`, 1},
		{"LockMessagesByID", `'m1700', 't/plan'`, 1},
		// By id alone, over the unique (id, topic): both topics' m5.
		{"MessagesByID", `'m5', ''`, 2},
		{"LockMessagesByID", `'m5', ''`, 2},
	}
	for _, mode := range []string{"force_generic_plan", "force_custom_plan"} {
		for _, c := range cases {
			t.Run(mode+"/"+c.name, func(t *testing.T) {
				sql, ok := q[c.name]
				if !ok {
					t.Fatalf("no query %s in queries.sql", c.name)
				}
				plan := explain(t, conn, mode, sql, c.args)
				st := newPlanStats(t, plan)
				if st.rows != c.changed {
					t.Errorf("%s changed or returned %d rows, want %d", c.name, st.rows, c.changed)
				}
				if st.removed > 0 || st.seqScans > 0 || len(st.partial) > 0 {
					t.Errorf("%s reads rows it does not change: %d rows removed by filter, %d sequential scans, partial indexes %v\nplan: %s",
						c.name, st.removed, st.seqScans, st.partial, plan)
				}
			})
		}
	}
}

// explain runs EXPLAIN ANALYZE of the prepared statement sql with args in
// plan cache mode mode, in a transaction it rolls back, and returns the
// top plan node.
func explain(t *testing.T, conn *pgx.Conn, mode, sql, args string) json.RawMessage {
	t.Helper()
	ctx := context.Background()
	if _, err := conn.Exec(ctx, "SET plan_cache_mode = "+mode); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "PREPARE plan_under_test AS "+sql); err != nil {
		t.Fatal(err)
	}
	defer conn.Exec(ctx, "DEALLOCATE plan_under_test") //nolint:errcheck
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	var out []struct {
		Plan json.RawMessage `json:"Plan"`
	}
	var raw []byte
	if err := tx.QueryRow(ctx, "EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE plan_under_test("+args+")").Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &out); err != nil || len(out) != 1 {
		t.Fatalf("explain output %s: %v", raw, err)
	}
	return out[0].Plan
}

// planStats sums what a plan read beyond the rows it was after.
type planStats struct {
	rows     int      // rows of the top node, or of an UPDATE's input: changed or returned
	removed  int      // rows read and dropped by a filter or an index recheck
	seqScans int      // sequential scans
	partial  []string // partial indexes of open messages walked
}

type planNode struct {
	NodeType       string     `json:"Node Type"`
	Relationship   string     `json:"Parent Relationship"`
	IndexName      string     `json:"Index Name"`
	ActualRows     float64    `json:"Actual Rows"`
	ActualLoops    float64    `json:"Actual Loops"`
	RemovedFilter  float64    `json:"Rows Removed by Filter"`
	RemovedRecheck float64    `json:"Rows Removed by Index Recheck"`
	Plans          []planNode `json:"Plans"`
}

func newPlanStats(t *testing.T, raw json.RawMessage) planStats {
	t.Helper()
	var top planNode
	if err := json.Unmarshal(raw, &top); err != nil {
		t.Fatalf("explain output %s: %v", raw, err)
	}
	s := planStats{rows: int(top.ActualRows)}
	if top.NodeType == "ModifyTable" {
		// An UPDATE without RETURNING reports no rows itself: count its input.
		for _, c := range top.Plans {
			if c.Relationship == "Outer" {
				s.rows = int(c.ActualRows)
			}
		}
	}
	s.walk(top)
	return s
}

func (s *planStats) walk(n planNode) {
	// Rows removed are reported per loop.
	s.removed += int((n.RemovedFilter + n.RemovedRecheck) * max(n.ActualLoops, 1))
	if n.NodeType == "Seq Scan" {
		s.seqScans++
	}
	if n.IndexName == "outbox_messages_open" || n.IndexName == "outbox_messages_due" {
		s.partial = append(s.partial, n.IndexName)
	}
	for _, c := range n.Plans {
		s.walk(c)
	}
}
