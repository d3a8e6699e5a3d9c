"""Compute everything the report shows, once, from the warehouse and the study's plan.

:func:`collect` reads the views (``v_patient``, ``v_response``, ``v_adverse_event_worst``),
``ref_code``, ``study_config``, ``load_log`` and ``quarantine`` and returns a typed
:class:`analysis.results.Results`. Each Kaplan-Meier curve is fitted once: the
comparisons' group curves and the all-patient curve per endpoint are reused by the
landmarks and the figures.
"""
from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from harmonise.analysis import km, response, tables, views
from harmonise.analysis.comparisons import run_comparisons
from harmonise.analysis.labels import Labels
from harmonise.analysis.plan import Plan
from harmonise.analysis.provenance import provenance
from harmonise.analysis.results import Results


def ref_labels(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, str]]:
    """``{vocabulary: {code: label}}`` of every ``ref_code`` code list."""
    rows = con.execute("SELECT DISTINCT vocabulary FROM ref_code ORDER BY 1").fetchall()
    return {v: views.labels(con, v) for (v,) in rows}


def response_table(responses: pd.DataFrame, labels: Labels) -> pd.DataFrame:
    """Response rates of all patients, then per code of each of the plan's ``response``
    groupings (codes in the plan's or the code list's order; others after)."""
    frames = [response.response_rates(responses).assign(grouping="All patients",
                                                        label="All patients")]
    for grouping in labels.plan.response:
        part = response.response_rates(responses, grouping.by, overall=False)
        codes = {str(c): c for c in labels.codes(grouping.by)}
        part["grouping"] = grouping.title
        part["label"] = [labels.code(grouping.by, codes.get(g, g)) for g in part["group"]]
        order = {code: i for i, code in enumerate(codes)}
        part = part.sort_values("group", key=lambda s: s.map(order).fillna(len(order)),
                                kind="stable")
        frames.append(part)
    out = pd.concat(frames, ignore_index=True)
    return out[["grouping", "group", "label"] + [c for c in out.columns
                                                 if c not in ("grouping", "group", "label")]]


def comparisons_table(results: pd.DataFrame, labels: Labels) -> pd.DataFrame:
    """The comparisons' rows with their labels in words and observed / expected."""
    plan = labels.plan
    out = results.copy()
    out["group_label"] = [labels.groups(plan.comparison(c)).get(v, g)
                          for c, v, g in zip(out["comparison"], out["group_value"], out["group"])]
    out["comparison_label"] = [labels.comparison(plan.comparison(c)) for c in out["comparison"]]
    out["population_label"] = [labels.population(plan.comparison(c)) for c in out["comparison"]]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["o_e_ratio"] = np.where(out["expected"] > 0, out["observed"] / out["expected"],
                                    np.nan)
    return out


def collect(con: duckdb.DuckDBPyConnection, plan: Plan, *, transform: str = "log",
            median_rule: str = "print", memory: str | None = views.STORED_MEMORY) -> Results:
    """Every result the report shows (no figures, no published numbers yet); ``memory``:
    DuckDB's cap while ``v_patient`` is stored (:func:`analysis.views.materialised`)."""
    labels = Labels(plan, ref_labels(con))
    # Table 2 first: the memory of its aggregation (about 650 MB at a million patients) is
    # reused by DuckDB for what follows, before any pandas frame is held beside it
    table2_data = tables.table2_data(con, plan.table2)
    with views.materialised(con, memory):  # v_patient computed once for these reads
        patients = views.patients(con)
        responses = views.responses(con)
        table1_data = tables.table1_data(con, plan)
        sources = provenance(con)
    compared = run_comparisons(patients, plan.comparisons, labels.short, transform=transform,
                               median_rule=median_rule)
    curves = {e.name: km.endpoint_curve(patients, e.name, transform=transform,
                                        median_rule=median_rule) for e in plan.endpoints}
    km_all = pd.DataFrame([{"endpoint": ep, **curve.summary.iloc[0].to_dict()}
                           for ep, curve in curves.items()])
    fu = plan.followup
    followup = km.median_followup(patients[f"{fu}_months"], patients[f"{fu}_event"].astype(bool),
                                  transform=transform, median_rule=median_rule)
    by_asps = (response.response_rates(responses, "is_asps")
               if plan.published and "is_asps" in responses else None)
    return Results(
        labels=labels, patients=patients, cutoff=views.cutoff_date(con), transform=transform,
        km_all=km_all, curves=curves,
        landmarks=km.landmark_rates(patients, plan.landmarks, transform=transform,
                                    curves=curves),
        followup=followup, comparisons=comparisons_table(compared.table, labels),
        compared=compared, response=response_table(responses, labels),
        response_by_asps=by_asps, table1_data=table1_data,
        table1=tables.table1(table1_data, tables.section_titles(plan.table1)),
        table2_data=table2_data, table2=tables.table2(table2_data),
        provenance=sources, median_rule=median_rule)
