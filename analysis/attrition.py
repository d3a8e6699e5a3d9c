"""Patient flow (CONSORT/STROBE style) as typed counts, and its diagram's layout.

:func:`flow` reads the pipeline's own counts from the results: per center the rows of its
export files and the rows quarantined (``load_log`` of the last load), the quarantine
records by table and check (``quarantine``), the patients loaded (``v_patient``) and the
patients analysed per endpoint (a follow-up time is known). The same :class:`Flow` gives
the table (:func:`analysis.methods.attrition`) and the diagram (:func:`diagram`, drawn by
the Jinja2 template ``templates/attrition.svg.j2``), so the two never disagree; the
shareable report passes a suppressed copy of it (:mod:`analysis.suppress`).

Counts are ``int``, or :class:`analysis.present.Withheld` in a shareable report.
"""
from __future__ import annotations

import textwrap
from dataclasses import dataclass

from harmonise.analysis import present
from harmonise.analysis.results import Results

Count = int | present.Withheld


@dataclass(frozen=True)
class Reason:
    """Quarantine records of one center for one table and check."""

    table: str
    check: str
    records: Count


@dataclass(frozen=True)
class CenterFlow:
    """One center's flow (or the total over centers, ``center`` = ``"Total"``)."""

    center: str
    files: Count
    rows_read: Count
    rows_quarantined: Count
    reasons: tuple[Reason, ...]
    patients: Count
    analysed: tuple[Count, ...]          # per endpoint of :attr:`Flow.endpoints`
    no_time: tuple[Count, ...]           # patients without a follow-up time, per endpoint


@dataclass(frozen=True)
class Flow:
    """The patient flow of the report: every center, then the total."""

    endpoints: tuple[str, ...]           # endpoint labels, the plan's order
    centers: tuple[CenterFlow, ...]
    total: CenterFlow
    codes: tuple[str, ...] = ()          # the endpoints' names (pfs, os)


def _int(x) -> int:
    return 0 if present.is_missing(x) else int(x)


def flow(res: Results) -> Flow:
    """The flow of ``res`` from the pipeline's counts (see the module docstring)."""
    plan = res.labels.plan
    endpoints = tuple(e.name for e in plan.endpoints)
    checks = res.provenance.quarantine_counts
    centers = []
    for _, c in res.provenance.centers.iterrows():
        mine = res.patients[res.patients["center_id"] == c["center_id"]]
        known = tuple(int(mine[f"{e}_months"].notna().sum()) for e in endpoints)
        reasons = tuple(Reason(q["table_name"], q["check_name"], _int(q["records"]))
                        for _, q in checks[checks["center_id"] == c["center_id"]].iterrows())
        centers.append(CenterFlow(
            c["center_id"], _int(c["files"]), _int(c["rows_read"]),
            _int(c["rows_quarantined"]), reasons, len(mine), known,
            tuple(len(mine) - k for k in known)))
    total = CenterFlow(
        "Total", sum(c.files for c in centers), sum(c.rows_read for c in centers),
        sum(c.rows_quarantined for c in centers), (), sum(c.patients for c in centers),
        tuple(sum(c.analysed[i] for c in centers) for i in range(len(endpoints))),
        tuple(sum(c.no_time[i] for c in centers) for i in range(len(endpoints))))
    return Flow(tuple(res.labels.endpoint(e) for e in endpoints), tuple(centers), total, endpoints)


def frame(f: Flow):
    """The flow as a table of numbers (``numbers/attrition.csv``): one row per center and the
    total, with the patients analysed and without a follow-up time per endpoint."""
    import pandas as pd
    rows = [{"center": c.center, "files": c.files, "rows_read": c.rows_read,
             "rows_quarantined": c.rows_quarantined, "patients": c.patients,
             **{f"analysed_{e}": n for e, n in zip(f.codes, c.analysed)},
             **{f"no_time_{e}": n for e, n in zip(f.codes, c.no_time)}}
            for c in (*f.centers, f.total)]
    return pd.DataFrame(rows)


# -- the diagram's layout (the template draws it) --------------------------------------------

COLUMN, GAP, LINE_H, PAD, CHAR_W = 220, 18, 16, 8, 6.8
"""Column width, gap between boxes, text line height, box padding, width of a character
(SVG px at 12 px type; generous, so a wrapped line never passes its box)."""


@dataclass(frozen=True)
class Box:
    """A box of the diagram: its top-left corner, size and text lines (the first bold)."""

    x: float
    y: float
    w: float
    h: float
    lines: tuple[str, ...]
    css: str = "box"                     # box | excluded | pooled

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def bottom(self) -> float:
        return self.y + self.h


@dataclass(frozen=True)
class Arrow:
    x1: float
    y1: float
    x2: float
    y2: float


@dataclass(frozen=True)
class Diagram:
    """Boxes and arrows in a ``width`` x ``height`` view box; ``title`` for screen readers."""

    id: str
    title: str
    width: float
    height: float
    boxes: tuple[Box, ...]
    arrows: tuple[Arrow, ...]


def _lines(width: float, *texts: str) -> tuple[str, ...]:
    chars = max(int((width - 2 * PAD) / CHAR_W), 8)
    return tuple(part for t in texts for part in (textwrap.wrap(t, chars) or [""]))


def _box(x, y, w, texts, css="box") -> Box:
    lines = _lines(w, *texts)
    return Box(x, y, w, len(lines) * LINE_H + 2 * PAD, lines, css)


def _n(x, one: str, many: str) -> str:
    text = present.count(x)
    return f"{text} {one if text == '1' else many}"


def diagram(f: Flow) -> Diagram:
    """The flow as boxes: per center (one column each) export -> quarantined -> loaded; then
    the pooled patients; then one box per endpoint with the patients analysed."""
    k = max(len(f.centers), 1)
    width = max(k * COLUMN + (k + 1) * GAP, len(f.endpoints) * COLUMN + (len(f.endpoints) + 1) * GAP)
    left = (width - (k * COLUMN + (k - 1) * GAP)) / 2
    boxes, arrows, rows = [], [], [[], [], []]
    for i, c in enumerate(f.centers):
        x = left + i * (COLUMN + GAP)
        rows[0].append(_box(x, 0, COLUMN, [c.center, f"{_n(c.rows_read, 'row', 'rows')} in "
                                           f"{_n(c.files, 'export file', 'export files')}"]))
        reasons = [f"{r.table}, {r.check}: {present.count(r.records)}" for r in c.reasons]
        rows[1].append(_box(x, 0, COLUMN, [f"Quarantined: {_n(c.rows_quarantined, 'row', 'rows')}",
                                           *reasons], "excluded"))
        rows[2].append(_box(x, 0, COLUMN, [f"Loaded: {_n(c.patients, 'patient', 'patients')}"]))
    y = GAP
    for row in rows:                      # each row as tall as its tallest box
        tallest = max((b.h for b in row), default=0)
        row[:] = [Box(b.x, y, b.w, tallest, b.lines, b.css) for b in row]
        y += tallest + 2 * GAP
    for top, mid, low in zip(*rows):
        arrows += [Arrow(top.cx, top.bottom, mid.cx, mid.y), Arrow(mid.cx, mid.bottom, low.cx, low.y)]
    boxes = [b for row in rows for b in row]
    pooled = _box(GAP, y, width - 2 * GAP, [
        f"Pooled: {_n(f.total.patients, 'patient', 'patients')} from "
        f"{_n(len(f.centers), 'center', 'centers')}",
        f"{_n(f.total.rows_read, 'row', 'rows')} read, "
        f"{_n(f.total.rows_quarantined, 'row', 'rows')} quarantined"], "pooled")
    arrows += [Arrow(b.cx, b.bottom, b.cx, pooled.y) for b in rows[2]]
    y = pooled.bottom + 2 * GAP
    e = max(len(f.endpoints), 1)
    ew = (width - (e + 1) * GAP) / e
    analysed = [_box(GAP + j * (ew + GAP), y, ew, [
        f"Analysed, {name.lower()}: {_n(f.total.analysed[j], 'patient', 'patients')}",
        f"No follow-up time: {present.count(f.total.no_time[j])}"])
        for j, name in enumerate(f.endpoints)]
    tallest = max((b.h for b in analysed), default=0)
    analysed = [Box(b.x, b.y, b.w, tallest, b.lines, b.css) for b in analysed]
    arrows += [Arrow(b.cx, pooled.bottom, b.cx, b.y) for b in analysed]
    height = y + tallest + GAP
    return Diagram("attrition-diagram", "Patient flow: from the centers' exports to the analyses",
                   width, height, tuple(boxes + [pooled] + analysed), tuple(arrows))
