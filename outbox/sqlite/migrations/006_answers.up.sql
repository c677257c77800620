-- Answers from the authority (Eingangsbestätigung, Aktenzeichen, formelle
-- Prüfung, Bescheid, xdomea import confirmation): stored in one transaction
-- before they are acknowledged, idempotent by the answer's own message id per
-- tenant. submission_id is NULL while an answer is unmatched.
CREATE TABLE answers (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL,
    source        TEXT NOT NULL,
    channel       TEXT NOT NULL,
    message_id    TEXT NOT NULL,
    body_sha256   BLOB NOT NULL,
    message_type  TEXT NOT NULL,
    status        TEXT NOT NULL,
    reference     TEXT NOT NULL DEFAULT '',
    submission_id TEXT REFERENCES submissions (id),
    ref_message   TEXT NOT NULL DEFAULT '',
    state         TEXT NOT NULL CHECK (state IN ('matched', 'unmatched', 'assigned', 'discarded')),
    detail        BLOB NOT NULL,
    payload       BLOB NOT NULL,
    received_at   INTEGER NOT NULL,
    resolved_at   INTEGER,
    resolved_by   TEXT NOT NULL DEFAULT '',
    reason        TEXT NOT NULL DEFAULT '',
    purged_at     INTEGER,
    UNIQUE (tenant_id, message_id)
);
CREATE INDEX answers_submission ON answers (submission_id, received_at);
CREATE INDEX answers_list ON answers (received_at, id);
CREATE INDEX answers_unmatched ON answers (tenant_id) WHERE state = 'unmatched';
CREATE INDEX answers_unpurged ON answers (received_at) WHERE purged_at IS NULL AND state IN ('matched', 'assigned');

-- The files of a Bescheid: blobs of the answer's submission.
CREATE TABLE answer_attachments (
    answer_id TEXT NOT NULL REFERENCES answers (id),
    idx       INTEGER NOT NULL,
    blob_id   TEXT NOT NULL,
    file_name TEXT NOT NULL,
    mime_type TEXT NOT NULL,
    size      INTEGER NOT NULL,
    PRIMARY KEY (answer_id, idx)
);

-- The append-only audit trail of answers (received, conflict, assigned, discarded).
CREATE TABLE answer_events (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    answer_id TEXT NOT NULL REFERENCES answers (id),
    kind      TEXT NOT NULL,
    actor     TEXT NOT NULL DEFAULT '',
    detail    TEXT NOT NULL DEFAULT '',
    at        INTEGER NOT NULL
);
CREATE INDEX answer_events_answer ON answer_events (answer_id, seq);
