package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
)

// The durability settings the package promises hold on both connection pools:
// WAL, synchronous=FULL (2), foreign keys on, a busy timeout.
func TestPragmas(t *testing.T) {
	t.Parallel()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "amtsbote.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for name, db := range map[string]*sql.DB{"write": s.write, "read": s.read} {
		var mode string
		var synchronous, foreignKeys, busy int
		if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRow(`PRAGMA synchronous`).Scan(&synchronous); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRow(`PRAGMA foreign_keys`).Scan(&foreignKeys); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRow(`PRAGMA busy_timeout`).Scan(&busy); err != nil {
			t.Fatal(err)
		}
		if mode != "wal" || synchronous != 2 || foreignKeys != 1 || busy < 1000 {
			t.Errorf("%s connection: journal_mode=%s synchronous=%d foreign_keys=%d busy_timeout=%d; want wal, 2, 1, >=1000",
				name, mode, synchronous, foreignKeys, busy)
		}
	}
	// Checkpoints run in the background, not in the writer's commits.
	var autocheckpoint int
	if err := s.write.QueryRow(`PRAGMA wal_autocheckpoint`).Scan(&autocheckpoint); err != nil || autocheckpoint != 0 {
		t.Errorf("write connection: wal_autocheckpoint=%d (%v), want 0", autocheckpoint, err)
	}
	if got := s.write.Stats().MaxOpenConnections; got != 1 {
		t.Errorf("write pool allows %d connections, want 1 (writes are serialised in-process)", got)
	}
}
