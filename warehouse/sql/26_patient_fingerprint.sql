-- Table patient_fingerprint. Grain: one row per patient with every chosen quasi-identifier.
-- A keyed hash (HMAC with the pseudonymisation key) of the quasi-identifiers the project
-- chooses (safety.duplicate_fields): equal fingerprints at two centers flag a patient who
-- may be counted twice. The quasi-identifiers themselves are not stored here.
CREATE TABLE IF NOT EXISTS patient_fingerprint (
    center_id   VARCHAR NOT NULL,
    patient_key VARCHAR NOT NULL,
    fingerprint VARCHAR NOT NULL,
    load_id     VARCHAR NOT NULL
);
