package intake

import (
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"time"

	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/transform"
)

// Stager stages the content of one submission's attachments as blobs, each
// chunk committed on its own, before the submission's transaction commits
// them (outbox.StageBlob). Accept hands one to Attachments.Stage and deletes
// what it staged unless the submission is committed.
type Stager struct {
	blobs  outbox.Blobs
	newID  func() string
	staged []outbox.Blob
}

// Stage stores what r yields, at most limit bytes, as a new blob and returns
// it; the errors are those of outbox.StageBlob (ErrBlobTooLarge,
// ErrBlobSource, or one of the store).
func (s *Stager) Stage(ctx context.Context, r io.Reader, limit int64) (outbox.Blob, error) {
	b, err := outbox.StageBlob(ctx, s.blobs, s.newID(), r, limit)
	if err != nil {
		return outbox.Blob{}, err
	}
	s.staged = append(s.staged, b)
	return b, nil
}

// discard deletes the staged blobs: the request failed, or was an
// idempotent retry and stored nothing.
func (s *Stager) discard(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	var errs []error
	for _, b := range s.staged {
		errs = append(errs, s.blobs.DeleteStagedBlob(ctx, b.ID))
	}
	s.staged = nil
	return errors.Join(errs...)
}

// contentHash is the request hash of a submission whose attachments'
// content came apart from the request (Request.HashContent): SHA-256 over
// the hash of the canonical request and, in request order, each
// attachment's id and the SHA-256 of its content, taken from the staged
// blob that its Ref names.
func contentHash(canonical []byte, attachments []transform.Attachment, blobs []outbox.Blob) [sha256.Size]byte {
	byID := make(map[string]outbox.Blob, len(blobs))
	for _, b := range blobs {
		byID[b.ID] = b
	}
	h := sha256.New()
	h.Write(canonical)
	for _, a := range attachments {
		sum := byID[a.Ref].SHA256
		h.Write([]byte{0})
		h.Write([]byte(a.ID))
		h.Write(sum[:])
	}
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}
