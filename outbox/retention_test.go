package outbox_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/outbox"
)

// fakePurger has n purgeable messages and records the cut-offs it was asked for.
type fakePurger struct {
	left    int
	befores []time.Time
	fail    error
}

func (f *fakePurger) Purge(_ context.Context, before time.Time, limit int) (outbox.PurgeResult, error) {
	f.befores = append(f.befores, before)
	if f.fail != nil {
		return outbox.PurgeResult{}, f.fail
	}
	n := min(limit, f.left)
	f.left -= n
	return outbox.PurgeResult{Messages: n}, nil
}

func TestRetentionPurgesInBatchesUntilDone(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	p := &fakePurger{left: 1234}
	r, err := outbox.NewRetention(p, outbox.RetentionConfig{After: 30 * 24 * time.Hour, Batch: 500, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.RunOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Messages != 1234 || len(p.befores) != 3 {
		t.Fatalf("purged %d in %d calls, want 1234 in 3", res.Messages, len(p.befores))
	}
	if want := now.Add(-30 * 24 * time.Hour); !p.befores[0].Equal(want) {
		t.Fatalf("cut-off %v, want %v", p.befores[0], want)
	}
	p.fail = errors.New("database down")
	if _, err := r.RunOnce(context.Background()); err == nil {
		t.Fatal("a failed purge reported no error")
	}
	if _, err := outbox.NewRetention(p, outbox.RetentionConfig{}); err == nil {
		t.Fatal("retention without a period was accepted")
	}
}
