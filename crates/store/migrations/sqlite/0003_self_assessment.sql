-- Evaluation periods (kỳ đánh giá), the units taking part, and the self-assessment entries.
-- Instants are milliseconds since the epoch; points are thousandths (docs/adr/0001).

CREATE TABLE periods (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    year               BIGINT NOT NULL,
    name               TEXT NOT NULL UNIQUE,
    self_open_at       BIGINT NOT NULL,
    self_close_at      BIGINT NOT NULL,
    explanation_due_at BIGINT,
    appraisal_open_at  BIGINT,
    appraisal_close_at BIGINT,
    bonus_cap_milli    BIGINT NOT NULL DEFAULT 0,
    penalty_cap_milli  BIGINT NOT NULL DEFAULT 0,
    band_good_milli    BIGINT NOT NULL DEFAULT 85000,
    band_fair_milli    BIGINT NOT NULL DEFAULT 70000,
    band_average_milli BIGINT NOT NULL DEFAULT 50000,
    version            BIGINT NOT NULL DEFAULT 1,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);

-- Which published index set applies to which unit group in a period.
CREATE TABLE period_sets (
    period_id     BIGINT NOT NULL REFERENCES periods(id),
    unit_group    TEXT NOT NULL,
    index_set_id  BIGINT NOT NULL REFERENCES index_sets(id),
    PRIMARY KEY (period_id, unit_group)
);

-- A unit taking part in a period: its extension, submission and reopenings.
CREATE TABLE period_units (
    period_id         BIGINT NOT NULL REFERENCES periods(id),
    unit_id           BIGINT NOT NULL REFERENCES units(id),
    extension_until   BIGINT,
    extension_reason  TEXT,
    submitted_at      BIGINT,
    submitted_by      BIGINT REFERENCES users(id),
    last_activity_at  BIGINT,
    version           BIGINT NOT NULL DEFAULT 1,
    PRIMARY KEY (period_id, unit_id)
);

-- One leaf of one unit's self-assessment: the facts entered, the score the server computed
-- from them, its explanation and the unit's note. Versioned: a stale save is refused.
CREATE TABLE leaf_entries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    period_id       BIGINT NOT NULL REFERENCES periods(id),
    unit_id         BIGINT NOT NULL REFERENCES units(id),
    leaf_code       TEXT NOT NULL,
    input_json      TEXT NOT NULL,
    score_milli     BIGINT,
    not_applicable  BIGINT NOT NULL DEFAULT 0,
    explanation     TEXT NOT NULL,
    note            TEXT NOT NULL DEFAULT '',
    version         BIGINT NOT NULL DEFAULT 1,
    updated_by      BIGINT REFERENCES users(id),
    updated_at      BIGINT NOT NULL,
    UNIQUE (period_id, unit_id, leaf_code)
);
