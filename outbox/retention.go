package outbox

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// Purger is the part of a Store the retention job uses.
type Purger interface {
	Purge(ctx context.Context, before time.Time, limit int) (PurgeResult, error)
	PurgeStagedBlobs(ctx context.Context, before time.Time) (int, error)
}

// RetentionResult counts what one run of the retention job removed.
type RetentionResult struct {
	PurgeResult
	// StagedBlobs counts the blobs of abandoned uploads (chunks staged but
	// never committed, the last written over StagedBlobGrace ago).
	StagedBlobs int
}

// RetentionConfig configures a Retention job.
type RetentionConfig struct {
	// After is how long payloads are kept after delivery. Required.
	After time.Duration
	// Interval is the pause between purges. Default 1h.
	Interval time.Duration
	// Batch bounds the rows of each kind one transaction purges. Default 500.
	Batch int
	// Logger receives a record per purge that removed something, and errors.
	Logger *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Retention purges delivered payloads older than RetentionConfig.After, in
// short transactions, so intake and delivery are never blocked for long.
// Several processes may run it on one database (PostgreSQL skips rows another
// purge holds).
type Retention struct {
	store Purger
	cfg   RetentionConfig
}

// NewRetention validates cfg and returns the job.
func NewRetention(store Purger, cfg RetentionConfig) (*Retention, error) {
	if store == nil {
		return nil, errors.New("retention: store is nil")
	}
	if cfg.After <= 0 {
		return nil, errors.New("retention: After must be positive")
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Hour
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 500
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Retention{store: store, cfg: cfg}, nil
}

// RunOnce purges until nothing older than the retention period is left,
// then removes the chunks of uploads abandoned over StagedBlobGrace ago.
func (r *Retention) RunOnce(ctx context.Context) (RetentionResult, error) {
	var total RetentionResult
	now := r.cfg.Now()
	before := now.Add(-r.cfg.After)
	for {
		res, err := r.store.Purge(ctx, before, r.cfg.Batch)
		total.Messages += res.Messages
		total.Submissions += res.Submissions
		total.Blobs += res.Blobs
		if err != nil {
			return total, err
		}
		if res.Messages < r.cfg.Batch && res.Submissions < r.cfg.Batch {
			break
		}
	}
	n, err := r.store.PurgeStagedBlobs(ctx, now.Add(-StagedBlobGrace))
	total.StagedBlobs = n
	if err != nil {
		return total, err
	}
	return total, nil
}

// Run purges at once and then every Interval until ctx ends. Failures are
// logged and retried at the next interval.
func (r *Retention) Run(ctx context.Context) error {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		res, err := r.RunOnce(ctx)
		switch {
		case err != nil && ctx.Err() != nil:
			return nil
		case err != nil:
			r.cfg.Logger.ErrorContext(ctx, "retention purge failed", slog.Any("error", err),
				slog.Int("messages_purged", res.Messages), slog.Int("submissions_purged", res.Submissions),
				slog.Int("blobs_purged", res.Blobs), slog.Int("staged_blobs_purged", res.StagedBlobs))
		case res.Messages > 0 || res.Submissions > 0 || res.Blobs > 0 || res.StagedBlobs > 0:
			r.cfg.Logger.InfoContext(ctx, "retention purged payloads",
				slog.Int("messages_purged", res.Messages), slog.Int("submissions_purged", res.Submissions),
				slog.Int("blobs_purged", res.Blobs), slog.Int("staged_blobs_purged", res.StagedBlobs),
				slog.Duration("kept_for", r.cfg.After))
		}
		t.Reset(r.cfg.Interval)
	}
}
