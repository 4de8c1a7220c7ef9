-- The deadline of each explanation round, set by the secretariat when it opens the round (or
-- later, to extend it). `periods.explanation_due_at` stays the default of round 1 only, so a
-- later round never inherits round 1's date.
CREATE TABLE explanation_deadlines (
    period_id  BIGINT NOT NULL REFERENCES periods(id),
    round      BIGINT NOT NULL,
    due_at     BIGINT NOT NULL,
    set_by     BIGINT REFERENCES users(id),
    set_at     BIGINT NOT NULL,
    PRIMARY KEY (period_id, round)
);

-- One unit's extension of one explanation round, with the reason.
CREATE TABLE explanation_extensions (
    period_id  BIGINT NOT NULL REFERENCES periods(id),
    unit_id    BIGINT NOT NULL REFERENCES units(id),
    round      BIGINT NOT NULL,
    until_at   BIGINT NOT NULL,
    reason     TEXT NOT NULL,
    set_by     BIGINT REFERENCES users(id),
    set_at     BIGINT NOT NULL,
    PRIMARY KEY (period_id, unit_id, round)
);
