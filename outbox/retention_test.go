package outbox_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/outbox"
)

// fakePurger has n purgeable messages (each with one blob) and staged
// abandoned uploads, and records the cut-offs it was asked for.
type fakePurger struct {
	left    int
	befores []time.Time
	fail    error

	staged        int
	stagedBefores []time.Time
	stagedFail    error
}

func (f *fakePurger) Purge(_ context.Context, before time.Time, limit int) (outbox.PurgeResult, error) {
	f.befores = append(f.befores, before)
	if f.fail != nil {
		return outbox.PurgeResult{}, f.fail
	}
	n := min(limit, f.left)
	f.left -= n
	return outbox.PurgeResult{Messages: n, Blobs: n}, nil
}

func (f *fakePurger) PurgeStagedBlobs(_ context.Context, before time.Time) (int, error) {
	f.stagedBefores = append(f.stagedBefores, before)
	if f.stagedFail != nil {
		return 0, f.stagedFail
	}
	n := f.staged
	f.staged = 0
	return n, nil
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
	if res.Messages != 1234 || res.Blobs != 1234 || len(p.befores) != 3 {
		t.Fatalf("purged %d messages and %d blobs in %d calls, want 1234 of each in 3", res.Messages, res.Blobs, len(p.befores))
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

// TestRetentionPurgesAbandonedUploads: each run removes the staged chunks of
// uploads abandoned over StagedBlobGrace ago, after the payloads, and
// reports a failure of that step.
func TestRetentionPurgesAbandonedUploads(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name       string
		p          *fakePurger
		wantStaged int
		wantErr    bool
	}{
		{"removed and counted", &fakePurger{left: 3, staged: 2}, 2, false},
		{"nothing staged", &fakePurger{left: 3}, 0, false},
		{"failure reported", &fakePurger{left: 3, staged: 2, stagedFail: errors.New("database down")}, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := outbox.NewRetention(tc.p, outbox.RetentionConfig{After: 30 * 24 * time.Hour, Now: func() time.Time { return now }})
			if err != nil {
				t.Fatal(err)
			}
			res, err := r.RunOnce(context.Background())
			if (err != nil) != tc.wantErr {
				t.Fatalf("RunOnce error = %v, want error %v", err, tc.wantErr)
			}
			if res.StagedBlobs != tc.wantStaged || res.Messages != 3 {
				t.Fatalf("result %+v, want %d staged blobs and the 3 messages", res, tc.wantStaged)
			}
			if len(tc.p.stagedBefores) != 1 || !tc.p.stagedBefores[0].Equal(now.Add(-outbox.StagedBlobGrace)) {
				t.Fatalf("staged cut-offs %v, want one at now-%v", tc.p.stagedBefores, outbox.StagedBlobGrace)
			}
		})
	}
	// A failed payload purge stops the run before the staged blobs.
	p := &fakePurger{fail: errors.New("database down"), staged: 1}
	r, err := outbox.NewRetention(p, outbox.RetentionConfig{After: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.RunOnce(context.Background()); err == nil || len(p.stagedBefores) != 0 {
		t.Fatalf("RunOnce = %v after %d staged purges; want the purge error and none", err, len(p.stagedBefores))
	}
}
