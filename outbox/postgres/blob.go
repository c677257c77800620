package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/amtsbote/amtsbote/outbox"
)

// errBlobCommitted is returned by PutBlobChunk for a blob already committed:
// its chunks are never replaced (see PutBlobChunk).
var errBlobCommitted = errors.New("blob is committed; its chunks cannot change")

// PutBlobChunk stages chunk seq of blob id, committed at once; writing it
// again replaces it. A committed blob is immutable: writing a chunk of it
// fails and changes nothing.
func (s *Store) PutBlobChunk(ctx context.Context, id string, seq int, data []byte) error {
	if data == nil {
		data = []byte{}
	}
	tag, err := s.pool.Exec(ctx, s.q["PutBlobChunk"], id, seq, data, s.now())
	if err != nil {
		return fmt.Errorf("put chunk %d of blob %s: %w", seq, id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("put chunk %d of blob %s: %w", seq, id, errBlobCommitted)
	}
	return nil
}

// DeleteStagedBlob removes the chunks of blob id unless it is committed.
func (s *Store) DeleteStagedBlob(ctx context.Context, id string) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, s.q["LockBlobs"], []string{id}); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, s.q["DeleteStagedBlob"], id)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete staged blob %s: %w", id, err)
	}
	return nil
}

// PurgeStagedBlobs removes the chunks of uncommitted blobs last written
// before before and returns how many blobs it removed. A blob that another
// transaction commits meanwhile is kept: both lock the blob's id.
func (s *Store) PurgeStagedBlobs(ctx context.Context, before time.Time) (int, error) {
	rows, err := s.pool.Query(ctx, s.q["StaleStagedBlobs"], before)
	if err != nil {
		return 0, fmt.Errorf("purge staged blobs: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return 0, fmt.Errorf("purge staged blobs: %w", err)
	}
	if len(ids) == 0 {
		return 0, nil
	}
	var n int
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, s.q["LockBlobs"], ids); err != nil {
			return err
		}
		return tx.QueryRow(ctx, s.q["PurgeStagedBlobs"], ids, before).Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("purge staged blobs: %w", err)
	}
	return n, nil
}

// Blob returns the committed blob id.
func (s *Store) Blob(ctx context.Context, id string) (outbox.Blob, error) {
	b, err := scanBlob(s.pool.QueryRow(ctx, s.q["BlobByID"], id).Scan)
	if errors.Is(err, pgx.ErrNoRows) {
		return outbox.Blob{}, fmt.Errorf("blob %s: %w", id, outbox.ErrNotFound)
	}
	if err != nil {
		return outbox.Blob{}, fmt.Errorf("read blob %s: %w", id, err)
	}
	return b, nil
}

// scanBlob reads a row of outbox_blobs (id, submission_id, size, sha256,
// sha256_sealed, chunks, created_at) with scan. SealedSHA256 is nil where
// the column is NULL. On an error the blob holds what was read (its ID, for
// the message).
func scanBlob(scan func(dest ...any) error) (outbox.Blob, error) {
	var b outbox.Blob
	var sum []byte
	if err := scan(&b.ID, &b.SubmissionID, &b.Size, &sum, &b.SealedSHA256, &b.Chunks, &b.CreatedAt); err != nil {
		return b, err
	}
	if len(sum) != len(b.SHA256) {
		return b, fmt.Errorf("checksum has %d bytes: %w", len(sum), outbox.ErrBlobCorrupt)
	}
	copy(b.SHA256[:], sum)
	b.CreatedAt = b.CreatedAt.UTC()
	return b, nil
}

// nullIfEmpty returns b, or nil (SQL NULL) when b is empty: how
// sha256_sealed is written.
func nullIfEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// BlobChunk returns chunk seq of the committed blob id.
func (s *Store) BlobChunk(ctx context.Context, id string, seq int) ([]byte, error) {
	var data []byte
	err := s.pool.QueryRow(ctx, s.q["BlobChunk"], id, seq).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("chunk %d of blob %s: %w", seq, id, outbox.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read chunk %d of blob %s: %w", seq, id, err)
	}
	return data, nil
}

// InsertBlobs commits staged blobs as files of their submissions, after
// checking in the transaction that exactly chunks 0 to Chunks-1 of each are
// staged. It holds the lock of each blob id until the commit, so a
// concurrent PurgeStagedBlobs or DeleteStagedBlob keeps the chunks.
func (t *tx) InsertBlobs(ctx context.Context, blobs []outbox.Blob) error {
	if len(blobs) == 0 {
		return nil
	}
	ids := make([]string, len(blobs))
	for i, b := range blobs {
		ids[i] = b.ID
	}
	slices.Sort(ids) // one lock order for every transaction
	if _, err := t.tx.Exec(ctx, t.s.q["LockBlobs"], ids); err != nil {
		return fmt.Errorf("insert blobs: lock: %w", err)
	}
	now := t.s.now()
	for _, b := range blobs {
		if b.Chunks < 0 || b.Size < 0 {
			return fmt.Errorf("insert blob %s: negative size or chunk count", b.ID)
		}
		var n, first, last int
		if err := t.tx.QueryRow(ctx, t.s.q["StagedChunks"], b.ID).Scan(&n, &first, &last); err != nil {
			return fmt.Errorf("insert blob %s: count staged chunks: %w", b.ID, err)
		}
		if n != b.Chunks || (n > 0 && (first != 0 || last != n-1)) {
			return fmt.Errorf("insert blob %s: %d chunks staged (seq %d to %d), want %d", b.ID, n, first, last, b.Chunks)
		}
		created := b.CreatedAt
		if created.IsZero() {
			created = now
		}
		if _, err := t.tx.Exec(ctx, t.s.q["InsertBlob"], b.ID, b.SubmissionID, b.Size, b.SHA256[:],
			nullIfEmpty(b.SealedSHA256), b.Chunks, created); err != nil {
			return fmt.Errorf("insert blob %s: %w", b.ID, err)
		}
	}
	return nil
}

// purgeBlobs deletes the blobs of the submissions ids and their chunks in tx
// and returns how many blobs it deleted.
func (s *Store) purgeBlobs(ctx context.Context, tx pgx.Tx, ids []string) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	if _, err := tx.Exec(ctx, s.q["PurgeBlobChunks"], ids); err != nil {
		return 0, fmt.Errorf("purge blob chunks: %w", err)
	}
	tag, err := tx.Exec(ctx, s.q["PurgeBlobs"], ids)
	if err != nil {
		return 0, fmt.Errorf("purge blobs: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
