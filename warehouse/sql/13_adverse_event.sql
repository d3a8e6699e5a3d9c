-- Table adverse_event. Grain: one row per recorded adverse event (CTCAE 5.0 grade).
-- A patient may have several rows for one term. Contract: schemas/canonical.py (AdverseEvent).
CREATE TABLE IF NOT EXISTS adverse_event (
    center_id   VARCHAR NOT NULL,
    patient_key VARCHAR NOT NULL,
    term        VARCHAR NOT NULL,
    grade       INTEGER NOT NULL,
    onset_date  DATE,
    -- lineage: where this row came from
    source_file     VARCHAR NOT NULL,  -- export file name, as received
    source_sha256   VARCHAR NOT NULL,  -- sha256 of that file
    source_row      INTEGER NOT NULL,  -- row in the file as a spreadsheet shows it (header = 1)
    mapping_version VARCHAR NOT NULL,  -- mapping_version of mappings/<center>.yaml
    load_id         VARCHAR NOT NULL   -- content address of the load (see load_log)
);
