-- View v_adverse_event_worst. Grain: one row per patient per adverse-event term, holding the
-- WORST grade the patient had for that term: the unit of the study's Table 2
-- (patients counted once per term, at their worst grade).
-- Generated from the study's plan.yaml by harmonise.analysis.plan_sql: do not edit.
CREATE OR REPLACE VIEW v_adverse_event_worst AS
SELECT
    center_id, patient_key, term, any_value(term_label) AS term_label, max(grade) AS worst_grade,
    any_value(histology) AS histology, any_value(histology_group) AS histology_group, any_value(is_asps) AS is_asps, any_value(regimen_class) AS regimen_class, any_value(therapy) AS therapy, any_value(line_group) AS line_group, any_value(prior_therapy) AS prior_therapy, any_value(ecog_group) AS ecog_group
FROM v_adverse_event
GROUP BY center_id, patient_key, term;
