-- A unit's evidence library (files stored content-addressed in the evidence store) and the
-- citations that attach a file to a leaf, with a section or page reference.

CREATE TABLE evidence_files (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    unit_id       BIGINT NOT NULL REFERENCES units(id),
    sha256        TEXT NOT NULL,
    size          BIGINT NOT NULL,
    content_type  TEXT NOT NULL,
    extension     TEXT NOT NULL,
    display_name  TEXT NOT NULL,
    uploaded_by   BIGINT REFERENCES users(id),
    uploaded_at   BIGINT NOT NULL,
    UNIQUE (unit_id, sha256)
);

CREATE TABLE evidence_citations (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    period_id    BIGINT NOT NULL REFERENCES periods(id),
    unit_id      BIGINT NOT NULL REFERENCES units(id),
    leaf_code    TEXT NOT NULL,
    evidence_id  BIGINT NOT NULL REFERENCES evidence_files(id),
    reference    TEXT NOT NULL DEFAULT '',
    created_by   BIGINT REFERENCES users(id),
    created_at   BIGINT NOT NULL,
    UNIQUE (period_id, unit_id, leaf_code, evidence_id)
);
