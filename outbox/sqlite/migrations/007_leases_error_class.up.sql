-- Lease heartbeats and portal-safe errors.
-- leased_at: when the current lease was taken (the start of an attempt whose
-- process may be lost; the lease itself is renewed while the attempt runs).
-- last_error_class / error_class: the classified reason of a failed attempt
-- (outbox.ErrorClass), the part of an error that portals see; the text stays
-- for operators.
ALTER TABLE outbox_messages ADD COLUMN leased_at INTEGER;
ALTER TABLE outbox_messages ADD COLUMN last_error_class TEXT;
ALTER TABLE outbox_attempts ADD COLUMN error_class TEXT;
-- Leases that ran out (their process is lost) are found by a short scan.
CREATE INDEX outbox_messages_leased ON outbox_messages (lease_until) WHERE lease_until IS NOT NULL;
