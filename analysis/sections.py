"""The report's result sections as typed page parts (:mod:`analysis.page`): header,
survival, figures, Table 1, Table 2, response, subgroup comparisons.

Numbers are formatted by :mod:`analysis.present`, so no Python value (``nan``, ``None``,
``True``) reaches the page; the Jinja2 template escapes every text. Stable element ids:
``fig1a_pfs_all`` ... (one ``<figure>`` per panel), ``table-survival``,
``table-landmarks``, ``table-1``, ``table-2``, ``table-response``, ``table-subgroups``.
The audit sections (side by side, provenance) are in :mod:`analysis.sections_audit`.
"""
from __future__ import annotations

import base64
from pathlib import Path

import pandas as pd

from harmonise.analysis import present
from harmonise.analysis.page import Cell, FigureGroup, Figures, Panel, Paragraph, Row, Section, Table, Tables
from harmonise.analysis.results import Results

MISSING = present.MISSING


def date_words(x) -> str:
    """``25 May 2024``; ``–`` when missing."""
    if present.is_missing(x):
        return MISSING
    return pd.Timestamp(x).strftime("%d %B %Y").lstrip("0")


def header_meta(res: Results, patients=None) -> tuple:
    """The header's (key, value) lines; ``patients``: their number as shown (default all)."""
    plan = res.labels.plan
    centers = ", ".join(res.centers) or MISSING
    axis = plan.time_axis[:1].lower() + plan.time_axis[1:]
    citation = (res.published_source or {}).get("citation", "")
    return (
        ("Data cut-off", date_words(res.cutoff)),
        ("Generated", res.generated_at.strftime("%Y-%m-%d %H:%M UTC")),
        ("Patients", f"{present.count(len(res.patients) if patients is None else patients)} from "
                     f"{res.patients['center_id'].nunique()} "
                     f"centers ({centers})"),
        ("95% CI", f"{present.TRANSFORM_TEXT[res.transform]} for Kaplan-Meier bands and "
                   "median CIs; Clopper-Pearson exact for ORR/DCR; Wald for hazard ratios"),
        ("Time", f"{axis} (months = days / {plan.days_per_month:g})"),
    ) + ((("Reference study", citation),) if citation else ())


def survival(res: Results) -> Section:
    words = res.labels.endpoint
    rows = [[words(r["endpoint"]), present.count(r["n"]),
             present.count(r["events"]),
             present.median_ci(r["median"], r["median_lower"], r["median_upper"], n=r["n"])]
            for _, r in res.km_all.iterrows()]
    surv = Table.build("table-survival", ["Endpoint", "Patients", "Events",
                                          "Median, months (95% CI)"], rows, numeric=(1, 2),
                       caption="Median survival, all patients (Kaplan-Meier)")
    lm = [[words(r["endpoint"]), present.general(r["time"]),
           present.percent_ci(r["survival"], r["lower"], r["upper"]), present.count(r["at_risk"])]
          for _, r in res.landmarks.iterrows()]
    land = Table.build("table-landmarks", ["Endpoint", "Month", "Event-free, % (95% CI)",
                                           "Still at risk"], lm, numeric=(1, 3),
                       caption="Landmark rates, all patients (Kaplan-Meier)")
    f = res.followup.iloc[0]
    fu_ci = present.median_ci(f["median"], f["median_lower"], f["median_upper"], n=f["n"])
    fu = (f"Median follow-up: {fu_ci}{' months (95% CI)' if fu_ci != MISSING else ''}"
          f", reverse Kaplan-Meier method ({present.count(f['censored'])} of "
          f"{present.count(f['n'])} patients censored for "
          f"{words(res.labels.plan.followup).lower()}).")
    return Section("survival", "Survival of all patients", "Survival of all patients", "tables",
                   Tables((surv, land, Paragraph(fu, id="followup", note=False))))


def _caption(res: Results, fig) -> str:
    """Medians (and p-values) of one panel in words: the plot's numbers, readable as text."""
    curves = res.figures.curves[res.figures.curves["key"] == fig["key"]]

    def median(c):
        text = present.median_ci(c["median"], c["median_lower"], c["median_upper"], n=c["n"])
        return text if text == MISSING else text + " months"

    medians = "; ".join(f"{c['group']}: n = {present.count(c['n'])}, "
                        f"{present.events(c['events'])}, median {median(c)}"
                        for _, c in curves.iterrows())
    cmp = res.comparisons
    sel = cmp[(cmp["comparison"] == fig["comparison"]) & (cmp["endpoint"] == fig["endpoint"])]
    if sel.empty:
        return f"Median (95% CI): {medians}."
    r = sel.iloc[0]
    return (f"Median (95% CI): {medians}. Log-rank {present.p_text(r['p'])}; stratified "
            f"by center {present.p_text(r['strat_p'])}.")


def figures(res: Results, fig_dir: Path, titles: dict[int, str]) -> Section:
    """One group per figure number (titles from the plan), one panel per SVG."""
    groups = []
    numbers = sorted(res.figures.figures["figure"].unique())
    for number, part in res.figures.figures.groupby("figure", sort=True):
        panels = tuple(
            Panel(f["key"], f["title"], _caption(res, f), base64.b64encode(
                (fig_dir / Path(f["file"]).with_suffix(".svg").name).read_bytes()).decode())
            for _, f in part.iterrows())
        groups.append(FigureGroup(f"figure{number}",
                                  f"Figure {number}. {titles.get(int(number), '')}", panels))
    span = (f"Figure {numbers[0]}" if len(numbers) == 1
            else f"Figures {numbers[0]}\u2013{numbers[-1]}") if numbers else "Figures"
    intro = ("Steps: Kaplan-Meier estimates; vertical ticks: censored patients; shaded "
             "bands: pointwise 95% CI; under each plot, per group, the numbers at risk, "
             "censored and with an event up to each time (KMunicate); p-values: log-rank "
             "test and log-rank test stratified by center; HR: hazard ratio with 95% CI from "
             "a Cox model stratified by center. Each panel is also in figures/ as SVG (and "
             "as PNG at 300 dpi when the project's report.figure_formats asks for it).")
    return Section("figures", f"{span}: Kaplan-Meier curves", span, "figures",
                   Figures(intro, tuple(groups)))


def table1(res: Results) -> Section:
    """Table 1: one column per code of the plan's ``table1.columns`` (its label as a tooltip
    and in the legend under the table), plus Total."""
    plan, display = res.labels.plan, res.table1
    column = plan.table1.columns
    derived = plan.derived_column(column)
    words = ({str(lv.code): lv.label for lv in derived.levels} if derived is not None
             else res.ref_labels.get(column, {}))
    head = [Cell("Characteristic")]
    for col in display.columns:
        code, _, n = str(col).partition(" (n=")
        head.append(Cell(code, title=words.get(code, code), sub=f"n={n.rstrip(')')}")
                    if n else Cell(str(col)))
    rows, last = [], None
    for (section, item), values in display.iterrows():
        if section != last:
            rows.append(Row.section(section))
            last = section
        rows.append([present.item_label(section, item)]
                    + [v if str(v) != "" else MISSING for v in values])
    legend = "; ".join(f"{code}, {label}" for code, label in words.items() if label != code
                       and any(str(c).startswith(code + " ") for c in display.columns))
    note = ("Counts of patients; Total column: n (% of all patients). Summaries: median and "
            "range." + (f" {legend}." if legend else ""))
    by = derived.label if derived is not None else column.replace("_", " ")
    return Section("table1", f"Table 1. Patient characteristics by {by.lower()}",
                   "Table 1. Patient characteristics", "tables", Tables((
                       Table.build("table-1", head, rows, numeric=range(1, len(head))),
                       Paragraph(note))))


def table2(res: Results) -> Section:
    t2 = res.table2
    rows = [[label] + list(values) for label, values in t2.iterrows()]
    note = "Patients counted once per event at their worst CTCAE 5.0 grade; percentages of all patients."
    return Section("table2", "Table 2. Adverse events", "Table 2. Adverse events", "tables",
                   Tables((Table.build("table-2", ["Adverse event"] + list(t2.columns), rows,
                                       numeric=range(1, len(t2.columns) + 1)),
                           Paragraph(note))))


def response(res: Results) -> Section:
    rows, last = [], None
    for _, r in res.response.iterrows():
        if r["grouping"] != last and r["grouping"] != "All patients":
            rows.append(Row.section(r["grouping"]))
        last = r["grouping"]
        rows.append([r["label"], present.count(r["n"])]
                    + [present.count(r[c]) for c in ("CR", "PR", "SD", "PD", "NE")]
                    + [present.percent_ci(r["orr"], r["orr_lower"], r["orr_upper"]),
                       present.percent_ci(r["dcr"], r["dcr_lower"], r["dcr_upper"])])
    head = ["Group", "Patients", "CR", "PR", "SD", "PD", "Not evaluable",
            "ORR, % (95% CI)", "DCR, % (95% CI)"]
    note = ("RECIST 1.1 best overall response: CR complete response, PR partial response, SD "
            "stable disease, PD progressive disease. ORR = (CR + PR) / patients, DCR = (CR + "
            "PR + SD) / patients; exact Clopper-Pearson 95% CI.")
    return Section("response", "Best overall response, ORR and DCR",
                   "Best response, ORR and DCR", "tables",
                   Tables((Table.build("table-response", head, rows, numeric=range(1, 9)),
                           Paragraph(note))))


def subgroups(res: Results) -> Section:
    rows = []
    for (_, endpoint), part in res.comparisons.groupby(["comparison", "endpoint"], sort=False):
        first = part.iloc[0]
        chi = f"\u03c7\u00b2 = {present.num(first['chi2'], 2)}, df {first['df']}"
        strat = f"\u03c7\u00b2 = {present.num(first['strat_chi2'], 2)}, df {first['strat_df']}"
        label, population = first["comparison_label"], first["population_label"]
        said = population.lower() in label.lower()          # "(all patients)" said once
        rows.append(Row.section(
            f"{res.labels.endpoint(endpoint)}: {label}"
            f"{'' if said else f' (population: {population})'}. Log-rank {chi}, "
            f"{present.p_text(first['p'])}; stratified by center {strat}, "
            f"{present.p_text(first['strat_p'])}. Reference: "
            f"{part.loc[part['is_reference'], 'group_label'].iloc[0]}."))
        for _, r in part.iterrows():
            rows.append([r["group_label"], present.count(r["n"]), present.count(r["events"]),
                         present.num(r["expected"], 1), present.num(r["o_e_ratio"], 2),
                         present.median_ci(r["median"], r["median_lower"], r["median_upper"],
                                           n=r["n"]),
                         present.hazard_ratio(r["hr"], r["hr_lower"], r["hr_upper"],
                                              reference=bool(r["is_reference"]),
                                              note=r["hr_note"] or ""),
                         present.p_value(r["hr_p"]) if not r["is_reference"] else MISSING])
    head = ["Group", "Patients", "Events (observed)", "Expected events", "O/E",
            "Median, months (95% CI)", "Hazard ratio (95% CI)", "HR p (Wald)"]
    note = ("Expected events under equal survival (log-rank); O/E = observed / expected. "
            "Hazard ratios from a Cox model stratified by center (Efron ties, Wald 95% CI) "
            "versus the reference group. NR = not reached.")
    return Section("subgroups", "Subgroup comparisons", "Subgroup comparisons", "tables",
                   Tables((Table.build("table-subgroups", head, rows, numeric=(1, 2, 3, 4, 7)),
                           Paragraph(note))))
