"""The plan's figures as Kaplan-Meier plots: an SVG per panel (and a PNG at 300 dpi if asked).

Each panel (:mod:`analysis.kmplot` draws it) shows the step curves (months on the x axis,
% event-free on the y axis), censoring ticks, the pointwise 95% band of each curve, the
log-rank p-value, the center-stratified log-rank p-value and the center-stratified Cox
hazard ratios with 95% CI (read from :func:`analysis.comparisons.run_comparisons`, not
recomputed), and under the axis a KMunicate-style table: per group the numbers at risk,
censored and with an event up to each tick (:func:`analysis.km.number_at_risk`). The
legend lists the groups in the order the title names them. The curves are the ones the
comparisons fitted (each curve is fitted once per report); the pictures are drawn from the
curves' step points, in two worker processes when the machine has two cores.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from harmonise.analysis import kmplot, present
from harmonise.analysis.comparisons import ComparisonResults
from harmonise.analysis.km_readout import at_ticks
from harmonise.analysis.labels import Labels
from harmonise.analysis.plan import Plan

COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00")  # Okabe-Ito
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass(frozen=True)
class FigureSpec:
    """One panel of the study's Figures 1-4: a comparison (None = all patients) and an endpoint."""

    panel: str            # "2C"
    endpoint: str         # "pfs" | "os"
    comparison: str | None
    slug: str             # file-name part after the endpoint

    @property
    def key(self) -> str:
        """Stable id and file stem, e.g. ``fig2c_pfs_histology_groups``."""
        return f"fig{self.panel.lower()}_{self.endpoint}_{self.slug}"


def figure_specs(plan: Plan) -> tuple[FigureSpec, ...]:
    """Every panel of the plan's figures, in order: each panel entry of a figure drawn once
    per endpoint of its comparison (every endpoint for ``all``), lettered A, B, ..."""
    out = []
    for fig in plan.figures:
        i = 0
        for panel in fig.panels:
            endpoints = (plan.comparison(panel.comparison).endpoints if panel.comparison
                         else tuple(e.name for e in plan.endpoints))
            for endpoint in endpoints:
                out.append(FigureSpec(f"{fig.number}{LETTERS[i % 26]}", endpoint,
                                      panel.comparison, panel.slug))
                i += 1
    return tuple(out)


def title(spec: FigureSpec, labels: Labels) -> str:
    """``Progression-free survival: ASPS vs non-ASPS`` in words."""
    what = labels.endpoint(spec.endpoint)
    if spec.comparison is None:
        return f"{what}, all patients"
    return f"{what}: {labels.comparison(labels.plan.comparison(spec.comparison))}"


def _ticks(max_time: float) -> np.ndarray:
    step = 6.0 if max_time <= 60 else 12.0
    return np.arange(0.0, step * math.ceil(max(max_time, 1e-9) / step) + 0.5 * step, step)


def _curves(spec: FigureSpec, labels: Labels, compared: ComparisonResults, all_curves: dict):
    """[(group value, label, KaplanMeier)] of one panel: the curves the comparisons
    fitted (or the all-patient curve of the endpoint)."""
    if spec.comparison is None:
        return [("all", "All patients", all_curves[spec.endpoint])]
    comparison = labels.plan.comparison(spec.comparison)
    return [(str(c.value), labels.legend(comparison, c.value), c.km)
            for c in compared.curves[(spec.comparison, spec.endpoint)]]


def _rows(spec: FigureSpec, results: pd.DataFrame) -> pd.DataFrame:
    return results[(results["comparison"] == spec.comparison)
                   & (results["endpoint"] == spec.endpoint)]


def _statistics(spec: FigureSpec, results: pd.DataFrame, shorts: dict) -> tuple:
    """Lines of text on the plot: log-rank p-values, then each hazard ratio with its CI."""
    if spec.comparison is None:
        return ()
    rows = _rows(spec, results)
    first = rows.iloc[0]
    lines = [f"Log-rank {present.p_text(first['p'])}; stratified by center "
             f"{present.p_text(first['strat_p'])}"]
    reference = shorts[str(rows[rows["is_reference"]]["group_value"].iloc[0])]
    for _, row in rows[~rows["is_reference"]].iterrows():
        who = f"HR {shorts[str(row['group_value'])]} vs {reference}"
        if present.is_missing(row["hr"]):
            note = str(row["hr_note"] or "not estimable").removeprefix("not estimable: ")
            lines.append(f"{who}: not estimable ({note})")
        else:
            lines.append(f"{who}: {row['hr']:.2f} (95% CI {row['hr_lower']:.2f}\u2013"
                         f"{row['hr_upper']:.2f})")
    return tuple(lines)


def title_order(label: str, names: list[list[str]]) -> list[int]:
    """Indices of the groups in the order ``label`` ("A vs B vs C") names them.

    ``names`` holds, per group, the words it may be called by (value, labels). Each
    " vs " part of the title goes to the group whose name matches it best (exact, then
    the most shared words); groups the title does not name keep their order at the end.
    """
    parts = [p.strip().lower() for p in label.replace("(", " ").replace(")", " ").split(" vs ")]
    free, order = list(range(len(names))), []
    for part in parts:
        words = set(part.split())

        def score(i):
            options = [n.lower() for n in names[i]]
            exact = any(part == o or part.startswith(o + " ") for o in options)
            return (exact, max(len(words & set(o.split())) for o in options))
        best = max(free, key=score, default=None)
        if best is not None and score(best) > (False, 0):
            order.append(best)
            free.remove(best)
    return order + free


def _short(label: str, value: str, codes: bool) -> str:
    """Row label of the table: ``ASPS``, ``Potentially sensitive``, ``I+A``."""
    if codes:
        return value
    if label.endswith(")") and " (" in label:
        head, inner = label[:-1].split(" (", 1)
        return inner if len(inner) <= 8 else head
    return label


def prepare_panel(spec: FigureSpec, curves: list, results: pd.DataFrame, *, labels: Labels,
                  transform: str = "log"):
    """The picture of one panel as data, and the numbers it shows.

    Returns
    -------
    (kmplot.Panel, dict)
        The panel, and ``curves`` (one summary dict per group: n, events, median with CI),
        ``at_risk`` (group, tick, at risk) and ``table`` (group, tick, at risk, censored,
        events) frames. ``curves`` in: :func:`_curves`.
    """
    codes = False
    if spec.comparison is not None:
        comparison = labels.plan.comparison(spec.comparison)
        derived = labels.plan.derived_column(comparison.by)
        codes = bool(derived and derived.codes_in_legend)
        names = [[str(v), labels.short(comparison.by, v), c[1]]
                 for v, c in zip(comparison.groups, curves)]
        curves = [curves[i] for i in title_order(labels.comparison(comparison), names)]
    max_time = max([float(c.table["time"].iloc[-1]) for *_, c in curves if c.n] or [1.0])
    ticks = _ticks(max_time)
    k = len(curves)
    drawn, summaries, at_risk_rows, table_rows = [], [], [], []
    shorts = {value: _short(label, value, codes) for value, label, *_ in curves}
    for i, (value, label, curve) in enumerate(curves):
        color = "#222222" if k == 1 else COLORS[i % len(COLORS)]
        tab = curve.table
        nar = at_ticks(curve, ticks)         # from the step points, not the patients
        cens = tab["censored"].to_numpy() > 0
        x, y = tab["time"].to_numpy(float), 100 * tab["survival"].to_numpy(float)
        drawn.append(kmplot.Curve(
            label=legend(label, curve.n, curve.events, curve.median),
            short=shorts[value], color=color, x=x, y=y,
            lower=100 * tab["lower"].to_numpy(float), upper=100 * tab["upper"].to_numpy(float),
            censored_x=x[cens], censored_y=y[cens],
            table={"At risk": nar["at_risk"].tolist(), "Censored": nar["censored"].tolist(),
                   "Events": nar["events"].tolist()}))
        at_risk_rows += [{"group": label, "group_value": value, "time": float(tk),
                          "at_risk": int(n)} for tk, n in zip(nar["time"], nar["at_risk"])]
        table_rows += [{"group": label, "group_value": value, **row}
                       for row in nar.to_dict("records")]
        summaries.append({"group": label, "group_value": value, "n": curve.n,
                          "events": curve.events, "median": curve.median,
                          "median_lower": curve.median_lower,
                          "median_upper": curve.median_upper, "transform": transform})
    band = f"Shaded: pointwise 95% CI, {present.TRANSFORM_TEXT[transform]}"
    panel = kmplot.Panel(
        title=f"Figure {spec.panel}. {title(spec, labels)}",
        y_label=f"{labels.endpoint(spec.endpoint)} (%)", x_label=labels.plan.time_axis,
        ticks=ticks,
        curves=tuple(drawn), statistics=_statistics(spec, results, shorts), band_label=band)
    order = {v: i for i, (v, *_rest) in enumerate(_curves_order(spec, curves, labels))}
    summaries.sort(key=lambda r: order[r["group_value"]])
    at_risk_rows.sort(key=lambda r: order[r["group_value"]])
    return panel, {"curves": summaries, "at_risk": pd.DataFrame(at_risk_rows),
                   "table": pd.DataFrame(table_rows)}


def legend(group: str, n, events, median) -> str:
    """``ASPS: n = 20, 16 events, median 16.9 months`` (a legend line of a panel)."""
    text = present.months(median, n=n)
    words = (f"median {text} months" if text[0].isdigit()
             else "median not reached" if text == present.NR
             else f"median {text}" if isinstance(median, present.Withheld) else "no patient")
    return f"{group}: n = {present.count(n)}, {present.events(events)}, {words}"


def _curves_order(spec, curves, labels: Labels):
    """The comparison's own group order (the numbers' order), whatever the legend's."""
    if spec.comparison is None:
        return curves
    values = [str(v) for v in labels.plan.comparison(spec.comparison).groups]
    return sorted(curves, key=lambda c: values.index(c[0]))


def figure_workers() -> int:
    """Processes drawing the panels: ``HARMONISE_FIGURE_WORKERS``, else up to 2 cores."""
    env = os.environ.get("HARMONISE_FIGURE_WORKERS", "")
    return int(env) if env.isdigit() else min(2, os.cpu_count() or 1)


def prepare_figures(labels: Labels, compared: ComparisonResults,
                    all_curves: dict, out_dir: Path, *,
                    transform: str = "log") -> tuple[list, dict[str, pd.DataFrame]]:
    """Every panel of the plan's figures as data, not drawn yet: the drawing jobs
    ``(kmplot.Panel, file stem)`` and the numbers (see :func:`render_figures`)."""
    figures, curves, at_risk, table, jobs = [], [], [], [], []
    for spec in figure_specs(labels.plan):
        path = Path(out_dir) / f"{spec.key}.svg"
        panel, shown = prepare_panel(
            spec, _curves(spec, labels, compared, all_curves), compared.table,
            labels=labels, transform=transform)
        jobs.append((panel, path.with_suffix("")))
        figures.append({"key": spec.key, "panel": spec.panel, "figure": int(spec.panel[:-1]),
                        "endpoint": spec.endpoint, "comparison": spec.comparison or "all",
                        "title": f"Figure {spec.panel}. {title(spec, labels)}",
                        "file": f"figures/{path.name}"})
        curves += [{"key": spec.key, "panel": spec.panel, **c} for c in shown["curves"]]
        at_risk.append(shown["at_risk"].assign(key=spec.key, panel=spec.panel))
        table.append(shown["table"].assign(key=spec.key, panel=spec.panel))
    columns = ["key", "panel", "group", "group_value", "time"]

    def stack(frames, extra):
        return (pd.concat(frames, ignore_index=True)[columns + extra] if frames
                else pd.DataFrame(columns=columns + extra))
    return jobs, {"figures": pd.DataFrame(figures, columns=["key", "panel", "figure", "endpoint",
                                                            "comparison", "title", "file"]),
                  "curves": pd.DataFrame(curves), "at_risk": stack(at_risk, ["at_risk"]),
                  "risk_table": stack(table, ["at_risk", "censored", "events"])}


def render_figures(labels: Labels, compared: ComparisonResults,
                   all_curves: dict, out_dir: Path, *,
                   transform: str = "log", formats=("svg",)) -> dict[str, pd.DataFrame]:
    """Draw every panel of the plan's figures into ``out_dir`` (``<key>.svg``, and
    ``<key>.png`` when ``formats`` has ``png``)
    from the curves the comparisons fitted (``compared``) and the all-patient curve of each
    endpoint (``all_curves``).

    Returns
    -------
    dict of DataFrames
        ``figures`` (key, panel, figure, endpoint, comparison, title, file),
        ``curves`` (per panel and group: n, events, median with CI), ``at_risk`` (per
        panel, group and tick) and ``risk_table`` (also censored and events per tick).
    """
    jobs, frames = prepare_figures(labels, compared, all_curves, out_dir,
                                   transform=transform)
    kmplot.draw_all(jobs, formats, workers=figure_workers())
    return frames
