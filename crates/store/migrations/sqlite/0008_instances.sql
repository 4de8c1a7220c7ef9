-- Running safely with several instances behind one load balancer (issue 11).
--
-- `jobs`: every background job (survey imports, deadline reminders, e-mail sending) is a row
-- here. A worker claims a due row by taking a lease (`locked_by`, `locked_until`) and renews
-- it while it works; a row whose lease ran out (its instance died) is claimed again by
-- another. A failure is retried after an exponential backoff (`run_after`) until
-- `max_attempts`. `dedupe_key` makes enqueueing idempotent: a survey import's job, or one
-- reminder run per interval for the whole cluster. `progress` is JSON, so every instance's page
-- shows it.
CREATE TABLE jobs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    kind          TEXT NOT NULL,
    payload       TEXT NOT NULL DEFAULT '{}',
    dedupe_key    TEXT UNIQUE,
    -- queued, running, done, failed
    status        TEXT NOT NULL DEFAULT 'queued',
    attempts      BIGINT NOT NULL DEFAULT 0,
    max_attempts  BIGINT NOT NULL DEFAULT 5,
    run_after     BIGINT NOT NULL,
    locked_by     TEXT,
    locked_until  BIGINT,
    progress      TEXT NOT NULL DEFAULT '{}',
    last_error    TEXT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    finished_at   BIGINT
);
CREATE INDEX jobs_due ON jobs (status, run_after);
-- Imports left pending or running by the previous version (which kept its jobs in memory).
INSERT INTO jobs (kind, payload, dedupe_key, status, attempts, max_attempts, run_after, progress, created_at, updated_at)
SELECT 'survey_import', '{"import_job": ' || id || '}', 'survey_import:' || id, 'queued', 0, 5, created_at, '{}', created_at, created_at
FROM survey_import_jobs WHERE status IN ('pending', 'running');

-- E-mail copies of notifications are an outbox: a worker claims a row (`email_claimed_by`,
-- `email_claimed_until`) before it sends it, so two instances never send it twice; a claim
-- that runs out (the instance died mid-send) is taken again.
ALTER TABLE notifications ADD COLUMN email_claimed_by TEXT;
ALTER TABLE notifications ADD COLUMN email_claimed_until BIGINT;
CREATE INDEX notifications_outbox ON notifications (email_sent_at, id);

-- A per-period change counter for the results cache, read with one primary-key lookup
-- instead of 19 sub-selects. Triggers bump it in the transaction of every write to the data a
-- period's results depend on: the period's own rows, and for every period the tables last
-- year's comparison reads (units, periods, publications). Triggers, rather than calls in each
-- store function, so that no write path can forget it.
CREATE TABLE results_versions (
    period_id  BIGINT PRIMARY KEY,
    version    BIGINT NOT NULL DEFAULT 0
);
INSERT INTO results_versions (period_id, version) SELECT id, 1 FROM periods;

CREATE TRIGGER leaf_entries_results_i AFTER INSERT ON leaf_entries BEGIN INSERT INTO results_versions (period_id, version) VALUES (NEW.period_id, 1) ON CONFLICT (period_id) DO UPDATE SET version = results_versions.version + 1; END;
CREATE TRIGGER leaf_entries_results_u AFTER UPDATE ON leaf_entries BEGIN INSERT INTO results_versions (period_id, version) VALUES (OLD.period_id, 1) ON CONFLICT (period_id) DO UPDATE SET version = results_versions.version + 1; INSERT INTO results_versions (period_id, version) VALUES (NEW.period_id, 1) ON CONFLICT (period_id) DO UPDATE SET version = results_versions.version + 1; END;
CREATE TRIGGER leaf_entries_results_d AFTER DELETE ON leaf_entries BEGIN INSERT INTO results_versions (period_id, version) VALUES (OLD.period_id, 1) ON CONFLICT (period_id) DO UPDATE SET version = results_versions.version + 1; END;
CREATE TRIGGER appraisals_results_i AFTER INSERT ON appraisals BEGIN INSERT INTO results_versions (period_id, version) VALUES (NEW.period_id, 1) ON CONFLICT (period_id) DO UPDATE SET version = results_versions.version + 1; END;
CREATE TRIGGER appraisals_results_u AFTER UPDATE ON appraisals BEGIN INSERT INTO results_versions (period_id, version) VALUES (OLD.period_id, 1) ON CONFLICT (period_id) DO UPDATE SET version = results_versions.version + 1; INSERT INTO results_versions (period_id, version) VALUES (NEW.period_id, 1) ON CONFLICT (period_id) DO UPDATE SET version = results_versions.version + 1; END;
CREATE TRIGGER appraisals_results_d AFTER DELETE ON appraisals BEGIN INSERT INTO results_versions (period_id, version) VALUES (OLD.period_id, 1) ON CONFLICT (period_id) DO UPDATE SET version = results_versions.version + 1; END;
CREATE TRIGGER external_values_results_i AFTER INSERT ON external_values BEGIN INSERT INTO results_versions (period_id, version) VALUES (NEW.period_id, 1) ON CONFLICT (period_id) DO UPDATE SET version = results_versions.version + 1; END;
CREATE TRIGGER external_values_results_u AFTER UPDATE ON external_values BEGIN INSERT INTO results_versions (period_id, version) VALUES (OLD.period_id, 1) ON CONFLICT (period_id) DO UPDATE SET version = results_versions.version + 1; INSERT INTO results_versions (period_id, version) VALUES (NEW.period_id, 1) ON CONFLICT (period_id) DO UPDATE SET version = results_versions.version + 1; END;
CREATE TRIGGER external_values_results_d AFTER DELETE ON external_values BEGIN INSERT INTO results_versions (period_id, version) VALUES (OLD.period_id, 1) ON CONFLICT (period_id) DO UPDATE SET version = results_versions.version + 1; END;
CREATE TRIGGER leaf_corrections_results_i AFTER INSERT ON leaf_corrections BEGIN INSERT INTO results_versions (period_id, version) VALUES (NEW.period_id, 1) ON CONFLICT (period_id) DO UPDATE SET version = results_versions.version + 1; END;
CREATE TRIGGER leaf_corrections_results_u AFTER UPDATE ON leaf_corrections BEGIN INSERT INTO results_versions (period_id, version) VALUES (OLD.period_id, 1) ON CONFLICT (period_id) DO UPDATE SET version = results_versions.version + 1; INSERT INTO results_versions (period_id, version) VALUES (NEW.period_id, 1) ON CONFLICT (period_id) DO UPDATE SET version = results_versions.version + 1; END;
CREATE TRIGGER leaf_corrections_results_d AFTER DELETE ON leaf_corrections BEGIN INSERT INTO results_versions (period_id, version) VALUES (OLD.period_id, 1) ON CONFLICT (period_id) DO UPDATE SET version = results_versions.version + 1; END;
CREATE TRIGGER unit_adjustments_results_i AFTER INSERT ON unit_adjustments BEGIN INSERT INTO results_versions (period_id, version) VALUES (NEW.period_id, 1) ON CONFLICT (period_id) DO UPDATE SET version = results_versions.version + 1; END;
CREATE TRIGGER unit_adjustments_results_u AFTER UPDATE ON unit_adjustments BEGIN INSERT INTO results_versions (period_id, version) VALUES (OLD.period_id, 1) ON CONFLICT (period_id) DO UPDATE SET version = results_versions.version + 1; INSERT INTO results_versions (period_id, version) VALUES (NEW.period_id, 1) ON CONFLICT (period_id) DO UPDATE SET version = results_versions.version + 1; END;
CREATE TRIGGER unit_adjustments_results_d AFTER DELETE ON unit_adjustments BEGIN INSERT INTO results_versions (period_id, version) VALUES (OLD.period_id, 1) ON CONFLICT (period_id) DO UPDATE SET version = results_versions.version + 1; END;
CREATE TRIGGER period_units_results_i AFTER INSERT ON period_units BEGIN INSERT INTO results_versions (period_id, version) VALUES (NEW.period_id, 1) ON CONFLICT (period_id) DO UPDATE SET version = results_versions.version + 1; END;
CREATE TRIGGER period_units_results_u AFTER UPDATE ON period_units BEGIN INSERT INTO results_versions (period_id, version) VALUES (OLD.period_id, 1) ON CONFLICT (period_id) DO UPDATE SET version = results_versions.version + 1; INSERT INTO results_versions (period_id, version) VALUES (NEW.period_id, 1) ON CONFLICT (period_id) DO UPDATE SET version = results_versions.version + 1; END;
CREATE TRIGGER period_units_results_d AFTER DELETE ON period_units BEGIN INSERT INTO results_versions (period_id, version) VALUES (OLD.period_id, 1) ON CONFLICT (period_id) DO UPDATE SET version = results_versions.version + 1; END;

CREATE TRIGGER periods_results_row AFTER INSERT ON periods BEGIN INSERT INTO results_versions (period_id, version) VALUES (NEW.id, 0) ON CONFLICT (period_id) DO NOTHING; END;
CREATE TRIGGER units_results_i AFTER INSERT ON units BEGIN UPDATE results_versions SET version = version + 1; END;
CREATE TRIGGER units_results_u AFTER UPDATE ON units BEGIN UPDATE results_versions SET version = version + 1; END;
CREATE TRIGGER units_results_d AFTER DELETE ON units BEGIN UPDATE results_versions SET version = version + 1; END;
CREATE TRIGGER published_results_results_i AFTER INSERT ON published_results BEGIN UPDATE results_versions SET version = version + 1; END;
CREATE TRIGGER published_results_results_u AFTER UPDATE ON published_results BEGIN UPDATE results_versions SET version = version + 1; END;
CREATE TRIGGER published_results_results_d AFTER DELETE ON published_results BEGIN UPDATE results_versions SET version = version + 1; END;
CREATE TRIGGER periods_results_i AFTER INSERT ON periods BEGIN UPDATE results_versions SET version = version + 1; END;
CREATE TRIGGER periods_results_u AFTER UPDATE ON periods BEGIN UPDATE results_versions SET version = version + 1; END;
CREATE TRIGGER periods_results_d AFTER DELETE ON periods BEGIN UPDATE results_versions SET version = version + 1; END;
