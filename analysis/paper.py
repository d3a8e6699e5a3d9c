"""Side by side with the published study: each number of the paper next to ours.

The paper's numbers are project data (the file plan.yaml's ``published.numbers`` names,
corrected where the paper contradicts itself, see its ``published.errata``), together with
where each one sits among the plan's comparisons (``median_sources``, ``better_groups``)
and the notes set beside them (``errata_notes``). Our numbers come from the frames
the report already computed (Table 1/2 data, response rates, comparisons, landmarks,
follow-up); nothing here re-estimates a survival statistic. Two small summaries the paper
seems to have used are computed here because the analysis layer does not offer them: the
*crude* landmark proportion (share of all patients whose observed time exceeds t) and the
*simple* median of observed OS time as follow-up.

Row kinds and their status
--------------------------
``count``    must match exactly: ``match`` / ``mismatch``.
``range``    an exact summary (min, max): ``match`` / ``mismatch``.
``summary``  a median of a characteristic: difference reported.
``median``   KM median (months): difference reported; ``both NR`` / ``NR in one``.
``rate``     percentage: difference in percentage points reported.
``p-value``  ``consistent`` / ``not consistent`` with the quoted ``<x``, else the
             difference and whether both sit on the same side of 0.05.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from harmonise.analysis import present
from harmonise.analysis.labels import Labels
from harmonise.analysis.paper_counts import (cohort_rows, make_row, response_rows, table1_rows,
                                             table2_rows)
from harmonise.analysis.tables import section_titles

COLUMNS = ["id", "section", "item", "kind", "method", "published", "published_text", "ours",
           "ours_text", "difference", "status", "note"]


def is_published_cohort(published: dict, centers) -> bool:
    """True when the loaded centers are exactly the paper's (the demo's) centers."""
    return set(map(str, centers)) == set(map(str, published.get("centers", {})))


def crude_landmarks(patients: pd.DataFrame, landmarks: dict) -> pd.DataFrame:
    """Crude proportion event-free at t: #(observed time > t) / all patients.

    Not a survival estimate (censored patients count as failures after their last visit);
    reported only because the paper's landmark rates are exactly k/N (ERRATA #15).
    """
    rows = []
    for endpoint, times in landmarks.items():
        col = f"{endpoint}_months"
        for t in times:
            k, n = int((patients[col] > float(t)).sum()), int(len(patients))
            rows.append({"endpoint": endpoint, "time": float(t), "k": k, "n": n,
                         "proportion": k / n if n else np.nan})
    return pd.DataFrame(rows, columns=["endpoint", "time", "k", "n", "proportion"])


def simple_median_followup(patients: pd.DataFrame) -> float:
    """Median of observed OS time (months), alive or dead: the paper's apparent method."""
    return float(patients["os_months"].median()) if len(patients) else float("nan")


def _median_rows(published, comparisons, km_all, labels: Labels):
    sources = published.get("median_sources", {})
    rows = []
    for key, number in published.get("medians_months", {}).items():
        endpoint, suffix = key.split("_", 1)
        if suffix == "all":
            src = km_all[km_all["endpoint"] == endpoint]
            words = "all patients"
        elif suffix in sources:
            name, value = sources[suffix]
            src = comparisons[(comparisons["comparison"] == name)
                              & (comparisons["endpoint"] == endpoint)
                              & (comparisons["group_value"] == value)]
            comp = labels.plan.comparison(name)
            words = labels.groups(comp)[value]
            if comp.population.where:
                words = f"{labels.population(comp)}, {words}"
        else:
            src, words = pd.DataFrame(), suffix.replace("_", " ")
        ours = src.iloc[0] if len(src) else None
        text = (None if ours is None else present.median_ci(
            ours["median"], ours["median_lower"], ours["median_upper"], n=ours["n"]))
        rows.append(make_row(f"median.{key}", "Median survival (months)",
                         f"{labels.endpoint_short(endpoint)}, {words}", "median", number,
                         None if ours is None else ours["median"], method="Kaplan-Meier",
                         ours_text=text, note="" if ours is not None else "no matching group"))
    return rows


def _landmark_rows(published, landmarks, crude, labels: Labels):
    n_paper = published.get("n_patients") or 0
    rows = []
    for endpoint, times in published.get("landmarks", {}).items():
        for t, pct in times.items():
            k = round(pct * n_paper / 100) if n_paper else None
            looks_crude = k is not None and abs(100 * k / n_paper - pct) < 0.1  # printed to 0.1
            note = (f"paper value = {k}/{n_paper} exactly: looks crude, not Kaplan-Meier "
                    "(ERRATA #15)" if looks_crude else "")
            item = f"{labels.endpoint_short(endpoint)} at {float(t):g} months"
            km_row = landmarks[(landmarks["endpoint"] == endpoint)
                               & np.isclose(landmarks["time"], float(t))]
            cr_row = crude[(crude["endpoint"] == endpoint) & np.isclose(crude["time"], float(t))]
            if len(km_row):
                r = km_row.iloc[0]
                rows.append(make_row(f"landmark.{endpoint}.{float(t):g}.km", "Landmark rates",
                                 item, "rate", pct, 100 * r["survival"], method="Kaplan-Meier",
                                 published_text=f"{pct:.1f}%", note=note,
                                 ours_text=present.percent_ci(r["survival"], r["lower"],
                                                              r["upper"])))
            if len(cr_row):
                r = cr_row.iloc[0]
                rows.append(make_row(f"landmark.{endpoint}.{float(t):g}.crude", "Landmark rates",
                                 item, "rate", pct, 100 * r["proportion"],
                                 method="crude (observed time > t, all patients)",
                                 published_text=f"{pct:.1f}%", note=note,
                                 ours_text=f"{present.percent(r['proportion'])} "
                                           f"({r['k']}/{r['n']})"))
    return rows


def _followup_rows(published, followup, patients):
    pub = published.get("median_followup_months")
    if pub is None:
        return []
    note = "method not stated in the paper; 14.2 matches a simple median (ERRATA #16)"
    r = followup.iloc[0]
    return [
        make_row("followup.reverse_km", "Median follow-up (months)", "Median follow-up", "median",
             pub, r["median"], method="reverse Kaplan-Meier", note=note,
             ours_text=present.median_ci(r["median"], r["median_lower"], r["median_upper"])),
        make_row("followup.simple", "Median follow-up (months)", "Median follow-up", "median", pub,
             simple_median_followup(patients), method="simple median of observed OS time",
             note=note)]


def _p_rows(published, comparisons, labels: Labels):
    by_name = {c.name: c for c in labels.plan.comparisons}
    rows = []
    for name, quoted in published.get("p_values", {}).items():
        for endpoint in ("pfs", "os"):
            if endpoint not in quoted:
                continue
            sel = comparisons[(comparisons["comparison"] == name)
                              & (comparisons["endpoint"] == endpoint)]
            label = labels.comparison(by_name[name]) if name in by_name else name
            item = f"{labels.endpoint_short(endpoint)}, {label}"
            pub = quoted[endpoint]
            if sel.empty:
                rows.append(make_row(f"p.{name}.{endpoint}", "Log-rank p-values", item, "p-value",
                                 None, None, published_text=str(pub), note="no such comparison"))
                continue
            p, strat = sel.iloc[0]["p"], sel.iloc[0]["strat_p"]
            text = f"{present.p_value(p)} (stratified by center {present.p_value(strat)})"
            notes = []
            better = published.get("better_groups", {}).get(quoted.get("better"))
            if better is not None:
                g = sel[sel["group_value"] == better]
                if len(g):
                    longer = float(g.iloc[0]["observed"]) < float(g.iloc[0]["expected"])
                    words = labels.groups(by_name[name])[better]
                    notes.append(f"paper: {words} does better; ours: "
                                 + ("same direction (O < E)" if longer
                                    else "opposite direction (O \u2265 E)"))
            if isinstance(pub, str) and pub.startswith("<"):
                bound = float(pub[1:])
                row = make_row(f"p.{name}.{endpoint}", "Log-rank p-values", item, "p-value", None,
                           p, method="log-rank", published_text=pub, ours_text=text,
                           note="; ".join(notes))
                row["status"] = ("consistent" if not present.is_missing(p) and p < bound
                                 else "not consistent")
            else:
                row = make_row(f"p.{name}.{endpoint}", "Log-rank p-values", item, "p-value", pub,
                           p, method="log-rank", published_text=f"{float(pub):g}",
                           ours_text=text, note="; ".join(notes))
                same = (not present.is_missing(p)) and ((p < 0.05) == (float(pub) < 0.05))
                row["status"] = "same side of 0.05" if same else "other side of 0.05"
            rows.append(row)
    return rows


def side_by_side(published: dict, *, patients: pd.DataFrame, table1: pd.DataFrame,
                 table2: pd.DataFrame, response: pd.DataFrame, comparisons: pd.DataFrame,
                 km_all: pd.DataFrame, landmarks: pd.DataFrame, followup: pd.DataFrame,
                 labels: Labels) -> pd.DataFrame:
    """Every published number next to ours.

    Parameters
    ----------
    published : dict
        The published numbers (:meth:`analysis.plan.Published.load`).
    patients : DataFrame
        ``v_patient`` rows.
    table1, table2 : DataFrame
        :func:`analysis.tables.table1_data`, :func:`analysis.tables.table2_data`.
    response : DataFrame
        :func:`analysis.response.response_rates` by ``is_asps`` (groups all/True/False).
    comparisons : DataFrame
        :func:`analysis.comparisons.run_comparisons`.
    km_all : DataFrame
        Kaplan-Meier summaries of all patients with an ``endpoint`` column.
    landmarks, followup : DataFrame
        :func:`analysis.km.landmark_rates`, :func:`analysis.km.median_followup`.
    labels : Labels
        The plan and the warehouse's code lists.

    Returns
    -------
    DataFrame
        Columns :data:`COLUMNS`; ``difference`` = ours - published (percentage points for
        rates, months for medians); ``status`` as in the module docstring.
    """
    crude = crude_landmarks(patients, {ep: list(map(float, times)) for ep, times
                                       in published.get("landmarks", {}).items()})
    rows = (cohort_rows(published, patients)
            + table1_rows(published, table1, labels.ref.get("histology", {}),
                           section_titles(labels.plan.table1))
            + table2_rows(published, table2)
            + response_rows(published, response)
            + _median_rows(published, comparisons, km_all, labels)
            + _landmark_rows(published, landmarks, crude, labels)
            + _followup_rows(published, followup, patients)
            + _p_rows(published, comparisons, labels))
    notes = published.get("errata_notes", {})
    for row in rows:
        row["note"] = "; ".join(x for x in (row["note"], notes.get(row["id"], "")) if x)
    return pd.DataFrame(rows, columns=COLUMNS)
