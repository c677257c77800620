package intake

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/transform"
)

// Stager stages the content of one submission's attachments as blobs, each
// chunk committed on its own, before the submission's transaction commits
// them (outbox.StageBlob), and checks it as it streams by: its size, and
// that it starts with the signature of its media type. Accept stages the
// content a protocol gave it and hands the Stager to Attachments.Stage for
// the rest; it deletes what was staged unless the submission is committed.
type Stager struct {
	blobs       outbox.Blobs
	newID       func() string
	attachments []transform.Attachment // Accept's, their Size and Ref set by Stage
	limits      config.AttachmentLimits
	total       int64 // bytes staged
	staged      []outbox.Blob
}

// Stage stores what r yields as the content of attachments[i], the
// attachment at that index of those Accept handed to Attachments.Stage, and
// sets its Size and Ref. Content that breaks the procedure's rules is a
// *ValidationError at /attachments/i/content (larger than the procedure's
// MaxBytes, empty, or not starting with the signature of its media type),
// or at /attachments (all attachments together larger than MaxTotalBytes);
// the upload stops at the limit. Other errors are those of
// outbox.StageBlob: an error of r wrapping outbox.ErrBlobSource, or one of
// the store. Each attachment is staged once.
func (s *Stager) Stage(ctx context.Context, i int, r io.Reader) error {
	if i < 0 || i >= len(s.attachments) {
		return fmt.Errorf("stage attachment %d of %d: no such attachment", i, len(s.attachments))
	}
	a := &s.attachments[i]
	if a.Ref != "" {
		return fmt.Errorf("stage attachment %d: staged already", i)
	}
	limit, byTotal := s.limits.MaxBytes, false
	if s.limits.MaxTotalBytes > 0 && s.limits.MaxTotalBytes-s.total < limit {
		limit, byTotal = max(s.limits.MaxTotalBytes-s.total, 0), true
	}
	// The first bytes are kept as they pass, for the signature.
	head := make([]byte, 0, signatureLength)
	sniff := readerFunc(func(b []byte) (int, error) {
		n, err := r.Read(b)
		if room := signatureLength - len(head); room > 0 {
			head = append(head, b[:min(n, room)]...)
		}
		return n, err
	})
	p := AttachmentPointer(i)
	b, err := outbox.StageBlob(ctx, s.blobs, s.newID(), sniff, limit)
	switch {
	case errors.Is(err, outbox.ErrBlobTooLarge) && byTotal:
		return &ValidationError{Errors: []transform.FieldError{totalTooLarge(-1, s.limits.MaxTotalBytes)}}
	case errors.Is(err, outbox.ErrBlobTooLarge):
		return &ValidationError{Errors: []transform.FieldError{{Pointer: p + "/" + memberContent, Code: transform.CodeTooLong,
			Message:   fmt.Sprintf("content is larger than %d bytes, the limit of one attachment", s.limits.MaxBytes),
			MessageDE: fmt.Sprintf("content ist größer als %d Bytes, die Grenze für eine Anlage", s.limits.MaxBytes)}}}
	case err != nil:
		return err
	}
	fe := checkContent(p, b.Size, s.limits.MaxBytes)
	if fe == nil {
		fe = checkSignature(i, a.MIMEType, head)
	}
	s.staged = append(s.staged, b) // deleted with the rest when Accept fails
	if fe != nil {
		return &ValidationError{Errors: []transform.FieldError{*fe}}
	}
	s.total += b.Size
	a.Size, a.Ref = b.Size, b.ID
	return nil
}

// unstaged returns the index of the first attachment without content
// staged, -1 when every one has it.
func (s *Stager) unstaged() int {
	for i, a := range s.attachments {
		if a.Ref == "" {
			return i
		}
	}
	return -1
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

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

// boundedBlobs gives each call to the blobs of one request a deadline of
// timeout. Once a call ran into it (the database hangs), the deletes of
// staged chunks that follow run in the background, so that the request is
// answered without waiting for them; what they leave, PurgeStagedBlobs
// removes.
type boundedBlobs struct {
	outbox.Blobs
	timeout time.Duration
	hung    bool // a call ran into its deadline; used by one request's goroutine
}

func (b *boundedBlobs) PutBlobChunk(ctx context.Context, id string, seq int, data []byte) error {
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	err := b.Blobs.PutBlobChunk(ctx, id, seq, data)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
		b.hung = true
	}
	return err
}

func (b *boundedBlobs) DeleteStagedBlob(ctx context.Context, id string) error {
	if b.hung {
		ctx = context.WithoutCancel(ctx)
		go func() {
			ctx, cancel := context.WithTimeout(ctx, b.timeout)
			defer cancel()
			_ = b.Blobs.DeleteStagedBlob(ctx, id)
		}()
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	return b.Blobs.DeleteStagedBlob(ctx, id)
}
