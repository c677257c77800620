package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/json"
	"fmt"

	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/outbox/internal/sqlfile"
)

//go:embed reseal.sql
var resealFile embed.FS

// RewritePayloads calls fn for every submission ("submission", topic "",
// metadata nil) and every message ("message") in batches of up to batch rows
// and stores what fn changes, unless the row changed since it was read. It
// returns the number of rows rewritten. Each batch is read, then written in
// one short transaction, so serving goes on meanwhile (the capability
// sealed.Rewriter, for key rotation).
func (s *Store) RewritePayloads(ctx context.Context, batch int,
	fn func(kind, topic, id string, payload []byte, metadata map[string]string) ([]byte, map[string]string, bool, error),
) (int, error) {
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

type payloadRewrite struct {
	key              any // id of a submission, seq of a message
	old, oldMeta     any
	payload, newMeta any
}

func (s *Store) rewriteSubmissions(ctx context.Context, q map[string]string, batch int,
	fn func(kind, topic, id string, payload []byte, metadata map[string]string) ([]byte, map[string]string, bool, error),
) (int, error) {
	total, after := 0, ""
	for {
		rows, err := s.read.QueryContext(ctx, q["SubmissionPayloads"], after, batch)
		if err != nil {
			return total, fmt.Errorf("read submission payloads: %w", err)
		}
		var todo []payloadRewrite
		count := 0
		for rows.Next() {
			var id string
			var payload []byte
			if err := rows.Scan(&id, &payload); err != nil {
				rows.Close()
				return total, fmt.Errorf("read submission payloads: %w", err)
			}
			count++
			after = id
			p, _, changed, err := fn("submission", "", id, payload, nil)
			if err != nil {
				rows.Close()
				return total, err
			}
			if changed {
				todo = append(todo, payloadRewrite{key: id, old: payload, payload: p})
			}
		}
		if err := rows.Err(); err != nil {
			return total, fmt.Errorf("read submission payloads: %w", err)
		}
		rows.Close()
		n, err := s.applyRewrites(ctx, todo, func(tx *sql.Tx, r payloadRewrite) (sql.Result, error) {
			return tx.ExecContext(ctx, q["RewriteSubmissionPayload"], r.key, r.old, r.payload)
		})
		total += n
		if err != nil || count < batch {
			return total, err
		}
	}
}

func (s *Store) rewriteMessages(ctx context.Context, q map[string]string, batch int,
	fn func(kind, topic, id string, payload []byte, metadata map[string]string) ([]byte, map[string]string, bool, error),
) (int, error) {
	total := 0
	var after int64
	for {
		rows, err := s.read.QueryContext(ctx, q["MessagePayloads"], after, batch)
		if err != nil {
			return total, fmt.Errorf("read message payloads: %w", err)
		}
		var todo []payloadRewrite
		count := 0
		for rows.Next() {
			var seq int64
			var id, topic, md string
			var payload []byte
			if err := rows.Scan(&seq, &id, &topic, &payload, &md); err != nil {
				rows.Close()
				return total, fmt.Errorf("read message payloads: %w", err)
			}
			count++
			after = seq
			var meta map[string]string
			if err := json.Unmarshal([]byte(md), &meta); err != nil {
				rows.Close()
				return total, fmt.Errorf("decode metadata of message %s: %w", id, err)
			}
			p, newMeta, changed, err := fn("message", topic, id, payload, meta)
			if err != nil {
				rows.Close()
				return total, err
			}
			if !changed {
				continue
			}
			enc, err := json.Marshal(nonNil(newMeta))
			if err != nil {
				rows.Close()
				return total, fmt.Errorf("encode metadata of message %s: %w", id, err)
			}
			todo = append(todo, payloadRewrite{key: seq, old: payload, oldMeta: md, payload: nonNilBytes(p), newMeta: string(enc)})
		}
		if err := rows.Err(); err != nil {
			return total, fmt.Errorf("read message payloads: %w", err)
		}
		rows.Close()
		n, err := s.applyRewrites(ctx, todo, func(tx *sql.Tx, r payloadRewrite) (sql.Result, error) {
			return tx.ExecContext(ctx, q["RewriteMessagePayload"], r.key, r.old, r.oldMeta, r.payload, r.newMeta)
		})
		total += n
		if err != nil || count < batch {
			return total, err
		}
	}
}

// applyRewrites runs the updates of one batch in one write transaction and
// counts the rows they changed.
func (s *Store) applyRewrites(ctx context.Context, todo []payloadRewrite, exec func(*sql.Tx, payloadRewrite) (sql.Result, error)) (int, error) {
	if len(todo) == 0 {
		return 0, nil
	}
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("rewrite payloads: %w", err)
	}
	defer tx.Rollback()
	n := 0
	for _, r := range todo {
		res, err := exec(tx, r)
		if err != nil {
			return 0, fmt.Errorf("rewrite payload: %w", err)
		}
		if c, _ := res.RowsAffected(); c == 1 {
			n++
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("rewrite payloads: %w", err)
	}
	return n, nil
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
	total, afterID, afterSeq := 0, "", -1
	for {
		rows, err := s.read.QueryContext(ctx, q["BlobChunks"], afterID, afterSeq, batch)
		if err != nil {
			return total, fmt.Errorf("read blob chunks: %w", err)
		}
		var todo []payloadRewrite
		count := 0
		for rows.Next() {
			var id string
			var seq int
			var data []byte
			if err := rows.Scan(&id, &seq, &data); err != nil {
				rows.Close()
				return total, fmt.Errorf("read blob chunks: %w", err)
			}
			count++
			afterID, afterSeq = id, seq
			d, changed, err := fn(id, seq, data)
			if err != nil {
				rows.Close()
				return total, err
			}
			if changed {
				todo = append(todo, payloadRewrite{key: [2]any{id, seq}, old: data, payload: nonNilBytes(d)})
			}
		}
		if err := rows.Err(); err != nil {
			return total, fmt.Errorf("read blob chunks: %w", err)
		}
		rows.Close()
		n, err := s.applyRewrites(ctx, todo, func(tx *sql.Tx, r payloadRewrite) (sql.Result, error) {
			key := r.key.([2]any)
			return tx.ExecContext(ctx, q["RewriteBlobChunk"], key[0], key[1], r.old, r.payload)
		})
		total += n
		if err != nil || count < batch {
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
		rows, err := s.read.QueryContext(ctx, q["BlobHeaders"], after, batch)
		if err != nil {
			return total, fmt.Errorf("read blob headers: %w", err)
		}
		var todo []payloadRewrite
		count := 0
		for rows.Next() {
			b, err := scanBlob(rows.Scan)
			if err != nil {
				rows.Close()
				return total, fmt.Errorf("read blob header %s: %w", b.ID, err)
			}
			count++
			after = b.ID
			sha, sealed, changed, err := fn(b)
			if err != nil {
				rows.Close()
				return total, err
			}
			if changed {
				// The old checksums as read, for the compare-and-swap.
				todo = append(todo, payloadRewrite{key: b.ID, old: b.SHA256[:], oldMeta: b.SealedSHA256, payload: sha[:], newMeta: nullIfEmpty(sealed)})
			}
		}
		if err := rows.Err(); err != nil {
			return total, fmt.Errorf("read blob headers: %w", err)
		}
		rows.Close()
		n, err := s.applyRewrites(ctx, todo, func(tx *sql.Tx, r payloadRewrite) (sql.Result, error) {
			return tx.ExecContext(ctx, q["RewriteBlobHeader"], r.key, r.old, r.oldMeta, r.payload, r.newMeta)
		})
		total += n
		if err != nil || count < batch {
			return total, err
		}
	}
}
