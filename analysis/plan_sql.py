"""The analysis views, generated from the study's plan (:class:`analysis.plan.Plan`).

``v_patient`` joins each patient's first course and outcome and adds, from the plan, the
derived groupings (one ``CASE`` per grouping, its codes in the plan's order) and each
endpoint's ``<name>_event``, ``<name>_days`` and ``<name>_months``. ``v_adverse_event``,
``v_adverse_event_worst`` and ``v_response`` carry the patient's groupings. The text is
handed to the warehouse (:func:`warehouse.store.refresh_views`), which executes it; the
reference study's views are also written to ``warehouse/sql/3*.sql`` (``make views``) so
the warehouse and its data dictionary work without a plan, and a test keeps them equal.

Literals come from validated plan values and are quoted here (:func:`literal`); column
names are checked against ``v_patient`` by :mod:`analysis.plan_build`.
"""
from __future__ import annotations

from pathlib import Path

from harmonise.analysis.plan import Condition, Derived, Endpoint, Plan, load_plan
from harmonise.analysis.response import DISEASE_CONTROL, OBJECTIVE

GENERATED = "-- Generated from the study's plan.yaml by harmonise.analysis.plan_sql: do not edit."

BASE = """\
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
)"""


def literal(value) -> str:
    """A SQL literal of a plan value (text quoted, ``'`` doubled)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def condition_sql(c: Condition) -> str:
    if c.values:
        if len(c.values) == 1:
            return f"{c.column} = {literal(c.values[0])}"
        return f"{c.column} IN ({', '.join(literal(v) for v in c.values)})"
    parts = ([f"{c.column} >= {literal(c.low)}"] if c.low is not None else []) + (
        [f"{c.column} <= {literal(c.high)}"] if c.high is not None else [])
    return " AND ".join(parts)


def case_sql(d: Derived) -> str:
    """``CASE WHEN ... THEN code ... [ELSE code] END``: first matching level wins."""
    whens = [f"WHEN {' AND '.join(condition_sql(c) for c in lv.when)} THEN {literal(lv.code)}"
             for lv in d.levels if not lv.otherwise]
    rest = [f"ELSE {literal(lv.code)}" for lv in d.levels if lv.otherwise]
    return "CASE " + " ".join(whens + rest) + " END"


def _rule_words(d: Derived) -> str:
    return " | ".join(f"{lv.code}: " + ("otherwise" if lv.otherwise else " and ".join(
        c.describe() for c in lv.when)) for lv in d.levels)


def _endpoint_words(e: Endpoint) -> str:
    first = e.events[0] if len(e.events) == 1 else f"first of {', '.join(e.events)}"
    return (f"{e.name}  event = {first} on or before the cut-off; otherwise censored at "
            f"min({e.censor}, cut-off).")


def _event_date(e: Endpoint) -> str:
    return e.events[0] if len(e.events) == 1 else f"least({', '.join(e.events)})"


def patient_view(plan: Plan) -> str:
    """``CREATE OR REPLACE VIEW v_patient``: base columns, derived groupings, endpoints."""
    header = ["-- View v_patient. Grain: one row per loaded patient (first course of therapy).",
              GENERATED, "-- Derived groupings (plan.yaml `derived`), first matching rule wins:"]
    header += [f"--   {d.name}  {_rule_words(d)}" for d in plan.derived]
    header += ["-- Endpoints (plan.yaml `endpoints`), time from start_date:"]
    header += [f"--   {_endpoint_words(e)}" for e in plan.endpoints]
    header += [f"--   *_days = end - start_date in days; *_months = days / {plan.days_per_month!r}.",
               "-- The cut-off is study_config.cutoff_date (harmonise.yaml, "
               "`harmonise run --cutoff`)."]
    ctes, prev = [BASE], "base"
    for d in plan.derived:
        ctes.append(f"d_{d.name} AS (\n    SELECT *, {case_sql(d)} AS {d.name} FROM {prev}\n)")
        prev = f"d_{d.name}"
    dates = ",\n        ".join(
        f"{_event_date(e)} AS {e.name}_event_date, "
        f"least({e.censor}, cutoff_date) AS {e.name}_censor_date" for e in plan.endpoints)
    ctes.append(f"ends AS (\n    SELECT *,\n        {dates}\n    FROM {prev}\n)")
    helpers = ", ".join(f"{e.name}_event_date, {e.name}_censor_date" for e in plan.endpoints)
    cols = []
    for e in plan.endpoints:
        event = f"coalesce({e.name}_event_date <= cutoff_date, false)"
        end = (f"(CASE WHEN {event} THEN {e.name}_event_date ELSE {e.name}_censor_date END)"
               " - start_date")
        cols += [f"{event} AS {e.name}_event", f"{end} AS {e.name}_days",
                 f"({end}) / {plan.days_per_month!r} AS {e.name}_months"]
    body = ", ".join(ctes).replace("), d_", "),\nd_").replace("), ends", "),\nends")
    return ("\n".join(header) + "\nCREATE OR REPLACE VIEW v_patient AS\n" + body
            + f"\nSELECT * EXCLUDE ({helpers}),\n    " + ",\n    ".join(cols)
            + "\nFROM ends;\n")


def _groups(plan: Plan) -> list[str]:
    return ["histology"] + [d.name for d in plan.derived]


def adverse_event_view(plan: Plan) -> str:
    cols = ", ".join(f"p.{c}" for c in _groups(plan))
    return ("-- View v_adverse_event. Grain: one row per recorded adverse event, with the "
            "patient's groups\n-- (histology and the plan's derived groupings) for subgroup "
            f"tables.\n{GENERATED}\nCREATE OR REPLACE VIEW v_adverse_event AS\nSELECT\n"
            "    a.center_id, a.patient_key, a.term, r.label AS term_label, a.grade, "
            f"a.onset_date,\n    {cols}\nFROM adverse_event a\n"
            "JOIN v_patient p USING (center_id, patient_key)\n"
            "LEFT JOIN ref_code r ON r.vocabulary = 'ae_term' AND r.code = a.term;\n")


def adverse_event_worst_view(plan: Plan) -> str:
    cols = ", ".join(f"any_value({c}) AS {c}" for c in _groups(plan))
    return ("-- View v_adverse_event_worst. Grain: one row per patient per adverse-event "
            "term, holding the\n-- WORST grade the patient had for that term: the unit of "
            "the study's Table 2\n-- (patients counted once per term, at their worst grade)."
            f"\n{GENERATED}\nCREATE OR REPLACE VIEW v_adverse_event_worst AS\nSELECT\n"
            "    center_id, patient_key, term, any_value(term_label) AS term_label, "
            f"max(grade) AS worst_grade,\n    {cols}\nFROM v_adverse_event\n"
            "GROUP BY center_id, patient_key, term;\n")


def response_view(plan: Plan) -> str:
    cols = ", ".join(_groups(plan))
    orr = ", ".join(literal(c) for c in OBJECTIVE)
    dcr = ", ".join(literal(c) for c in DISEASE_CONTROL)
    return ("-- View v_response. Grain: one row per loaded patient: best overall response "
            "(RECIST 1.1) and\n-- the flags behind ORR (CR or PR) and DCR (CR, PR or SD), "
            f"with the patient's groups.\n{GENERATED}\nCREATE OR REPLACE VIEW v_response AS\n"
            f"SELECT\n    center_id, patient_key, {cols}, best_response,\n"
            f"    best_response IN ({orr}) AS objective_response,\n"
            f"    best_response IN ({dcr}) AS disease_control\nFROM v_patient;\n")


VIEW_FILES = {"30_v_patient.sql": patient_view, "31_v_adverse_event.sql": adverse_event_view,
              "32_v_adverse_event_worst.sql": adverse_event_worst_view,
              "33_v_response.sql": response_view}
"""The warehouse's view files and the function generating each."""


def view_statements(plan: Plan) -> list[str]:
    """Every analysis view of ``plan``, in dependency order."""
    return [make(plan) for make in VIEW_FILES.values()]


def write_view_files(sql_dir: Path, plan: Plan | None = None) -> None:
    """Write the reference study's views into ``warehouse/sql/`` (``make views``)."""
    plan = plan or load_plan()
    for name, make in VIEW_FILES.items():
        (Path(sql_dir) / name).write_text(make(plan), encoding="utf-8")


if __name__ == "__main__":
    import sys
    write_view_files(Path(sys.argv[1]))
