-- Table outcome. Grain: one row per patient: best overall response (RECIST 1.1) and the
-- dates that define PFS and OS. Contract: schemas/canonical.py (Outcome).
CREATE TABLE IF NOT EXISTS outcome (
    center_id          VARCHAR NOT NULL,
    patient_key        VARCHAR NOT NULL,
    best_response      VARCHAR NOT NULL,
    progression_date   DATE,
    death_date         DATE,
    last_followup_date DATE NOT NULL,
    -- lineage: where this row came from
    source_file     VARCHAR NOT NULL,  -- export file name, as received
    source_sha256   VARCHAR NOT NULL,  -- sha256 of that file
    source_row      INTEGER NOT NULL,  -- row in the file as a spreadsheet shows it (header = 1)
    mapping_version VARCHAR NOT NULL,  -- mapping_version of mappings/<center>.yaml
    load_id         VARCHAR NOT NULL,  -- content address of the load (see load_log)
    PRIMARY KEY (center_id, patient_key)
);
