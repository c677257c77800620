-- The routine events of the audit trail are derived from the rows they describe
-- (issue 20: 3 of 4 event rows per delivered submission, each a heap tuple and
-- two index entries), which are written anyway and never deleted:
--   transformed        outbox_messages: a message queued in its submission's transaction
--   attempt            outbox_attempts
--   delivered, dead    outbox_attempts: an attempt with that outcome
-- event_seq, and final_event_seq for the delivered or dead event after an
-- attempt, are the events' positions in recording order, taken from the
-- sequence of outbox_events.seq as the row is written, so that stored and
-- derived events interleave as they were recorded and keep their numbers.
-- NULL: the row derives no event. So it is for every row written before this
-- migration: their events stay stored rows of outbox_events, which keeps old
-- trails as they were (order, actors and numbers) and rewrites no row. Nullable
-- columns without a default rewrite no table either.
ALTER TABLE outbox_messages ADD COLUMN event_seq bigint;
ALTER TABLE outbox_attempts ADD COLUMN event_seq bigint;
ALTER TABLE outbox_attempts ADD COLUMN final_event_seq bigint;
