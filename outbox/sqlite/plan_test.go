package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/amtsbote/amtsbote/outbox/internal/sqlfile"
)

// The statements that change one message by topic and id, or by seq, find it
// through a unique key (SQLite's plan of the same statements as
// TestAddressedByKey in the PostgreSQL store), never by walking the topic's
// open messages, on a database that was never analysed and holds several
// thousand open messages of one topic.
func TestAddressedByKey(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "amtsbote.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.write.ExecContext(ctx, `WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 3000)
		INSERT INTO outbox_messages (id, topic, payload, state, next_attempt_at, created_at, updated_at, lease_owner, lease_until)
		SELECT 'm' || n, 't/plan', x'00', 'pending', 0, 0, 0, 'o', 1 FROM g`); err != nil {
		t.Fatal(err)
	}
	q, err := sqlfile.Queries(os.DirFS("."), "queries.sql")
	if err != nil {
		t.Fatal(err)
	}
	// The searches each statement may make of outbox_messages: by the unique
	// (topic, id) or by seq (the rowid).
	byKey := []string{"USING INDEX sqlite_autoindex_outbox_messages_1 (topic=? AND id=?)", "USING INTEGER PRIMARY KEY (rowid=?)"}
	for _, name := range []string{"Complete", "Release", "ExtendLease", "MakeDue", "ReplayMessage", "DiscardMessage"} {
		t.Run(name, func(t *testing.T) {
			sql, ok := q[name]
			if !ok {
				t.Fatalf("no query %s in queries.sql", name)
			}
			args := make([]any, params(sql))
			for i := range args {
				args[i] = ""
			}
			rows, err := s.write.QueryContext(ctx, "EXPLAIN QUERY PLAN "+sql, args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			searched := 0
			for _, d := range plan {
				if !strings.Contains(d, "outbox_messages") {
					continue
				}
				ok := false
				for _, k := range byKey {
					ok = ok || strings.HasPrefix(d, "SEARCH outbox_messages "+k)
				}
				if !ok {
					t.Errorf("%s reads outbox_messages other than by a key: %q\nplan: %q", name, d, plan)
				}
				searched++
			}
			if searched == 0 {
				t.Errorf("%s: no access to outbox_messages in the plan %q", name, plan)
			}
		})
	}
}

// params is the number of parameters sql takes: its highest ?N, or the
// count of bare ?.
func params(sql string) int {
	hi, bare := 0, 0
	for i := 0; i < len(sql); i++ {
		if sql[i] != '?' {
			continue
		}
		j := i + 1
		n := 0
		for j < len(sql) && sql[j] >= '0' && sql[j] <= '9' {
			n = n*10 + int(sql[j]-'0')
			j++
		}
		if j == i+1 {
			bare++
		}
		hi = max(hi, n)
	}
	return max(hi, bare)
}
