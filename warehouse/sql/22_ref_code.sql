-- Table ref_code. Grain: one row per code of each closed vocabulary (schemas/codes.yaml),
-- with the label clinicians read and its group (histology group, agent class).
-- Rewritten at every run from codes.yaml and the codes the project's own codes.yaml adds.
CREATE TABLE IF NOT EXISTS ref_code (
    vocabulary VARCHAR NOT NULL,
    code       VARCHAR NOT NULL,
    label      VARCHAR NOT NULL,
    code_group VARCHAR,
    sort_order INTEGER NOT NULL,
    PRIMARY KEY (vocabulary, code)
);
