package sqlite

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/amtsbote/amtsbote/outbox/internal/sqlfile"
)

// TestExpiredLeasesUsesLeaseIndex: the recovery of lost leases runs every
// second; its query must read the short partial index of leased messages,
// not every pending and retrying message (a backlog while a receiver is
// down) and sort them. Without ANALYZE statistics SQLite prefers the
// equality on state, so the query must rule that index out.
func TestExpiredLeasesUsesLeaseIndex(t *testing.T) {
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "amtsbote.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	q, err := sqlfile.Load(files, []string{"queries.sql", "reseal.sql"}, queryNames...)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := s.read.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+q["ExpiredLeases"], int64(1), 256)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	all := strings.Join(plan, "; ")
	if !strings.Contains(all, "outbox_messages_leased") || strings.Contains(all, "TEMP B-TREE") {
		t.Errorf("ExpiredLeases plan: %s; want a search of outbox_messages_leased without a sort", all)
	}
}
