"""The shareable report's small-cell protection, on the typed results before anything is drawn.

:func:`shareable` takes the report's results (:class:`analysis.results.Results`), its patient
flow (:class:`analysis.attrition.Flow`), the figures' numbers and panels, and returns copies
in which every count below the threshold (but above 0) and every cell that would give one
back is an :class:`analysis.present.Withheld` mark (``<5`` or ``[c]``). Which cells: the
:class:`analysis.suppress_grid.Grid` solves it from the counts of every part of the report
and the sums a reader can form from them:

* Table 1: items of a section add up to the column's patients; columns add up to Total;
  Total's percentages are withheld with their count; a column of fewer patients than the
  threshold loses its summaries (median, range).
* Table 2: grades add up to any grade; percentages go with their count.
* Response: CR + PR + SD + PD + NE = patients; ORR and DCR (and their CIs) are the counts
  CR + PR and CR + PR + SD; the groups of a grouping add up to all patients.
* Survival, subgroups and figures (:mod:`analysis.suppress_survival`): per group, at risk + censored + events = patients at every
  tick, cumulative counts never decrease, groups add up to all patients per tick; a group of
  fewer patients than the threshold loses its curve, median, hazard ratio and O/E.
* Patient flow and provenance: centers add up to the total; analysed + without a follow-up
  time = loaded; rows loaded + quarantined = rows read; quarantine records by check add up
  to the center's records; the same patients at two centers, per pair.

Left out of a shareable report (study-team audit detail, row-level): the side by side with
the published study, the files list, the quarantined records and the quality history.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pandas as pd

from harmonise.analysis import present, suppress_survival as survival, suppress_twins as twins
from harmonise.analysis.attrition import CenterFlow, Flow, Reason
from harmonise.analysis.results import Provenance, Results
from harmonise.analysis.suppress_grid import COMPLEMENT, Grid, small_mark

W = present.Withheld
LEFT_OUT = ("paper_comparison", "provenance_files", "quarantine")
"""Sections of numbers/ a shareable report does not write."""


@dataclass
class Shared:
    """The shareable copies, and what was withheld (``withheld``: cell -> mark)."""

    res: Results
    flow: Flow
    figures: dict
    panels: list
    withheld: dict
    threshold: int


class _Cells:
    """The grid plus where each cell is shown (frame, row, column)."""

    def __init__(self, threshold: int, frames: dict[str, pd.DataFrame]):
        self.grid = Grid(threshold)
        self.frames = {k: v.copy() for k, v in frames.items()}
        self.places: dict = {}

    def add(self, key, value, frame: str | None = None, row=None, column: str | None = None):
        if present.is_missing(value):
            return None
        self.grid.cell(key, value)
        if frame is not None:
            self.places.setdefault(key, []).append((frame, row, column))
        return key

    def put(self, frame: str, row, column: str, mark: str) -> None:
        f = self.frames[frame]
        if f[column].dtype != object:
            f[column] = f[column].astype(object)
        f.at[row, column] = W(mark)


def shareable(res: Results, flow: Flow, figures: dict, panels: list, threshold: int) -> Shared:
    """Suppressed copies of the report's parts (module docstring)."""
    frames = {"km_all": res.km_all, "landmarks": res.landmarks, "followup": res.followup,
              "comparisons": res.comparisons, "response": res.response,
              "table1": res.table1_data, "table2": res.table2_data,
              "centers": res.provenance.centers, "checks": res.provenance.quarantine_counts,
              "duplicates": res.provenance.duplicates, **figures}
    cells = _Cells(threshold, frames)
    _flow(cells, flow, res)
    _table1(cells)
    _table2(cells)
    _response(cells)
    survival.cells(cells, res)
    small_groups = survival.groups(cells, res)
    twins.link(cells)
    for key in list(cells.grid.values):
        if key[:3] in (("flow", "patients", "Total"), ("flow", "analysed", "Total")) or \
                key[:2] == ("events", "all"):
            cells.grid.keep(key)
    withheld = cells.grid.solve()
    for key, mark in withheld.items():
        for frame, row, column in cells.places.get(key, ()):
            cells.put(frame, row, column, mark)
    _derived(cells, withheld, small_groups)
    f = cells.frames
    from harmonise.analysis import tables
    out = dataclasses.replace(
        res, km_all=f["km_all"], landmarks=f["landmarks"], followup=f["followup"],
        comparisons=f["comparisons"], response=f["response"], table1_data=f["table1"],
        table1=tables.table1(f["table1"], tables.section_titles(res.labels.plan.table1)),
        table2_data=f["table2"], table2=tables.table2(f["table2"]), paper=None,
        provenance=Provenance(centers=f["centers"], files=res.provenance.files.iloc[0:0],
                              quarantine_counts=f["checks"],
                              quarantine=res.provenance.quarantine.iloc[0:0],
                              quality_changes=res.provenance.quality_changes.iloc[0:0],
                              duplicates=f["duplicates"]))
    figs = {k: f[k] for k in figures}
    out.figures = dataclasses.replace(res.figures, curves=figs["curves"],
                                      at_risk=figs["at_risk"],
                                      risk_table=figs["risk_table"]) if res.figures else None
    return Shared(out, _flow_out(flow, withheld), figs,
                  survival.panels(panels, figs, withheld, small_groups, threshold),
                  withheld, threshold)


# -- the parts' cells and sums ---------------------------------------------------------------

def _flow(cells: _Cells, f: Flow, res: Results) -> None:
    g = cells.grid
    fields = ("rows_read", "rows_quarantined", "patients")
    for c in (*f.centers, f.total):
        for name in fields:
            g.cell(("flow", name, c.center), getattr(c, name))
        for j, _ in enumerate(f.endpoints):
            g.cell(("flow", "analysed", c.center, j), c.analysed[j])
            g.cell(("flow", "no_time", c.center, j), c.no_time[j])
            g.total(("flow", "patients", c.center),
                    [("flow", "analysed", c.center, j), ("flow", "no_time", c.center, j)])
        for r in c.reasons:
            g.cell(("flow", "reason", c.center, r.table, r.check), r.records)
    for name in fields:
        g.total(("flow", name, "Total"), [("flow", name, c.center) for c in f.centers])
    for j, _ in enumerate(f.endpoints):
        for name in ("analysed", "no_time"):
            g.total(("flow", name, "Total", j), [("flow", name, c.center, j) for c in f.centers])
    for i, r in res.provenance.centers.iterrows():
        c = r["center_id"]
        for name, key in (("rows_read", ("flow", "rows_read", c)),
                          ("rows_quarantined", ("flow", "rows_quarantined", c)),
                          ("patients_in_report", ("flow", "patients", c)),
                          ("rows_loaded", ("rows_loaded", c)),
                          ("quarantine_records", ("records", c))):
            cells.add(key, r[name], "centers", i, name)
        g.total(("flow", "rows_read", c), [("rows_loaded", c), ("flow", "rows_quarantined", c)])
    for i, r in res.provenance.quarantine_counts.iterrows():
        c = r["center_id"]
        cells.add(("flow", "reason", c, r["table_name"], r["check_name"]), r["records"],
                  "checks", i, "records")
        cells.add(("source_rows", c, r["table_name"], r["check_name"]), r["source_rows"],
                  "checks", i, "source_rows")
    checks = res.provenance.quarantine_counts
    for c in res.provenance.centers["center_id"]:
        mine = checks[checks["center_id"] == c]
        if ("records", c) in g.values:
            g.total(("records", c), [("flow", "reason", c, t, k)
                                     for t, k in zip(mine["table_name"], mine["check_name"])])
    for i, r in res.provenance.duplicates.iterrows():
        cells.add(("duplicates", r["center_id"], r["other_center_id"]), r["patients"],
                  "duplicates", i, "patients")


def _table1(cells: _Cells) -> None:
    t1, g = cells.frames["table1"], cells.grid
    counts = t1[~t1["item"].isin(["median", "min", "max"])]
    for i, r in counts.iterrows():
        key = ("t1", r["section"], r["item"], r["column"])
        if r["section"] == "patients" and r["column"] == "Total":
            key = ("flow", "patients", "Total")
        cells.add(key, r["value"], "table1", i, "value")
    n = {c: ("flow", "patients", "Total") if c == "Total" else ("t1", "patients", "n", c)
         for c in t1["column"].unique()}
    columns = [c for c in n if c != "Total"]
    for (section, item), part in counts.groupby(["section", "item"], sort=False):
        key = n["Total"] if section == "patients" else ("t1", section, item, "Total")
        g.total(key, [n[c] if section == "patients" else ("t1", section, item, c)
                      for c in columns])
    for section, part in counts[counts["section"] != "patients"].groupby("section", sort=False):
        for c in n:
            g.total(n[c], [("t1", section, item, c) for item in part["item"].unique()])


def _table2(cells: _Cells) -> None:
    from harmonise.analysis.tables import GRADES
    for i, r in cells.frames["table2"].iterrows():
        keys = [cells.add(("t2", r["term"], col), r[col], "table2", i, col)
                for col in (*GRADES, "any_grade")]
        cells.grid.total(keys[-1], keys[:-1])
        cells.add(("flow", "patients", "Total"), r["patients"], "table2", i, "patients")


RESPONSE = ("CR", "PR", "SD", "PD", "NE")


def _response(cells: _Cells) -> None:
    g = cells.grid
    frame = cells.frames["response"]
    for i, r in frame.iterrows():
        base = ("resp", r["grouping"], str(r["group"]))
        n_key = (("flow", "patients", "Total") if r["grouping"] == "All patients"
                 else base + ("n",))
        cells.add(n_key, r["n"], "response", i, "n")
        parts = [cells.add(base + (c,), r[c], "response", i, c) for c in RESPONSE]
        g.total(n_key, parts)
        g.cell(base + ("orr",), r["CR"] + r["PR"])
        g.cell(base + ("dcr",), r["CR"] + r["PR"] + r["SD"])
        g.total(base + ("orr",), parts[:2])
        g.total(base + ("dcr",), [base + ("orr",), parts[2]])
    everyone = ("resp", "All patients", "all")
    for grouping, part in frame[frame["grouping"] != "All patients"].groupby("grouping"):
        for col in ("n", *RESPONSE, "orr", "dcr"):
            total = ("flow", "patients", "Total") if col == "n" else everyone + (col,)
            g.total(total, [("resp", grouping, str(v), col) for v in part["group"]])


# -- what follows from the withheld counts ----------------------------------------------------

def _derived(cells: _Cells, withheld: dict, small: set) -> None:
    """Percentages, rates, O/E, medians and hazard ratios that would show a withheld count."""
    f, hid = cells.frames, withheld.keys()
    for i, r in f["table1"].iterrows():
        if isinstance(r["value"], W) and not present.is_missing(r["percent"]):
            cells.put("table1", i, "percent", r["value"])
    n_hidden = {r["column"] for _, r in f["table1"].iterrows()
                if r["section"] == "patients" and isinstance(r["value"], W)}
    for i, r in f["table1"].iterrows():
        if r["item"] in ("median", "min", "max") and r["column"] in n_hidden:
            cells.put("table1", i, "value", COMPLEMENT)
    for i, r in f["table2"].iterrows():
        for col in [c for c in f["table2"].columns if c.startswith("pct_")]:
            if isinstance(r[col.removeprefix("pct_")], W):
                cells.put("table2", i, col, r[col.removeprefix("pct_")])
    for i, r in f["response"].iterrows():
        base = ("resp", r["grouping"], str(r["group"]))
        for rate in ("orr", "dcr"):
            if base + (rate,) in hid or isinstance(r["n"], W):
                for col in (rate, f"{rate}_lower", f"{rate}_upper"):
                    cells.put("response", i, col, COMPLEMENT)
    cmp = f["comparisons"]
    for i, r in cmp.iterrows():
        grp = (r["comparison"], r["endpoint"], str(r["group_value"]))
        if isinstance(r["events"], W):
            cells.put("comparisons", i, "o_e_ratio", COMPLEMENT)
        if grp in small:
            for col in ("median", "median_lower", "median_upper", "o_e_ratio", "expected",
                        *(() if r["is_reference"] else ("hr", "hr_lower", "hr_upper", "hr_p"))):
                cells.put("comparisons", i, col, COMPLEMENT)
    figs = f["figures"].set_index("key")
    for i, r in f["curves"].iterrows():
        fig = figs.loc[r["key"]]
        if (fig["comparison"], fig["endpoint"], str(r["group_value"])) in small:
            for col in ("median", "median_lower", "median_upper"):
                cells.put("curves", i, col, COMPLEMENT)


def _flow_out(f: Flow, withheld: dict) -> Flow:
    def v(key, value):
        return W(withheld[key]) if key in withheld else value

    def center(c: CenterFlow) -> CenterFlow:
        n = c.center
        return dataclasses.replace(
            c, rows_read=v(("flow", "rows_read", n), c.rows_read),
            rows_quarantined=v(("flow", "rows_quarantined", n), c.rows_quarantined),
            patients=v(("flow", "patients", n), c.patients),
            analysed=tuple(v(("flow", "analysed", n, j), x) for j, x in enumerate(c.analysed)),
            no_time=tuple(v(("flow", "no_time", n, j), x) for j, x in enumerate(c.no_time)),
            reasons=tuple(Reason(r.table, r.check, v(("flow", "reason", n, r.table, r.check),
                                                     r.records)) for r in c.reasons))
    return Flow(f.endpoints, tuple(center(c) for c in f.centers), center(f.total), f.codes)


def footnote(threshold: int) -> str:
    """The words under every shareable report's header."""
    return (f"Shareable report: counts from 1 to {threshold - 1} are shown as "
            f"{small_mark(threshold)}; cells from which such a count could be computed back "
            f"(totals, the other categories, other centers, numbers at risk, percentages, "
            f"rates) are shown as {COMPLEMENT}; a group of fewer than {threshold} patients has "
            "no curve, median or hazard ratio. Row-level audit detail (the quarantined "
            "records, the files, the quality history) and the side by side with the published "
            "study are in the study team's full report only.")
