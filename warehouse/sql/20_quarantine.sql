-- Table quarantine. Grain: one row per failed cell, or per row held with its patient.
-- Rows here were NOT loaded. source_file + source_row point at the row in the export;
-- failed_value is never filled for identifier columns. Replaced per center at each load.
CREATE TABLE IF NOT EXISTS quarantine (
    center_id     VARCHAR NOT NULL,
    patient_key   VARCHAR,           -- pseudonym, when the row had an identifier
    table_name    VARCHAR NOT NULL,  -- canonical table the row was meant for
    source_file   VARCHAR,
    source_row    INTEGER,
    column_name   VARCHAR,           -- canonical column
    source_column VARCHAR,           -- column header in the export
    rule          VARCHAR NOT NULL,  -- why, as a code (schemas/quarantine.py Rule; held_with_patient: held, not failed)
    check_name    VARCHAR NOT NULL,  -- the check that failed, by name
    failed_value  VARCHAR,
    reason        VARCHAR NOT NULL,  -- what is wrong and what to do, for the data manager
    load_id       VARCHAR NOT NULL
);
-- Warehouses written before the rule column existed.
ALTER TABLE quarantine ADD COLUMN IF NOT EXISTS rule VARCHAR;
