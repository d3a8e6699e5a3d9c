"""Table 1 (patient characteristics by histology) and Table 2 (adverse events by worst grade).

Both tables are computed in SQL on the warehouse (``v_patient``,
``v_adverse_event_worst``, ``ref_code``); pandas only reshapes and formats.

Conventions
-----------
* Table 1: one column per histology present (``ref_code`` order) plus ``Total``.
  Counts are patients; percentages are of the column's patients (``100 n / N``).
  Age (years) and prior systemic lines: median (DuckDB ``median``: the mean of the two
  middle values for an even count) and range (min-max). ECOG ``>=3`` pools 3 and 4.
  Regimen classes: I (PD-1 alone), I+A (+ anti-angiogenic), I+C (+ cytotoxic), I+A+C.
  A field a center's export does not record is counted as "Not recorded" (a row that
  appears only when some patient has it), never imputed.
* Table 2: patients counted once per term at their WORST grade (CTCAE 5.0), per grade and
  for any grade; percentages are of ALL loaded patients (``count(*)`` of ``v_patient``),
  as in the study. The first row counts patients with any adverse event (worst grade over
  all terms). Terms come from ``ref_code`` (vocabulary ``ae_term``) in its order; a term
  with no patient shows zeros.
* The ``*_data`` functions return numbers (tidy / wide); :func:`table1` and
  :func:`table2` return display frames of strings with clinician-readable labels.
"""
from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from harmonise.analysis.views import labels

TABLE1_COUNTS_SQL = """
WITH items AS (
    SELECT histology, 'sex' AS section, sex AS item FROM v_patient
    UNION ALL SELECT histology, 'primary_site', coalesce(primary_site, 'not_recorded') FROM v_patient
    UNION ALL SELECT histology, 'metastasis', 'lung' FROM v_patient WHERE lung_metastasis
    UNION ALL SELECT histology, 'metastasis', 'other' FROM v_patient WHERE other_metastasis
    UNION ALL SELECT histology, 'metastasis', 'not_recorded' FROM v_patient
              WHERE lung_metastasis IS NULL OR other_metastasis IS NULL
    UNION ALL SELECT histology, 'prior_lines', CASE WHEN prior_lines IS NULL THEN 'not_recorded'
              WHEN prior_lines > 0 THEN 'any' ELSE 'none' END FROM v_patient
    UNION ALL SELECT histology, 'ecog', CASE WHEN ecog IS NULL THEN 'not_recorded'
              WHEN ecog >= 3 THEN '>=3' ELSE CAST(ecog AS VARCHAR) END FROM v_patient
    UNION ALL SELECT histology, 'regimen', regimen_class FROM v_patient
    UNION ALL SELECT histology, 'local_treatment', 'any' FROM v_patient WHERE has_local_treatment
)
SELECT section, item,
       CASE WHEN grouping(histology) = 1 THEN 'Total' ELSE histology END AS "column",
       count(*) AS value
FROM items
GROUP BY GROUPING SETS ((section, item, histology), (section, item))
"""

TABLE1_SUMMARY_SQL = """
SELECT CASE WHEN grouping(histology) = 1 THEN 'Total' ELSE histology END AS "column",
       count(*) AS n,
       median(age_years) AS age_median, min(age_years) AS age_min, max(age_years) AS age_max,
       median(prior_lines) AS prior_lines_median, min(prior_lines) AS prior_lines_min,
       max(prior_lines) AS prior_lines_max
FROM v_patient
GROUP BY GROUPING SETS ((histology), ())
"""

TABLE2_SQL = """
WITH patients AS (SELECT count(*) AS n FROM v_patient),
terms AS (
    SELECT code AS term, label, sort_order FROM ref_code WHERE vocabulary = 'ae_term'
    UNION ALL
    SELECT DISTINCT term, term_label, 1000000 FROM v_adverse_event_worst
    WHERE term NOT IN (SELECT code FROM ref_code WHERE vocabulary = 'ae_term')
),
per_patient AS (
    SELECT '(any)' AS term, center_id, patient_key, max(worst_grade) AS worst_grade
    FROM v_adverse_event_worst GROUP BY center_id, patient_key
),
graded AS (
    SELECT term, center_id, patient_key, worst_grade FROM v_adverse_event_worst
    UNION ALL SELECT term, center_id, patient_key, worst_grade FROM per_patient
),
rows AS (
    SELECT '(any)' AS term, 'Any adverse event' AS label, 0 AS sort_order
    UNION ALL SELECT term, label, sort_order FROM terms
)
SELECT r.term, r.label,
       count(g.patient_key) FILTER (WHERE g.worst_grade = 1) AS grade1,
       count(g.patient_key) FILTER (WHERE g.worst_grade = 2) AS grade2,
       count(g.patient_key) FILTER (WHERE g.worst_grade = 3) AS grade3,
       count(g.patient_key) FILTER (WHERE g.worst_grade = 4) AS grade4,
       count(g.patient_key) FILTER (WHERE g.worst_grade = 5) AS grade5,
       count(g.patient_key) AS any_grade,
       p.n AS patients
FROM rows r
LEFT JOIN graded g ON g.term = r.term
CROSS JOIN patients p
GROUP BY r.term, r.label, r.sort_order, p.n
ORDER BY r.sort_order, r.term
"""

SECTION_TITLES = {
    "patients": "Patients", "age": "Age (years)", "sex": "Sex",
    "primary_site": "Primary site", "metastasis": "Site of metastasis",
    "prior_lines": "Prior systemic therapies", "ecog": "ECOG performance status",
    "regimen": "Therapeutic regimen", "local_treatment": "Local treatment"}

FIXED_ITEMS = {
    "metastasis": {"lung": "Lungs", "other": "Others (bone, liver, ...)"},
    "prior_lines": {"any": "Any prior systemic therapy", "none": "None"},
    "ecog": {"0": "0", "1": "1", "2": "2", ">=3": "\u22653"},
    "regimen": {"I": "PD-1 inhibitor monotherapy", "I+A": "PD-1 inhibitor + anti-angiogenic",
                "I+C": "PD-1 inhibitor + chemotherapy",
                "I+A+C": "PD-1 inhibitor + chemotherapy + anti-angiogenic"},
    "local_treatment": {"any": "Local treatment"},
}
"""Items (code -> label) of the sections whose codes are not a ``ref_code`` vocabulary."""

#: The item of a patient whose export does not record the section's field (``not_recorded:`` in
#: the center's mapping): counted and shown, never imputed. Only present when some patient has it.
NOT_RECORDED = "not_recorded"
NOT_RECORDED_LABEL = "Not recorded"

GRADES = ("grade1", "grade2", "grade3", "grade4", "grade5")
GRADE_TITLES = dict(zip(GRADES, ("Grade I", "Grade II", "Grade III", "Grade IV", "Grade V")))


def _columns(con: duckdb.DuckDBPyConnection, summary: pd.DataFrame) -> list[str]:
    present = set(summary["column"])
    return [c for c in labels(con, "histology") if c in present] + sorted(
        present - set(labels(con, "histology")) - {"Total"}) + ["Total"]


SECTIONS = ("patients", "age", "sex", "primary_site", "metastasis", "prior_lines", "ecog",
            "regimen", "local_treatment")
"""Display order of Table 1's sections."""
STATISTICS = {"age": ("median", "min", "max"), "prior_lines": ("median", "min", "max")}
STAT_TITLES = {"median": "Median", "min": "Min", "max": "Max"}


def _items(con: duckdb.DuckDBPyConnection, section: str) -> dict[str, str]:
    """{item code: label} of the count rows of one section (none for patients / age)."""
    if section in ("patients", "age"):
        return {}
    return dict(FIXED_ITEMS.get(section) or labels(con, section))


def table1_data(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Table 1 as numbers, one row per (section, item, column).

    Returns
    -------
    pandas.DataFrame
        Columns ``section``, ``item``, ``label``, ``column`` (histology code or
        ``"Total"``), ``value`` and ``percent`` (of the column's patients; NaN for
        medians and ranges). Sections: ``patients`` (item ``n``), ``age`` and
        ``prior_lines`` (items ``median``, ``min``, ``max``; ``prior_lines`` also counts
        ``any`` / ``none``), ``sex``, ``primary_site``, ``metastasis`` (``lung``,
        ``other``), ``ecog`` (``0``, ``1``, ``2``, ``>=3``), ``regimen`` (``I``, ``I+A``,
        ``I+C``, ``I+A+C``), ``local_treatment`` (``any``). Zero counts are explicit.
        Empty warehouse: a Total column with n = 0, zero counts and NaN statistics.
    """
    summary = con.sql(TABLE1_SUMMARY_SQL).df()
    counts = con.sql(TABLE1_COUNTS_SQL).df()
    columns = _columns(con, summary)
    n_by_col = summary.set_index("column")["n"].reindex(columns, fill_value=0)
    stats = summary.set_index("column").reindex(columns)
    lookup = counts.set_index(["section", "item", "column"])["value"]
    rows = [("patients", "n", "n", c, n_by_col[c]) for c in columns]
    for section in SECTIONS:
        for stat in STATISTICS.get(section, ()):
            rows += [(section, stat, STAT_TITLES[stat], c, stats.loc[c, f"{section}_{stat}"])
                     for c in columns]
        items = _items(con, section)
        unlisted = sorted(set(counts.loc[counts["section"] == section, "item"]) - set(items))
        items.update({code: NOT_RECORDED_LABEL if code == NOT_RECORDED else code   # as is
                      for code in unlisted})
        for item, label in items.items():
            rows += [(section, item, label, c, lookup.get((section, item, c), 0))
                     for c in columns]
    out = pd.DataFrame(rows, columns=["section", "item", "label", "column", "value"])
    out["value"] = [np.nan if pd.isna(v) else float(v) for v in out["value"]]
    is_count = ~out["item"].isin(["median", "min", "max"]) & (out["section"] != "patients")
    denom = out["column"].map(n_by_col).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["percent"] = np.where(is_count & (denom > 0), 100 * out["value"] / denom, np.nan)
    return out


def _num(x: float) -> str:
    return "" if pd.isna(x) else f"{x:g}"


def _range(low: float, high: float) -> str:
    return "" if pd.isna(low) else f"{low:g}-{high:g}"


def table1(data: pd.DataFrame) -> pd.DataFrame:
    """Table 1 for display, from :func:`table1_data`: rows (section, characteristic), one
    column per histology.

    Histology columns hold counts, the Total column ``n (x.x%)``, as in the study; ages
    and prior lines show ``median`` and ``min-max``. Column headers ``"ASPS (n=20)"``.
    """
    n_by_col = data[data["section"] == "patients"].set_index("column")["value"]
    header = {c: f"{c} (n={int(n)})" for c, n in n_by_col.items()}
    cells = {}
    for (section, item, label), part in data.groupby(["section", "item", "label"], sort=False):
        values = part.set_index("column")
        if item == "min":
            continue
        if item == "max":
            lo = data[(data["section"] == section) & (data["item"] == "min")].set_index("column")
            row = {c: _range(lo.loc[c, "value"], values.loc[c, "value"]) for c in values.index}
            key = (SECTION_TITLES[section], "Range")
        elif item == "median" or section == "patients":
            row = {c: _num(values.loc[c, "value"]) for c in values.index}
            key = (SECTION_TITLES[section], label)
        else:
            row = {c: _num(values.loc[c, "value"]) for c in values.index}
            pct = values.loc["Total", "percent"]
            row["Total"] = f"{_num(values.loc['Total', 'value'])}" + (
                "" if pd.isna(pct) else f" ({pct:.1f}%)")
            key = (SECTION_TITLES[section], label)
        cells[key] = row
    out = pd.DataFrame.from_dict(cells, orient="index")
    out.index = pd.MultiIndex.from_tuples(out.index, names=["section", "characteristic"])
    return out.rename(columns=header)


def table2_data(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Table 2 as numbers: one row per AE term (first row: any adverse event).

    Returns
    -------
    pandas.DataFrame
        ``term``, ``label``, ``grade1`` ... ``grade5``, ``any_grade`` (patients, counted
        at their worst grade), ``patients`` (all loaded patients, the denominator) and
        ``pct_grade1`` ... ``pct_any_grade`` (``100 n / patients``; NaN when no patient).
    """
    out = con.sql(TABLE2_SQL).df()
    for col in GRADES + ("any_grade",):
        out[col] = out[col].astype(int)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[f"pct_{col}"] = np.where(out["patients"] > 0,
                                         100 * out[col] / out["patients"], np.nan)
    return out


def table2(data: pd.DataFrame) -> pd.DataFrame:
    """Table 2 for display, from :func:`table2_data`: ``n (x.x%)`` per worst grade and in
    total, by AE label.

    Grade V appears only when some patient has a grade-5 event (the study has none).
    """
    grades = [g for g in GRADES if g != "grade5" or data["grade5"].any()]

    def cell(n, pct):
        return "0" if n == 0 else f"{n} ({pct:.1f}%)"

    out = pd.DataFrame({GRADE_TITLES[g]: [cell(n, p) for n, p in zip(data[g], data[f"pct_{g}"])]
                        for g in grades})
    out["Total"] = [cell(n, p) for n, p in zip(data["any_grade"], data["pct_any_grade"])]
    out.index = pd.Index(data["label"], name="Adverse event")
    return out
