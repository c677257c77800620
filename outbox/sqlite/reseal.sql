-- Queries of key rotation (RewritePayloads, RewriteBlobChunks,
-- RewriteBlobHeaders): keyset pages of the rows, and updates that apply only
-- while the row still holds what was read, so a concurrent purge, discard or
-- rewrite is never overwritten.

-- name: SubmissionPayloads
SELECT id, payload FROM submissions WHERE id > ?1 ORDER BY id LIMIT ?2

-- name: RewriteSubmissionPayload
UPDATE submissions SET payload = ?3 WHERE id = ?1 AND payload = ?2

-- name: MessagePayloads
SELECT seq, id, topic, payload, metadata FROM outbox_messages WHERE seq > ?1 ORDER BY seq LIMIT ?2

-- name: RewriteMessagePayload
UPDATE outbox_messages SET payload = ?4, metadata = ?5 WHERE seq = ?1 AND payload = ?2 AND metadata = ?3

-- name: BlobChunks
SELECT blob_id, seq, data FROM outbox_blob_chunks WHERE (blob_id, seq) > (?1, ?2) ORDER BY blob_id, seq LIMIT ?3

-- name: RewriteBlobChunk
UPDATE outbox_blob_chunks SET data = ?4 WHERE blob_id = ?1 AND seq = ?2 AND data = ?3

-- name: BlobHeaders
-- Committed blobs only: staged chunks have no row here yet.
SELECT id, submission_id, size, sha256, sha256_sealed, chunks, created_at FROM outbox_blobs WHERE id > ?1 ORDER BY id LIMIT ?2

-- name: RewriteBlobHeader
-- IS, not =: sha256_sealed is NULL for a checksum in clear, and NULL = NULL
-- is not true.
UPDATE outbox_blobs SET sha256 = ?4, sha256_sealed = ?5 WHERE id = ?1 AND sha256 = ?2 AND sha256_sealed IS ?3

-- name: AnswerPayloads
SELECT id, payload, detail FROM answers WHERE id > ?1 ORDER BY id LIMIT ?2

-- name: RewriteAnswerPayload
UPDATE answers SET payload = ?4, detail = ?5 WHERE id = ?1 AND payload = ?2 AND detail = ?3
