package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/amtsbote/amtsbote/outbox"
)

// errBlobCommitted is returned by PutBlobChunk for a blob already committed:
// its chunks are never replaced (see PutBlobChunk).
var errBlobCommitted = errors.New("blob is committed; its chunks cannot change")

// PutBlobChunk stages chunk seq of blob id, committed at once; writing it
// again replaces it. A committed blob is immutable: writing a chunk of it
// fails and changes nothing.
func (s *Store) PutBlobChunk(ctx context.Context, id string, seq int, data []byte) error {
	stored, err := s.d.PutBlobChunk(ctx, id, seq, data, s.now())
	if err != nil {
		return fmt.Errorf("put chunk %d of blob %s: %w", seq, id, err)
	}
	if !stored {
		return fmt.Errorf("put chunk %d of blob %s: %w", seq, id, errBlobCommitted)
	}
	return nil
}

// DeleteStagedBlob removes the chunks of blob id unless it is committed.
func (s *Store) DeleteStagedBlob(ctx context.Context, id string) error {
	if err := s.d.DeleteStagedBlob(ctx, id); err != nil {
		return fmt.Errorf("delete staged blob %s: %w", id, err)
	}
	return nil
}

// PurgeStagedBlobs removes the chunks of uncommitted blobs last written
// before before and returns how many blobs it removed.
func (s *Store) PurgeStagedBlobs(ctx context.Context, before time.Time) (int, error) {
	n, err := s.d.PurgeStagedBlobs(ctx, before)
	if err != nil {
		return 0, fmt.Errorf("purge staged blobs: %w", err)
	}
	return n, nil
}

// Blob returns the committed blob id.
func (s *Store) Blob(ctx context.Context, id string) (outbox.Blob, error) {
	b, err := s.d.BlobByID(ctx, id)
	if errors.Is(err, outbox.ErrNotFound) {
		return outbox.Blob{}, fmt.Errorf("blob %s: %w", id, outbox.ErrNotFound)
	}
	if err != nil {
		return outbox.Blob{}, fmt.Errorf("read blob %s: %w", id, err)
	}
	return b, nil
}

// BlobChunk returns chunk seq of the committed blob id.
func (s *Store) BlobChunk(ctx context.Context, id string, seq int) ([]byte, error) {
	data, err := s.d.BlobChunk(ctx, id, seq)
	if errors.Is(err, outbox.ErrNotFound) {
		return nil, fmt.Errorf("chunk %d of blob %s: %w", seq, id, outbox.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read chunk %d of blob %s: %w", seq, id, err)
	}
	return data, nil
}

// InsertBlobs commits staged blobs as files of their submissions, after
// checking in the transaction that exactly chunks 0 to Chunks-1 of each are
// staged. Where the driver locks, the lock of each blob id is held until the
// commit, so a concurrent PurgeStagedBlobs or DeleteStagedBlob keeps the
// chunks.
func (t *tx) InsertBlobs(ctx context.Context, blobs []outbox.Blob) error {
	if len(blobs) == 0 {
		return nil
	}
	ids := make([]string, len(blobs))
	for i, b := range blobs {
		ids[i] = b.ID
	}
	slices.Sort(ids) // one lock order for every transaction
	if err := t.ex.LockBlobs(ctx, ids); err != nil {
		return fmt.Errorf("insert blobs: lock: %w", err)
	}
	now := t.s.now()
	for _, b := range blobs {
		if b.Chunks < 0 || b.Size < 0 {
			return fmt.Errorf("insert blob %s: negative size or chunk count", b.ID)
		}
		n, first, last, err := t.ex.StagedChunks(ctx, b.ID)
		if err != nil {
			return fmt.Errorf("insert blob %s: count staged chunks: %w", b.ID, err)
		}
		if n != b.Chunks || (n > 0 && (first != 0 || last != n-1)) {
			return fmt.Errorf("insert blob %s: %d chunks staged (seq %d to %d), want %d", b.ID, n, first, last, b.Chunks)
		}
		created := b.CreatedAt
		if created.IsZero() {
			created = now
		}
		if err := t.ex.InsertBlob(ctx, b, created); err != nil {
			return fmt.Errorf("insert blob %s: %w", b.ID, err)
		}
	}
	return nil
}

// SetBlobChecksum sets b.SHA256 to sum as read from a row; a sum of another
// length is an error wrapping outbox.ErrBlobCorrupt.
func SetBlobChecksum(b *outbox.Blob, sum []byte) error {
	if len(sum) != len(b.SHA256) {
		return fmt.Errorf("checksum has %d bytes: %w", len(sum), outbox.ErrBlobCorrupt)
	}
	copy(b.SHA256[:], sum)
	return nil
}

// NullIfEmpty returns b, or an untyped nil (SQL NULL in every driver) when
// b is empty: how the drivers write sha256_sealed.
func NullIfEmpty(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// NonNil returns b, or an empty slice when b is nil (payload columns are NOT NULL).
func NonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
