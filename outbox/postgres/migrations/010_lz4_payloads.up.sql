-- Payloads over about 2 KB (XÖV messages, larger submissions and answers) are
-- compressed by TOAST as they are written. PostgreSQL's default, pglz, took
-- about a twentieth of the database's CPU at 400 submissions a second
-- (issue 20); lz4 compresses such text several times faster. Only values
-- written from now on use it: nothing is rewritten, old values stay readable.
-- A server built without lz4 (or older than PostgreSQL 14, which has no
-- per-column compression) keeps pglz: the schema is the same either way.
DO $$
BEGIN
    IF current_setting('server_version_num')::int >= 140000 THEN
        EXECUTE 'ALTER TABLE submissions ALTER COLUMN payload SET COMPRESSION lz4';
        EXECUTE 'ALTER TABLE outbox_messages ALTER COLUMN payload SET COMPRESSION lz4';
        EXECUTE 'ALTER TABLE answers ALTER COLUMN payload SET COMPRESSION lz4';
    END IF;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'lz4 not supported by this server: payloads stay compressed with pglz';
END
$$;
