"""The shareable report's survival cells (:mod:`analysis.suppress`): the all-patient
survival numbers, the comparisons' groups, the figures' curves and the tables under the plots
(per group and tick: at risk + censored + events = patients; cumulative counts never
decrease; groups add up to all patients), and the panels redrawn from the withheld numbers.
``cells``: the report's grid and frames (``suppress._Cells``).
"""
from __future__ import annotations

import dataclasses

from harmonise.analysis.results import Results


def cells(cells, res: Results) -> None:
    """All patients' survival: patients and events per endpoint, landmarks, follow-up."""
    g = cells.grid
    ends = [e.name for e in res.labels.plan.endpoints]
    for i, r in cells.frames["km_all"].iterrows():
        j = ends.index(r["endpoint"])
        cells.add(("flow", "analysed", "Total", j), r["n"], "km_all", i, "n")
        cells.add(("events", "all", r["endpoint"], "all"), r["events"], "km_all", i, "events")
    for i, r in cells.frames["landmarks"].iterrows():
        cells.add(("landmark", r["endpoint"], float(r["time"])), r["at_risk"],
                  "landmarks", i, "at_risk")
    fu = res.labels.plan.followup
    for i, r in cells.frames["followup"].iterrows():
        n = cells.add(("flow", "analysed", "Total", ends.index(fu)), r["n"], "followup", i, "n")
        c = cells.add(("fu_censored",), r["censored"], "followup", i, "censored")
        g.total(n, [c, ("events", "all", fu, "all")])


def groups(cells, res: Results) -> set:
    """Comparison groups, figure curves and their tables; returns the groups below the
    threshold as (comparison, endpoint, group value)."""
    g, k = cells.grid, cells.grid.threshold
    ends = [e.name for e in res.labels.plan.endpoints]
    small = set()
    cmp = cells.frames["comparisons"]
    for i, r in cmp.iterrows():
        grp = (r["comparison"], r["endpoint"], str(r["group_value"]))
        cells.add(("n",) + grp, r["n"], "comparisons", i, "n")
        cells.add(("events",) + grp, r["events"], "comparisons", i, "events")
        cells.add(("events",) + grp, r["observed"], "comparisons", i, "observed")
        if r["n"] < k:
            small.add(grp)
    for (c, e), part in cmp.groupby(["comparison", "endpoint"], sort=False):
        groups = [str(v) for v in part["group_value"]]
        if g.total(("flow", "analysed", "Total", ends.index(e)), [("n", c, e, v) for v in groups]):
            g.total(("events", "all", e, "all"), [("events", c, e, v) for v in groups])
    figs = cells.frames["figures"].set_index("key")
    for i, r in cells.frames["curves"].iterrows():
        fig = figs.loc[r["key"]]
        grp = (fig["comparison"], fig["endpoint"], str(r["group_value"]))
        n_key = (("flow", "analysed", "Total", ends.index(fig["endpoint"]))
                 if fig["comparison"] == "all" else ("n",) + grp)
        cells.add(n_key, r["n"], "curves", i, "n")
        cells.add(("events",) + grp, r["events"], "curves", i, "events")
    table = cells.frames["risk_table"]
    for i, r in table.iterrows():
        fig = figs.loc[r["key"]]
        grp = (fig["comparison"], fig["endpoint"], str(r["group_value"]))
        for col in ("at_risk", "censored", "events"):
            if float(r["time"]) <= 0 and col != "at_risk" and r[col] == 0:
                continue                      # nobody is censored or has an event before 0
            cells.add(("risk", *grp, float(r["time"]), col), r[col], "risk_table", i, col)
    for i, r in cells.frames["at_risk"].iterrows():
        fig = figs.loc[r["key"]]
        grp = (fig["comparison"], fig["endpoint"], str(r["group_value"]))
        cells.add(("risk", *grp, float(r["time"]), "at_risk"), r["at_risk"], "at_risk", i,
                  "at_risk")
    _risk_sums(cells, table, figs, ends, small)
    return small


def _risk_sums(cells, table, figs, ends, small) -> None:
    g = cells.grid
    seen = set()
    for key, part in table.groupby("key", sort=False):
        fig = figs.loc[key]
        c, e = fig["comparison"], fig["endpoint"]
        if (c, e) in seen:
            continue
        seen.add((c, e))
        n_of = (lambda v: ("flow", "analysed", "Total", ends.index(e))) if c == "all" \
            else (lambda v: ("n", c, e, v))
        times = sorted(part["time"].unique())
        values = sorted(part["group_value"].astype(str).unique())
        for v in values:
            for t in times:
                g.total(n_of(v), [k for k in (("risk", c, e, v, float(t), col) for col in
                                              ("at_risk", "censored", "events")) if k in g.values])
            for a, b in zip(times, times[1:]):
                g.at_most(("risk", c, e, v, float(b), "at_risk"), ("risk", c, e, v, float(a), "at_risk"))
                for col in ("censored", "events"):
                    g.at_most(("risk", c, e, v, float(a), col), ("risk", c, e, v, float(b), col))
            if (c, e, v) in small:
                for t in times:
                    for col in ("at_risk", "censored", "events"):
                        g.withhold(("risk", c, e, v, float(t), col))
                g.withhold(("n", c, e, v))
        if c != "all" and g.total(("flow", "analysed", "Total", ends.index(e)),
                                  [("n", c, e, v) for v in values]):
            for t in times:
                for col in ("at_risk", "censored", "events"):
                    all_key = ("risk", "all", e, "all", float(t), col)
                    if all_key in g.values and all(("risk", c, e, v, float(t), col) in g.values
                                                   for v in values):
                        g.total(all_key, [("risk", c, e, v, float(t), col) for v in values])
        for t in times:
            if c == "all" and ("landmark", e, float(t)) in g.values:
                g.same(("landmark", e, float(t)), ("risk", c, e, "all", float(t), "at_risk"))


def panels(panels: list, figs: dict, withheld: dict, small: set, threshold: int) -> list:
    """The figures' panels with the shareable numbers: withheld counts in the tables and
    legends; a group below the threshold has no curve, median or hazard ratio."""
    from harmonise.analysis.figures import legend
    curves, table = figs["curves"], figs["risk_table"]
    out = []
    for (panel, stem), key in zip(panels, figs["figures"]["key"]):
        mine, rows = curves[curves["key"] == key], table[table["key"] == key]
        fig = figs["figures"].set_index("key").loc[key]
        drawn, stats = [], list(panel.statistics)
        for curve in panel.curves:
            c = mine[[legend_name(curve, g) for g in mine["group"]]].iloc[0]
            t = rows[rows["group"] == c["group"]]
            grp = (fig["comparison"], fig["endpoint"], str(c["group_value"]))
            update = {"table": {"At risk": list(t["at_risk"]), "Censored": list(t["censored"]),
                                "Events": list(t["events"])},
                      "label": legend(c["group"], c["n"], c["events"], c["median"])}
            if grp in small:
                empty = curve.x[:0]
                update.update(x=empty, y=empty, lower=empty, upper=empty, censored_x=empty,
                              censored_y=empty, label=f"{c['group']}: n = {c['n']} (curve "
                                                      f"withheld: fewer than {threshold} patients)")
                stats = [s if not s.startswith(f"HR {curve.short} vs ") else
                         f"HR {curve.short} vs {s.split(' vs ', 1)[1].split(':')[0]}: withheld"
                         for s in stats]
            drawn.append(dataclasses.replace(curve, **update))
        out.append((dataclasses.replace(panel, curves=tuple(drawn), statistics=tuple(stats)),
                    stem))
    return out


def legend_name(curve, group: str) -> bool:
    """Whether a legend label belongs to ``group`` (labels start with the group's words)."""
    return curve.label.startswith(f"{group}: ")


