-- The sociological survey (DOMAIN §5): respondent groups with weights and sampling targets,
-- versioned questionnaires and the units they ask about, single-use anonymous links (only a
-- hash of each token is kept), responses from every channel, and import jobs.

ALTER TABLE periods ADD COLUMN survey_open_at BIGINT;
ALTER TABLE periods ADD COLUMN survey_close_at BIGINT;
ALTER TABLE periods ADD COLUMN survey_min_sample BIGINT NOT NULL DEFAULT 30;
ALTER TABLE periods ADD COLUMN survey_weighted BIGINT NOT NULL DEFAULT 0;

CREATE TABLE survey_groups (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    period_id        BIGINT NOT NULL REFERENCES periods(id),
    code             TEXT NOT NULL,
    name             TEXT NOT NULL,
    weight_milli     BIGINT NOT NULL DEFAULT 1000,
    population       BIGINT NOT NULL DEFAULT 0,
    target_per_unit  BIGINT NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL,
    UNIQUE (period_id, code)
);

CREATE TABLE questionnaires (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    period_id   BIGINT NOT NULL REFERENCES periods(id),
    group_id    BIGINT NOT NULL REFERENCES survey_groups(id),
    version     BIGINT NOT NULL,
    title       TEXT NOT NULL,
    definition  TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'draft',
    created_by  BIGINT REFERENCES users(id),
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    UNIQUE (period_id, group_id, version)
);

-- The units a questionnaire asks about (a department leader rates each district).
CREATE TABLE questionnaire_units (
    questionnaire_id  BIGINT NOT NULL REFERENCES questionnaires(id),
    unit_id           BIGINT NOT NULL REFERENCES units(id),
    PRIMARY KEY (questionnaire_id, unit_id)
);

CREATE TABLE survey_links (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    questionnaire_id  BIGINT NOT NULL REFERENCES questionnaires(id),
    token_hash        TEXT NOT NULL UNIQUE,
    unit_id           BIGINT REFERENCES units(id),
    batch             TEXT NOT NULL,
    created_by        BIGINT REFERENCES users(id),
    created_at        BIGINT NOT NULL,
    response_id       BIGINT,
    used_at           BIGINT
);
CREATE INDEX survey_links_questionnaire ON survey_links (questionnaire_id, batch);

-- One response. `answers` is the compact encoding of parindex_domain::survey::ResponseAnswers.
-- `source_key` makes an import idempotent; paper forms keyed twice carry entry 1 and 2.
CREATE TABLE survey_responses (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    questionnaire_id  BIGINT NOT NULL REFERENCES questionnaires(id),
    channel           TEXT NOT NULL,
    link_id           BIGINT REFERENCES survey_links(id),
    source_key        TEXT,
    paper_ref         TEXT,
    entry_no          BIGINT NOT NULL DEFAULT 1,
    answers           TEXT NOT NULL,
    status            TEXT NOT NULL,
    created_at        BIGINT NOT NULL,
    submitted_at      BIGINT,
    entered_by        BIGINT REFERENCES users(id),
    excluded_at       BIGINT,
    excluded_by       BIGINT REFERENCES users(id),
    exclusion_reason  TEXT,
    UNIQUE (questionnaire_id, source_key),
    UNIQUE (questionnaire_id, paper_ref, entry_no)
);
CREATE INDEX survey_responses_questionnaire ON survey_responses (questionnaire_id, status);

CREATE TABLE survey_import_jobs (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    questionnaire_id  BIGINT NOT NULL REFERENCES questionnaires(id),
    file_name         TEXT NOT NULL,
    sha256            TEXT NOT NULL,
    size              BIGINT NOT NULL,
    mapping           TEXT NOT NULL DEFAULT '',
    status            TEXT NOT NULL,
    total_rows        BIGINT NOT NULL DEFAULT 0,
    inserted          BIGINT NOT NULL DEFAULT 0,
    duplicates        BIGINT NOT NULL DEFAULT 0,
    report            TEXT NOT NULL DEFAULT '',
    created_by        BIGINT REFERENCES users(id),
    created_at        BIGINT NOT NULL,
    finished_at       BIGINT
);
