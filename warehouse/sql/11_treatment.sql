-- Table treatment. Grain: one row per course of immunotherapy-based therapy.
-- Contract: schemas/canonical.py (Treatment). Agent lists are '+'-joined codes, NULL if none.
CREATE TABLE IF NOT EXISTS treatment (
    center_id              VARCHAR NOT NULL,
    patient_key            VARCHAR NOT NULL,
    course_no              INTEGER NOT NULL,
    start_date             DATE NOT NULL,
    line_of_therapy        INTEGER NOT NULL,
    pd1_agent              VARCHAR NOT NULL,
    antiangiogenic_agents  VARCHAR,
    cytotoxic_agents       VARCHAR,
    local_treatment        VARCHAR,
    end_date               DATE,
    discontinuation_reason VARCHAR NOT NULL,
    -- lineage: where this row came from
    source_file     VARCHAR NOT NULL,  -- export file name, as received
    source_sha256   VARCHAR NOT NULL,  -- sha256 of that file
    source_row      INTEGER NOT NULL,  -- row in the file as a spreadsheet shows it (header = 1)
    mapping_version VARCHAR NOT NULL,  -- mapping_version of mappings/<center>.yaml
    load_id         VARCHAR NOT NULL,  -- content address of the load (see load_log)
    PRIMARY KEY (center_id, patient_key, course_no)
);
