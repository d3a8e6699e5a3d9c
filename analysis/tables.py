"""Table 1 (patient characteristics by histology) and Table 2 (adverse events by worst grade).

Both tables are computed in SQL on the warehouse (``v_patient``,
``v_adverse_event_worst``, ``ref_code``); pandas only reshapes and formats.

Conventions
-----------
* Table 1: the rows of plan.yaml's ``table1``; one column per code of its ``columns``
  present (the plan's or ``ref_code``'s order) plus ``Total``. Counts are patients;
  percentages are of the column's patients (``100 n / N``). Summaries: median (DuckDB
  ``median``: the mean of the two middle values for an even count) and range (min-max).
  The SQL is generated from the plan (:func:`table1_counts_sql`, :func:`table1_summary_sql`).
  A field a center's export does not record is counted as "Not recorded" (a row that
  appears only when some patient has it), never imputed.
* Table 2: patients counted once per term at their WORST grade (CTCAE 5.0), per grade and
  for any grade; percentages are of ALL loaded patients (``count(*)`` of ``v_patient``),
  as in the study. The first row counts patients with any adverse event (worst grade over
  all terms). Terms come from ``ref_code`` (vocabulary ``ae_term``) in its order, or
  only those plan.yaml's ``table2.terms`` lists; a term with no patient shows zeros.
* The ``*_data`` functions return numbers (tidy / wide); :func:`table1` and
  :func:`table2` return display frames of strings with clinician-readable labels.
"""
from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from harmonise.analysis.plan import Plan, Table1, Table1Row, Table2
from harmonise.analysis.plan_sql import literal
from harmonise.analysis.views import labels

def _text(column: str) -> str:
    return f"CAST({column} AS VARCHAR)"


def table1_counts_sql(table: Table1) -> str:
    """Patients per (section, item, column) and per (section, item) for the Total column:
    one ``SELECT`` per count or flag of the plan's Table 1 rows."""
    col = table.columns
    parts = []
    for row in table.rows:
        if row.count:
            parts.append(f"SELECT {col} AS col, {literal(row.section)} AS section, "
                         f"coalesce({_text(row.count)}, {literal(NOT_RECORDED)}) AS item "
                         "FROM v_patient")
        parts += [f"SELECT {col}, {literal(row.section)}, {literal(item)} FROM v_patient "
                  f"WHERE {flag}" for item, flag, _ in row.flags]
        if row.flags:
            unknown = " OR ".join(f"{flag} IS NULL" for _, flag, _ in row.flags)
            parts.append(f"SELECT {col}, {literal(row.section)}, {literal(NOT_RECORDED)} "
                         f"FROM v_patient WHERE {unknown}")
    items = "\n    UNION ALL ".join(parts) or (
        f"SELECT {col} AS col, '' AS section, '' AS item FROM v_patient WHERE false")
    return f"""WITH items AS (
    {items}
)
SELECT section, item,
       CASE WHEN grouping(col) = 1 THEN 'Total' ELSE {_text('col')} END AS "column",
       count(*) AS value
FROM items
GROUP BY GROUPING SETS ((section, item, col), (section, item))
"""


def table1_summary_sql(table: Table1) -> str:
    """Patients per column and the median / min / max of each summary row."""
    stats = "".join(f",\n       {fn}({row.summary}) AS {row.section}_{stat}"
                    for row in table.rows if row.summary
                    for stat, fn in (("median", "median"), ("min", "min"), ("max", "max")))
    col = table.columns
    return f"""SELECT CASE WHEN grouping({col}) = 1 THEN 'Total' ELSE {_text(col)} END AS "column",
       count(*) AS n{stats}
FROM v_patient
GROUP BY GROUPING SETS (({col}), ())
"""


def table2_sql(table: Table2) -> str:
    """Table 2's query: the plan's any-event label and (optionally) its terms."""
    keep = ("" if not table.terms else "WHERE r.term = '(any)' OR r.term IN ("
            + ", ".join(literal(t) for t in table.terms) + ")\n")
    return TABLE2_SQL.replace("'Any adverse event'", literal(table.any_label)).replace(
        "CROSS JOIN patients p\n", "CROSS JOIN patients p\n" + keep)


TABLE2_SQL = """
WITH patients AS (SELECT count(*) AS n FROM v_patient),
worst AS MATERIALIZED (
    SELECT center_id, patient_key, term, term_label, worst_grade FROM v_adverse_event_worst
),
terms AS (
    SELECT code AS term, label, sort_order FROM ref_code WHERE vocabulary = 'ae_term'
    UNION ALL
    SELECT DISTINCT term, term_label, 1000000 FROM worst
    WHERE term NOT IN (SELECT code FROM ref_code WHERE vocabulary = 'ae_term')
),
per_patient AS (
    SELECT '(any)' AS term, center_id, patient_key, max(worst_grade) AS worst_grade
    FROM worst GROUP BY center_id, patient_key
),
graded AS (
    SELECT term, center_id, patient_key, worst_grade FROM worst
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

#: The item of a patient whose export does not record the section's field (``not_recorded:`` in
#: the center's mapping): counted and shown, never imputed. Only present when some patient has it.
NOT_RECORDED = "not_recorded"
NOT_RECORDED_LABEL = "Not recorded"

GRADES = ("grade1", "grade2", "grade3", "grade4", "grade5")
GRADE_TITLES = dict(zip(GRADES, ("Grade I", "Grade II", "Grade III", "Grade IV", "Grade V")))
STATISTICS = ("median", "min", "max")
STAT_TITLES = {"median": "Median", "min": "Min", "max": "Max"}


def section_titles(table: Table1) -> dict[str, str]:
    """``{section: title}`` of Table 1, ``patients`` first."""
    return {"patients": "Patients", **{row.section: row.title for row in table.rows}}


def _columns(order: list, summary: pd.DataFrame) -> list[str]:
    present = set(summary["column"])
    order = [str(c) for c in order]
    return [c for c in order if c in present] + sorted(
        present - set(order) - {"Total"}) + ["Total"]


def _items(row: Table1Row, plan: Plan, ref: dict) -> dict[str, str]:
    """{item code: label} of the count rows of one section, in display order."""
    items = {}
    if row.count:
        derived = plan.derived_column(row.count)
        items = ({str(lv.code): lv.label for lv in derived.levels} if derived is not None
                 else dict(ref.get(row.count, {})))
    items.update({item: label for item, _, label in row.flags})
    return items


def table1_data(con: duckdb.DuckDBPyConnection, plan: Plan) -> pd.DataFrame:
    """Table 1 of the plan as numbers, one row per (section, item, column).

    Returns
    -------
    pandas.DataFrame
        Columns ``section``, ``item``, ``label``, ``column`` (a code of the plan's
        ``table1.columns``, e.g. a histology, or ``"Total"``), ``value`` and ``percent``
        (of the column's patients; NaN for medians and ranges). Sections: ``patients``
        (item ``n``), then the plan's rows in order: a ``summary`` row gives items
        ``median``, ``min``, ``max``; a ``count`` row one item per code (the plan's
        levels or the code list, then any other code found); a ``flags`` row one item
        per flag. Zero counts are explicit. Empty warehouse: a Total column with n = 0,
        zero counts and NaN statistics.
    """
    table = plan.table1
    summary = con.sql(table1_summary_sql(table)).df()
    counts = con.sql(table1_counts_sql(table)).df()
    derived = plan.derived_column(table.columns)
    order = ([lv.code for lv in derived.levels] if derived is not None
             else list(labels(con, table.columns)))
    columns = _columns(order, summary)
    n_by_col = summary.set_index("column")["n"].reindex(columns, fill_value=0)
    stats = summary.set_index("column").reindex(columns)
    lookup = counts.set_index(["section", "item", "column"])["value"]
    ref = {row.count: labels(con, row.count) for row in table.rows if row.count}
    rows = [("patients", "n", "n", c, n_by_col[c]) for c in columns]
    for row in table.rows:
        section = row.section
        for stat in STATISTICS if row.summary else ():
            rows += [(section, stat, STAT_TITLES[stat], c, stats.loc[c, f"{section}_{stat}"])
                     for c in columns]
        if not (row.count or row.flags):
            continue
        items = _items(row, plan, ref)
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
    if isinstance(x, str):                     # a shareable report's mark (present.Withheld)
        return x
    return "" if pd.isna(x) else f"{x:g}"


def _range(low: float, high: float) -> str:
    if isinstance(low, str):
        return low
    return "" if pd.isna(low) else f"{low:g}-{high:g}"


def table1(data: pd.DataFrame, titles: dict[str, str]) -> pd.DataFrame:
    """Table 1 for display, from :func:`table1_data`: rows (section, characteristic), one
    column per histology.

    Histology columns hold counts, the Total column ``n (x.x%)``, as in the study; ages
    and prior lines show ``median`` and ``min-max``. Column headers ``"ASPS (n=20)"``.
    ``titles``: :func:`section_titles`.
    """
    n_by_col = data[data["section"] == "patients"].set_index("column")["value"]
    header = {c: f"{c} (n={n if isinstance(n, str) else int(n)})" for c, n in n_by_col.items()}
    cells = {}
    for (section, item, label), part in data.groupby(["section", "item", "label"], sort=False):
        values = part.set_index("column")
        if item == "min":
            continue
        if item == "max":
            lo = data[(data["section"] == section) & (data["item"] == "min")].set_index("column")
            row = {c: _range(lo.loc[c, "value"], values.loc[c, "value"]) for c in values.index}
            key = (titles[section], "Range")
        elif item == "median" or section == "patients":
            row = {c: _num(values.loc[c, "value"]) for c in values.index}
            key = (titles[section], label)
        else:
            row = {c: _num(values.loc[c, "value"]) for c in values.index}
            pct = values.loc["Total", "percent"]
            row["Total"] = f"{_num(values.loc['Total', 'value'])}" + (
                "" if isinstance(pct, str) or pd.isna(pct) else f" ({pct:.1f}%)")
            key = (titles[section], label)
        cells[key] = row
    out = pd.DataFrame.from_dict(cells, orient="index")
    out.index = pd.MultiIndex.from_tuples(out.index, names=["section", "characteristic"])
    return out.rename(columns=header)


def table2_data(con: duckdb.DuckDBPyConnection, table: Table2 = Table2()) -> pd.DataFrame:
    """Table 2 as numbers: one row per AE term (first row: any adverse event).

    Returns
    -------
    pandas.DataFrame
        ``term``, ``label``, ``grade1`` ... ``grade5``, ``any_grade`` (patients, counted
        at their worst grade), ``patients`` (all loaded patients, the denominator) and
        ``pct_grade1`` ... ``pct_any_grade`` (``100 n / patients``; NaN when no patient).
    """
    out = con.sql(table2_sql(table)).df()
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
        if isinstance(n, str):                 # a shareable report's mark (present.Withheld)
            return n
        return "0" if n == 0 else f"{n} ({pct:.1f}%)"

    out = pd.DataFrame({GRADE_TITLES[g]: [cell(n, p) for n, p in zip(data[g], data[f"pct_{g}"])]
                        for g in grades})
    out["Total"] = [cell(n, p) for n, p in zip(data["any_grade"], data["pct_any_grade"])]
    out.index = pd.Index(data["label"], name="Adverse event")
    return out
