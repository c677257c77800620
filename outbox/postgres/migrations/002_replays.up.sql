-- Dead-letter management: who replayed which dead message, when and why.
CREATE TABLE outbox_replays (
    id          bigserial PRIMARY KEY,
    message_seq bigint NOT NULL REFERENCES outbox_messages (seq),
    replayed_at timestamptz NOT NULL,
    replayed_by text NOT NULL,
    reason      text NOT NULL DEFAULT '',
    attempts    integer NOT NULL
);
CREATE INDEX outbox_replays_message ON outbox_replays (message_seq);

-- Listing by state in insertion order (dead letters for operators).
CREATE INDEX outbox_messages_state_seq ON outbox_messages (state, seq);

-- A replayed message gets a fresh retry budget: its policy's max elapsed time
-- counts from the replay (NULL: from created_at).
ALTER TABLE outbox_messages ADD COLUMN retry_from timestamptz;
