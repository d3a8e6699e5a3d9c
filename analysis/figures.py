"""Figures 1-4 of the study as Kaplan-Meier plots (matplotlib, Agg backend, PNG files).

Each plot shows the step curves (months on the x axis, % event-free on the y axis),
censoring marks (``|``), the pointwise 95% band for single-curve figures, the log-rank
p-value and the center-stratified log-rank p-value (read from
:func:`analysis.comparisons.run_comparisons`, not recomputed), and the numbers at risk
under the axis (:func:`analysis.km.number_at_risk`). Curves come from
:func:`analysis.km.kaplan_meier` on the comparison's own selection
(:func:`analysis.comparisons.select`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from harmonise.analysis import present  # noqa: E402
from harmonise.analysis.comparisons import COMPARISONS, select  # noqa: E402
from harmonise.analysis.km import ENDPOINTS, kaplan_meier, number_at_risk  # noqa: E402

DPI = 150
COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00")  # Okabe-Ito
BY_NAME = {c.name: c for c in COMPARISONS}


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


def _pair(number: int, letters: str, comparison: str | None, slug: str):
    return [FigureSpec(f"{number}{letters[0]}", "pfs", comparison, slug),
            FigureSpec(f"{number}{letters[1]}", "os", comparison, slug)]


FIGURES: tuple[FigureSpec, ...] = tuple(
    _pair(1, "AB", None, "all")
    + _pair(2, "AB", "asps_vs_non_asps", "asps_vs_non_asps")
    + _pair(2, "CD", "histology_groups", "histology_groups")
    + _pair(2, "EF", "potentially_sensitive_vs_other", "non_asps_sensitive_vs_other")
    + _pair(3, "AB", "monotherapy_vs_combination", "all_monotherapy_vs_combination")
    + _pair(3, "CD", "asps_combination_vs_monotherapy", "asps_monotherapy_vs_combination")
    + _pair(3, "EF", "non_asps_regimens", "non_asps_regimens")
    + _pair(4, "AB", "le2_vs_later_lines", "all_lines")
    + _pair(4, "CD", "asps_le2_vs_later_lines", "asps_lines")
    + _pair(4, "EF", "non_asps_le2_vs_later_lines", "non_asps_lines")
    + _pair(4, "GH", "potentially_sensitive_le2_vs_later_lines", "potentially_sensitive_lines")
    + _pair(4, "IJ", "other_le2_vs_later_lines", "other_lines"))
"""Every panel of Figures 1-4, in the paper's order."""

FIGURE_TITLES = {
    1: "Efficacy in all patients",
    2: "Survival by histology",
    3: "Survival by treatment combination",
    4: "Survival by line of therapy (\u2264 2 lines versus later lines)",
}


def title(spec: FigureSpec) -> str:
    """``Progression-free survival: ASPS vs non-ASPS`` in words."""
    what = present.ENDPOINT_NAMES[spec.endpoint]
    if spec.comparison is None:
        return f"{what}, all patients"
    return f"{what}: {present.pretty(BY_NAME[spec.comparison].label)}"


def _ticks(max_time: float) -> np.ndarray:
    step = 6.0 if max_time <= 60 else 12.0
    return np.arange(0.0, step * math.ceil(max(max_time, 1e-9) / step) + 0.5 * step, step)


def _curves(patients: pd.DataFrame, spec: FigureSpec, ref_labels: dict, transform: str,
            median_rule: str = "print"):
    """[(group value, label, time, event, KaplanMeier)] of one panel."""
    time_col, event_col = ENDPOINTS[spec.endpoint]
    if spec.comparison is None:
        t, e = patients[time_col].to_numpy(float), patients[event_col].to_numpy(bool)
        return [("all", "All patients", t, e,
                 kaplan_meier(t, e, transform=transform, label="All patients",
                              median_rule=median_rule))]
    comparison = BY_NAME[spec.comparison]
    rows = select(patients, comparison)
    words = present.group_labels(comparison, ref_labels)
    out = []
    for value, _ in comparison.groups:
        part = rows[rows[comparison.group_col] == value]
        t, e = part[time_col].to_numpy(float), part[event_col].to_numpy(bool)
        label = words[str(value)]
        if comparison.group_col == "regimen_class":
            label = f"{value}: {label}"
        out.append((str(value), label, t, e, kaplan_meier(t, e, transform=transform,
                                                          label=label, median_rule=median_rule)))
    return out


def _short(label: str, value: str, col: str | None) -> str:
    """Row label of the at-risk table: ``ASPS``, ``Potentially sensitive``, ``I+A``."""
    if col == "regimen_class":
        return value
    if label.endswith(")") and " (" in label:
        head, inner = label[:-1].split(" (", 1)
        return inner if len(inner) <= 8 else head
    return label


def _p_text(spec: FigureSpec, results: pd.DataFrame) -> str:
    if spec.comparison is None:
        return ""
    row = results[(results["comparison"] == spec.comparison)
                  & (results["endpoint"] == spec.endpoint)].iloc[0]
    return (f"Log-rank p = {present.p_value(row['p'])};  "
            f"stratified by center p = {present.p_value(row['strat_p'])}").replace("= <", "< ")


def plot_panel(spec: FigureSpec, patients: pd.DataFrame, results: pd.DataFrame, path: Path, *,
               ref_labels: dict, transform: str = "log", median_rule: str = "print") -> dict:
    """Draw one Kaplan-Meier panel to ``path`` (PNG).

    Returns
    -------
    dict
        ``curves`` (one summary dict per group: n, events, median with CI) and ``at_risk``
        (a frame: group, time, at_risk) - the numbers the picture shows.
    """
    curves = _curves(patients, spec, ref_labels, transform, median_rule)
    col = BY_NAME[spec.comparison].group_col if spec.comparison else None
    max_time = max([float(np.max(t)) for _, _, t, _, _ in curves if t.size] or [1.0])
    ticks = _ticks(max_time)
    k = len(curves)
    fig, (ax, risk) = plt.subplots(
        2, 1, figsize=(7.2, 5.6 + 0.45 * k), layout="constrained",
        gridspec_kw={"height_ratios": [4.2, 0.35 + 0.28 * k]})
    summaries, at_risk_rows = [], []
    for i, (value, label, t, e, curve) in enumerate(curves):
        color = "#222222" if k == 1 else COLORS[i % len(COLORS)]
        tab = curve.table
        median = present.months(curve.median, n=curve.n)
        unit = " months" if median[0].isdigit() else ""
        legend = f"{label}: n = {curve.n}, {curve.events} events, median {median}{unit}"
        if tab.empty:
            ax.plot([], [], color=color, lw=1.8, label=legend)
        else:
            x, y = tab["time"].to_numpy(), 100 * tab["survival"].to_numpy()
            ax.step(x, y, where="post", color=color, lw=1.8, label=legend)
            cens = tab["censored"].to_numpy() > 0
            ax.plot(x[cens], y[cens], ls="none", marker="|", ms=9, mew=1.4, color=color)
            if k == 1:
                ax.fill_between(x, 100 * tab["lower"].to_numpy(), 100 * tab["upper"].to_numpy(),
                                step="post", color=color, alpha=0.12, lw=0,
                                label=f"95% CI, {present.TRANSFORM_TEXT[transform]}")
        nar = number_at_risk(t, e, ticks)
        row = k - 1 - i
        for tick, n in zip(nar["time"], nar["at_risk"]):
            risk.text(tick, row, str(n), ha="center", va="center", fontsize=9.5, color=color)
        risk.text(-0.01, row, _short(label, value, col), transform=risk.get_yaxis_transform(),
                  ha="right", va="center", fontsize=9.5, color=color)
        at_risk_rows += [{"group": label, "group_value": value, "time": float(tk),
                          "at_risk": int(n)} for tk, n in zip(nar["time"], nar["at_risk"])]
        summaries.append({"group": label, "group_value": value, "n": curve.n,
                          "events": curve.events, "median": curve.median,
                          "median_lower": curve.median_lower,
                          "median_upper": curve.median_upper, "transform": transform})
    ax.set_ylim(-2, 103)
    ax.set_xlim(ticks[0] - 0.02 * ticks[-1], ticks[-1] * 1.02)
    ax.set_xticks(ticks)
    ax.set_xticklabels([f"{tk:g}" for tk in ticks])
    ax.set_yticks(range(0, 101, 20))
    ax.set_ylabel(f"{present.ENDPOINT_NAMES[spec.endpoint]} (%)")
    ax.set_xlabel("Months since start of immunotherapy-based therapy")
    ax.grid(True, color="#e5e5e5", lw=0.6)
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=10)
    fig.suptitle(f"Figure {spec.panel}. {title(spec)}", x=0.02, ha="left", fontsize=11.5,
                 fontweight="bold")
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.01), fontsize=9.2, frameon=False,
              title=_p_text(spec, results) or None, title_fontsize=9.6, alignment="left",
              borderaxespad=0.0)
    risk.set_xlim(ax.get_xlim())
    risk.set_ylim(-0.6, k - 0.4)
    risk.set_axis_off()
    risk.set_title("Number at risk", loc="left", fontsize=9.5, pad=2)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, facecolor="white")
    plt.close(fig)
    return {"curves": summaries, "at_risk": pd.DataFrame(at_risk_rows)}


def render_figures(patients: pd.DataFrame, results: pd.DataFrame, out_dir: Path, *,
                   ref_labels: dict, transform: str = "log",
                   median_rule: str = "print") -> dict[str, pd.DataFrame]:
    """Draw every panel of :data:`FIGURES` into ``out_dir`` (``<key>.png``).

    Returns
    -------
    dict of DataFrames
        ``figures`` (key, panel, figure, endpoint, comparison, title, file),
        ``curves`` (per panel and group: n, events, median with CI) and ``at_risk``
        (per panel, group and tick).
    """
    figures, curves, at_risk = [], [], []
    for spec in FIGURES:
        path = Path(out_dir) / f"{spec.key}.png"
        drawn = plot_panel(spec, patients, results, path, ref_labels=ref_labels,
                           transform=transform, median_rule=median_rule)
        figures.append({"key": spec.key, "panel": spec.panel, "figure": int(spec.panel[0]),
                        "endpoint": spec.endpoint, "comparison": spec.comparison or "all",
                        "title": f"Figure {spec.panel}. {title(spec)}",
                        "file": f"figures/{path.name}"})
        curves += [{"key": spec.key, "panel": spec.panel, **c} for c in drawn["curves"]]
        at_risk.append(drawn["at_risk"].assign(key=spec.key, panel=spec.panel))
    return {"figures": pd.DataFrame(figures), "curves": pd.DataFrame(curves),
            "at_risk": pd.concat(at_risk, ignore_index=True)[
                ["key", "panel", "group", "group_value", "time", "at_risk"]]}
