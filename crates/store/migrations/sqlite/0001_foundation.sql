-- Foundation: unit registry, accounts and roles, sessions, login throttling, audit log.
-- Flags are INTEGER 0/1 and times are BIGINT milliseconds since the epoch, so that one query
-- text decodes the same on SQLite and PostgreSQL through sqlx's Any driver (docs/adr/0001).

CREATE TABLE unit_groups (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    code        TEXT NOT NULL UNIQUE,
    name_vi     TEXT NOT NULL,
    name_en     TEXT,
    sort_order  BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL
);

CREATE TABLE units (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    code          TEXT NOT NULL UNIQUE,
    name_vi       TEXT NOT NULL,
    name_en       TEXT,
    search_text   TEXT NOT NULL,
    group_id      BIGINT NOT NULL REFERENCES unit_groups(id),
    parent_id     BIGINT REFERENCES units(id),
    valid_from    TEXT NOT NULL,
    valid_to      TEXT,
    successor_id  BIGINT REFERENCES units(id),
    active        BIGINT NOT NULL DEFAULT 1,
    version       BIGINT NOT NULL DEFAULT 1,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX units_group ON units(group_id);

CREATE TABLE users (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    username              TEXT NOT NULL UNIQUE,
    full_name             TEXT NOT NULL,
    email                 TEXT,
    password_hash         TEXT NOT NULL,
    must_change_password  BIGINT NOT NULL DEFAULT 0,
    disabled              BIGINT NOT NULL DEFAULT 0,
    version               BIGINT NOT NULL DEFAULT 1,
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL
);

CREATE TABLE user_roles (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role        TEXT NOT NULL,
    unit_id     BIGINT REFERENCES units(id),
    created_at  BIGINT NOT NULL
);
CREATE INDEX user_roles_user ON user_roles(user_id);

CREATE TABLE sessions (
    token_hash      TEXT PRIMARY KEY,
    user_id         BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token      TEXT NOT NULL,
    active_role_id  BIGINT,
    locale          TEXT NOT NULL DEFAULT 'vi',
    ip              TEXT,
    user_agent      TEXT,
    created_at      BIGINT NOT NULL,
    last_seen_at    BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE login_failures (
    id   INTEGER PRIMARY KEY AUTOINCREMENT,
    key  TEXT NOT NULL,
    at   BIGINT NOT NULL
);
CREATE INDEX login_failures_key_at ON login_failures(key, at);

CREATE TABLE pending_imports (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    file_name   TEXT NOT NULL,
    payload     TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE audit_log (
    seq              BIGINT PRIMARY KEY,
    at               BIGINT NOT NULL,
    actor_user_id    BIGINT,
    actor_username   TEXT NOT NULL,
    actor_role       TEXT NOT NULL,
    action           TEXT NOT NULL,
    object_type      TEXT NOT NULL,
    object_id        TEXT NOT NULL,
    before_json      TEXT,
    after_json       TEXT,
    prev_hash        TEXT NOT NULL,
    hash             TEXT NOT NULL
);
CREATE INDEX audit_log_object ON audit_log(object_type, object_id);

-- The head of the hash chain: one row, updated in the same transaction as each append.
CREATE TABLE audit_head (
    id         BIGINT PRIMARY KEY CHECK (id = 1),
    seq        BIGINT NOT NULL,
    last_hash  TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, last_hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- The log is append-only for the application; a changed or deleted row is still detectable
-- by `parindex audit verify` if someone with raw database access drops these triggers.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
