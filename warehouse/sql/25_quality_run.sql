-- Table quality_run. Grain: one row per center per run whose quarantine findings were recorded
-- (loaded or unchanged; a failed center records none). Appended, never rewritten, so a run
-- with no findings still counts: what was quarantined before and is gone now is "resolved".
CREATE TABLE IF NOT EXISTS quality_run (
    run_id      VARCHAR NOT NULL,
    center_id   VARCHAR NOT NULL,
    status      VARCHAR NOT NULL,   -- loaded | skipped (findings of the unchanged load, again)
    recorded_at TIMESTAMP NOT NULL
);
