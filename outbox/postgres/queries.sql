-- Queries of the PostgreSQL store.
-- Message columns in the order scanMessage reads them.

-- name: InsertSubmission
INSERT INTO submissions (id, portal_id, tenant_id, procedure_id, idempotency_key, request_hash, payload, created_at)
VALUES ($1, $2, $3, $4, NULLIF($5, ''), $6, $7, $8)
ON CONFLICT DO NOTHING

-- name: InsertSubmissionNew
-- InsertSubmission of a pipelined transaction: a conflict on the id or the
-- idempotency key fails it (unique violation), and the transaction runs
-- again in a plain one (see pipeline.go).
INSERT INTO submissions (id, portal_id, tenant_id, procedure_id, idempotency_key, request_hash, payload, created_at)
VALUES ($1, $2, $3, $4, NULLIF($5, ''), $6, $7, $8)

-- name: SubmissionByKey
SELECT id, portal_id, tenant_id, procedure_id, COALESCE(idempotency_key, ''), request_hash, payload, created_at
FROM submissions WHERE portal_id = $1 AND idempotency_key = $2

-- name: SubmissionByID
SELECT id, portal_id, tenant_id, procedure_id, COALESCE(idempotency_key, ''), request_hash, payload, created_at
FROM submissions WHERE id = $1

-- name: InsertMessage
-- $8 the lease owner or '', $9 its lease_until (NULL unless leased): a message handed to the local relay.
-- $10: the row derives the message's transformed event and takes its position (migration 009).
INSERT INTO outbox_messages (id, topic, submission_id, payload, metadata, state, attempts, next_attempt_at, created_at, updated_at,
    lease_owner, lease_until, leased_at, event_seq)
VALUES ($1, $2, NULLIF($3, ''), $4, $5, 'pending', 0, $6, $7, $7,
    NULLIF($8, ''), $9, CASE WHEN $8 = '' THEN NULL ELSE $7::timestamptz END,
    CASE WHEN $10::boolean THEN nextval('outbox_events_seq_seq') END)

-- name: Notify
-- $1 the channel, $2 the topics: one notification each, in one statement.
SELECT pg_notify($1, t) FROM unnest($2::text[]) AS t

-- name: ClaimDue
UPDATE outbox_messages SET lease_owner = $1, lease_until = $2, leased_at = $3, updated_at = $3
WHERE seq IN (
    SELECT seq FROM outbox_messages
    WHERE topic = $4 AND state IN ('pending', 'retrying') AND next_attempt_at <= $3
      AND lease_until IS NULL
    ORDER BY next_attempt_at, seq
    LIMIT $5
    FOR UPDATE SKIP LOCKED
)
RETURNING seq, id, topic, COALESCE(submission_id, ''), payload, metadata, state, attempts, next_attempt_at,
          COALESCE(last_error, ''), created_at, updated_at, delivered_at, COALESCE(retry_from, created_at), COALESCE(last_error_class, '')

-- name: ClaimHead
-- FOR UPDATE without SKIP LOCKED: a concurrent claimer waits for the head instead of taking the next one.
UPDATE outbox_messages SET lease_owner = $1, lease_until = $2, leased_at = $3, updated_at = $3
WHERE seq = (
    SELECT seq FROM outbox_messages
    WHERE topic = $4 AND state IN ('pending', 'retrying')
    ORDER BY seq LIMIT 1
    FOR UPDATE
) AND next_attempt_at <= $3 AND lease_until IS NULL
RETURNING seq, id, topic, COALESCE(submission_id, ''), payload, metadata, state, attempts, next_attempt_at,
          COALESCE(last_error, ''), created_at, updated_at, delivered_at, COALESCE(retry_from, created_at), COALESCE(last_error_class, '')

-- name: Complete
-- The outcome and, in the same statement, the attempt's record, which derives the attempt's
-- events for a message of a submission and takes their positions (migration 009): the
-- attempt's, then, for a delivered or dead one, the final event's (a row's values are computed
-- in column order). $10 the attempt's start, $11 its outcome.
WITH done AS (
    UPDATE outbox_messages
    SET state = $1::text, attempts = attempts + 1,
        next_attempt_at = CASE WHEN $1::text = 'retrying' THEN $2::timestamptz ELSE next_attempt_at END,
        last_error = CASE WHEN $1::text = 'delivered' THEN NULL ELSE $3::text END,
        delivered_at = CASE WHEN $1::text = 'delivered' THEN $4::timestamptz ELSE NULL END,
        last_error_class = CASE WHEN $1::text = 'delivered' THEN NULL ELSE NULLIF($8::text, '') END,
        lease_owner = NULL, lease_until = NULL, leased_at = NULL, updated_at = $4::timestamptz
    -- The row is addressed by its key (seq through the unique (topic, id)): a filter on topic and id
    -- lets the planner, with the statistics of a small table, walk the partial index
    -- outbox_messages_open and filter every open message of the topic (TestAddressedByKey).
    WHERE seq = (SELECT seq FROM outbox_messages WHERE topic = $5 AND id = $6)
      AND lease_owner = $7 AND state IN ('pending', 'retrying')
      AND ($9::int = 0 OR attempts = $9::int - 1) -- no other attempt recorded since the claim
    RETURNING seq, attempts, submission_id, metadata
), attempt AS (
    INSERT INTO outbox_attempts (message_seq, number, owner, started_at, finished_at, outcome, error, error_class,
        event_seq, final_event_seq)
    SELECT seq, attempts, $7, $10, $4::timestamptz, $11::text, NULLIF($3::text, ''), NULLIF($8::text, ''),
        CASE WHEN submission_id IS NOT NULL THEN nextval('outbox_events_seq_seq') END,
        CASE WHEN submission_id IS NOT NULL AND $11::text IN ('delivered', 'dead') THEN nextval('outbox_events_seq_seq') END
    FROM done
)
SELECT seq, attempts, COALESCE(submission_id, ''), metadata FROM done

-- name: Release
-- Each id addressed by its key, as in Complete.
UPDATE outbox_messages SET lease_owner = NULL, lease_until = NULL, leased_at = NULL
WHERE seq = ANY (ARRAY(SELECT (SELECT seq FROM outbox_messages WHERE topic = $1 AND id = k) FROM unnest($2::text[]) k))
  AND lease_owner = $3

-- name: MakeDue
-- A waiting, unleased message due at once; no attempt recorded.
UPDATE outbox_messages SET next_attempt_at = LEAST(next_attempt_at, $1), updated_at = $1
WHERE seq = (SELECT seq FROM outbox_messages WHERE topic = $2 AND id = $3)
  AND state IN ('pending', 'retrying') AND lease_until IS NULL

-- name: NextDue
-- Leased messages are left out: their owner completes them, and an expired lease is
-- recovered (RecoverLost) before the message is due again. The partial index keeps this a short ordered scan.
SELECT next_attempt_at FROM outbox_messages
WHERE topic = $1 AND state IN ('pending', 'retrying') AND lease_until IS NULL
ORDER BY next_attempt_at LIMIT 1

-- name: MessagesBySubmission
SELECT seq, id, topic, COALESCE(submission_id, ''), payload, metadata, state, attempts, next_attempt_at,
       COALESCE(last_error, ''), created_at, updated_at, delivered_at, COALESCE(retry_from, created_at), COALESCE(last_error_class, '')
FROM outbox_messages WHERE submission_id = $1 ORDER BY seq

-- name: Attempts
SELECT m.id, a.number, a.owner, a.started_at, a.finished_at, a.outcome, COALESCE(a.error, ''), COALESCE(a.error_class, '')
FROM outbox_attempts a JOIN outbox_messages m ON m.seq = a.message_seq
WHERE m.id = $1 ORDER BY a.message_seq, a.number

-- name: SchemaVersion
SELECT COALESCE(MAX(version), 0) FROM schema_migrations

-- name: List
-- $1 cursor (seq), $2 state or '', $3 topic LIKE pattern, $4 limit.
SELECT seq, id, topic, COALESCE(submission_id, ''), payload, metadata, state, attempts, next_attempt_at,
       COALESCE(last_error, ''), created_at, updated_at, delivered_at, COALESCE(retry_from, created_at), COALESCE(last_error_class, '')
FROM outbox_messages
WHERE seq > $1 AND ($2::text = '' OR state = $2::text) AND topic LIKE $3 ESCAPE '\'
ORDER BY seq LIMIT $4

-- name: MessagesByID
SELECT seq, id, topic, COALESCE(submission_id, ''), payload, metadata, state, attempts, next_attempt_at,
       COALESCE(last_error, ''), created_at, updated_at, delivered_at, COALESCE(retry_from, created_at), COALESCE(last_error_class, '')
FROM outbox_messages WHERE id = $1 AND ($2::text = '' OR topic = $2::text) ORDER BY seq LIMIT 2

-- name: LockMessagesByID
SELECT seq, state FROM outbox_messages WHERE id = $1 AND ($2::text = '' OR topic = $2::text)
ORDER BY seq LIMIT 2 FOR UPDATE

-- name: ReplayMessage
-- Only a dead message: pending, due now, lease cleared; attempts and id kept.
WITH r AS (
    UPDATE outbox_messages
    SET state = 'pending', next_attempt_at = $2, retry_from = $2, lease_owner = NULL, lease_until = NULL, delivered_at = NULL, updated_at = $2
    WHERE seq = $1 AND state = 'dead'
    RETURNING seq, topic, attempts, id, submission_id, metadata
), ins AS (
    INSERT INTO outbox_replays (message_seq, replayed_at, replayed_by, reason, attempts)
    SELECT seq, $2, $3, $4, attempts FROM r
)
SELECT topic, id, COALESCE(submission_id, ''), metadata FROM r ORDER BY seq

-- name: ReplayDead
WITH r AS (
    UPDATE outbox_messages
    SET state = 'pending', next_attempt_at = $2, retry_from = $2, lease_owner = NULL, lease_until = NULL, delivered_at = NULL, updated_at = $2
    WHERE state = 'dead' AND topic LIKE $1 ESCAPE '\'
    RETURNING seq, topic, attempts, id, submission_id, metadata
), ins AS (
    INSERT INTO outbox_replays (message_seq, replayed_at, replayed_by, reason, attempts)
    SELECT seq, $2, $3, $4, attempts FROM r
)
SELECT topic, id, COALESCE(submission_id, ''), metadata FROM r ORDER BY seq

-- name: Replays
SELECT m.id, m.topic, r.replayed_by, r.reason, r.replayed_at, r.attempts
FROM outbox_replays r JOIN outbox_messages m ON m.seq = r.message_seq
WHERE m.id = $1 ORDER BY r.id

-- name: InsertMessageIgnore
-- Follow-up messages of a Reactor: a deterministic id makes a second insert a no-op.
INSERT INTO outbox_messages (id, topic, submission_id, payload, metadata, state, attempts, next_attempt_at, created_at, updated_at,
    lease_owner, lease_until, leased_at)
VALUES ($1, $2, NULLIF($3, ''), $4, $5, 'pending', 0, $6, $7, $7,
    NULLIF($8, ''), $9, CASE WHEN $8 = '' THEN NULL ELSE $7::timestamptz END)
ON CONFLICT (topic, id) DO NOTHING

-- name: InsertEvent
INSERT INTO outbox_events (submission_id, message_id, topic, kind, attempt, outcome, actor, detail, at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)

-- name: SubmissionInfo
SELECT portal_id, tenant_id, procedure_id FROM submissions WHERE id = $1

-- name: SubmissionExists
SELECT EXISTS (SELECT 1 FROM submissions WHERE id = $1)

-- name: Events
-- The trail in recording order: the stored events and those derived from rows (migration 009,
-- sqlstore's package documentation). Actors as outbox.ActorPortal and outbox.ActorRelay, the
-- detail of transformed is the metadata's outbox.MetaMessageType.
SELECT e.seq, s.id, s.portal_id, s.tenant_id, s.procedure_id, e.message_id, e.topic, e.kind,
       e.attempt, e.outcome, e.actor, e.detail, e.at
FROM outbox_events e JOIN submissions s ON s.id = e.submission_id
WHERE e.submission_id = $1
UNION ALL
SELECT m.event_seq, s.id, s.portal_id, s.tenant_id, s.procedure_id, m.id, m.topic, 'transformed',
       0, '', 'portal:' || s.portal_id, COALESCE(m.metadata ->> 'message_type', ''), m.created_at
FROM outbox_messages m JOIN submissions s ON s.id = m.submission_id
WHERE m.submission_id = $1 AND m.event_seq IS NOT NULL
UNION ALL
SELECT a.event_seq, s.id, s.portal_id, s.tenant_id, s.procedure_id, m.id, m.topic, 'attempt',
       a.number, a.outcome, 'relay:' || a.owner, COALESCE(a.error, ''), a.finished_at
FROM outbox_attempts a JOIN outbox_messages m ON m.seq = a.message_seq JOIN submissions s ON s.id = m.submission_id
WHERE m.submission_id = $1 AND a.event_seq IS NOT NULL
UNION ALL
SELECT a.final_event_seq, s.id, s.portal_id, s.tenant_id, s.procedure_id, m.id, m.topic, a.outcome,
       0, '', 'relay:' || a.owner, CASE WHEN a.outcome = 'dead' THEN COALESCE(a.error, '') ELSE '' END, a.finished_at
FROM outbox_attempts a JOIN outbox_messages m ON m.seq = a.message_seq JOIN submissions s ON s.id = m.submission_id
WHERE m.submission_id = $1 AND a.final_event_seq IS NOT NULL
ORDER BY 1

-- name: KeepTransformed
-- The transformed event derived from message $1 becomes a stored event at its position (as
-- Events derives it), and the row derives it no longer.
WITH kept AS (
    INSERT INTO outbox_events (seq, submission_id, message_id, topic, kind, actor, detail, at)
    SELECT m.event_seq, m.submission_id, m.id, m.topic, 'transformed', 'portal:' || s.portal_id,
           COALESCE(m.metadata ->> 'message_type', ''), m.created_at
    FROM outbox_messages m JOIN submissions s ON s.id = m.submission_id
    WHERE m.seq = $1 AND m.event_seq IS NOT NULL
    RETURNING seq
)
UPDATE outbox_messages SET event_seq = NULL WHERE seq = $1 AND event_seq IN (SELECT seq FROM kept)

-- name: StatsOpen
SELECT topic, COUNT(*)::int, COUNT(*) FILTER (WHERE state = 'retrying')::int, MIN(created_at)
FROM outbox_messages WHERE state IN ('pending', 'retrying') GROUP BY topic

-- name: StatsDead
SELECT topic, COUNT(*)::int FROM outbox_messages WHERE state = 'dead' GROUP BY topic

-- name: LastDelivered
SELECT MAX(delivered_at) FROM outbox_messages WHERE topic = $1 AND state = 'delivered'

-- name: ListSubmissions
-- $1 portal, $2 since, $3 cursor time, $4 cursor id, $5 limit.
SELECT id, portal_id, tenant_id, procedure_id, COALESCE(idempotency_key, ''), request_hash, ''::bytea, created_at
FROM submissions
WHERE portal_id = $1 AND created_at >= $2 AND (created_at, id) > ($3, $4)
ORDER BY created_at, id LIMIT $5

-- name: MessagesOfSubmissions
-- Payloads are left out.
SELECT seq, id, topic, COALESCE(submission_id, ''), ''::bytea, metadata, state, attempts, next_attempt_at,
       COALESCE(last_error, ''), created_at, updated_at, delivered_at, COALESCE(retry_from, created_at), COALESCE(last_error_class, '')
FROM outbox_messages WHERE submission_id = ANY($1) ORDER BY seq

-- name: PurgeMessages
-- $1 delivered before, $2 now, $3 limit.
UPDATE outbox_messages SET payload = ''::bytea, purged_at = $2
WHERE seq IN (
    SELECT seq FROM outbox_messages
    WHERE state = 'delivered' AND purged_at IS NULL AND delivered_at < $1
    ORDER BY delivered_at LIMIT $3
    FOR UPDATE SKIP LOCKED
)
RETURNING seq, id, topic, COALESCE(submission_id, '')

-- name: PurgeSubmissions
-- Requests of submissions received before $1 whose messages are all purged or discarded.
UPDATE submissions SET payload = ''::bytea, purged_at = $2
WHERE id IN (
    SELECT s.id FROM submissions s
    WHERE s.purged_at IS NULL AND s.created_at < $1
      AND NOT EXISTS (SELECT 1 FROM outbox_messages m WHERE m.submission_id = s.id AND m.purged_at IS NULL)
    ORDER BY s.created_at LIMIT $3
    FOR UPDATE SKIP LOCKED
)
RETURNING id

-- name: DiscardMessage
UPDATE outbox_messages
SET state = 'discarded', payload = ''::bytea, purged_at = $2, lease_owner = NULL, lease_until = NULL, updated_at = $2
WHERE seq = $1 AND state = 'dead'
RETURNING id, topic, COALESCE(submission_id, ''), metadata

-- name: OpenAlarm
INSERT INTO outbox_alarms (key, open, changed_at) VALUES ($1, true, $2)
ON CONFLICT (key) DO UPDATE SET open = true, changed_at = $2 WHERE outbox_alarms.open = false

-- name: CloseAlarm
UPDATE outbox_alarms SET open = false, changed_at = $2 WHERE key = $1 AND open

-- name: PutBlobChunk
-- Staging only: a chunk of a committed blob is never replaced (no row written).
INSERT INTO outbox_blob_chunks (blob_id, seq, data, created_at)
SELECT $1, $2, $3, $4 WHERE NOT EXISTS (SELECT 1 FROM outbox_blobs WHERE id = $1)
ON CONFLICT (blob_id, seq) DO UPDATE SET data = EXCLUDED.data, created_at = EXCLUDED.created_at

-- name: LockBlobs
-- Serialises InsertBlobs, DeleteStagedBlob and PurgeStagedBlobs on the same
-- blob ids (sorted by the caller), so that no staged chunks are removed while
-- a transaction commits them.
SELECT pg_advisory_xact_lock(hashtextextended('amtsbote_blob:' || id, 0)) FROM unnest($1::text[]) AS id

-- name: DeleteStagedBlob
DELETE FROM outbox_blob_chunks
WHERE blob_id = $1 AND NOT EXISTS (SELECT 1 FROM outbox_blobs WHERE id = $1)

-- name: StaleStagedBlobs
-- Uncommitted blobs none of whose chunks was written at or after $1.
SELECT DISTINCT c.blob_id FROM outbox_blob_chunks c
WHERE c.created_at < $1
  AND NOT EXISTS (SELECT 1 FROM outbox_blobs b WHERE b.id = c.blob_id)
  AND NOT EXISTS (SELECT 1 FROM outbox_blob_chunks n WHERE n.blob_id = c.blob_id AND n.created_at >= $1)
ORDER BY c.blob_id

-- name: PurgeStagedBlobs
-- Run after LockBlobs of $1 (in a new statement, so the checks see what
-- committed meanwhile).
WITH gone AS (
    DELETE FROM outbox_blob_chunks c
    WHERE c.blob_id = ANY($1)
      AND NOT EXISTS (SELECT 1 FROM outbox_blobs b WHERE b.id = c.blob_id)
      AND NOT EXISTS (SELECT 1 FROM outbox_blob_chunks n WHERE n.blob_id = c.blob_id AND n.created_at >= $2)
    RETURNING c.blob_id
)
SELECT COUNT(DISTINCT blob_id) FROM gone

-- name: BlobByID
SELECT id, submission_id, size, sha256, sha256_sealed, chunks, created_at FROM outbox_blobs WHERE id = $1

-- name: BlobChunk
SELECT c.data FROM outbox_blob_chunks c JOIN outbox_blobs b ON b.id = c.blob_id
WHERE c.blob_id = $1 AND c.seq = $2

-- name: StagedChunks
-- Count and range of the staged chunks of a blob (InsertBlobs checks 0..n-1).
SELECT COUNT(*), COALESCE(MIN(seq), -1), COALESCE(MAX(seq), -1) FROM outbox_blob_chunks WHERE blob_id = $1

-- name: InsertBlob
INSERT INTO outbox_blobs (id, submission_id, size, sha256, sha256_sealed, chunks, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)

-- name: PurgeBlobChunks
-- $1 the submissions whose request was purged.
DELETE FROM outbox_blob_chunks
WHERE blob_id IN (SELECT id FROM outbox_blobs WHERE submission_id = ANY($1))

-- name: PurgeBlobs
DELETE FROM outbox_blobs WHERE submission_id = ANY($1)

-- name: ExtendLeases
-- A heartbeat: the owner still works on the messages. Each id addressed by its key, as in Complete.
UPDATE outbox_messages SET lease_until = $1
WHERE seq = ANY (ARRAY(SELECT (SELECT seq FROM outbox_messages WHERE topic = $2 AND id = k) FROM unnest($3::text[]) k))
  AND lease_owner = $4

-- name: ExpiredLeases
-- Leases their owner stopped renewing: its process is lost. $1 now, $2 limit.
SELECT topic, id, lease_owner, COALESCE(leased_at, lease_until), attempts FROM outbox_messages
WHERE lease_until < $1 AND state IN ('pending', 'retrying')
ORDER BY lease_until LIMIT $2

-- Answers from the authority. Answer columns in the order scanAnswer reads them.

-- name: InsertAnswer
INSERT INTO answers (id, tenant_id, source, channel, message_id, body_sha256, message_type, status, reference,
    submission_id, ref_message, state, detail, payload, received_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULLIF($10, ''), $11, $12, $13, $14, $15)
ON CONFLICT (tenant_id, message_id) DO NOTHING

-- name: AnswerByMessageID
SELECT id, tenant_id, source, channel, message_id, body_sha256, message_type, status, reference,
       COALESCE(submission_id, ''), ref_message, state, detail, payload, received_at, resolved_at,
       resolved_by, reason, purged_at
FROM answers WHERE tenant_id = $1 AND message_id = $2

-- name: AnswerByID
SELECT id, tenant_id, source, channel, message_id, body_sha256, message_type, status, reference,
       COALESCE(submission_id, ''), ref_message, state, detail, payload, received_at, resolved_at,
       resolved_by, reason, purged_at
FROM answers WHERE id = $1

-- name: AnswersBySubmission
SELECT id, tenant_id, source, channel, message_id, body_sha256, message_type, status, reference,
       COALESCE(submission_id, ''), ref_message, state, detail, ''::bytea, received_at, resolved_at,
       resolved_by, reason, purged_at
FROM answers WHERE submission_id = $1 ORDER BY received_at, id

-- name: ListAnswers
-- $1 state ('' all), $2 tenant ('' all), $3 cursor time, $4 cursor id, $5 limit.
SELECT id, tenant_id, source, channel, message_id, body_sha256, message_type, status, reference,
       COALESCE(submission_id, ''), ref_message, state, detail, ''::bytea, received_at, resolved_at,
       resolved_by, reason, purged_at
FROM answers
WHERE ($1 = '' OR state = $1) AND ($2 = '' OR tenant_id = $2)
  AND (received_at, id) > ($3, $4)
ORDER BY received_at, id LIMIT $5

-- name: InsertAnswerAttachment
INSERT INTO answer_attachments (answer_id, idx, blob_id, file_name, mime_type, size) VALUES ($1, $2, $3, $4, $5, $6)

-- name: AnswerAttachments
SELECT answer_id, idx, blob_id, file_name, mime_type, size FROM answer_attachments
WHERE answer_id = ANY($1) ORDER BY answer_id, idx

-- name: InsertAnswerEvent
INSERT INTO answer_events (answer_id, kind, actor, detail, at) VALUES ($1, $2, $3, $4, $5)

-- name: AnswerEvents
SELECT seq, answer_id, kind, actor, detail, at FROM answer_events WHERE answer_id = $1 ORDER BY seq

-- name: AssignAnswer
UPDATE answers SET state = 'assigned', submission_id = $2, ref_message = $3, resolved_at = $4, resolved_by = $5, reason = $6
WHERE id = $1 AND state = 'unmatched'

-- name: DiscardAnswer
UPDATE answers SET state = 'discarded', payload = ''::bytea, purged_at = $2, resolved_at = $2, resolved_by = $3, reason = $4
WHERE id = $1 AND state = 'unmatched'

-- name: AnswerState
SELECT state FROM answers WHERE id = $1

-- name: UnmatchedAnswers
SELECT tenant_id, COUNT(*) FROM answers WHERE state = 'unmatched' GROUP BY tenant_id

-- name: MessageTarget
SELECT m.id, m.topic, s.id, s.tenant_id, s.portal_id
FROM outbox_messages m JOIN submissions s ON s.id = m.submission_id
WHERE m.id = $1 ORDER BY m.seq LIMIT 2

-- name: PurgeAnswers
UPDATE answers SET payload = ''::bytea, purged_at = $2
WHERE id IN (
    SELECT id FROM answers
    WHERE purged_at IS NULL AND state IN ('matched', 'assigned') AND received_at < $1
    ORDER BY received_at LIMIT $3
    FOR UPDATE SKIP LOCKED
)
RETURNING id

-- name: PurgeAnswerBlobChunks
DELETE FROM outbox_blob_chunks
WHERE blob_id IN (SELECT blob_id FROM answer_attachments WHERE answer_id = ANY($1))

-- name: PurgeAnswerBlobs
DELETE FROM outbox_blobs
WHERE id IN (SELECT blob_id FROM answer_attachments WHERE answer_id = ANY($1))

-- name: CommitWithin
-- Commits unless the transaction is older than the given microseconds (now() is
-- its start) on the database's clock: sent with the COMMIT in one simple
-- query, an error skips the COMMIT and the transaction stays aborted. The
-- failing branch is volatile, so that it is not folded at plan time.
SELECT CASE WHEN clock_timestamp() <= now() + $1 * interval '1 microsecond' THEN 0
  ELSE ('transaction deadline passed: ' || clock_timestamp()::text)::int END; COMMIT

-- name: CommitBefore
-- The last statement of a pipelined transaction before it commits: fails
-- unless the database's clock is at or before $1, the caller's deadline
-- converted to that clock, so that a pipeline the database reads late (it
-- hung) rolls back. It returns the clock, to keep the conversion fresh. The
-- failing branch is volatile, so that it is not folded at plan time.
SELECT CASE WHEN clock_timestamp() <= $1::timestamptz THEN clock_timestamp()
  ELSE ('transaction deadline passed: ' || clock_timestamp()::text)::timestamptz END
