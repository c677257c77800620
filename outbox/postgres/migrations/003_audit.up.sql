-- Audit trail, alarms, retention and discarded dead letters.
ALTER TABLE outbox_messages DROP CONSTRAINT outbox_messages_state_check;
ALTER TABLE outbox_messages ADD CONSTRAINT outbox_messages_state_check
    CHECK (state IN ('pending', 'retrying', 'delivered', 'dead', 'discarded'));
-- When retention or a discard removed the payload.
ALTER TABLE outbox_messages ADD COLUMN purged_at timestamptz;
-- A topic's last delivery (stall alarms, only for topics with waiting messages).
CREATE INDEX outbox_messages_last_delivered ON outbox_messages (topic, delivered_at)
    WHERE state = 'delivered';
-- Delivered messages whose payload retention has not removed yet.
CREATE INDEX outbox_messages_unpurged ON outbox_messages (delivered_at)
    WHERE state = 'delivered' AND purged_at IS NULL;

ALTER TABLE submissions ADD COLUMN purged_at timestamptz;
CREATE INDEX submissions_unpurged ON submissions (created_at) WHERE purged_at IS NULL;

-- The append-only audit trail of submissions.
CREATE TABLE outbox_events (
    seq           bigserial PRIMARY KEY,
    submission_id text NOT NULL REFERENCES submissions (id),
    message_id    text NOT NULL DEFAULT '',
    topic         text NOT NULL DEFAULT '',
    kind          text NOT NULL,
    attempt       integer NOT NULL DEFAULT 0,
    outcome       text NOT NULL DEFAULT '',
    actor         text NOT NULL DEFAULT '',
    detail        text NOT NULL DEFAULT '',
    at            timestamptz NOT NULL
);
CREATE INDEX outbox_events_submission ON outbox_events (submission_id, seq);

-- Open incidents (alarm mails): one row per alarm key.
CREATE TABLE outbox_alarms (
    key        text PRIMARY KEY,
    open       boolean NOT NULL,
    changed_at timestamptz NOT NULL
);
