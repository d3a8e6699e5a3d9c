"""The study report: one self-contained HTML page, the figures as SVG (PNG if asked), every number as CSV/JSON.

:func:`write_report` reads the warehouse (views, reference tables, ``load_log``,
``quarantine``) read-only, runs the analysis layer once, and writes into ``out_dir``::

    report.html          self-contained: figures as base64 SVG, inline CSS, no script,
                         no external URL
    figures/*.svg        Figures 1-4 of the study, one SVG per panel (text as text)
    figures/*.png        the same at 300 dpi, only when ``figure_formats`` has ``png``
    numbers/*.csv        every number shown, one file per section (formula-safe cells)
    numbers/report.json  the same numbers in one strict-JSON document (no NaN: null)

Statistics come from :mod:`analysis.km`, :mod:`analysis.comparisons`,
:mod:`analysis.response` and :mod:`analysis.tables`; the figures from
:mod:`analysis.figures`; the side-by-side table from :mod:`analysis.paper`; the
provenance from :mod:`analysis.provenance`. The page is typed parts (:mod:`analysis.page`,
built by :mod:`analysis.sections` and :mod:`analysis.sections_audit`) rendered by the Jinja2
template ``analysis/templates/report.html.j2`` (:mod:`analysis.render`).
"""
from __future__ import annotations

import datetime as dt
import json
import math
import tempfile
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from harmonise.analysis import (attrition, km, kmplot, methods, paper, present, sections_audit,
                                suppress, views)
from harmonise.analysis import sections as s
from harmonise.analysis.collect import collect
from harmonise.analysis.figures import figure_workers, prepare_figures
from harmonise.analysis.page import Page
from harmonise.analysis.plan import EXAMPLE_PLAN, Plan, load_plan
from harmonise.analysis.render import render_page, render_svg
from harmonise.analysis.results import FigureSet, Results

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
"""A CSV cell starting with one of these is prefixed with ``'`` (spreadsheet formula injection)."""


def _jsonable(x):
    """Plain JSON values: NaN/NaT/NA -> None, numpy scalars -> Python, dates -> ISO text."""
    if isinstance(x, pd.DataFrame):
        return [_jsonable(r) for r in x.to_dict("records")]
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if present.is_missing(x):
        return None
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(x) else None
    if isinstance(x, (pd.Timestamp, dt.datetime, dt.date)):
        return x.isoformat()
    return x if isinstance(x, str) else str(x)


def neutralise(value):
    """Prefix ``'`` to a text cell a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """CSV with formula-safe text cells (numbers are written as numbers)."""
    safe = frame.copy()
    for col in safe.columns:
        if safe[col].dtype == object:
            safe[col] = safe[col].map(neutralise)
    safe.columns = [neutralise(str(c)) for c in safe.columns]
    safe.to_csv(path, index=False, encoding="utf-8")


def _frames(res: Results) -> dict[str, pd.DataFrame]:
    """Every section of ``numbers/``: name -> frame (written as CSV and into report.json)."""
    frames = {
        "km_summary": res.km_all, "landmarks": res.landmarks, "followup": res.followup,
        "comparisons": res.comparisons, "response": res.response, "table1": res.table1_data,
        "table1_display": res.table1.reset_index(), "table2": res.table2_data,
        "table2_display": res.table2.reset_index(),
        "figures": res.figures.figures, "figure_curves": res.figures.curves,
        "figure_at_risk": res.figures.at_risk, "figure_risk_table": res.figures.risk_table,
        "provenance_centers": res.provenance.centers,
        "provenance_files": res.provenance.files,
        "quarantine_counts": res.provenance.quarantine_counts,
        "quarantine": res.provenance.quarantine,
        "duplicate_pairs": res.provenance.duplicates,
    }
    if res.paper is not None:
        frames["paper_comparison"] = res.paper
    return frames


def build_page(res: Results, fig_dir: Path, flow: attrition.Flow,
               shareable: int | None = None) -> Page:
    """The typed page of the report (rendered by ``templates/report.html.j2``);
    ``shareable``: the threshold of a shareable report (its footnote in the header)."""
    plan = res.labels.plan
    sections = [s.survival(res)]
    if plan.figures:
        sections.append(s.figures(res, fig_dir, {f.number: f.title for f in plan.figures}))
    sections += [s.table1(res), s.table2(res), s.response(res), s.subgroups(res)]
    if res.paper is not None:
        sections.append(sections_audit.paper(res, errata=plan.published.errata.name))
    sections += [methods.attrition(flow), methods.methods(res, flow),
                 sections_audit.provenance(res, shareable=shareable is not None)]
    warning = ("No patient is loaded in the warehouse: see Data provenance."
               if res.patients.empty else "")
    meta = s.header_meta(res, flow.total.patients)
    if shareable is not None:
        meta += (("Small cells", suppress.footnote(shareable)),)
    return Page(title=plan.title, lead=plan.lead, meta=meta, warning=warning,
                sections=tuple(sections))


def read_results(warehouse, plan: Plan, **options) -> Results:
    """:func:`analysis.collect.collect` on a read-only connection of its own.

    When the connection is a DuckDB instance of the report's own (a file path, or a reader
    whose ``own_instance`` is true: an embedded warehouse), memory DuckDB frees goes back
    to the system while the statistics run in pandas, its memory is capped while
    ``v_patient`` is stored, and rows it spills (a million patients and more) go to a
    private temporary folder (mode 0700), removed with the connection, never next to the
    warehouse. A shared instance (a DuckLake's) keeps its settings.
    """
    reader = hasattr(warehouse, "connect")
    own = getattr(warehouse, "own_instance", not reader)
    with tempfile.TemporaryDirectory(prefix="harmonise-report-") as spill:
        con = (warehouse.connect(read_only=True) if reader
               else duckdb.connect(str(warehouse), read_only=True))
        try:
            if own:
                con.execute("SET allocator_background_threads = true")
                con.execute("SET temp_directory = ?", [spill])
            return collect(con, plan, memory=views.STORED_MEMORY if own else None, **options)
        finally:
            con.close()


def write_report(warehouse: Path, out_dir: Path, *, plan: Plan | Path = EXAMPLE_PLAN,
                 transform: str = "log", compare_with_paper: bool | None = None,
                 median_rule: str = "print", shareable: int | None = None,
                 figure_formats=("svg",)) -> Path:
    """Write the study report of ``warehouse`` into ``out_dir``; return the HTML path.

    Parameters
    ----------
    warehouse : Path or object with ``connect(read_only=True)``
        DuckDB warehouse file (opened read-only), or a reader of another storage (a
        DuckLake snapshot): anything whose ``connect`` returns a DuckDB connection.
    out_dir : Path
        Output folder (created); ``report.html``, ``figures/``, ``numbers/`` are replaced.
    plan : Plan or Path
        The study's analysis plan (``plan.yaml``); default the reference study's. Its
        views must be the warehouse's (``harmonise run`` builds them from the same plan).
    transform : {"log", "log-log", "plain"}
        Transform of every Kaplan-Meier 95% band and median CI (``log`` = R's default).
    compare_with_paper : bool, optional
        Add the "Side by side with the published study" section (only when the plan has
        published numbers). Default: True when the loaded centers are exactly the
        published study's centers.
    median_rule : {"print", "midpoint"}
        Median rule (:data:`analysis.km.MEDIAN_RULES`): ``print`` = R's print.survfit
        (default), ``midpoint`` = R's quantile.survfit; stated in the report's methods.
    shareable : int, optional
        Write the shareable report instead, with this small-cell threshold (the project's
        ``report.small_cell_threshold``): every count from 1 to ``shareable - 1`` and every
        cell that would give one back is withheld (:mod:`analysis.suppress`); no side by
        side, no row-level audit detail.
    figure_formats : sequence of {"svg", "png"}
        Files written per panel (the project's ``report.figure_formats``): the SVG always
        (the page shows it), the PNG at 300 dpi for a journal only when ``png`` is asked.
    """
    if transform not in km.TRANSFORMS:
        raise ValueError(f"transform must be one of {km.TRANSFORMS}, got {transform!r}")
    if not set(figure_formats) <= set(kmplot.FORMATS):
        raise ValueError(f"figure_formats must be among {kmplot.FORMATS}, got {figure_formats!r}")
    if median_rule not in km.MEDIAN_RULES:
        raise ValueError(f"median_rule must be one of {tuple(km.MEDIAN_RULES)}, "
                         f"got {median_rule!r}")
    methods.ask_r_version_early()         # R answers while the numbers are computed
    plan = plan if isinstance(plan, Plan) else load_plan(plan)
    res = read_results(warehouse, plan, transform=transform, median_rule=median_rule)
    out_dir = Path(out_dir)
    fig_dir, num_dir = out_dir / "figures", out_dir / "numbers"
    for folder in (fig_dir, num_dir):
        folder.mkdir(parents=True, exist_ok=True)
    for old in [*num_dir.glob("*.csv"), *num_dir.glob("*.json")]:
        old.unlink()                       # a section that no longer exists goes
    jobs, drawn = prepare_figures(res.labels, res.compared, res.curves, fig_dir,
                                  transform=transform)
    keep = {*drawn["figures"]["key"], "attrition"}
    for old in [f for ext in ("png", "svg", "sha256") for f in fig_dir.glob(f"*.{ext}")]:
        if old.stem not in keep or (old.suffix == ".png" and "png" not in figure_formats):
            old.unlink()                   # a panel that no longer exists goes, a PNG not asked
    res.figures = FigureSet(drawn["figures"], drawn["curves"], drawn["at_risk"],
                            drawn["risk_table"])
    flow = attrition.flow(res)
    if shareable is not None:
        shared = suppress.shareable(res, flow, drawn, jobs, shareable)
        res, flow, jobs, compare_with_paper = shared.res, shared.flow, shared.panels, False
    kmplot.draw_all(jobs, figure_formats, workers=figure_workers())
    published = plan.published.load() if plan.published else {}
    compare = bool(published) and (paper.is_published_cohort(published, res.centers)
                                   if compare_with_paper is None else bool(compare_with_paper))
    res.paper = paper.side_by_side(
        published, patients=res.patients, table1=res.table1_data, table2=res.table2_data,
        response=res.response_by_asps, comparisons=res.comparisons, km_all=res.km_all,
        landmarks=res.landmarks, followup=res.followup, labels=res.labels) if compare else None
    res.published_source = published.get("source", {})

    frames = {**_frames(res), "attrition": attrition.frame(flow)}
    if shareable is not None:
        frames = {k: v for k, v in frames.items() if k not in suppress.LEFT_OUT}
    for name, frame in frames.items():
        write_csv(frame, num_dir / f"{name}.csv")
    meta = {"title": plan.title, "cutoff": res.cutoff, "generated_at": res.generated_at,
            "transform": transform, "transform_text": present.TRANSFORM_TEXT[transform],
            "median_rule": median_rule, "median_rule_text": km.MEDIAN_RULES[median_rule],
            "conf_level": 0.95, "months_per_day": 1 / plan.days_per_month,
            "centers": res.centers, "patients": flow.total.patients,
            "compare_with_paper": compare, "published_source": res.published_source,
            "shareable": None if shareable is None else {
                "small_cell_threshold": shareable, "footnote": suppress.footnote(shareable)}}
    doc = {"meta": meta, **frames}
    if shareable is None:
        doc.setdefault("paper_comparison", None)
    (num_dir / "report.json").write_text(
        json.dumps(_jsonable(doc), allow_nan=False, ensure_ascii=False, indent=1),
        encoding="utf-8")
    (fig_dir / "attrition.svg").write_text(render_svg(attrition.diagram(flow)), encoding="utf-8")
    html_path = out_dir / "report.html"
    html_path.write_text(render_page(build_page(res, fig_dir, flow, shareable)), encoding="utf-8")
    return html_path
