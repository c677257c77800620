package outbox

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"time"
)

// BlobChunkSize is the size of the chunks a blob is stored in (the last one
// may be shorter). A blob is never held in memory whole: it is written and
// read one chunk at a time.
const BlobChunkSize = 512 << 10

// StagedBlobGrace is how long the chunks of a blob that was never committed
// are kept after the last of them was written: a request still uploading
// writes a chunk at least this often, so only abandoned uploads are removed.
const StagedBlobGrace = time.Hour

// Blob is a submission's file (an attachment) stored once, apart from the
// payloads of its messages, which reference it by ID (see Bundle).
type Blob struct {
	ID           string // UUID assigned at intake
	SubmissionID string
	Size         int64             // bytes
	SHA256       [sha256.Size]byte // of the content; zero in the store where SealedSHA256 is set
	// SealedSHA256 is SHA256 encrypted by an encrypting decorator
	// (outbox/sealed), which stores it in place of SHA256 so that a database
	// copy does not tell whether a known document is stored. Stores persist
	// it as given (nil when empty); above the decorator it is nil and
	// SHA256 is set.
	SealedSHA256 []byte
	Chunks       int // number of chunks, 0 for an empty blob
	CreatedAt    time.Time
}

// Blobs stores blobs in chunks. A blob is written in two steps: its chunks
// are staged first, each committed on its own (so that a slow upload holds
// no transaction open), and then Tx.InsertBlobs commits the blob together
// with its submission. Chunks of blobs never committed are removed by
// PurgeStagedBlobs; those of committed blobs by Purge, with the submission's
// request payload.
type Blobs interface {
	// PutBlobChunk stores chunk seq (0-based) of blob id, committed at once.
	// Writing a chunk twice replaces it.
	PutBlobChunk(ctx context.Context, id string, seq int, data []byte) error

	// DeleteStagedBlob removes the chunks of blob id if the blob was not
	// committed (a request that failed or was an idempotent retry).
	DeleteStagedBlob(ctx context.Context, id string) error

	// PurgeStagedBlobs removes the chunks of uncommitted blobs whose last
	// chunk was written before before, and returns how many blobs it removed.
	PurgeStagedBlobs(ctx context.Context, before time.Time) (int, error)

	// Blob returns the committed blob id (ErrNotFound if there is none, or
	// if it was purged).
	Blob(ctx context.Context, id string) (Blob, error)

	// BlobChunk returns chunk seq of the committed blob id (ErrNotFound if
	// there is none).
	BlobChunk(ctx context.Context, id string, seq int) ([]byte, error)
}

// BlobTx is the part of Tx that commits staged blobs.
type BlobTx interface {
	// InsertBlobs commits blobs whose chunks are staged, as files of their
	// submission, which must exist. It fails if a blob's chunks are not all
	// staged.
	InsertBlobs(ctx context.Context, blobs []Blob) error
}

// ErrBlobCorrupt means a stored blob does not match its size or checksum.
var ErrBlobCorrupt = errors.New("stored blob does not match its checksum")

// Errors of StageBlob.
var (
	// ErrBlobTooLarge: the content is over the limit.
	ErrBlobTooLarge = errors.New("blob is larger than its limit")
	// ErrBlobSource wraps an error of the reader of the content (a broken
	// upload), as opposed to one of the store.
	ErrBlobSource = errors.New("read blob content")
)

// StageBlob stores what r yields, at most limit bytes, as the chunks of a
// new blob with id, holding one chunk in memory at a time, and returns the
// blob to commit with Tx.InsertBlobs (SubmissionID and CreatedAt left for
// the caller). With more than limit bytes it stops at once and returns
// ErrBlobTooLarge; on any error the staged chunks are deleted. An error of
// r is returned wrapping ErrBlobSource and the error itself.
func StageBlob(ctx context.Context, blobs Blobs, id string, r io.Reader, limit int64) (Blob, error) {
	b := Blob{ID: id}
	h := sha256.New()
	buf := make([]byte, BlobChunkSize)
	fail := func(err error) (Blob, error) {
		// The caller's context may be done; the chunks go regardless.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if derr := blobs.DeleteStagedBlob(dctx, id); derr != nil {
			err = errors.Join(err, fmt.Errorf("delete staged blob: %w", derr))
		}
		return Blob{}, err
	}
	for {
		n, rerr := fill(r, buf)
		if rerr != nil && rerr != io.EOF { //nolint:errorlint // io.EOF is returned bare by contract
			return fail(fmt.Errorf("%w: %w", ErrBlobSource, rerr))
		}
		if n > 0 {
			if b.Size+int64(n) > limit {
				return fail(ErrBlobTooLarge)
			}
			h.Write(buf[:n])
			if err := blobs.PutBlobChunk(ctx, id, b.Chunks, buf[:n]); err != nil {
				return fail(fmt.Errorf("stage chunk %d: %w", b.Chunks, err))
			}
			b.Size += int64(n)
			b.Chunks++
		}
		if rerr == io.EOF { //nolint:errorlint // see above
			h.Sum(b.SHA256[:0])
			return b, nil
		}
	}
}

// fill reads from r until buf is full (err nil), r ends (io.EOF) or r
// fails (its error, also io.ErrUnexpectedEOF, which is no end here).
func fill(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// BlobReader streams the content of a committed blob, one chunk in memory
// at a time, and checks its size and SHA-256 at the end: a mismatch is an
// error wrapping ErrBlobCorrupt instead of io.EOF.
type BlobReader struct {
	ctx   context.Context
	blobs Blobs
	blob  Blob
	seq   int
	n     int64
	buf   *bytes.Reader
	h     interface {
		io.Writer
		Sum([]byte) []byte
	}
}

// OpenBlob returns a reader of blob id (ErrNotFound if it is not stored).
func OpenBlob(ctx context.Context, blobs Blobs, id string) (*BlobReader, error) {
	b, err := blobs.Blob(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", id, err)
	}
	return &BlobReader{ctx: ctx, blobs: blobs, blob: b, buf: bytes.NewReader(nil), h: sha256.New()}, nil
}

// Size is the size of the blob.
func (r *BlobReader) Size() int64 { return r.blob.Size }

// Read reads the next bytes of the blob.
func (r *BlobReader) Read(p []byte) (int, error) {
	for r.buf.Len() == 0 {
		if r.seq == r.blob.Chunks {
			if r.n != r.blob.Size || !bytes.Equal(r.h.Sum(nil), r.blob.SHA256[:]) {
				return 0, fmt.Errorf("blob %s: %w", r.blob.ID, ErrBlobCorrupt)
			}
			return 0, io.EOF
		}
		chunk, err := r.blobs.BlobChunk(r.ctx, r.blob.ID, r.seq)
		if err != nil {
			return 0, fmt.Errorf("blob %s chunk %d: %w", r.blob.ID, r.seq, err)
		}
		r.seq++
		r.n += int64(len(chunk))
		r.h.Write(chunk)
		r.buf.Reset(chunk)
	}
	return r.buf.Read(p)
}
