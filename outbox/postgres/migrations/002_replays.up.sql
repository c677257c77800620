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
