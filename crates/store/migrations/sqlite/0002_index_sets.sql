-- Index sets (bộ chỉ số): the whole tree is kept as one canonical JSON document (the same
-- content as the YAML file), with the columns lists and guards need beside it (docs/adr/0003).
-- A published set is immutable: every UPDATE that changes content requires status = 'draft'.

CREATE TABLE index_sets (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    code          TEXT NOT NULL UNIQUE,
    year          BIGINT NOT NULL,
    unit_group    TEXT NOT NULL,
    title         TEXT NOT NULL,
    illustrative  BIGINT NOT NULL DEFAULT 0,
    status        TEXT NOT NULL DEFAULT 'draft',
    definition    TEXT NOT NULL,
    node_count    BIGINT NOT NULL,
    cloned_from   BIGINT REFERENCES index_sets(id),
    version       BIGINT NOT NULL DEFAULT 1,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    published_at  BIGINT
);

-- Old code → new code, so that year-over-year comparison survives renumbering.
CREATE TABLE index_set_code_mappings (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    to_set_id    BIGINT NOT NULL REFERENCES index_sets(id),
    from_set_id  BIGINT NOT NULL REFERENCES index_sets(id),
    from_code    TEXT NOT NULL,
    to_code      TEXT NOT NULL
);
CREATE INDEX index_set_code_mappings_to ON index_set_code_mappings(to_set_id);
