package postgres

import (
	"context"
	"crypto/sha256"
	"embed"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/outbox/internal/sqlfile"
)

//go:embed reseal.sql
var resealFile embed.FS

// payloadRewriteFunc is the callback of RewritePayloads.
type payloadRewriteFunc = func(kind, topic, id string, payload []byte, metadata map[string]string) ([]byte, map[string]string, bool, error)

// RewritePayloads calls fn for every submission ("submission", topic "",
// metadata nil) and every message ("message") in batches of up to batch rows
// and stores what fn changes, unless the row changed since it was read. It
// returns the number of rows rewritten. Each batch is read, then written in
// one short transaction, so other processes go on serving (the capability
// sealed.Rewriter, for key rotation).
func (s *Store) RewritePayloads(ctx context.Context, batch int, fn payloadRewriteFunc) (int, error) {
	q, err := sqlfile.Queries(resealFile, "reseal.sql")
	if err != nil {
		return 0, err
	}
	if err := sqlfile.Require(q, "SubmissionPayloads", "RewriteSubmissionPayload", "MessagePayloads", "RewriteMessagePayload"); err != nil {
		return 0, err
	}
	if batch <= 0 {
		batch = 100
	}
	n, err := s.rewriteSubmissions(ctx, q, batch, fn)
	if err != nil {
		return n, err
	}
	m, err := s.rewriteMessages(ctx, q, batch, fn)
	return n + m, err
}

// payloadRewrite is one update of a batch: its query and arguments.
type payloadRewrite struct {
	query string
	args  []any
}

func (s *Store) rewriteSubmissions(ctx context.Context, q map[string]string, batch int, fn payloadRewriteFunc) (int, error) {
	type row struct {
		id      string
		payload []byte
	}
	total, after := 0, ""
	for {
		rows, err := s.pool.Query(ctx, q["SubmissionPayloads"], after, batch)
		if err != nil {
			return total, fmt.Errorf("read submission payloads: %w", err)
		}
		page, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
			var x row
			return x, r.Scan(&x.id, &x.payload)
		})
		if err != nil {
			return total, fmt.Errorf("read submission payloads: %w", err)
		}
		var todo []payloadRewrite
		for _, r := range page {
			after = r.id
			p, _, changed, err := fn("submission", "", r.id, r.payload, nil)
			if err != nil {
				return total, err
			}
			if changed {
				todo = append(todo, payloadRewrite{q["RewriteSubmissionPayload"], []any{r.id, r.payload, emptyIfNil(p)}})
			}
		}
		n, err := s.applyRewrites(ctx, todo)
		total += n
		if err != nil || len(page) < batch {
			return total, err
		}
	}
}

func (s *Store) rewriteMessages(ctx context.Context, q map[string]string, batch int, fn payloadRewriteFunc) (int, error) {
	type row struct {
		seq       int64
		id, topic string
		payload   []byte
		metadata  map[string]string
	}
	total := 0
	var after int64
	for {
		rows, err := s.pool.Query(ctx, q["MessagePayloads"], after, batch)
		if err != nil {
			return total, fmt.Errorf("read message payloads: %w", err)
		}
		page, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
			var x row
			return x, r.Scan(&x.seq, &x.id, &x.topic, &x.payload, &x.metadata)
		})
		if err != nil {
			return total, fmt.Errorf("read message payloads: %w", err)
		}
		var todo []payloadRewrite
		for _, r := range page {
			after = r.seq
			p, md, changed, err := fn("message", r.topic, r.id, r.payload, r.metadata)
			if err != nil {
				return total, err
			}
			if !changed {
				continue
			}
			if md == nil {
				md = map[string]string{}
			}
			oldMD := r.metadata
			if oldMD == nil {
				oldMD = map[string]string{}
			}
			todo = append(todo, payloadRewrite{q["RewriteMessagePayload"], []any{r.seq, r.payload, oldMD, emptyIfNil(p), md}})
		}
		n, err := s.applyRewrites(ctx, todo)
		total += n
		if err != nil || len(page) < batch {
			return total, err
		}
	}
}

// applyRewrites runs the updates of one batch in one transaction and counts
// the rows they changed.
func (s *Store) applyRewrites(ctx context.Context, todo []payloadRewrite) (int, error) {
	if len(todo) == 0 {
		return 0, nil
	}
	n := 0
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		n = 0
		for _, r := range todo {
			tag, err := tx.Exec(ctx, r.query, r.args...)
			if err != nil {
				return fmt.Errorf("rewrite payload: %w", err)
			}
			n += int(tag.RowsAffected())
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

func emptyIfNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// RewriteBlobChunks calls fn for every blob chunk, staged or committed, in
// batches of up to batch chunks and stores what fn changes, unless the chunk
// changed since it was read. It returns the number of chunks rewritten (the
// capability sealed.BlobChunkRewriter, for key rotation).
func (s *Store) RewriteBlobChunks(ctx context.Context, batch int,
	fn func(id string, seq int, data []byte) ([]byte, bool, error),
) (int, error) {
	q, err := sqlfile.Queries(resealFile, "reseal.sql")
	if err != nil {
		return 0, err
	}
	if err := sqlfile.Require(q, "BlobChunks", "RewriteBlobChunk"); err != nil {
		return 0, err
	}
	if batch <= 0 {
		batch = 16
	}
	type row struct {
		id   string
		seq  int
		data []byte
	}
	total, afterID, afterSeq := 0, "", -1
	for {
		rows, err := s.pool.Query(ctx, q["BlobChunks"], afterID, afterSeq, batch)
		if err != nil {
			return total, fmt.Errorf("read blob chunks: %w", err)
		}
		page, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
			var x row
			return x, r.Scan(&x.id, &x.seq, &x.data)
		})
		if err != nil {
			return total, fmt.Errorf("read blob chunks: %w", err)
		}
		var todo []payloadRewrite
		for _, r := range page {
			afterID, afterSeq = r.id, r.seq
			d, changed, err := fn(r.id, r.seq, r.data)
			if err != nil {
				return total, err
			}
			if changed {
				todo = append(todo, payloadRewrite{q["RewriteBlobChunk"], []any{r.id, r.seq, r.data, emptyIfNil(d)}})
			}
		}
		n, err := s.applyRewrites(ctx, todo)
		total += n
		if err != nil || len(page) < batch {
			return total, err
		}
	}
}

// RewriteBlobHeaders calls fn for every committed blob in batches of up to
// batch blobs and stores the checksums fn changes (sealed empty: NULL),
// unless the blob's SHA256 or SealedSHA256 changed since they were read, or
// it was purged. It returns the number of blobs rewritten (the capability
// sealed.BlobHeaderRewriter, for key rotation).
func (s *Store) RewriteBlobHeaders(ctx context.Context, batch int,
	fn func(b outbox.Blob) ([sha256.Size]byte, []byte, bool, error),
) (int, error) {
	q, err := sqlfile.Queries(resealFile, "reseal.sql")
	if err != nil {
		return 0, err
	}
	if err := sqlfile.Require(q, "BlobHeaders", "RewriteBlobHeader"); err != nil {
		return 0, err
	}
	if batch <= 0 {
		batch = 100
	}
	total, after := 0, ""
	for {
		rows, err := s.pool.Query(ctx, q["BlobHeaders"], after, batch)
		if err != nil {
			return total, fmt.Errorf("read blob headers: %w", err)
		}
		page, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (outbox.Blob, error) {
			b, err := scanBlob(r.Scan)
			if err != nil {
				return b, fmt.Errorf("blob %s: %w", b.ID, err)
			}
			return b, nil
		})
		if err != nil {
			return total, fmt.Errorf("read blob headers: %w", err)
		}
		var todo []payloadRewrite
		for _, b := range page {
			after = b.ID
			sha, sealed, changed, err := fn(b)
			if err != nil {
				return total, err
			}
			if changed {
				// The old checksums as read, for the compare-and-swap.
				todo = append(todo, payloadRewrite{q["RewriteBlobHeader"], []any{b.ID, b.SHA256[:], b.SealedSHA256, sha[:], nullIfEmpty(sealed)}})
			}
		}
		n, err := s.applyRewrites(ctx, todo)
		total += n
		if err != nil || len(page) < batch {
			return total, err
		}
	}
}
