-- View v_patient. Grain: one row per loaded patient (first course of immunotherapy-based therapy).
-- The derived fields of the study, computed here and nowhere else:
--   histology_group  sensitive (ASPS) | potentially_sensitive (UPS, DDLPS, MFS, AS) | other
--   is_asps          histology = 'ASPS'
--   regimen_class    I (PD-1 alone) | I+A (with anti-angiogenic) | I+C (with cytotoxic) | I+A+C
--   therapy          monotherapy (I) | combination (any other class)
--   line_group       '<=2' when the course is given in line 1 or 2, else 'later'
--   PFS  event = progression or death (whichever first) on or before the cut-off;
--        otherwise censored at min(last follow-up, cut-off).
--   OS   event = death on or before the cut-off; otherwise censored the same way.
--   *_days  = end - start_date in days; *_months = days / 30.4375 (365.25 / 12).
-- The cut-off is study_config.cutoff_date (default 2024-05-25, `harmonise run --cutoff`).
CREATE OR REPLACE VIEW v_patient AS
WITH cfg AS (
    SELECT CAST(value AS DATE) AS cutoff_date FROM study_config WHERE key = 'cutoff_date'
), course AS (
    SELECT * FROM treatment WHERE course_no = 1
), base AS (
    SELECT
        p.center_id, p.patient_key, p.sex, p.age_years, p.histology,
        h.code_group AS histology_group,
        p.histology = 'ASPS' AS is_asps,
        p.primary_site, p.lung_metastasis, p.other_metastasis, p.ecog, p.prior_lines,
        t.start_date, t.line_of_therapy,
        CASE WHEN t.line_of_therapy <= 2 THEN '<=2' ELSE 'later' END AS line_group,
        t.pd1_agent, t.antiangiogenic_agents, t.cytotoxic_agents, t.local_treatment,
        coalesce(t.antiangiogenic_agents, '') <> '' AS has_antiangiogenic,
        coalesce(t.cytotoxic_agents, '') <> '' AS has_cytotoxic,
        t.end_date, t.discontinuation_reason,
        o.best_response, o.progression_date, o.death_date, o.last_followup_date,
        cfg.cutoff_date,
        least(o.last_followup_date, cfg.cutoff_date) AS censor_date,
        least(o.progression_date, o.death_date) AS pfs_event_date
    FROM patient p
    JOIN course t USING (center_id, patient_key)
    JOIN outcome o USING (center_id, patient_key)
    LEFT JOIN ref_code h ON h.vocabulary = 'histology' AND h.code = p.histology
    CROSS JOIN cfg
), derived AS (
    SELECT *,
        CASE WHEN has_antiangiogenic AND has_cytotoxic THEN 'I+A+C'
             WHEN has_antiangiogenic THEN 'I+A'
             WHEN has_cytotoxic THEN 'I+C'
             ELSE 'I' END AS regimen_class,
        coalesce(pfs_event_date <= cutoff_date, false) AS pfs_event,
        coalesce(death_date <= cutoff_date, false) AS os_event
    FROM base
)
SELECT
    center_id, patient_key, sex, age_years, histology, histology_group, is_asps,
    primary_site, lung_metastasis, other_metastasis, ecog, prior_lines,
    start_date, line_of_therapy, line_group,
    pd1_agent, antiangiogenic_agents, cytotoxic_agents, regimen_class,
    CASE WHEN regimen_class = 'I' THEN 'monotherapy' ELSE 'combination' END AS therapy,
    local_treatment, local_treatment IS NOT NULL AS has_local_treatment,
    end_date, discontinuation_reason,
    best_response, progression_date, death_date, last_followup_date, cutoff_date,
    pfs_event,
    (CASE WHEN pfs_event THEN pfs_event_date ELSE censor_date END) - start_date AS pfs_days,
    ((CASE WHEN pfs_event THEN pfs_event_date ELSE censor_date END) - start_date) / 30.4375 AS pfs_months,
    os_event,
    (CASE WHEN os_event THEN death_date ELSE censor_date END) - start_date AS os_days,
    ((CASE WHEN os_event THEN death_date ELSE censor_date END) - start_date) / 30.4375 AS os_months
FROM derived;
