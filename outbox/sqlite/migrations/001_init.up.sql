-- Timestamps are Unix microseconds (UTC).
CREATE TABLE submissions (
    id              TEXT PRIMARY KEY,
    portal_id       TEXT NOT NULL,
    tenant_id       TEXT NOT NULL,
    procedure_id    TEXT NOT NULL,
    idempotency_key TEXT,
    request_hash    BLOB NOT NULL,
    payload         BLOB NOT NULL,
    created_at      INTEGER NOT NULL
);

CREATE UNIQUE INDEX submissions_idempotency ON submissions (portal_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX submissions_portal_created ON submissions (portal_id, created_at);

CREATE TABLE outbox_messages (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT NOT NULL,
    topic           TEXT NOT NULL,
    submission_id   TEXT REFERENCES submissions (id),
    payload         BLOB NOT NULL,
    metadata        TEXT NOT NULL DEFAULT '{}',
    state           TEXT NOT NULL CHECK (state IN ('pending', 'retrying', 'delivered', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_owner     TEXT,
    lease_until     INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    delivered_at    INTEGER,
    -- A message id is unique per topic: watermill allows one message to be copied to several topics.
    UNIQUE (topic, id)
);

-- Unfinished messages by topic: due order for claims, sequence order for FIFO heads.
CREATE INDEX outbox_messages_due ON outbox_messages (topic, next_attempt_at)
    WHERE state IN ('pending', 'retrying');
CREATE INDEX outbox_messages_open ON outbox_messages (topic, seq)
    WHERE state IN ('pending', 'retrying');
CREATE INDEX outbox_messages_submission ON outbox_messages (submission_id);
CREATE INDEX outbox_messages_id ON outbox_messages (id);

CREATE TABLE outbox_attempts (
    message_seq INTEGER NOT NULL REFERENCES outbox_messages (seq),
    number      INTEGER NOT NULL,
    owner       TEXT NOT NULL,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER NOT NULL,
    outcome     TEXT NOT NULL,
    error       TEXT,
    PRIMARY KEY (message_seq, number)
);
