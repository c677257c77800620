-- Answers from the authority (Eingangsbestätigung, Aktenzeichen, formelle
-- Prüfung, Bescheid, xdomea import confirmation): stored in one transaction
-- before they are acknowledged, idempotent by the answer's own message id per
-- tenant. submission_id is NULL while an answer is unmatched.
CREATE TABLE answers (
    id            text PRIMARY KEY,
    tenant_id     text NOT NULL,
    source        text NOT NULL,
    channel       text NOT NULL,
    message_id    text NOT NULL,
    body_sha256   bytea NOT NULL,
    message_type  text NOT NULL,
    status        text NOT NULL,
    reference     text NOT NULL DEFAULT '',
    submission_id text REFERENCES submissions (id),
    ref_message   text NOT NULL DEFAULT '',
    state         text NOT NULL CHECK (state IN ('matched', 'unmatched', 'assigned', 'discarded')),
    detail        bytea NOT NULL,
    payload       bytea NOT NULL,
    received_at   timestamptz NOT NULL,
    resolved_at   timestamptz,
    resolved_by   text NOT NULL DEFAULT '',
    reason        text NOT NULL DEFAULT '',
    purged_at     timestamptz,
    UNIQUE (tenant_id, message_id)
);
CREATE INDEX answers_submission ON answers (submission_id, received_at);
CREATE INDEX answers_list ON answers (received_at, id);
CREATE INDEX answers_unmatched ON answers (tenant_id) WHERE state = 'unmatched';
CREATE INDEX answers_unpurged ON answers (received_at) WHERE purged_at IS NULL AND state IN ('matched', 'assigned');

-- The files of a Bescheid: blobs of the answer's submission.
CREATE TABLE answer_attachments (
    answer_id text NOT NULL REFERENCES answers (id),
    idx       integer NOT NULL,
    blob_id   text NOT NULL,
    file_name text NOT NULL,
    mime_type text NOT NULL,
    size      bigint NOT NULL,
    PRIMARY KEY (answer_id, idx)
);

-- The append-only audit trail of answers (received, conflict, assigned, discarded).
CREATE TABLE answer_events (
    seq       bigserial PRIMARY KEY,
    answer_id text NOT NULL REFERENCES answers (id),
    kind      text NOT NULL,
    actor     text NOT NULL DEFAULT '',
    detail    text NOT NULL DEFAULT '',
    at        timestamptz NOT NULL
);
CREATE INDEX answer_events_answer ON answer_events (answer_id, seq);
