package sealed

import (
	"context"
	"crypto/sha256"
	"fmt"
	"maps"

	"github.com/amtsbote/amtsbote/outbox"
)

// Rewriter is the optional store capability key rotation needs: walk every
// stored payload and replace those fn changes.
type Rewriter interface {
	// RewritePayloads calls fn for every submission (kind KindSubmission,
	// topic "", metadata nil), every outbox message (kind KindMessage) and
	// every answer's body and detail (KindAnswer, KindAnswerDetail) in
	// batches of up to batch rows, and stores what fn returns where changed
	// is true. A row whose payload or metadata changed since it was read
	// (purged, discarded, rewritten by another process) is left as it is
	// and not counted. Safe while other processes use the store. It returns
	// the number of rows rewritten; an error from fn stops the walk.
	RewritePayloads(ctx context.Context, batch int,
		fn func(kind, topic, id string, payload []byte, metadata map[string]string) (newPayload []byte, newMetadata map[string]string, changed bool, err error),
	) (int, error)
}

// BlobChunkRewriter is the optional store capability key rotation needs
// for blobs: walk every stored blob chunk, staged or committed, and replace
// those fn changes.
type BlobChunkRewriter interface {
	// RewriteBlobChunks calls fn for every blob chunk in batches of up to
	// batch chunks and stores what fn returns where changed is true. A chunk
	// that changed since it was read (purged, rewritten by another process)
	// is left as it is and not counted. Safe while other processes use the
	// store. It returns the number of chunks rewritten; an error from fn
	// stops the walk.
	RewriteBlobChunks(ctx context.Context, batch int,
		fn func(id string, seq int, data []byte) (newData []byte, changed bool, err error),
	) (int, error)
}

// BlobHeaderRewriter is the optional store capability key rotation needs
// for the checksums of blobs: walk every committed blob and replace the
// SHA256 and SealedSHA256 fn changes.
type BlobHeaderRewriter interface {
	// RewriteBlobHeaders calls fn for every committed blob, in batches of up
	// to batch blobs, and stores the sha and sealed fn returns where changed
	// is true (sealed empty: NULL). A blob whose SHA256 or SealedSHA256
	// changed since it was read (rewritten by another process), or that was
	// purged, is left as it is and not counted. Safe while other processes
	// use the store. It returns the number of blobs rewritten; an error from
	// fn stops the walk.
	RewriteBlobHeaders(ctx context.Context, batch int,
		fn func(b outbox.Blob) (sha [sha256.Size]byte, sealed []byte, changed bool, err error),
	) (int, error)
}

// maxChunkBatch bounds the chunks Reseal holds in memory at once (each up
// to outbox.BlobChunkSize), whatever batch it is given.
const maxChunkBatch = 16

// ResealResult reports a key rotation.
type ResealResult struct {
	// Resealed rows now sealed under the current key (in clear or under
	// another key before).
	Resealed int
	// Remaining rows still in clear or under another key after the final
	// pass: changed concurrently, or written by a process that still runs
	// with an old configuration. Old keys may be removed only at 0.
	Remaining int
}

// Reseal seals every payload, personal metadata value and blob chunk that
// is in clear or under another key than the current one with the current
// key, in batches, online; so is every blob's checksum. It makes two
// passes: the second catches rows the first could not rewrite because they
// changed meanwhile, and counts what remains. The inner store must
// implement Rewriter, BlobChunkRewriter and BlobHeaderRewriter; blob chunks
// and blob headers count as rows.
func (s *Store) Reseal(ctx context.Context, batch int) (ResealResult, error) {
	rw, ok := s.inner.(Rewriter)
	if !ok {
		return ResealResult{}, fmt.Errorf("sealed: the store %T cannot rewrite payloads", s.inner)
	}
	cw, ok := s.inner.(BlobChunkRewriter)
	if !ok {
		return ResealResult{}, fmt.Errorf("sealed: the store %T cannot rewrite blob chunks", s.inner)
	}
	hw, ok := s.inner.(BlobHeaderRewriter)
	if !ok {
		return ResealResult{}, fmt.Errorf("sealed: the store %T cannot rewrite blob headers", s.inner)
	}
	if batch <= 0 {
		batch = 100
	}
	var res ResealResult
	for pass := range 2 {
		needed := 0
		n, err := rw.RewritePayloads(ctx, batch, func(kind, topic, id string, payload []byte, md map[string]string) ([]byte, map[string]string, bool, error) {
			p, m, changed, err := s.reseal(kind, topic, id, payload, md)
			if changed {
				needed++
			}
			return p, m, changed, err
		})
		res.Resealed += n
		if err != nil {
			return res, err
		}
		c, err := cw.RewriteBlobChunks(ctx, min(batch, maxChunkBatch), func(id string, seq int, data []byte) ([]byte, bool, error) {
			d, changed, err := s.resealChunk(id, seq, data)
			if changed {
				needed++
			}
			return d, changed, err
		})
		res.Resealed += c
		n += c
		if err != nil {
			return res, err
		}
		h, err := hw.RewriteBlobHeaders(ctx, batch, func(b outbox.Blob) ([sha256.Size]byte, []byte, bool, error) {
			sum, sealed, changed, err := s.resealChecksum(b)
			if changed {
				needed++
			}
			return sum, sealed, changed, err
		})
		res.Resealed += h
		n += h
		if err != nil {
			return res, err
		}
		if pass == 1 {
			res.Remaining = needed - n
		}
		if needed == n && pass == 0 {
			// Nothing was left behind; the second pass would only count zero.
			return res, nil
		}
	}
	return res, nil
}

// current reports whether data is an envelope under the current key.
func (s *Store) current(data []byte) bool {
	id, ok := KeyID(data)
	return ok && id == s.kr.Current()
}

// reseal returns the row sealed under the current key, and whether that
// changed anything. Empty payloads (purged, discarded) stay empty.
func (s *Store) reseal(kind, topic, id string, payload []byte, md map[string]string) ([]byte, map[string]string, bool, error) {
	var binding func(field string) []byte
	switch kind {
	case KindSubmission:
		binding = func(string) []byte { return submissionBinding(id) }
	case KindMessage:
		binding = func(field string) []byte { return messageBinding(topic, id, field) }
	case KindAnswer:
		binding = func(string) []byte { return answerBinding(id, "payload") }
	case KindAnswerDetail:
		binding = func(string) []byte { return answerBinding(id, "detail") }
	default:
		return nil, nil, false, fmt.Errorf("sealed: unknown record kind %q", kind)
	}
	changed := false
	if len(payload) > 0 && !s.current(payload) {
		plain, err := s.kr.Open(payload, binding("payload"))
		if err != nil {
			return nil, nil, false, fmt.Errorf("%s %s: %w", kind, id, err)
		}
		payload, changed = s.kr.Seal(plain, binding("payload")), true
	}
	if kind != KindMessage {
		return payload, md, changed, nil
	}
	var out map[string]string
	for k, v := range md {
		env, sealedValue := decodeValue(v)
		if sealedValue && s.current(env) || !sealedValue && (!s.meta[k] || v == "") {
			continue
		}
		plain := []byte(v)
		if sealedValue {
			var err error
			if plain, err = s.kr.Open(env, binding("metadata:"+k)); err != nil {
				return nil, nil, false, fmt.Errorf("%s %s: metadata %s: %w", kind, id, k, err)
			}
		}
		if out == nil {
			out = maps.Clone(md)
		}
		out[k] = metaPrefix + encodeEnvelope(s.kr.Seal(plain, binding("metadata:"+k)))
		changed = true
	}
	if out != nil {
		md = out
	}
	return payload, md, changed, nil
}

// resealChunk returns a blob chunk sealed under the current key, and whether
// that changed anything. Unlike payloads, an empty chunk is sealed too (see
// PutBlobChunk).
// resealChecksum returns the stored checksum of blob b sealed under the
// current key (SHA256 zero, SealedSHA256 set), and whether that changed
// anything: a checksum in clear is sealed, one under another key resealed.
func (s *Store) resealChecksum(b outbox.Blob) ([sha256.Size]byte, []byte, bool, error) {
	if len(b.SealedSHA256) > 0 && s.current(b.SealedSHA256) {
		return b.SHA256, b.SealedSHA256, false, nil
	}
	sum, err := s.openChecksum(b)
	if err != nil {
		return [sha256.Size]byte{}, nil, false, err
	}
	b.SHA256 = sum
	b = s.sealChecksum(b)
	return b.SHA256, b.SealedSHA256, true, nil
}

func (s *Store) resealChunk(id string, seq int, data []byte) ([]byte, bool, error) {
	if s.current(data) {
		return data, false, nil
	}
	plain, err := s.kr.Open(data, blobChunkBinding(id, seq))
	if err != nil {
		return nil, false, fmt.Errorf("chunk %d of blob %s: %w", seq, id, err)
	}
	return s.kr.Seal(plain, blobChunkBinding(id, seq)), true, nil
}
