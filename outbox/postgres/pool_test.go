package postgres

import (
	"context"
	"testing"

	"github.com/amtsbote/amtsbote/outbox/postgres/pgtest"
)

// TestMaxConns: Config.MaxConns sizes the pool, and a pool_max_conns in the
// URL takes precedence, as database.max_conns is documented.
func TestMaxConns(t *testing.T) {
	url := pgtest.NewDatabase(t)
	for _, c := range []struct {
		url  string
		want int32
	}{
		{url, 16},
		{url + "&pool_max_conns=3", 3},
	} {
		s, err := Open(context.Background(), Config{URL: c.url, MaxConns: 16})
		if err != nil {
			t.Fatal(err)
		}
		got := s.pool.Config().MaxConns
		s.Close()
		if got != c.want {
			t.Errorf("%s: pool of %d connections, want %d", c.url, got, c.want)
		}
	}
}
