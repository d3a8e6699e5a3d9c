"""Kaplan-Meier figures: nothing clipped at any label length, legend in the title's order,
p-values and hazard ratios written as a journal writes them, SVG with its text as text (a PNG
at 300 dpi only when asked)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from harmonise.analysis import figures, kmplot, present
from harmonise.analysis.plan import load_plan
from harmonise.analysis.report import write_report

PLAN = load_plan()          # the reference study's plan (demo/study/plan.yaml)
COMPARISONS = PLAN.comparisons


def _panel(label_words: int, groups: int = 3, big: int = 1) -> kmplot.Panel:
    x = np.array([0.0, 2, 5, 9, 14, 30])
    y = np.array([100, 90, 70, 50, 30, 10.0])
    curves = tuple(kmplot.Curve(
        label=" ".join(["Extraordinarily-long-histology-name"] * label_words) + f" {i}",
        short=" ".join(["Group-name"] * label_words) + f" {i}", color=figures.COLORS[i],
        x=x, y=y - i, lower=y - 10, upper=y + 5, censored_x=x[1:2], censored_y=y[1:2],
        table={row: [big * 123456] * 7 for row in kmplot.TABLE_ROWS}) for i in range(groups))
    return kmplot.Panel(title="Figure 9Z. " + "A very long title about survival " * label_words,
                        y_label="Progression-free survival (%)", x_label=PLAN.time_axis,
                        ticks=np.arange(0, 37, 6.0), curves=curves,
                        statistics=("Log-rank p < 0.001; stratified by center p = 0.020",
                                    "HR " + "long name " * label_words + "vs ref: 0.44 (95% CI "
                                    "0.23\u20130.84)"), band_label="Shaded: pointwise 95% CI")


def _laid_out(panel: kmplot.Panel):
    """The panel's figure and a renderer that measured its texts (Agg, as the PNG's)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    fig = kmplot.figure(panel)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return fig, canvas.get_renderer()


@pytest.mark.parametrize("words, groups", [(1, 1), (3, 3), (12, 5)])
def test_no_text_of_a_panel_leaves_the_figure_whatever_its_length(words, groups):
    fig, renderer = _laid_out(_panel(words, groups))
    box = fig.bbox
    texts = [t for t in fig.findobj(lambda a: hasattr(a, "get_text") and a.get_text())]
    assert len(texts) > 20
    for text in texts:
        ext = text.get_window_extent(renderer)
        assert ext.x0 >= box.x0 - 0.5 and ext.x1 <= box.x1 + 0.5, text.get_text()[:60]
        assert ext.y0 >= box.y0 - 0.5 and ext.y1 <= box.y1 + 0.5, text.get_text()[:60]


def test_texts_of_a_panel_do_not_overlap_each_other():
    fig, renderer = _laid_out(_panel(4, 3))
    boxes = [t.get_window_extent(renderer) for t in fig.texts if t.get_text()]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            overlap_x = min(a.x1, b.x1) - max(a.x0, b.x0)
            overlap_y = min(a.y1, b.y1) - max(a.y0, b.y0)
            assert overlap_x <= 1 or overlap_y <= 1


@pytest.mark.parametrize("comparison", COMPARISONS, ids=lambda c: c.name)
def test_legend_lists_the_groups_in_the_order_the_title_names_them(comparison):
    short = {lv.code: lv.short for d in PLAN.derived for lv in d.levels if d.name == comparison.by}
    names = [[str(v), short.get(v, str(v))] for v in comparison.groups]
    order = figures.title_order(present.pretty(comparison.label), names)
    assert sorted(order) == list(range(len(comparison.groups)))
    title = present.pretty(comparison.label).lower()
    parts = title.replace("(", " ").replace(")", " ").split(" vs ")
    for part, i in zip(parts, order):
        value, fallback = names[i]
        words = set(part.split())
        assert words & set(f"{value} {fallback}".lower().split()), (part, names[i])


@pytest.mark.parametrize("p, text", [(0.0004, "p < 0.001"), (0.0132, "p = 0.013"),
                                     (float("nan"), "p = \u2013")])
def test_p_values_on_the_plot_read_as_a_journal_writes_them(p, text):
    assert present.p_text(p) == text


def test_demo_panels_are_svg_with_their_text_as_text_and_no_png_unless_asked(report_json,
                                                                            demo_report):
    figs = demo_report.parent / "figures"
    table = pd.DataFrame(report_json["figure_risk_table"])
    assert set(table["key"]) == {f["key"] for f in report_json["figures"]}
    assert ((table["at_risk"] + table["censored"] + table["events"])
            .groupby([table["key"], table["group_value"]]).nunique() == 1).all()
    for spec in figures.figure_specs(PLAN):
        svg = (figs / f"{spec.key}.svg").read_text(encoding="utf-8")
        assert "<svg" in svg and ">At risk</text>" in svg and "Figure " in svg
        assert "font-family: 'DejaVu Sans', 'Helvetica', 'Arial'" in svg
        assert "<path id=\"DejaVuSans" not in svg              # no glyph outlines
        assert not (figs / f"{spec.key}.png").exists()
    assert {f["file"] for f in report_json["figures"]} == {
        f"figures/{spec.key}.svg" for spec in figures.figure_specs(PLAN)}
    text = demo_report.read_text(encoding="utf-8")
    assert " 1 events" not in text and "= <" not in text
    assert "ConvergenceWarning" not in text
    assert "(all patients) (population: all patients)" not in text


def test_png_at_300_dpi_is_drawn_when_asked_and_goes_when_no_longer_asked(demo_warehouse,
                                                                          tmp_path):
    from PIL import Image
    out = tmp_path / "report"
    write_report(demo_warehouse, out, figure_formats=("svg", "png"))
    key = figures.figure_specs(PLAN)[0].key
    png = out / "figures" / f"{key}.png"
    assert Image.open(png).info["dpi"] == pytest.approx((300, 300), abs=0.01)
    assert png.stat().st_size > 10_000 and (out / "figures" / f"{key}.svg").exists()
    write_report(demo_warehouse, out)
    assert not list((out / "figures").glob("*.png"))
    with pytest.raises(ValueError, match="figure_formats"):
        write_report(demo_warehouse, out, figure_formats=("svg", "pdf"))


def test_the_band_is_the_step_band_matplotlib_fills_between_the_bounds():
    from matplotlib.figure import Figure
    x = np.array([0.0, 2, 5, 9, 14, 30, 31])
    lower = np.array([100, 80, 60, 40, np.nan, 20, 10])
    upper = np.array([100, 95, 85, 70, np.nan, 50, 40])
    filled = Figure().add_subplot().fill_between(x, lower, upper, step="post")
    theirs = [np.unique(np.round(p.vertices, 9), axis=0) for p in filled.get_paths()]
    ours = [np.unique(np.round(b, 9), axis=0) for b in kmplot._band(x, lower, upper)]
    assert len(ours) == len(theirs) == 2
    assert all(np.array_equal(a, b) for a, b in zip(ours, theirs))
