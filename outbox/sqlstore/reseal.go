package sqlstore

import (
	"context"
	"crypto/sha256"
	"fmt"

	"github.com/amtsbote/amtsbote/outbox"
)

// RewritePayloads calls fn for every submission ("submission", topic "",
// metadata nil), every message ("message") and every answer (KindAnswer
// and KindAnswerDetail, topic "", metadata nil) in batches of up to batch rows
// and stores what fn changes, unless the row changed since it was read. It
// returns the number of rows rewritten. Each batch is read, then written in
// one short transaction, so serving goes on meanwhile (the capability
// sealed.Rewriter, for key rotation).
func (s *Store) RewritePayloads(ctx context.Context, batch int,
	fn func(kind, topic, id string, payload []byte, metadata map[string]string) ([]byte, map[string]string, bool, error),
) (int, error) {
	if batch <= 0 {
		batch = 100
	}
	after := ""
	n, err := rewriteLoop(ctx, s, "submission payloads",
		func() ([]SubmissionPayload, error) { return s.d.SubmissionPayloads(ctx, after, batch) },
		func(r SubmissionPayload) (func(Executor) (int, error), error) {
			after = r.ID
			p, _, changed, err := fn("submission", "", r.ID, r.Payload, nil)
			if err != nil || !changed {
				return nil, err
			}
			return func(ex Executor) (int, error) { return ex.RewriteSubmissionPayload(ctx, r, NonNil(p)) }, nil
		}, batch)
	if err != nil {
		return n, err
	}
	var afterSeq int64
	m, err := rewriteLoop(ctx, s, "message payloads",
		func() ([]MessagePayload, error) { return s.d.MessagePayloads(ctx, afterSeq, batch) },
		func(r MessagePayload) (func(Executor) (int, error), error) {
			afterSeq = r.Seq
			p, md, changed, err := fn("message", r.Topic, r.ID, r.Payload, r.Metadata)
			if err != nil || !changed {
				return nil, err
			}
			if md == nil {
				md = map[string]string{}
			}
			return func(ex Executor) (int, error) { return ex.RewriteMessagePayload(ctx, r, NonNil(p), md) }, nil
		}, batch)
	if err != nil {
		return n + m, err
	}
	// Answers: their body (kind "answer") and their detail ("answer_detail").
	afterAnswer := ""
	a, err := rewriteLoop(ctx, s, "answer payloads",
		func() ([]AnswerPayload, error) { return s.d.AnswerPayloads(ctx, afterAnswer, batch) },
		func(r AnswerPayload) (func(Executor) (int, error), error) {
			afterAnswer = r.ID
			p, _, pChanged, err := fn(KindAnswer, "", r.ID, r.Payload, nil)
			if err != nil {
				return nil, err
			}
			d, _, dChanged, err := fn(KindAnswerDetail, "", r.ID, r.Detail, nil)
			if err != nil || !pChanged && !dChanged {
				return nil, err
			}
			if !pChanged {
				p = r.Payload
			}
			if !dChanged {
				d = r.Detail
			}
			return func(ex Executor) (int, error) { return ex.RewriteAnswerPayload(ctx, r, NonNil(p), NonNil(d)) }, nil
		}, batch)
	return n + m + a, err
}

// Kinds of RewritePayloads for answers: an answer's body and its detail.
const (
	KindAnswer       = "answer"
	KindAnswerDetail = "answer_detail"
)

// RewriteBlobChunks calls fn for every blob chunk, staged or committed, in
// batches of up to batch chunks and stores what fn changes, unless the chunk
// changed since it was read. It returns the number of chunks rewritten (the
// capability sealed.BlobChunkRewriter, for key rotation).
func (s *Store) RewriteBlobChunks(ctx context.Context, batch int,
	fn func(id string, seq int, data []byte) ([]byte, bool, error),
) (int, error) {
	if batch <= 0 {
		batch = 16
	}
	afterID, afterSeq := "", -1
	return rewriteLoop(ctx, s, "blob chunks",
		func() ([]BlobChunk, error) { return s.d.BlobChunks(ctx, afterID, afterSeq, batch) },
		func(c BlobChunk) (func(Executor) (int, error), error) {
			afterID, afterSeq = c.ID, c.Seq
			d, changed, err := fn(c.ID, c.Seq, c.Data)
			if err != nil || !changed {
				return nil, err
			}
			return func(ex Executor) (int, error) { return ex.RewriteBlobChunk(ctx, c, NonNil(d)) }, nil
		}, batch)
}

// RewriteBlobHeaders calls fn for every committed blob in batches of up to
// batch blobs and stores the checksums fn changes (sealed empty: NULL),
// unless the blob's SHA256 or SealedSHA256 changed since they were read, or
// it was purged. It returns the number of blobs rewritten (the capability
// sealed.BlobHeaderRewriter, for key rotation).
func (s *Store) RewriteBlobHeaders(ctx context.Context, batch int,
	fn func(b outbox.Blob) ([sha256.Size]byte, []byte, bool, error),
) (int, error) {
	if batch <= 0 {
		batch = 100
	}
	after := ""
	return rewriteLoop(ctx, s, "blob headers",
		func() ([]outbox.Blob, error) { return s.d.BlobHeaders(ctx, after, batch) },
		func(b outbox.Blob) (func(Executor) (int, error), error) {
			after = b.ID
			sha, sealed, changed, err := fn(b)
			if err != nil || !changed {
				return nil, err
			}
			// The old checksums as read, for the compare-and-swap.
			return func(ex Executor) (int, error) { return ex.RewriteBlobHeader(ctx, b, sha, sealed) }, nil
		}, batch)
}

// rewriteLoop reads pages of rows with read until a page is shorter than
// batch, asks visit for the update of each row (nil: unchanged; visit also
// moves the cursor of read) and runs each page's updates in one short
// write transaction. It returns the number of rows the updates changed.
func rewriteLoop[R any](ctx context.Context, s *Store, what string, read func() ([]R, error),
	visit func(R) (func(Executor) (int, error), error), batch int,
) (int, error) {
	total := 0
	for {
		page, err := read()
		if err != nil {
			return total, fmt.Errorf("read %s: %w", what, err)
		}
		var todo []func(Executor) (int, error)
		for _, r := range page {
			update, err := visit(r)
			if err != nil {
				return total, err
			}
			if update != nil {
				todo = append(todo, update)
			}
		}
		if len(todo) > 0 {
			n := 0
			err = s.inTx(ctx, func(ex Executor) error {
				n = 0
				for _, update := range todo {
					c, err := update(ex)
					if err != nil {
						return fmt.Errorf("rewrite %s: %w", what, err)
					}
					n += c
				}
				return nil
			})
			if err != nil {
				return total, err
			}
			total += n
		}
		if len(page) < batch {
			return total, nil
		}
	}
}
