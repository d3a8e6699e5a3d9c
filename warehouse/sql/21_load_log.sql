-- Table load_log. Grain: one row per export file per load attempt (or one row per center
-- when the attempt failed before a file could be read). Appended, never rewritten: the audit trail.
CREATE TABLE IF NOT EXISTS load_log (
    run_id           VARCHAR NOT NULL,  -- one per `harmonise run`/nightly run
    load_id          VARCHAR,           -- content address: same inputs + mapping + key + cut-off => same id
    center_id        VARCHAR NOT NULL,
    file_name        VARCHAR,
    file_sha256      VARCHAR,
    rows_read        INTEGER,
    rows_loaded      INTEGER,
    rows_quarantined INTEGER,
    status           VARCHAR NOT NULL,  -- loaded | failed | skipped
    message          VARCHAR,
    mapping_version  VARCHAR,
    mapping_sha256   VARCHAR,
    key_fingerprint  VARCHAR,           -- which pseudonymisation key (not the key)
    cutoff_date      DATE,
    started_at       TIMESTAMP NOT NULL,
    finished_at      TIMESTAMP NOT NULL,
    duration_s       DOUBLE
);
