package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/amtsbote/amtsbote/outbox/internal/sqlfile"
)

// cacheDB opens a one-connection pool with the statement cache on a new
// database file, keeping the statements of keep, and a function that reads
// that connection's cache.
func cacheDB(t *testing.T, keep ...string) (*sql.DB, func() (prepares, kept int)) {
	t.Helper()
	set := map[string]bool{}
	for _, q := range keep {
		set[q] = true
	}
	db, err := openDB("file:"+filepath.Join(t.TempDir(), "cache.db")+"?_pragma=journal_mode(WAL)", set)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	return db, func() (int, int) {
		conn, err := db.Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		var p, k int
		if err := conn.Raw(func(c any) error {
			cc := c.(*cachingConn)
			p, k = cc.prepares, cc.lru.Len()
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return p, k
	}
}

const (
	insertT = `INSERT INTO t (id, v) VALUES (?, ?)`
	selectT = `SELECT v FROM t WHERE id = ?`
)

// A kept statement run again is not prepared again, whether it failed or not,
// and sees a changed schema; a statement not kept is prepared at every run.
func TestStmtCacheKeeps(t *testing.T) {
	db, stats := cacheDB(t, insertT, selectT)
	p0, _ := stats()
	for i := range 50 {
		if _, err := db.Exec(`INSERT INTO t (id, v) VALUES (?, ?)`, i, fmt.Sprint("v", i)); err != nil {
			t.Fatal(err)
		}
		var v string
		if err := db.QueryRow(`SELECT v FROM t WHERE id = ?`, i).Scan(&v); err != nil || v != fmt.Sprint("v", i) {
			t.Fatalf("row %d: %q, %v", i, v, err)
		}
	}
	if _, err := db.Exec(`INSERT INTO t (id, v) VALUES (?, ?)`, 1, "dup"); err == nil || !strings.Contains(err.Error(), "UNIQUE") {
		t.Fatalf("duplicate key: %v, want a UNIQUE violation", err)
	}
	if _, err := db.Exec(`INSERT INTO t (id, v) VALUES (?, ?)`, 100, "after the error"); err != nil {
		t.Fatalf("the statement after its failure: %v", err)
	}
	if p, _ := stats(); p-p0 != 2 {
		t.Errorf("%d prepares for 102 runs of 2 kept statements, want 2", p-p0)
	}
	p0, _ = stats()
	for range 5 {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM t`).Scan(&n); err != nil {
			t.Fatal(err)
		}
	}
	if p, kept := stats(); p-p0 != 5 || kept != 2 {
		t.Errorf("a statement not kept, 5 runs: %d prepares and %d statements kept, want 5 and 2", p-p0, kept)
	}

	if _, err := db.Exec(`ALTER TABLE t ADD COLUMN w TEXT NOT NULL DEFAULT 'w'`); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM t WHERE id = ? OR w = 'w'`, 1).Scan(&n); err != nil || n != 51 {
		t.Fatalf("after ALTER TABLE: %d rows, %v; want 51", n, err)
	}
	if _, err := db.Exec(`INSERT INTO t (id, v) VALUES (?, ?)`, 101, "after ALTER"); err != nil {
		t.Fatalf("a kept INSERT after ALTER TABLE: %v", err)
	}
	var w string
	if err := db.QueryRow(`SELECT w FROM t WHERE id = ?`, 101).Scan(&w); err != nil || w != "w" {
		t.Fatalf("the kept INSERT filled %q, %v; want the new column's default", w, err)
	}
}

// A query run while its kept statement still has rows open gets a statement
// of its own, and both read their own rows.
func TestStmtCacheNested(t *testing.T) {
	const q = `SELECT id FROM t WHERE id >= ? ORDER BY id`
	db, stats := cacheDB(t, q)
	for i := range 3 {
		if _, err := db.Exec(`INSERT INTO t (id, v) VALUES (?, ?)`, i, fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	outer, err := conn.QueryContext(context.Background(), q, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for outer.Next() {
		var a int
		if err := outer.Scan(&a); err != nil {
			t.Fatal(err)
		}
		inner, err := conn.QueryContext(context.Background(), q, a)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for inner.Next() {
			var b int
			if err := inner.Scan(&b); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, fmt.Sprint(b))
		}
		if err := inner.Close(); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%d:%s", a, strings.Join(ids, ",")))
	}
	if err := outer.Err(); err != nil {
		t.Fatal(err)
	}
	outer.Close()
	conn.Close()
	if want := "0:0,1,2 1:1,2 2:2"; strings.Join(got, " ") != want {
		t.Errorf("nested reads %q, want %q", strings.Join(got, " "), want)
	}
	p0, _ := stats()
	rows, err := db.Query(q, 0)
	if err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if p, _ := stats(); p != p0 {
		t.Errorf("the query after the nested reads prepared again (%d -> %d): its kept statement was not returned", p0, p)
	}
}

// The cache keeps stmtCacheSize statements; an evicted statement in use
// still reads its rows.
func TestStmtCacheBounded(t *testing.T) {
	keep := []string{`SELECT v FROM t ORDER BY id`}
	for i := range stmtCacheSize + 10 {
		keep = append(keep, fmt.Sprintf(`SELECT %d`, i))
	}
	db, stats := cacheDB(t, keep...)
	if _, err := db.Exec(`INSERT INTO t (id, v) VALUES (1, 'a'), (2, 'b')`); err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rows, err := conn.QueryContext(context.Background(), `SELECT v FROM t ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	if !rows.Next() {
		t.Fatal("no first row")
	}
	for i := range stmtCacheSize + 10 {
		var n int
		if err := conn.QueryRowContext(context.Background(), fmt.Sprintf(`SELECT %d`, i)).Scan(&n); err != nil || n != i {
			t.Fatalf("SELECT %d: %d, %v", i, n, err)
		}
	}
	var v string
	if err := rows.Scan(&v); err != nil || v != "a" || !rows.Next() || rows.Scan(&v) != nil || v != "b" {
		t.Fatalf("the evicted statement's rows: %q, %v", v, err)
	}
	rows.Close()
	conn.Close()
	if _, kept := stats(); kept != stmtCacheSize {
		t.Errorf("%d statements kept, want %d", kept, stmtCacheSize)
	}
}

// Every name in keptQueries is a query of the store: a misspelt name would
// silently keep nothing.
func TestKeptQueriesExist(t *testing.T) {
	q, err := sqlfile.Load(files, []string{"queries.sql", "reseal.sql"}, queryNames...)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range keptQueries {
		if strings.TrimSpace(q[name]) == "" {
			t.Errorf("keptQueries names %q, which is not a query of queries.sql", name)
		}
	}
}
