CREATE TABLE submissions (
    id              text PRIMARY KEY,
    portal_id       text NOT NULL,
    tenant_id       text NOT NULL,
    procedure_id    text NOT NULL,
    idempotency_key text,
    request_hash    bytea NOT NULL,
    payload         bytea NOT NULL,
    created_at      timestamptz NOT NULL
);

CREATE UNIQUE INDEX submissions_idempotency ON submissions (portal_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX submissions_portal_created ON submissions (portal_id, created_at);

CREATE TABLE outbox_messages (
    seq             bigserial PRIMARY KEY,
    id              text NOT NULL,
    topic           text NOT NULL,
    submission_id   text REFERENCES submissions (id),
    payload         bytea NOT NULL,
    metadata        jsonb NOT NULL DEFAULT '{}',
    state           text NOT NULL CHECK (state IN ('pending', 'retrying', 'delivered', 'dead')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    lease_owner     text,
    lease_until     timestamptz,
    last_error      text,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    delivered_at    timestamptz,
    -- A message id is unique per topic: watermill allows one message to be copied to several topics.
    UNIQUE (topic, id)
);

-- Unfinished messages by topic: due order for claims, sequence order for FIFO heads.
CREATE INDEX outbox_messages_due ON outbox_messages (topic, next_attempt_at, seq)
    WHERE state IN ('pending', 'retrying');
CREATE INDEX outbox_messages_open ON outbox_messages (topic, seq)
    WHERE state IN ('pending', 'retrying');
CREATE INDEX outbox_messages_submission ON outbox_messages (submission_id);
CREATE INDEX outbox_messages_id ON outbox_messages (id);

CREATE TABLE outbox_attempts (
    message_seq bigint NOT NULL REFERENCES outbox_messages (seq),
    number      integer NOT NULL,
    owner       text NOT NULL,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz NOT NULL,
    outcome     text NOT NULL,
    error       text,
    PRIMARY KEY (message_seq, number)
);
