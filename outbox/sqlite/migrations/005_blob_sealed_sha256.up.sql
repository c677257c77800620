-- The checksum of a blob sealed by the encrypting decorator (outbox/sealed),
-- which stores it here and zeroes sha256, so that a database copy does not
-- tell whether a known document is stored. NULL for a checksum in clear:
-- rows written before, or without the decorator. Key rotation rewrites both
-- columns together (RewriteBlobHeaders).
ALTER TABLE outbox_blobs ADD COLUMN sha256_sealed BLOB;
