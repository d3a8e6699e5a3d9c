-- Table quarantine_history. Grain: one row per run, center, canonical table, canonical column,
-- export column and rule: how many quarantine records (and export rows) had that finding.
-- Appended at every run, never replaced. Counts and names only: never a value from the export.
CREATE TABLE IF NOT EXISTS quarantine_history (
    run_id        VARCHAR NOT NULL,
    center_id     VARCHAR NOT NULL,
    table_name    VARCHAR NOT NULL,
    column_name   VARCHAR,           -- canonical column
    source_column VARCHAR,           -- column header in the export
    rule          VARCHAR NOT NULL,  -- schemas/quarantine.py Rule code
    records       INTEGER NOT NULL,  -- quarantine records with this finding
    source_rows   INTEGER NOT NULL,  -- distinct export rows with this finding
    recorded_at   TIMESTAMP NOT NULL
);
