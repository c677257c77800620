-- Queries of the SQLite store. Timestamps are Unix microseconds.
-- Message columns in the order scanMessage reads them.

-- name: InsertSubmission
INSERT INTO submissions (id, portal_id, tenant_id, procedure_id, idempotency_key, request_hash, payload, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT DO NOTHING

-- name: SubmissionByKey
SELECT id, portal_id, tenant_id, procedure_id, COALESCE(idempotency_key, ''), request_hash, payload, created_at
FROM submissions WHERE portal_id = ? AND idempotency_key = ?

-- name: SubmissionByID
SELECT id, portal_id, tenant_id, procedure_id, COALESCE(idempotency_key, ''), request_hash, payload, created_at
FROM submissions WHERE id = ?

-- name: InsertMessage
-- lease_owner, lease_until, leased_at: NULL unless handed to the local relay. event_seq: the
-- position of the transformed event the row derives (TakeEventSeqs), NULL if none (migration 009).
INSERT INTO outbox_messages (id, topic, submission_id, payload, metadata, state, attempts, next_attempt_at, created_at, updated_at,
    lease_owner, lease_until, leased_at, event_seq)
VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?, ?, ?, ?, ?)

-- name: TakeEventSeqs
-- Takes ?1 positions in the audit trail from the AUTOINCREMENT counter of outbox_events.seq
-- (which its inserts keep above their rows' seqs, and migration 009 makes sure exists) and
-- returns the last of them.
UPDATE sqlite_sequence SET seq = seq + ?1 WHERE name = 'outbox_events' RETURNING seq

-- name: StartEventSeqs
-- TakeEventSeqs where the counter has no row (removed by hand): starts it above every position
-- taken, stored or derived (a scan of the tables, on this path only).
INSERT INTO sqlite_sequence (name, seq)
SELECT 'outbox_events', COALESCE(MAX(p), 0) + ?1 FROM (
    SELECT MAX(seq) AS p FROM outbox_events
    UNION ALL SELECT MAX(event_seq) FROM outbox_messages
    UNION ALL SELECT MAX(event_seq) FROM outbox_attempts
    UNION ALL SELECT MAX(final_event_seq) FROM outbox_attempts
)
RETURNING seq

-- name: ClaimDue
UPDATE outbox_messages SET lease_owner = ?1, lease_until = ?2, leased_at = ?3, updated_at = ?3
WHERE seq IN (
    SELECT seq FROM outbox_messages
    WHERE topic = ?4 AND state IN ('pending', 'retrying') AND next_attempt_at <= ?3
      AND lease_until IS NULL
    ORDER BY next_attempt_at, seq
    LIMIT ?5
)
RETURNING seq, id, topic, COALESCE(submission_id, ''), payload, metadata, state, attempts, next_attempt_at,
          COALESCE(last_error, ''), created_at, updated_at, COALESCE(delivered_at, 0), COALESCE(retry_from, created_at), COALESCE(last_error_class, '')

-- name: ClaimHead
UPDATE outbox_messages SET lease_owner = ?1, lease_until = ?2, leased_at = ?3, updated_at = ?3
WHERE seq = (
    SELECT seq FROM outbox_messages
    WHERE topic = ?4 AND state IN ('pending', 'retrying')
    ORDER BY seq LIMIT 1
) AND next_attempt_at <= ?3 AND lease_until IS NULL
RETURNING seq, id, topic, COALESCE(submission_id, ''), payload, metadata, state, attempts, next_attempt_at,
          COALESCE(last_error, ''), created_at, updated_at, COALESCE(delivered_at, 0), COALESCE(retry_from, created_at), COALESCE(last_error_class, '')

-- name: Complete
UPDATE outbox_messages
SET state = ?1, attempts = attempts + 1,
    next_attempt_at = CASE WHEN ?1 = 'retrying' THEN ?2 ELSE next_attempt_at END,
    last_error = CASE WHEN ?1 = 'delivered' THEN NULL ELSE ?3 END,
    delivered_at = CASE WHEN ?1 = 'delivered' THEN ?4 ELSE NULL END,
    last_error_class = CASE WHEN ?1 = 'delivered' THEN NULL ELSE NULLIF(?8, '') END,
    lease_owner = NULL, lease_until = NULL, leased_at = NULL, updated_at = ?4
WHERE topic = ?5 AND id = ?6 AND lease_owner = ?7 AND state IN ('pending', 'retrying')
  AND (?9 = 0 OR attempts = ?9 - 1) -- no other attempt recorded since the claim
RETURNING seq, attempts, COALESCE(submission_id, ''), metadata

-- name: InsertAttempt
-- event_seq, final_event_seq: the positions of the attempt's events (TakeEventSeqs), NULL if none.
INSERT INTO outbox_attempts (message_seq, number, owner, started_at, finished_at, outcome, error, error_class,
    event_seq, final_event_seq)
VALUES (?, ?, ?, ?, ?, ?, ?, NULLIF(?, ''), ?, ?)

-- name: Release
UPDATE outbox_messages SET lease_owner = NULL, lease_until = NULL, leased_at = NULL
WHERE topic = ? AND id = ? AND lease_owner = ?

-- name: MakeDue
-- A waiting, unleased message due at once; no attempt recorded.
UPDATE outbox_messages SET next_attempt_at = MIN(next_attempt_at, ?1), updated_at = ?1
WHERE topic = ?2 AND id = ?3 AND state IN ('pending', 'retrying') AND lease_until IS NULL

-- name: NextDue
-- Leased messages are left out: their owner completes them, and an expired lease is
-- recovered (RecoverLost) before the message is due again. The partial index keeps this a short ordered scan.
SELECT next_attempt_at FROM outbox_messages
WHERE topic = ?1 AND state IN ('pending', 'retrying') AND lease_until IS NULL
ORDER BY next_attempt_at LIMIT 1

-- name: MessagesBySubmission
SELECT seq, id, topic, COALESCE(submission_id, ''), payload, metadata, state, attempts, next_attempt_at,
       COALESCE(last_error, ''), created_at, updated_at, COALESCE(delivered_at, 0), COALESCE(retry_from, created_at), COALESCE(last_error_class, '')
FROM outbox_messages WHERE submission_id = ? ORDER BY seq

-- name: Attempts
SELECT m.id, a.number, a.owner, a.started_at, a.finished_at, a.outcome, COALESCE(a.error, ''), COALESCE(a.error_class, '')
FROM outbox_attempts a JOIN outbox_messages m ON m.seq = a.message_seq
WHERE m.id = ? ORDER BY a.message_seq, a.number

-- name: List
-- ?1 cursor (seq), ?2 state or '', ?3 topic LIKE pattern, ?4 limit.
SELECT seq, id, topic, COALESCE(submission_id, ''), payload, metadata, state, attempts, next_attempt_at,
       COALESCE(last_error, ''), created_at, updated_at, COALESCE(delivered_at, 0), COALESCE(retry_from, created_at), COALESCE(last_error_class, '')
FROM outbox_messages
WHERE seq > ?1 AND (?2 = '' OR state = ?2) AND topic LIKE ?3 ESCAPE '\'
ORDER BY seq LIMIT ?4

-- name: MessagesByID
SELECT seq, id, topic, COALESCE(submission_id, ''), payload, metadata, state, attempts, next_attempt_at,
       COALESCE(last_error, ''), created_at, updated_at, COALESCE(delivered_at, 0), COALESCE(retry_from, created_at), COALESCE(last_error_class, '')
FROM outbox_messages WHERE id = ?1 AND (?2 = '' OR topic = ?2) ORDER BY seq LIMIT 2

-- name: ReplayMessage
-- Only a dead message: pending, due now, lease cleared; attempts and id kept.
UPDATE outbox_messages
SET state = 'pending', next_attempt_at = ?2, retry_from = ?2, lease_owner = NULL, lease_until = NULL, delivered_at = NULL, updated_at = ?2
WHERE seq = ?1 AND state = 'dead'
RETURNING seq, topic, attempts, id, COALESCE(submission_id, ''), metadata

-- name: ReplayDead
UPDATE outbox_messages
SET state = 'pending', next_attempt_at = ?2, retry_from = ?2, lease_owner = NULL, lease_until = NULL, delivered_at = NULL, updated_at = ?2
WHERE state = 'dead' AND topic LIKE ?1 ESCAPE '\'
RETURNING seq, topic, attempts, id, COALESCE(submission_id, ''), metadata

-- name: InsertReplay
INSERT INTO outbox_replays (message_seq, replayed_at, replayed_by, reason, attempts) VALUES (?, ?, ?, ?, ?)

-- name: Replays
SELECT m.id, m.topic, r.replayed_by, r.reason, r.replayed_at, r.attempts
FROM outbox_replays r JOIN outbox_messages m ON m.seq = r.message_seq
WHERE m.id = ? ORDER BY r.id

-- name: InsertMessageIgnore
-- Follow-up messages of a Reactor: a deterministic id makes a second insert a no-op.
INSERT INTO outbox_messages (id, topic, submission_id, payload, metadata, state, attempts, next_attempt_at, created_at, updated_at,
    lease_owner, lease_until, leased_at)
VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?, ?, ?, ?)
ON CONFLICT (topic, id) DO NOTHING

-- name: InsertEvent
INSERT INTO outbox_events (submission_id, message_id, topic, kind, attempt, outcome, actor, detail, at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)

-- name: SubmissionInfo
SELECT portal_id, tenant_id, procedure_id FROM submissions WHERE id = ?

-- name: SubmissionExists
SELECT EXISTS (SELECT 1 FROM submissions WHERE id = ?)

-- name: Events
-- The trail in recording order: the stored events and those derived from rows (migration 009,
-- sqlstore's package documentation). Actors as outbox.ActorPortal and outbox.ActorRelay, the
-- detail of transformed is the metadata's outbox.MetaMessageType.
SELECT e.seq, s.id, s.portal_id, s.tenant_id, s.procedure_id, e.message_id, e.topic, e.kind,
       e.attempt, e.outcome, e.actor, e.detail, e.at
FROM outbox_events e JOIN submissions s ON s.id = e.submission_id
WHERE e.submission_id = ?1
UNION ALL
SELECT m.event_seq, s.id, s.portal_id, s.tenant_id, s.procedure_id, m.id, m.topic, 'transformed',
       0, '', 'portal:' || s.portal_id, COALESCE(m.metadata ->> '$.message_type', ''), m.created_at
FROM outbox_messages m JOIN submissions s ON s.id = m.submission_id
WHERE m.submission_id = ?1 AND m.event_seq IS NOT NULL
UNION ALL
SELECT a.event_seq, s.id, s.portal_id, s.tenant_id, s.procedure_id, m.id, m.topic, 'attempt',
       a.number, a.outcome, 'relay:' || a.owner, COALESCE(a.error, ''), a.finished_at
FROM outbox_attempts a JOIN outbox_messages m ON m.seq = a.message_seq JOIN submissions s ON s.id = m.submission_id
WHERE m.submission_id = ?1 AND a.event_seq IS NOT NULL
UNION ALL
SELECT a.final_event_seq, s.id, s.portal_id, s.tenant_id, s.procedure_id, m.id, m.topic, a.outcome,
       0, '', 'relay:' || a.owner, CASE WHEN a.outcome = 'dead' THEN COALESCE(a.error, '') ELSE '' END, a.finished_at
FROM outbox_attempts a JOIN outbox_messages m ON m.seq = a.message_seq JOIN submissions s ON s.id = m.submission_id
WHERE m.submission_id = ?1 AND a.final_event_seq IS NOT NULL
ORDER BY 1

-- name: KeepTransformed
-- The transformed event derived from message ?1 becomes a stored event at its position (as
-- Events derives it); ClearTransformed follows.
INSERT INTO outbox_events (seq, submission_id, message_id, topic, kind, actor, detail, at)
SELECT m.event_seq, m.submission_id, m.id, m.topic, 'transformed', 'portal:' || s.portal_id,
       COALESCE(m.metadata ->> '$.message_type', ''), m.created_at
FROM outbox_messages m JOIN submissions s ON s.id = m.submission_id
WHERE m.seq = ?1 AND m.event_seq IS NOT NULL

-- name: ClearTransformed
UPDATE outbox_messages SET event_seq = NULL WHERE seq = ?1

-- name: StatsOpen
SELECT topic, COUNT(*), SUM(CASE WHEN state = 'retrying' THEN 1 ELSE 0 END), MIN(created_at)
FROM outbox_messages WHERE state IN ('pending', 'retrying') GROUP BY topic

-- name: StatsDead
SELECT topic, COUNT(*) FROM outbox_messages WHERE state = 'dead' GROUP BY topic

-- name: LastDelivered
SELECT COALESCE(MAX(delivered_at), 0) FROM outbox_messages WHERE topic = ? AND state = 'delivered'

-- name: ListSubmissions
-- ?1 portal, ?2 since, ?3 cursor time, ?4 cursor id, ?5 limit.
SELECT id, portal_id, tenant_id, procedure_id, COALESCE(idempotency_key, ''), request_hash, x'', created_at
FROM submissions
WHERE portal_id = ?1 AND created_at >= ?2 AND (created_at > ?3 OR (created_at = ?3 AND id > ?4))
ORDER BY created_at, id LIMIT ?5

-- name: MessagesOfSubmissions
-- ?1 a JSON array of submission ids; payloads are left out.
SELECT seq, id, topic, COALESCE(submission_id, ''), x'', metadata, state, attempts, next_attempt_at,
       COALESCE(last_error, ''), created_at, updated_at, COALESCE(delivered_at, 0), COALESCE(retry_from, created_at), COALESCE(last_error_class, '')
FROM outbox_messages WHERE submission_id IN (SELECT value FROM json_each(?1)) ORDER BY seq

-- name: PurgeMessages
-- ?1 delivered before, ?2 now, ?3 limit.
UPDATE outbox_messages SET payload = x'', purged_at = ?2
WHERE seq IN (
    SELECT seq FROM outbox_messages
    WHERE state = 'delivered' AND purged_at IS NULL AND delivered_at < ?1
    ORDER BY delivered_at LIMIT ?3
)
RETURNING id, topic, COALESCE(submission_id, '')

-- name: PurgeSubmissions
-- Requests of submissions received before ?1 whose messages are all purged or discarded.
UPDATE submissions SET payload = x'', purged_at = ?2
WHERE id IN (
    SELECT s.id FROM submissions s
    WHERE s.purged_at IS NULL AND s.created_at < ?1
      AND NOT EXISTS (SELECT 1 FROM outbox_messages m WHERE m.submission_id = s.id AND m.purged_at IS NULL)
    ORDER BY s.created_at LIMIT ?3
)
RETURNING id

-- name: DiscardMessage
UPDATE outbox_messages
SET state = 'discarded', payload = x'', purged_at = ?2, lease_owner = NULL, lease_until = NULL, updated_at = ?2
WHERE seq = ?1 AND state = 'dead'
RETURNING id, topic, COALESCE(submission_id, ''), metadata

-- name: OpenAlarm
INSERT INTO outbox_alarms (key, open, changed_at) VALUES (?1, 1, ?2)
ON CONFLICT (key) DO UPDATE SET open = 1, changed_at = ?2 WHERE outbox_alarms.open = 0

-- name: CloseAlarm
UPDATE outbox_alarms SET open = 0, changed_at = ?2 WHERE key = ?1 AND open = 1

-- name: PutBlobChunk
-- Staging only: a chunk of a committed blob is never replaced (no row written).
INSERT INTO outbox_blob_chunks (blob_id, seq, created_at, data)
SELECT ?1, ?2, ?3, ?4 WHERE NOT EXISTS (SELECT 1 FROM outbox_blobs WHERE id = ?1)
ON CONFLICT (blob_id, seq) DO UPDATE SET data = excluded.data, created_at = excluded.created_at

-- name: DeleteStagedBlob
DELETE FROM outbox_blob_chunks
WHERE blob_id = ?1 AND NOT EXISTS (SELECT 1 FROM outbox_blobs WHERE id = ?1)

-- name: PurgeStagedBlobs
-- The chunks of uncommitted blobs none of whose chunks was written at or after ?1.
DELETE FROM outbox_blob_chunks
WHERE blob_id IN (
    SELECT DISTINCT c.blob_id FROM outbox_blob_chunks c
    WHERE c.created_at < ?1
      AND NOT EXISTS (SELECT 1 FROM outbox_blobs b WHERE b.id = c.blob_id)
      AND NOT EXISTS (SELECT 1 FROM outbox_blob_chunks n WHERE n.blob_id = c.blob_id AND n.created_at >= ?1)
)
RETURNING blob_id

-- name: BlobByID
SELECT id, submission_id, size, sha256, sha256_sealed, chunks, created_at FROM outbox_blobs WHERE id = ?

-- name: BlobChunk
SELECT c.data FROM outbox_blob_chunks c JOIN outbox_blobs b ON b.id = c.blob_id
WHERE c.blob_id = ?1 AND c.seq = ?2

-- name: StagedChunks
-- Count and range of the staged chunks of a blob (InsertBlobs checks 0..n-1).
SELECT COUNT(*), COALESCE(MIN(seq), -1), COALESCE(MAX(seq), -1) FROM outbox_blob_chunks WHERE blob_id = ?

-- name: InsertBlob
INSERT INTO outbox_blobs (id, submission_id, size, sha256, sha256_sealed, chunks, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)

-- name: PurgeBlobChunks
-- ?1 a JSON array of submission ids whose request was purged.
DELETE FROM outbox_blob_chunks
WHERE blob_id IN (SELECT id FROM outbox_blobs WHERE submission_id IN (SELECT value FROM json_each(?1)))

-- name: PurgeBlobs
DELETE FROM outbox_blobs WHERE submission_id IN (SELECT value FROM json_each(?1))

-- name: ExtendLease
-- A heartbeat: the owner still works on the message.
UPDATE outbox_messages SET lease_until = ?1 WHERE topic = ?2 AND id = ?3 AND lease_owner = ?4

-- name: ExpiredLeases
-- Leases their owner stopped renewing: its process is lost. ?1 now, ?2 limit.
-- +state keeps the planner on the partial lease index (a few rows) instead of
-- the state index (every pending and retrying message), which it prefers
-- without ANALYZE statistics.
SELECT topic, id, lease_owner, COALESCE(leased_at, lease_until), attempts FROM outbox_messages
WHERE lease_until < ?1 AND +state IN ('pending', 'retrying')
ORDER BY lease_until LIMIT ?2

-- Answers from the authority. Answer columns in the order scanAnswer reads them.

-- name: InsertAnswer
INSERT INTO answers (id, tenant_id, source, channel, message_id, body_sha256, message_type, status, reference,
    submission_id, ref_message, state, detail, payload, received_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (tenant_id, message_id) DO NOTHING

-- name: AnswerByMessageID
SELECT id, tenant_id, source, channel, message_id, body_sha256, message_type, status, reference,
       COALESCE(submission_id, ''), ref_message, state, detail, payload, received_at, COALESCE(resolved_at, 0),
       resolved_by, reason, COALESCE(purged_at, 0)
FROM answers WHERE tenant_id = ? AND message_id = ?

-- name: AnswerByID
SELECT id, tenant_id, source, channel, message_id, body_sha256, message_type, status, reference,
       COALESCE(submission_id, ''), ref_message, state, detail, payload, received_at, COALESCE(resolved_at, 0),
       resolved_by, reason, COALESCE(purged_at, 0)
FROM answers WHERE id = ?

-- name: AnswersBySubmission
SELECT id, tenant_id, source, channel, message_id, body_sha256, message_type, status, reference,
       COALESCE(submission_id, ''), ref_message, state, detail, x'', received_at, COALESCE(resolved_at, 0),
       resolved_by, reason, COALESCE(purged_at, 0)
FROM answers WHERE submission_id = ? ORDER BY received_at, id

-- name: ListAnswers
-- ?1 state ('' all), ?2 tenant ('' all), ?3 cursor time, ?4 cursor id, ?5 limit.
SELECT id, tenant_id, source, channel, message_id, body_sha256, message_type, status, reference,
       COALESCE(submission_id, ''), ref_message, state, detail, x'', received_at, COALESCE(resolved_at, 0),
       resolved_by, reason, COALESCE(purged_at, 0)
FROM answers
WHERE (?1 = '' OR state = ?1) AND (?2 = '' OR tenant_id = ?2)
  AND (received_at > ?3 OR (received_at = ?3 AND id > ?4))
ORDER BY received_at, id LIMIT ?5

-- name: InsertAnswerAttachment
INSERT INTO answer_attachments (answer_id, idx, blob_id, file_name, mime_type, size) VALUES (?, ?, ?, ?, ?, ?)

-- name: AnswerAttachments
-- ?1 a JSON array of answer ids.
SELECT answer_id, idx, blob_id, file_name, mime_type, size FROM answer_attachments
WHERE answer_id IN (SELECT value FROM json_each(?1)) ORDER BY answer_id, idx

-- name: InsertAnswerEvent
INSERT INTO answer_events (answer_id, kind, actor, detail, at) VALUES (?, ?, ?, ?, ?)

-- name: AnswerEvents
SELECT seq, answer_id, kind, actor, detail, at FROM answer_events WHERE answer_id = ? ORDER BY seq

-- name: AssignAnswer
-- ?1 id, ?2 submission, ?3 referenced message, ?4 now, ?5 by, ?6 reason.
UPDATE answers SET state = 'assigned', submission_id = ?2, ref_message = ?3, resolved_at = ?4, resolved_by = ?5, reason = ?6
WHERE id = ?1 AND state = 'unmatched'

-- name: DiscardAnswer
UPDATE answers SET state = 'discarded', payload = x'', purged_at = ?2, resolved_at = ?2, resolved_by = ?3, reason = ?4
WHERE id = ?1 AND state = 'unmatched'

-- name: AnswerState
SELECT state FROM answers WHERE id = ?

-- name: UnmatchedAnswers
SELECT tenant_id, COUNT(*) FROM answers WHERE state = 'unmatched' GROUP BY tenant_id

-- name: MessageTarget
-- The submission messages with an id (at most two: an id is unique per topic only).
SELECT m.id, m.topic, s.id, s.tenant_id, s.portal_id
FROM outbox_messages m JOIN submissions s ON s.id = m.submission_id
WHERE m.id = ? ORDER BY m.seq LIMIT 2

-- name: PurgeAnswers
-- Payloads of matched or assigned answers received before ?1; unmatched ones wait for an operator.
UPDATE answers SET payload = x'', purged_at = ?2
WHERE id IN (
    SELECT id FROM answers
    WHERE purged_at IS NULL AND state IN ('matched', 'assigned') AND received_at < ?1
    ORDER BY received_at LIMIT ?3
)
RETURNING id

-- name: PurgeAnswerBlobChunks
-- ?1 a JSON array of answer ids whose payload was purged.
DELETE FROM outbox_blob_chunks
WHERE blob_id IN (SELECT blob_id FROM answer_attachments WHERE answer_id IN (SELECT value FROM json_each(?1)))

-- name: PurgeAnswerBlobs
DELETE FROM outbox_blobs
WHERE id IN (SELECT blob_id FROM answer_attachments WHERE answer_id IN (SELECT value FROM json_each(?1)))
