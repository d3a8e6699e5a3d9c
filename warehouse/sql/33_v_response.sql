-- View v_response. Grain: one row per loaded patient: best overall response (RECIST 1.1) and
-- the flags behind ORR (CR or PR) and DCR (CR, PR or SD), with the patient's groups.
-- Generated from the study's plan.yaml by harmonise.analysis.plan_sql: do not edit.
CREATE OR REPLACE VIEW v_response AS
SELECT
    center_id, patient_key, histology, histology_group, is_asps, regimen_class, therapy, line_group, prior_therapy, ecog_group, best_response,
    best_response IN ('CR', 'PR') AS objective_response,
    best_response IN ('CR', 'PR', 'SD') AS disease_control
FROM v_patient;
