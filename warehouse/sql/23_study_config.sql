-- Table study_config. Grain: one row per setting of the study (e.g. cutoff_date).
-- The analysis views read their conventions from here, so SQL and reports agree.
CREATE TABLE IF NOT EXISTS study_config (
    key   VARCHAR PRIMARY KEY,
    value VARCHAR NOT NULL
);
