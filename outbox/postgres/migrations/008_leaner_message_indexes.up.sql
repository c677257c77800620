-- Fewer index entries per message (issue 20). Which statement needs which
-- index of outbox_messages:
--   primary key (seq)               Complete, Release, MakeDue, ReplayMessage, DiscardMessage (by seq), List
--   unique (id, topic)              the same statements' key look-up (topic and id), and the look-ups by id
--                                   alone: Attempts, Replays, MessagesByID, LockMessagesByID, MessageTarget
--   outbox_messages_due             ClaimDue, NextDue (open messages of a topic in due order)
--   outbox_messages_open            ClaimHead (the oldest open message of a topic), StatsOpen
--   outbox_messages_submission      MessagesBySubmission, MessagesOfSubmissions, PurgeSubmissions
--   outbox_messages_state_seq       ReplayDead, StatsDead, List by a state other than delivered
--   outbox_messages_last_delivered  LastDelivered
--   outbox_messages_unpurged        PurgeMessages
--   outbox_messages_leased          ExpiredLeases (RecoverLost, every RecoverInterval per consumer)

-- One unique index (id, topic) serves the look-ups by topic and id and those
-- by id alone, where there were two. ON CONFLICT (topic, id) infers it: the
-- inference compares the set of columns.
CREATE UNIQUE INDEX outbox_messages_id_topic ON outbox_messages (id, topic);
ALTER TABLE outbox_messages DROP CONSTRAINT outbox_messages_topic_id_key;
ALTER TABLE outbox_messages ADD CONSTRAINT outbox_messages_id_topic_key UNIQUE USING INDEX outbox_messages_id_topic;
DROP INDEX outbox_messages_id;

-- Delivered messages, the great majority, are not in (state, seq): a list of
-- delivered messages walks the primary key, where nearly every row is one.
DROP INDEX outbox_messages_state_seq;
CREATE INDEX outbox_messages_state_seq ON outbox_messages (state, seq) WHERE state <> 'delivered';
