-- View v_patient. Grain: one row per loaded patient (first course of therapy).
-- Generated from the study's plan.yaml by harmonise.analysis.plan_sql: do not edit.
-- Derived groupings (plan.yaml `derived`), first matching rule wins:
--   histology_group  sensitive: histology == 'ASPS' | potentially_sensitive: histology in ['UPS', 'DDLPS', 'MFS', 'AS'] | other: histology in ['SS', 'ES', 'LMS', 'CCS', 'MPNST']
--   is_asps  False: otherwise | True: histology == 'ASPS'
--   regimen_class  I: not has_antiangiogenic and not has_cytotoxic | I+A: has_antiangiogenic and not has_cytotoxic | I+C: not has_antiangiogenic and has_cytotoxic | I+A+C: has_antiangiogenic and has_cytotoxic
--   therapy  monotherapy: regimen_class == 'I' | combination: otherwise
--   line_group  <=2: line_of_therapy <= 2 | later: otherwise
--   prior_therapy  any: prior_lines >= 1 | none: prior_lines == 0
--   ecog_group  0: ecog == 0 | 1: ecog == 1 | 2: ecog == 2 | >=3: ecog >= 3
-- Endpoints (plan.yaml `endpoints`), time from start_date:
--   pfs  event = first of progression_date, death_date on or before the cut-off; otherwise censored at min(last_followup_date, cut-off).
--   os  event = death_date on or before the cut-off; otherwise censored at min(last_followup_date, cut-off).
--   *_days = end - start_date in days; *_months = days / 30.4375.
-- The cut-off is study_config.cutoff_date (harmonise.yaml, `harmonise run --cutoff`).
CREATE OR REPLACE VIEW v_patient AS
WITH cfg AS (
    SELECT CAST(value AS DATE) AS cutoff_date FROM study_config WHERE key = 'cutoff_date'
), course AS (
    SELECT * FROM treatment WHERE course_no = 1
), base AS (
    SELECT
        p.center_id, p.patient_key, p.sex, p.age_years, p.histology,
        p.primary_site, p.lung_metastasis, p.other_metastasis, p.ecog, p.prior_lines,
        t.start_date, t.line_of_therapy, t.immunotherapy_agent, t.antiangiogenic_agents,
        t.cytotoxic_agents,
        coalesce(t.antiangiogenic_agents, '') <> '' AS has_antiangiogenic,
        coalesce(t.cytotoxic_agents, '') <> '' AS has_cytotoxic,
        t.local_treatment, t.local_treatment IS NOT NULL AS has_local_treatment,
        t.end_date, t.discontinuation_reason,
        o.best_response, o.progression_date, o.death_date, o.last_followup_date,
        cfg.cutoff_date
    FROM patient p
    JOIN course t USING (center_id, patient_key)
    JOIN outcome o USING (center_id, patient_key)
    CROSS JOIN cfg
),
d_histology_group AS (
    SELECT *, CASE WHEN histology = 'ASPS' THEN 'sensitive' WHEN histology IN ('UPS', 'DDLPS', 'MFS', 'AS') THEN 'potentially_sensitive' WHEN histology IN ('SS', 'ES', 'LMS', 'CCS', 'MPNST') THEN 'other' END AS histology_group FROM base
),
d_is_asps AS (
    SELECT *, CASE WHEN histology = 'ASPS' THEN true ELSE false END AS is_asps FROM d_histology_group
),
d_regimen_class AS (
    SELECT *, CASE WHEN has_antiangiogenic = false AND has_cytotoxic = false THEN 'I' WHEN has_antiangiogenic = true AND has_cytotoxic = false THEN 'I+A' WHEN has_antiangiogenic = false AND has_cytotoxic = true THEN 'I+C' WHEN has_antiangiogenic = true AND has_cytotoxic = true THEN 'I+A+C' END AS regimen_class FROM d_is_asps
),
d_therapy AS (
    SELECT *, CASE WHEN regimen_class = 'I' THEN 'monotherapy' ELSE 'combination' END AS therapy FROM d_regimen_class
),
d_line_group AS (
    SELECT *, CASE WHEN line_of_therapy <= 2 THEN '<=2' ELSE 'later' END AS line_group FROM d_therapy
),
d_prior_therapy AS (
    SELECT *, CASE WHEN prior_lines >= 1 THEN 'any' WHEN prior_lines = 0 THEN 'none' END AS prior_therapy FROM d_line_group
),
d_ecog_group AS (
    SELECT *, CASE WHEN ecog = 0 THEN '0' WHEN ecog = 1 THEN '1' WHEN ecog = 2 THEN '2' WHEN ecog >= 3 THEN '>=3' END AS ecog_group FROM d_prior_therapy
),
ends AS (
    SELECT *,
        least(progression_date, death_date) AS pfs_event_date, least(last_followup_date, cutoff_date) AS pfs_censor_date,
        death_date AS os_event_date, least(last_followup_date, cutoff_date) AS os_censor_date
    FROM d_ecog_group
)
SELECT * EXCLUDE (pfs_event_date, pfs_censor_date, os_event_date, os_censor_date),
    coalesce(pfs_event_date <= cutoff_date, false) AS pfs_event,
    (CASE WHEN coalesce(pfs_event_date <= cutoff_date, false) THEN pfs_event_date ELSE pfs_censor_date END) - start_date AS pfs_days,
    ((CASE WHEN coalesce(pfs_event_date <= cutoff_date, false) THEN pfs_event_date ELSE pfs_censor_date END) - start_date) / 30.4375 AS pfs_months,
    coalesce(os_event_date <= cutoff_date, false) AS os_event,
    (CASE WHEN coalesce(os_event_date <= cutoff_date, false) THEN os_event_date ELSE os_censor_date END) - start_date AS os_days,
    ((CASE WHEN coalesce(os_event_date <= cutoff_date, false) THEN os_event_date ELSE os_censor_date END) - start_date) / 30.4375 AS os_months
FROM ends;
