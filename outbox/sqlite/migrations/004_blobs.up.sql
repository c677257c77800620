-- Blobs: a submission's attachments, stored once in chunks and referenced by
-- the bundle payloads of its messages. Chunks are staged (committed one by
-- one) before their blob row exists, so they have no foreign key; the blob
-- row, committed with its submission, makes them part of it.
CREATE TABLE outbox_blob_chunks (
    blob_id    TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    -- When the chunk was last written (staged uploads expire by it). Before
    -- data, so that reading it does not walk the overflow pages of data.
    created_at INTEGER NOT NULL,
    data       BLOB NOT NULL,
    PRIMARY KEY (blob_id, seq)
);
-- PurgeStagedBlobs finds old chunks without reading their rows.
CREATE INDEX outbox_blob_chunks_created ON outbox_blob_chunks (created_at, blob_id);

CREATE TABLE outbox_blobs (
    id            TEXT PRIMARY KEY,
    submission_id TEXT NOT NULL REFERENCES submissions (id),
    size          INTEGER NOT NULL,
    sha256        BLOB NOT NULL,
    chunks        INTEGER NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE INDEX outbox_blobs_submission ON outbox_blobs (submission_id);
