-- View v_adverse_event. Grain: one row per recorded adverse event, with the patient's groups
-- (histology and the plan's derived groupings) for subgroup tables.
-- Generated from the study's plan.yaml by harmonise.analysis.plan_sql: do not edit.
CREATE OR REPLACE VIEW v_adverse_event AS
SELECT
    a.center_id, a.patient_key, a.term, r.label AS term_label, a.grade, a.onset_date,
    p.histology, p.histology_group, p.is_asps, p.regimen_class, p.therapy, p.line_group, p.prior_therapy, p.ecog_group
FROM adverse_event a
JOIN v_patient p USING (center_id, patient_key)
LEFT JOIN ref_code r ON r.vocabulary = 'ae_term' AND r.code = a.term;
