package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"
)

// DefaultCheckpointInterval and DefaultCheckpointPages are the defaults of
// Config.CheckpointInterval and Config.CheckpointPages.
const (
	DefaultCheckpointInterval = 100 * time.Millisecond
	DefaultCheckpointPages    = 4096
)

// checkpointer copies the WAL into the database file in the background, so
// that no write transaction pays for it (the connections run with
// wal_autocheckpoint off). Every interval it runs a PASSIVE checkpoint on a
// connection of its own, concurrently with the writer (with nothing to copy
// it only reads the WAL index). SQLite restarts the WAL from its beginning
// only when a write transaction starts after a checkpoint copied every
// frame; under writes without a pause the WAL would keep growing, so when
// it holds pages frames or more (and grew since the last such step), it
// checkpoints again on the write connection itself, between two group
// transactions, which lets the next one restart the WAL
// (journal_size_limit then truncates the file).
type checkpointer struct {
	own, write *sql.DB
	interval   time.Duration
	pages      int
	log        *slog.Logger

	runs    atomic.Int64 // checkpoints run
	settled int          // WAL frames after the last checkpoint on the write connection
	stop    chan struct{}
	done    chan struct{}
}

// run checkpoints until stop is closed.
func (c *checkpointer) run() {
	defer close(c.done)
	t := time.NewTicker(c.interval)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		if err := c.checkpoint(); err != nil {
			c.log.LogAttrs(context.Background(), slog.LevelWarn, "sqlite checkpoint failed", slog.String("error", err.Error()))
		}
	}
}

// checkpoint runs one PASSIVE checkpoint, and one between two write
// transactions when the WAL holds c.pages frames or more.
func (c *checkpointer) checkpoint() error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-c.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	c.runs.Add(1)
	frames, _, err := walCheckpoint(ctx, c.own)
	if err != nil || frames < c.pages || frames == c.settled {
		return err
	}
	conn, err := c.write.Conn(ctx) // waits for the open group to end
	if err != nil {
		return err
	}
	defer conn.Close()
	c.settled, _, err = walCheckpoint(ctx, conn)
	return err
}

// walCheckpoint runs PRAGMA wal_checkpoint(PASSIVE) on q and returns the
// number of frames in the WAL and of those copied into the database.
func walCheckpoint(ctx context.Context, q interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}) (frames, copied int, err error) {
	var busy int
	if err := q.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &copied); err != nil {
		return 0, 0, fmt.Errorf("wal_checkpoint: %w", err)
	}
	return frames, copied, nil
}
