// Package sqlfile reads the embedded SQL of the outbox stores: numbered migrations
// and named queries.
package sqlfile

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Migration is one schema step, from a file named NNN_name.up.sql.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations reads dir of fsys, ordered by version.
func Migrations(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var out []Migration
	seen := map[int]string{}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".up.sql") {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must start with a positive number and '_'", name)
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %s and %s share version %d", prev, name, v)
		}
		seen[v] = name
		b, err := fs.ReadFile(fsys, path.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", name, err)
		}
		out = append(out, Migration{Version: v, Name: name, SQL: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// Queries splits a file of queries, each introduced by a line "-- name: Name",
// into a map by name.
func Queries(fsys fs.FS, file string) (map[string]string, error) {
	b, err := fs.ReadFile(fsys, file)
	if err != nil {
		return nil, fmt.Errorf("read queries: %w", err)
	}
	out := map[string]string{}
	var name string
	var body strings.Builder
	flush := func() error {
		if name == "" {
			return nil
		}
		q := strings.TrimSpace(body.String())
		if q == "" {
			return fmt.Errorf("query %s in %s is empty", name, file)
		}
		if _, dup := out[name]; dup {
			return fmt.Errorf("query %s defined twice in %s", name, file)
		}
		out[name] = q
		body.Reset()
		return nil
	}
	for _, line := range strings.Split(string(b), "\n") {
		if n, ok := strings.CutPrefix(strings.TrimSpace(line), "-- name:"); ok {
			if err := flush(); err != nil {
				return nil, err
			}
			name = strings.TrimSpace(n)
			continue
		}
		if name != "" {
			body.WriteString(line)
			body.WriteByte('\n')
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}

// Require reports a query the code names that the embedded file lacks: a
// programming error, caught by every test that opens a store.
func Require(q map[string]string, names ...string) error {
	for _, n := range names {
		if _, ok := q[n]; !ok {
			return fmt.Errorf("embedded query %s is missing", n)
		}
	}
	return nil
}

// Load reads the named queries of several files into one map and checks
// that every query in required is there.
func Load(fsys fs.FS, files []string, required ...string) (map[string]string, error) {
	q := map[string]string{}
	for _, f := range files {
		fq, err := Queries(fsys, f)
		if err != nil {
			return nil, err
		}
		for name, query := range fq {
			if _, dup := q[name]; dup {
				return nil, fmt.Errorf("query %s is defined twice", name)
			}
			q[name] = query
		}
	}
	if err := Require(q, required...); err != nil {
		return nil, err
	}
	return q, nil
}
