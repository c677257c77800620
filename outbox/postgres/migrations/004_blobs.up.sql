-- Blobs: a submission's attachments, stored once in chunks and referenced by
-- the bundle payloads of its messages. Chunks are staged (committed one by
-- one) before their blob row exists, so they have no foreign key; the blob
-- row, committed with its submission, makes them part of it.
CREATE TABLE outbox_blob_chunks (
    blob_id    text NOT NULL,
    seq        integer NOT NULL,
    data       bytea NOT NULL,
    -- When the chunk was last written (staged uploads expire by it).
    created_at timestamptz NOT NULL,
    PRIMARY KEY (blob_id, seq)
);
-- Chunks are compressed formats mostly: store them out of line uncompressed.
ALTER TABLE outbox_blob_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
-- PurgeStagedBlobs finds old chunks without reading their rows.
CREATE INDEX outbox_blob_chunks_created ON outbox_blob_chunks (created_at, blob_id);

CREATE TABLE outbox_blobs (
    id            text PRIMARY KEY,
    submission_id text NOT NULL REFERENCES submissions (id),
    size          bigint NOT NULL,
    sha256        bytea NOT NULL,
    chunks        integer NOT NULL,
    created_at    timestamptz NOT NULL
);
CREATE INDEX outbox_blobs_submission ON outbox_blobs (submission_id);
