-- Audit trail, alarms, retention and discarded dead letters.

-- outbox_messages gains the state 'discarded' and purged_at. SQLite cannot alter a
-- CHECK constraint, so the table is rebuilt (foreign keys are off while this runs).
CREATE TABLE outbox_messages_new (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT NOT NULL,
    topic           TEXT NOT NULL,
    submission_id   TEXT REFERENCES submissions (id),
    payload         BLOB NOT NULL,
    metadata        TEXT NOT NULL DEFAULT '{}',
    state           TEXT NOT NULL CHECK (state IN ('pending', 'retrying', 'delivered', 'dead', 'discarded')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_owner     TEXT,
    lease_until     INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    delivered_at    INTEGER,
    retry_from      INTEGER,
    -- When retention or a discard removed the payload.
    purged_at       INTEGER,
    UNIQUE (topic, id)
);
INSERT INTO outbox_messages_new (seq, id, topic, submission_id, payload, metadata, state, attempts, next_attempt_at,
    lease_owner, lease_until, last_error, created_at, updated_at, delivered_at, retry_from)
SELECT seq, id, topic, submission_id, payload, metadata, state, attempts, next_attempt_at,
    lease_owner, lease_until, last_error, created_at, updated_at, delivered_at, retry_from
FROM outbox_messages;
DROP TABLE outbox_messages;
ALTER TABLE outbox_messages_new RENAME TO outbox_messages;

CREATE INDEX outbox_messages_due ON outbox_messages (topic, next_attempt_at)
    WHERE state IN ('pending', 'retrying');
CREATE INDEX outbox_messages_open ON outbox_messages (topic, seq)
    WHERE state IN ('pending', 'retrying');
CREATE INDEX outbox_messages_submission ON outbox_messages (submission_id);
CREATE INDEX outbox_messages_id ON outbox_messages (id);
CREATE INDEX outbox_messages_state_seq ON outbox_messages (state, seq);
-- A topic's last delivery (stall alarms, only for topics with waiting messages).
CREATE INDEX outbox_messages_last_delivered ON outbox_messages (topic, delivered_at)
    WHERE state = 'delivered';
-- Delivered messages whose payload retention has not removed yet.
CREATE INDEX outbox_messages_unpurged ON outbox_messages (delivered_at)
    WHERE state = 'delivered' AND purged_at IS NULL;

ALTER TABLE submissions ADD COLUMN purged_at INTEGER;
CREATE INDEX submissions_unpurged ON submissions (created_at) WHERE purged_at IS NULL;

-- The append-only audit trail of submissions.
CREATE TABLE outbox_events (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    submission_id TEXT NOT NULL REFERENCES submissions (id),
    message_id    TEXT NOT NULL DEFAULT '',
    topic         TEXT NOT NULL DEFAULT '',
    kind          TEXT NOT NULL,
    attempt       INTEGER NOT NULL DEFAULT 0,
    outcome       TEXT NOT NULL DEFAULT '',
    actor         TEXT NOT NULL DEFAULT '',
    detail        TEXT NOT NULL DEFAULT '',
    at            INTEGER NOT NULL
);
CREATE INDEX outbox_events_submission ON outbox_events (submission_id, seq);

-- Open incidents (alarm mails): one row per alarm key.
CREATE TABLE outbox_alarms (
    key        TEXT PRIMARY KEY,
    open       INTEGER NOT NULL,
    changed_at INTEGER NOT NULL
);
