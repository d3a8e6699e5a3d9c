-- Table patient. Grain: one row per patient per center.
-- Contract: schemas/canonical.py (Patient). Direct identifiers never stored: patient_key is a
-- keyed pseudonym (HMAC-SHA256).
CREATE TABLE IF NOT EXISTS patient (
    center_id        VARCHAR NOT NULL,
    patient_key      VARCHAR NOT NULL,
    sex              VARCHAR NOT NULL,
    age_years        INTEGER NOT NULL,
    histology        VARCHAR NOT NULL,
    primary_site     VARCHAR NOT NULL,
    lung_metastasis  BOOLEAN NOT NULL,
    other_metastasis BOOLEAN NOT NULL,
    ecog             INTEGER NOT NULL,
    prior_lines      INTEGER NOT NULL,
    -- lineage: where this row came from
    source_file     VARCHAR NOT NULL,  -- export file name, as received
    source_sha256   VARCHAR NOT NULL,  -- sha256 of that file
    source_row      INTEGER NOT NULL,  -- row in the file as a spreadsheet shows it (header = 1)
    mapping_version VARCHAR NOT NULL,  -- mapping_version of mappings/<center>.yaml
    load_id         VARCHAR NOT NULL,  -- content address of the load (see load_log)
    PRIMARY KEY (center_id, patient_key)
);
