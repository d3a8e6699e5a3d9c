-- Table data_freeze. Grain: one row per finished nightly run: which centers it loaded (or
-- found unchanged) and which failed. On a DuckLake warehouse the commit of this row is the
-- run's snapshot, named "nightly run <run_id>: centers loaded ...": the data freeze that
-- `harmonise report --as-of` reproduces (`harmonise status` lists them).
CREATE TABLE IF NOT EXISTS data_freeze (
    run_id         VARCHAR NOT NULL,
    centers_loaded VARCHAR NOT NULL,  -- comma-separated center ids
    centers_failed VARCHAR,           -- comma-separated center ids, NULL if none
    frozen_at      TIMESTAMP NOT NULL
);
