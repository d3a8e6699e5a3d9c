"""Drawing one Kaplan-Meier panel (matplotlib): the picture of a :class:`Panel`, as SVG
(text as text, the SVG backend alone) and, when asked, as PNG at 300 dpi (Agg).

A panel is plain data (step points, labels, the table's counts, the statistics' text),
prepared by :mod:`analysis.figures`; this module only draws it, so panels can be drawn in
worker processes. Layout is computed, not left to matplotlib's constrained layout (which
draws a figure several times): every text is wrapped to the figure's width and the figure
grows by the lines it needs, so no label is clipped at any length. The plot is drawn with
figure-level artists, without a matplotlib Axes (whose tick machinery was most of a
panel's drawing time), and each column of the table is one text of three lines.

What a panel shows (KMunicate style): step curves from the step points (one per distinct
time, never per patient), censoring ticks, the pointwise 95% band of each curve, the
log-rank p-values and hazard ratios with 95% CI on the plot, and under the x axis, per
group, the numbers at risk, censored and with an event up to each tick.
"""
from __future__ import annotations

import hashlib
import os
import pickle
import signal
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

DPI = 300
WIDTH = 7.2                                    # inches: a journal's two-column figure
LEFT, RIGHT = 1.15, 0.45                       # margins (inches): table row names, last count
TITLE_PT, TEXT_PT, TABLE_PT = 11.0, 9.0, 8.5
TABLE_PITCH = 1.35                             # a line of text: 1.35 x its font size
LINE = TABLE_PITCH / 72                        # inches per point of one text line
TABLE_ROWS = ("At risk", "Censored", "Events")
FORMATS = ("svg", "png")                       # what a panel may be saved as; SVG always
#: Fonts of the SVG's text, in the browser's order of preference: matplotlib lays the text
#: out with the first (DejaVu Sans, its own), a reader without it gets a narrower sans-serif.
FONTS = ["DejaVu Sans", "Helvetica", "Arial", "Liberation Sans"]
SVG_RC = {"svg.fonttype": "none", "svg.hashsalt": "harmonise", "font.family": "sans-serif",
          "font.sans-serif": FONTS}


@dataclass(frozen=True)
class Curve:
    """One group's step curve and its row of the table under the plot."""

    label: str                                 # legend text
    short: str                                 # name over its table rows
    color: str
    x: np.ndarray                              # step points: time 0 and each distinct time
    y: np.ndarray                              # survival, %
    lower: np.ndarray
    upper: np.ndarray
    censored_x: np.ndarray
    censored_y: np.ndarray
    table: dict = field(default_factory=dict)  # row name -> counts at the ticks


@dataclass(frozen=True)
class Panel:
    """Everything one picture shows, as data."""

    title: str
    y_label: str
    x_label: str
    ticks: np.ndarray
    curves: tuple
    statistics: tuple                          # lines of text on the plot (p, HR)
    band_label: str


def _chars(points: float, width_in: float) -> int:
    """Characters of a ``points`` font that fit in ``width_in`` (conservative average)."""
    return max(20, int(width_in * 72 / (0.56 * points)))


def _wrap(text: str, points: float, width_in: float) -> list[str]:
    return textwrap.wrap(text, _chars(points, width_in), break_on_hyphens=False) or [""]


def _matplotlib():
    """matplotlib's Figure and Line2D, imported on first use (no pyplot, no GUI backend): a
    report whose pictures are all current never pays for importing matplotlib."""
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    return Figure, Line2D


def figure(panel: Panel) -> "matplotlib.figure.Figure":  # noqa: F821
    """The panel as a matplotlib figure, with no canvas of its own (see :func:`draw`)."""
    Figure, Line2D = _matplotlib()
    inner = WIDTH - LEFT - RIGHT
    title = _wrap(panel.title, TITLE_PT * 1.15, WIDTH - 0.3)                       # bold
    legend = [_wrap(c.label, TEXT_PT, inner - 0.45) for c in panel.curves]
    stats = [line for s in panel.statistics for line in _wrap(s, TEXT_PT, inner)]
    band = _wrap(panel.band_label, TEXT_PT, inner) if panel.band_label else []
    names = [_wrap(c.short, TABLE_PT * 1.15, WIDTH - 0.3) for c in panel.curves]   # bold
    top = 0.12 + len(title) * TITLE_PT * LINE + 0.1
    legend_h = sum(len(lines) for lines in legend) * TEXT_PT * LINE + 0.06 * len(legend)
    stats_h = (len(stats) + len(band)) * TEXT_PT * LINE + 0.04
    plot_h, axis_h = 3.3, 0.62
    table_h = 0.26 + sum((len(n) + len(TABLE_ROWS)) * TABLE_PT * LINE + 0.06 for n in names)
    height = top + legend_h + stats_h + 0.08 + plot_h + axis_h + table_h + 0.1
    fig = Figure(figsize=(WIDTH, height), dpi=DPI)
    fy = lambda inches: 1 - inches / height                        # noqa: E731
    fig.text(0.15 / WIDTH, fy(0.12), "\n".join(title), ha="left", va="top",
             fontsize=TITLE_PT, fontweight="bold", linespacing=1.2)

    y = top                                                          # the legend, in order
    for curve, lines in zip(panel.curves, legend):
        mid = y + TEXT_PT * LINE * 0.55
        fig.add_artist(Line2D([LEFT / WIDTH, (LEFT + 0.35) / WIDTH], [fy(mid)] * 2,
                                  color=curve.color, lw=2))
        fig.text((LEFT + 0.45) / WIDTH, fy(y), "\n".join(lines), ha="left", va="top",
                 fontsize=TEXT_PT, linespacing=1.2)
        y += len(lines) * TEXT_PT * LINE + 0.06

    fig.text(LEFT / WIDTH, fy(y), "\n".join(stats + band), ha="left", va="top",
             fontsize=TEXT_PT, linespacing=1.2, color="#333333")
    top += stats_h
    bottom = top + legend_h + 0.08 + plot_h                          # the plot, in inches
    ticks = panel.ticks
    span = ticks[-1] - ticks[0]
    x_lim, y_lim = (ticks[0] - 0.02 * span, ticks[-1] + 0.02 * span), (-2.0, 103.0)
    x_of = lambda t: (LEFT + inner * (np.asarray(t, float) - x_lim[0])   # noqa: E731
                      / (x_lim[1] - x_lim[0])) / WIDTH
    y_of = lambda v: fy(bottom - plot_h * (np.asarray(v, float) - y_lim[0])  # noqa: E731
                        / (y_lim[1] - y_lim[0]))
    _plot(fig, panel, x_of, y_of, fy(bottom), fy(bottom - plot_h), height)
    pt = 1 / 72                                                      # an inch in points
    for t in ticks:
        fig.text(x_of(t), fy(bottom + 7 * pt), f"{t:g}", ha="center", va="top",
                 fontsize=TEXT_PT)
    for v in range(0, 101, 20):
        fig.text((LEFT - 7 * pt) / WIDTH, y_of(v), f"{v}", ha="right", va="center",
                 fontsize=TEXT_PT)
    fig.text(LEFT / WIDTH + inner / WIDTH / 2, fy(bottom + 0.3), panel.x_label,
             ha="center", va="top", fontsize=TEXT_PT)
    fig.text((LEFT - 0.42) / WIDTH, fy(bottom - plot_h / 2),
             "\n".join(_wrap(panel.y_label, TEXT_PT, plot_h - 0.1)), ha="right", va="center",
             rotation=90, fontsize=TEXT_PT, multialignment="center")

    y = top + legend_h + 0.08 + plot_h + axis_h                      # the table under it
    fig.text(0.15 / WIDTH, fy(y), "Number at risk, censored and with an event (cumulative)",
             ha="left", va="top", fontsize=TABLE_PT, fontweight="bold")
    y += 0.26
    for curve, name in zip(panel.curves, names):
        fig.text(0.15 / WIDTH, fy(y), "\n".join(name), ha="left", va="top", fontsize=TABLE_PT,
                 color=curve.color, fontweight="bold", linespacing=1.2)
        y += len(name) * TABLE_PT * LINE
        fig.text((LEFT - 0.4) / WIDTH, fy(y), "\n".join(TABLE_ROWS), ha="right", va="top",
                 fontsize=TABLE_PT, linespacing=TABLE_PITCH)
        columns = zip(*(curve.table.get(row, ()) for row in TABLE_ROWS))
        for t, counts in zip(ticks, columns):                        # one text per column
            fig.text(x_of(t), fy(y), "\n".join(f"{n:,}" for n in counts), ha="center",
                     va="top", fontsize=TABLE_PT, color=curve.color, linespacing=TABLE_PITCH)
        y += len(TABLE_ROWS) * TABLE_PT * LINE + 0.06
    return fig


def _plot(fig, panel: Panel, x_of, y_of, y_bottom: float, y_top: float, height: float):
    """The plot area drawn with figure-level artists (no matplotlib Axes: its tick machinery
    was most of a panel's drawing time): grid, axis lines and tick marks, then per curve
    its band, its step curve and its censoring ticks. ``x_of``/``y_of``: data -> figure."""
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D
    from matplotlib.patches import Polygon
    x0, x1 = (x_of(t) for t in (panel.ticks[0] - 0.02 * np.ptp(panel.ticks),
                                panel.ticks[-1] + 0.02 * np.ptp(panel.ticks)))
    ys = [y_of(v) for v in range(0, 101, 20)]
    grid = [[(x_of(t), y_bottom), (x_of(t), y_top)] for t in panel.ticks]
    grid += [[(x0, y), (x1, y)] for y in ys]
    fig.add_artist(LineCollection(grid, colors="#e5e5e5", linewidths=0.6, zorder=0.5,
                                  transform=fig.transFigure))
    tick_x, tick_y = 3.5 / 72 / WIDTH, 3.5 / 72 / height             # 3.5 pt, outward
    marks = [[(x_of(t), y_bottom), (x_of(t), y_bottom - tick_y)] for t in panel.ticks]
    marks += [[(x0, y), (x0 - tick_x, y)] for y in ys]
    marks += [[(x0, y_bottom), (x1, y_bottom)], [(x0, y_bottom), (x0, y_top)]]  # axis lines
    fig.add_artist(LineCollection(marks, colors="black", linewidths=0.8, zorder=2.5,
                                  transform=fig.transFigure, capstyle="projecting"))
    for curve in panel.curves:
        alpha = 0.12 if len(panel.curves) == 1 else 0.08
        for band in _band(x_of(curve.x), y_of(curve.lower), y_of(curve.upper)):
            fig.add_artist(Polygon(band, closed=True, facecolor=curve.color, alpha=alpha,
                                   lw=0, zorder=1, transform=fig.transFigure))
        fig.add_artist(Line2D(x_of(curve.x), y_of(curve.y), drawstyle="steps-post",
                              color=curve.color, lw=1.6, zorder=2))
        fig.add_artist(Line2D(x_of(curve.censored_x), y_of(curve.censored_y), ls="none",
                              marker="|", ms=7, mew=1.2, color=curve.color, zorder=2.1))


def _band(x: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> list[np.ndarray]:
    """The step band between ``lower`` and ``upper`` (each held until the next x) as
    polygons, one per run of points where both are known (as matplotlib's
    ``fill_between(..., step="post")``)."""
    known = np.isfinite(lower) & np.isfinite(upper)
    out, i = [], 0
    while i < len(x):
        if not known[i]:
            i += 1
            continue
        j = i
        while j + 1 < len(x) and known[j + 1]:
            j += 1
        xs = np.repeat(x[i:j + 1], 2)[1:]
        lo, hi = np.repeat(lower[i:j + 1], 2)[:-1], np.repeat(upper[i:j + 1], 2)[:-1]
        out.append(np.column_stack([np.concatenate([xs, xs[::-1]]),
                                    np.concatenate([hi, lo[::-1]])]))
        i = j + 1
    return out


def digest(panel: Panel) -> str:
    """sha256 of everything the picture shows (and of this module's layout code)."""
    h = hashlib.sha256(Path(__file__).read_bytes())
    h.update(pickle.dumps(panel, protocol=4))
    return h.hexdigest()


def draw(panel: Panel, stem: Path, formats=("svg",)) -> None:
    """Save the panel as ``<stem>.svg`` (text as text, fonts named: small, searchable, sharp
    at any size), as ``<stem>.png`` (300 dpi) when ``formats`` has ``png``, and the panel's
    :func:`digest` as ``<stem>.sha256``.

    The SVG is drawn by the SVG backend alone. The PNG is the Agg canvas written by Pillow as
    RGB (the background is opaque white, so no alpha channel is needed) at zlib level 1: a
    third of the time of matplotlib's RGBA at level 3, for files about 20% larger."""
    import matplotlib
    stem.parent.mkdir(parents=True, exist_ok=True)
    with matplotlib.rc_context(SVG_RC):
        fig = figure(panel)
        fig.patch.set_facecolor("white")
        fig.savefig(stem.with_suffix(".svg"), format="svg", facecolor="white",
                    metadata={"Date": None, "Creator": None})
        if "png" in formats:
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from PIL import Image
            canvas = FigureCanvasAgg(fig)
            canvas.draw()
            Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba(), "raw",
                             "RGBA", 0, 1).convert("RGB").save(
                stem.with_suffix(".png"), dpi=(DPI, DPI), compress_level=1)
    stem.with_suffix(".sha256").write_text(digest(panel))


def _current(panel: Panel, stem: Path, formats) -> bool:
    stamp = stem.with_suffix(".sha256")
    return (all(stem.with_suffix(f".{f}").exists() for f in formats) and stamp.exists()
            and stamp.read_text() == digest(panel))


def draw_all(jobs: list[tuple[Panel, Path]], formats=("svg",), workers: int = 1) -> int:
    """Draw the panels ``(panel, file stem)`` whose picture changed (a panel is drawn once,
    then kept while its data, this module and its files are the same); with ``workers > 1``
    in forked processes. Returns the number of panels drawn."""
    formats = tuple(f for f in FORMATS if f in formats or f == "svg")
    jobs = [(panel, stem, formats) for panel, stem in jobs if not _current(panel, stem, formats)]
    if jobs:
        _matplotlib()                      # imported once, before the workers fork
    if workers <= 1 or len(jobs) < 4:
        for job in jobs:
            draw(*job)
        return len(jobs)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                             initializer=_die_with_parent, initargs=(os.getpid(),)) as pool:
        for _ in pool.map(_draw_job, jobs, chunksize=max(1, len(jobs) // (2 * workers))):
            pass
    return len(jobs)


def _die_with_parent(parent_pid: int) -> None:
    """In a drawing worker: killed by the kernel when the run that forked it dies, even by
    SIGKILL (Linux ``PR_SET_PDEATHSIG``); a forked worker would otherwise wait for work forever,
    holding every file the run had open."""
    if sys.platform.startswith("linux"):
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != parent_pid:
        os._exit(0)


def _draw_job(job) -> None:
    draw(*job)
