-- The routine events of the audit trail are derived from the rows they describe
-- (issue 20), which are written anyway and never deleted:
--   transformed        outbox_messages: a message queued in its submission's transaction
--   attempt            outbox_attempts
--   delivered, dead    outbox_attempts: an attempt with that outcome
-- event_seq, and final_event_seq for the delivered or dead event after an
-- attempt, are the events' positions in recording order, taken from the
-- AUTOINCREMENT counter of outbox_events.seq (its row in sqlite_sequence) as the
-- row is written, so that stored and derived events interleave as they were
-- recorded and keep their numbers. NULL: the row derives no event. So it is for
-- every row written before this migration: their events stay stored rows of
-- outbox_events, which keeps old trails as they were and rewrites no row.
-- (The version follows PostgreSQL's; SQLite has no migration 008.)
ALTER TABLE outbox_messages ADD COLUMN event_seq INTEGER;
ALTER TABLE outbox_attempts ADD COLUMN event_seq INTEGER;
ALTER TABLE outbox_attempts ADD COLUMN final_event_seq INTEGER;
-- The counter's row exists once an event was stored; a database without any gets it now.
INSERT INTO sqlite_sequence (name, seq)
SELECT 'outbox_events', COALESCE((SELECT MAX(seq) FROM outbox_events), 0)
WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'outbox_events');
