package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
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
	res, err := s.write.ExecContext(ctx, s.q["PutBlobChunk"], id, seq, micros(s.now()), nonNilBytes(data))
	if err != nil {
		return fmt.Errorf("put chunk %d of blob %s: %w", seq, id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("put chunk %d of blob %s: %w", seq, id, err)
	} else if n == 0 {
		return fmt.Errorf("put chunk %d of blob %s: %w", seq, id, errBlobCommitted)
	}
	return nil
}

// DeleteStagedBlob removes the chunks of blob id unless it is committed.
func (s *Store) DeleteStagedBlob(ctx context.Context, id string) error {
	if _, err := s.write.ExecContext(ctx, s.q["DeleteStagedBlob"], id); err != nil {
		return fmt.Errorf("delete staged blob %s: %w", id, err)
	}
	return nil
}

// PurgeStagedBlobs removes the chunks of uncommitted blobs last written
// before before and returns how many blobs it removed.
func (s *Store) PurgeStagedBlobs(ctx context.Context, before time.Time) (int, error) {
	rows, err := s.write.QueryContext(ctx, s.q["PurgeStagedBlobs"], micros(before))
	if err != nil {
		return 0, fmt.Errorf("purge staged blobs: %w", err)
	}
	ids := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, fmt.Errorf("purge staged blobs: %w", err)
		}
		ids[id] = true
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return 0, fmt.Errorf("purge staged blobs: %w", err)
	}
	return len(ids), nil
}

// Blob returns the committed blob id.
func (s *Store) Blob(ctx context.Context, id string) (outbox.Blob, error) {
	b, err := scanBlob(s.read.QueryRowContext(ctx, s.q["BlobByID"], id).Scan)
	if errors.Is(err, sql.ErrNoRows) {
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
	var created int64
	if err := scan(&b.ID, &b.SubmissionID, &b.Size, &sum, &b.SealedSHA256, &b.Chunks, &created); err != nil {
		return b, err
	}
	if len(sum) != len(b.SHA256) {
		return b, fmt.Errorf("checksum has %d bytes: %w", len(sum), outbox.ErrBlobCorrupt)
	}
	copy(b.SHA256[:], sum)
	b.CreatedAt = fromMicros(created)
	return b, nil
}

// nullIfEmpty returns b, or nil (SQL NULL) when b is empty: how
// sha256_sealed is written.
func nullIfEmpty(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// BlobChunk returns chunk seq of the committed blob id.
func (s *Store) BlobChunk(ctx context.Context, id string, seq int) ([]byte, error) {
	var data []byte
	err := s.read.QueryRowContext(ctx, s.q["BlobChunk"], id, seq).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("chunk %d of blob %s: %w", seq, id, outbox.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read chunk %d of blob %s: %w", seq, id, err)
	}
	return data, nil
}

// InsertBlobs commits staged blobs as files of their submissions, after
// checking in the transaction that exactly chunks 0 to Chunks-1 of each are
// staged.
func (t *tx) InsertBlobs(ctx context.Context, blobs []outbox.Blob) error {
	now := t.s.now()
	for _, b := range blobs {
		if err := checkStaged(b, func(dest ...any) error {
			return t.tx.QueryRowContext(ctx, t.s.q["StagedChunks"], b.ID).Scan(dest...)
		}); err != nil {
			return err
		}
		created := b.CreatedAt
		if created.IsZero() {
			created = now
		}
		if _, err := t.tx.ExecContext(ctx, t.s.q["InsertBlob"], b.ID, b.SubmissionID, b.Size, b.SHA256[:],
			nullIfEmpty(b.SealedSHA256), b.Chunks, micros(created)); err != nil {
			return fmt.Errorf("insert blob %s: %w", b.ID, err)
		}
	}
	return nil
}

// checkStaged reads the count, first and last seq of b's staged chunks with
// scan and reports an error unless they are exactly 0 to b.Chunks-1.
func checkStaged(b outbox.Blob, scan func(dest ...any) error) error {
	if b.Chunks < 0 || b.Size < 0 {
		return fmt.Errorf("insert blob %s: negative size or chunk count", b.ID)
	}
	var n, first, last int
	if err := scan(&n, &first, &last); err != nil {
		return fmt.Errorf("insert blob %s: count staged chunks: %w", b.ID, err)
	}
	if n != b.Chunks || (n > 0 && (first != 0 || last != n-1)) {
		return fmt.Errorf("insert blob %s: %d chunks staged (seq %d to %d), want %d", b.ID, n, first, last, b.Chunks)
	}
	return nil
}

// purgeBlobs deletes the blobs of the submissions ids and their chunks in tx
// and returns how many blobs it deleted.
func (s *Store) purgeBlobs(ctx context.Context, sqlTx *sql.Tx, ids []string) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	idsJSON, err := json.Marshal(ids)
	if err != nil {
		return 0, fmt.Errorf("purge blobs: %w", err)
	}
	if _, err := sqlTx.ExecContext(ctx, s.q["PurgeBlobChunks"], string(idsJSON)); err != nil {
		return 0, fmt.Errorf("purge blob chunks: %w", err)
	}
	res, err := sqlTx.ExecContext(ctx, s.q["PurgeBlobs"], string(idsJSON))
	if err != nil {
		return 0, fmt.Errorf("purge blobs: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("purge blobs: %w", err)
	}
	return int(n), nil
}
