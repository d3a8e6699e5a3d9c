-- View v_duplicate_pair. Grain: one row per pair of centers (center_id < other_center_id)
-- holding patients with the same fingerprint (patient_fingerprint): likely the same persons,
-- counted once at each center. patients: such patients (distinct patient keys at center_id).
CREATE OR REPLACE VIEW v_duplicate_pair AS
SELECT a.center_id, b.center_id AS other_center_id, count(DISTINCT a.patient_key) AS patients
FROM patient_fingerprint a
JOIN patient_fingerprint b ON a.fingerprint = b.fingerprint AND a.center_id < b.center_id
GROUP BY a.center_id, b.center_id
