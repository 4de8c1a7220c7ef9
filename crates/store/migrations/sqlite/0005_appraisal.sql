-- The appraisal (DOMAIN §4, steps 3–8): the period's stage, appraiser assignments, appraised
-- values per round, the explanation round, comment threads, external values, bonus and
-- penalty, corrections, the approval decision, published snapshots, the append-only history
-- of every value a leaf took, and in-app notifications.

ALTER TABLE periods ADD COLUMN appraisal_rounds BIGINT NOT NULL DEFAULT 2;
ALTER TABLE periods ADD COLUMN stage TEXT NOT NULL DEFAULT 'self';
ALTER TABLE periods ADD COLUMN stage_round BIGINT NOT NULL DEFAULT 0;
ALTER TABLE periods ADD COLUMN decision_number TEXT;
ALTER TABLE periods ADD COLUMN decision_date TEXT;
ALTER TABLE periods ADD COLUMN decision_sha256 TEXT;
ALTER TABLE periods ADD COLUMN decision_file_name TEXT;
ALTER TABLE periods ADD COLUMN decision_file_size BIGINT;
ALTER TABLE periods ADD COLUMN published_at BIGINT;

ALTER TABLE period_units ADD COLUMN explanation_submitted_round BIGINT NOT NULL DEFAULT 0;
ALTER TABLE period_units ADD COLUMN explanation_submitted_at BIGINT;
-- Set while a published unit is reopened for a correction; cleared when it is republished.
ALTER TABLE period_units ADD COLUMN correction_reason TEXT;
ALTER TABLE period_units ADD COLUMN correction_opened_at BIGINT;

-- 'self' for the self-assessment, 'explanation' for supplementary evidence.
ALTER TABLE evidence_citations ADD COLUMN stage TEXT NOT NULL DEFAULT 'self';

-- An appraiser appraises a node (domain, criterion or leaf) and everything under it, for a unit.
CREATE TABLE appraisal_assignments (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    period_id     BIGINT NOT NULL REFERENCES periods(id),
    appraiser_id  BIGINT NOT NULL REFERENCES users(id),
    unit_id       BIGINT NOT NULL REFERENCES units(id),
    node_code     TEXT NOT NULL,
    created_by    BIGINT REFERENCES users(id),
    created_at    BIGINT NOT NULL,
    UNIQUE (period_id, appraiser_id, unit_id, node_code)
);
CREATE INDEX appraisal_assignments_unit ON appraisal_assignments (period_id, unit_id);

-- The appraised value of a leaf in one round. Versioned: a stale save is refused.
CREATE TABLE appraisals (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    period_id          BIGINT NOT NULL REFERENCES periods(id),
    unit_id            BIGINT NOT NULL REFERENCES units(id),
    leaf_code          TEXT NOT NULL,
    round              BIGINT NOT NULL,
    input_json         TEXT NOT NULL,
    score_milli        BIGINT,
    not_applicable     BIGINT NOT NULL DEFAULT 0,
    explanation        TEXT NOT NULL,
    remark             TEXT NOT NULL DEFAULT '',
    needs_explanation  BIGINT NOT NULL DEFAULT 0,
    version            BIGINT NOT NULL DEFAULT 1,
    appraiser_id       BIGINT REFERENCES users(id),
    updated_at         BIGINT NOT NULL,
    UNIQUE (period_id, unit_id, leaf_code, round)
);

-- The unit's answer to a leaf flagged in round `round`.
CREATE TABLE explanations (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    period_id   BIGINT NOT NULL REFERENCES periods(id),
    unit_id     BIGINT NOT NULL REFERENCES units(id),
    leaf_code   TEXT NOT NULL,
    round       BIGINT NOT NULL,
    response    TEXT NOT NULL,
    version     BIGINT NOT NULL DEFAULT 1,
    updated_by  BIGINT REFERENCES users(id),
    updated_at  BIGINT NOT NULL,
    UNIQUE (period_id, unit_id, leaf_code, round)
);

-- The thread between the unit and the appraisers about one leaf.
CREATE TABLE leaf_comments (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    period_id   BIGINT NOT NULL REFERENCES periods(id),
    unit_id     BIGINT NOT NULL REFERENCES units(id),
    leaf_code   TEXT NOT NULL,
    author_id   BIGINT NOT NULL REFERENCES users(id),
    side        TEXT NOT NULL,
    body        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX leaf_comments_leaf ON leaf_comments (period_id, unit_id, leaf_code, id);

-- Read markers: the last comment a user has seen on a leaf.
CREATE TABLE leaf_comment_reads (
    user_id       BIGINT NOT NULL REFERENCES users(id),
    period_id     BIGINT NOT NULL REFERENCES periods(id),
    unit_id       BIGINT NOT NULL REFERENCES units(id),
    leaf_code     TEXT NOT NULL,
    last_read_id  BIGINT NOT NULL,
    PRIMARY KEY (user_id, period_id, unit_id, leaf_code)
);

-- A value supplied by an external provider (Sở Tư pháp, Sở Tài chính, the one-stop shop...).
CREATE TABLE external_values (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    period_id    BIGINT NOT NULL REFERENCES periods(id),
    unit_id      BIGINT NOT NULL REFERENCES units(id),
    leaf_code    TEXT NOT NULL,
    score_milli  BIGINT NOT NULL,
    provider     TEXT NOT NULL,
    source       TEXT NOT NULL,
    note         TEXT NOT NULL DEFAULT '',
    version      BIGINT NOT NULL DEFAULT 1,
    updated_by   BIGINT REFERENCES users(id),
    updated_at   BIGINT NOT NULL,
    UNIQUE (period_id, unit_id, leaf_code)
);

-- The secretariat's correction of a leaf of a reopened, published unit.
CREATE TABLE leaf_corrections (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    period_id       BIGINT NOT NULL REFERENCES periods(id),
    unit_id         BIGINT NOT NULL REFERENCES units(id),
    leaf_code       TEXT NOT NULL,
    score_milli     BIGINT,
    not_applicable  BIGINT NOT NULL DEFAULT 0,
    reason          TEXT NOT NULL,
    updated_by      BIGINT REFERENCES users(id),
    updated_at      BIGINT NOT NULL,
    UNIQUE (period_id, unit_id, leaf_code)
);

-- A bonus or penalty item given to a unit, with its reason and evidence. Removal keeps the row.
CREATE TABLE unit_adjustments (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    period_id    BIGINT NOT NULL REFERENCES periods(id),
    unit_id      BIGINT NOT NULL REFERENCES units(id),
    item_code    TEXT NOT NULL,
    kind         TEXT NOT NULL,
    points_milli BIGINT NOT NULL,
    reason       TEXT NOT NULL,
    evidence_id  BIGINT REFERENCES evidence_files(id),
    created_by   BIGINT REFERENCES users(id),
    created_at   BIGINT NOT NULL,
    removed_by   BIGINT REFERENCES users(id),
    removed_at   BIGINT
);

-- Every value a leaf took, append-only: self, round k, explanation, external, correction.
CREATE TABLE leaf_history (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    period_id       BIGINT NOT NULL REFERENCES periods(id),
    unit_id         BIGINT NOT NULL REFERENCES units(id),
    leaf_code       TEXT NOT NULL,
    stage           TEXT NOT NULL,
    round           BIGINT NOT NULL DEFAULT 0,
    score_milli     BIGINT,
    not_applicable  BIGINT NOT NULL DEFAULT 0,
    detail          TEXT NOT NULL,
    reason          TEXT NOT NULL DEFAULT '',
    actor_id        BIGINT REFERENCES users(id),
    at              BIGINT NOT NULL
);
CREATE INDEX leaf_history_leaf ON leaf_history (period_id, unit_id, leaf_code, id);

-- A unit's result as published; a correction adds a new publication, the old one stays.
CREATE TABLE published_results (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    period_id             BIGINT NOT NULL REFERENCES periods(id),
    unit_id               BIGINT NOT NULL REFERENCES units(id),
    publication           BIGINT NOT NULL,
    total_milli           BIGINT NOT NULL,
    applicable_max_milli  BIGINT NOT NULL,
    result_json           TEXT NOT NULL,
    reason                TEXT NOT NULL DEFAULT '',
    published_by          BIGINT REFERENCES users(id),
    published_at          BIGINT NOT NULL,
    UNIQUE (period_id, unit_id, publication)
);

-- In-app notifications; `dedupe_key` keeps a reminder from being sent twice.
CREATE TABLE notifications (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id        BIGINT NOT NULL REFERENCES users(id),
    kind           TEXT NOT NULL,
    dedupe_key     TEXT,
    title          TEXT NOT NULL,
    body           TEXT NOT NULL,
    link           TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    read_at        BIGINT,
    email_sent_at  BIGINT,
    UNIQUE (user_id, dedupe_key)
);
CREATE INDEX notifications_user ON notifications (user_id, id);
