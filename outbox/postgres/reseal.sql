-- Queries of RewritePayloads (key rotation): keyset pages of payloads, and
-- updates that apply only while the row still holds what was read, so a
-- concurrent purge, discard or rewrite by another process is never overwritten.

-- name: SubmissionPayloads
SELECT id, payload FROM submissions WHERE id > $1 ORDER BY id LIMIT $2

-- name: RewriteSubmissionPayload
UPDATE submissions SET payload = $3 WHERE id = $1 AND payload = $2

-- name: MessagePayloads
SELECT seq, id, topic, payload, metadata FROM outbox_messages WHERE seq > $1 ORDER BY seq LIMIT $2

-- name: RewriteMessagePayload
UPDATE outbox_messages SET payload = $4, metadata = $5 WHERE seq = $1 AND payload = $2 AND metadata = $3

-- name: BlobChunks
SELECT blob_id, seq, data FROM outbox_blob_chunks WHERE (blob_id, seq) > ($1, $2) ORDER BY blob_id, seq LIMIT $3

-- name: RewriteBlobChunk
UPDATE outbox_blob_chunks SET data = $4 WHERE blob_id = $1 AND seq = $2 AND data = $3
