"""HTML assembly of the study report: one self-contained page, no script, no external URL.

Every value from the warehouse goes through :func:`esc` (``html.escape``); numbers through
:mod:`analysis.present`, so no Python value (``nan``, ``None``, ``True``) reaches the page.
Stable element ids: ``fig1a_pfs_all`` ... (one ``<figure>`` per panel, see
:data:`analysis.figures.FIGURES`), ``table-survival``, ``table-landmarks``, ``table-1``,
``table-2``, ``table-response``, ``table-subgroups``, ``table-paper``,
``table-provenance-centers``, ``table-provenance-files``, ``table-quarantine-counts``,
``table-quarantine``.
"""
from __future__ import annotations

import base64
import html
from pathlib import Path

import pandas as pd

from harmonise.analysis import present
from harmonise.analysis.figures import FIGURE_TITLES

TITLE = "Immunotherapy-based therapy in metastatic soft tissue sarcoma: pooled analysis"
QUARANTINE_ROWS_SHOWN = 200
CSS = """
body{font-family:"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:#1d1d1d;
 margin:0 auto;max-width:1400px;padding:0 24px 48px;line-height:1.45;background:#fff}
header{border-bottom:3px solid #0072B2;padding:18px 0 10px;margin-bottom:8px}
h1{font-size:1.6em;margin:0 0 4px}h2{font-size:1.3em;margin:34px 0 8px;
 border-bottom:1px solid #ccc;padding-bottom:3px}h3{font-size:1.08em;margin:22px 0 6px}
.meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:10px 0;
 font-size:.95em}.meta dt{font-weight:600}.meta dd{margin:0}
nav ol{columns:2;font-size:.95em}nav a{color:#0061a0}
table{border-collapse:collapse;margin:8px 0 6px;font-size:.86em}
th,td{border:1px solid #d4d4d4;padding:3px 7px;vertical-align:top}
th{background:#eef3f8;text-align:left}td.n{text-align:right;white-space:nowrap}
tr.sec td{background:#f5f5f5;font-weight:600}tbody tr:hover td{background:#fbfbe8}
caption{caption-side:top;text-align:left;font-weight:600;padding:4px 0}
.note{font-size:.86em;color:#444;max-width:1100px}.ok{color:#1a7f37;font-weight:600}
.bad{color:#c62828;font-weight:600}code{font-size:.82em;white-space:nowrap}
.figs{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:18px}
figure{margin:0;border:1px solid #e2e2e2;padding:6px;break-inside:avoid}
figure img{width:100%;height:auto;display:block}figcaption{font-size:.84em;color:#333}
@media print{body{max-width:none}.figs{grid-template-columns:1fr 1fr}h2{break-before:page}}
"""


class Raw(str):
    """Markup built here from escaped parts: inserted as is."""


def esc(x) -> str:
    """Escaped text of any value (missing -> en dash)."""
    if isinstance(x, Raw):
        return x
    return html.escape(present.MISSING if present.is_missing(x) else str(x), quote=True)


def table(id_: str, head: list, rows: list, *, caption: str = "", numeric=()) -> str:
    """A table; a row ``("section", text)`` spans all columns; ``numeric`` = right-aligned
    column indexes."""
    out = [f'<table id="{esc(id_)}">']
    if caption:
        out.append(f"<caption>{esc(caption)}</caption>")
    out.append("<thead><tr>" + "".join(f"<th>{esc(h)}</th>" for h in head) + "</tr></thead><tbody>")
    for row in rows:
        if isinstance(row, tuple) and row and row[0] == "section":
            out.append(f'<tr class="sec"><td colspan="{len(head)}">{esc(row[1])}</td></tr>')
            continue
        out.append("<tr>" + "".join(
            f'<td class="n">{esc(c)}</td>' if i in numeric else f"<td>{esc(c)}</td>"
            for i, c in enumerate(row)) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def _date(x) -> str:
    if present.is_missing(x):
        return present.MISSING
    return pd.Timestamp(x).strftime("%d %B %Y").lstrip("0")


def _time(x) -> str:
    return present.MISSING if present.is_missing(x) else pd.Timestamp(x).strftime(
        "%Y-%m-%d %H:%M:%S")


def header(data: dict) -> str:
    centers = ", ".join(sorted(data["patients"]["center_id"].unique())) or present.MISSING
    src = data.get("published_source") or {}
    items = [
        ("Data cut-off", _date(data["cutoff"])),
        ("Generated", data["generated_at"].strftime("%Y-%m-%d %H:%M UTC")),
        ("Patients", f"{len(data['patients'])} from {data['patients']['center_id'].nunique()} "
                     f"centers ({centers})"),
        ("95% CI", f"{present.TRANSFORM_TEXT[data['transform']]} for Kaplan-Meier bands and "
                   "median CIs; Clopper-Pearson exact for ORR/DCR; Wald for hazard ratios"),
        ("Time", "months since start of immunotherapy-based therapy (months = days / 30.4375)"),
        ("Reference study", src.get("citation", present.MISSING)),
    ]
    meta = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in items)
    if data["patients"].empty:
        meta += ("<dt>Warning</dt><dd class=\"bad\">No patient is loaded in the warehouse: "
                 "see Data provenance.</dd>")
    return (f'<header id="header"><h1>{esc(TITLE)}</h1>'
            f"<p>The analyses of the reference study, recomputed on the pooled, harmonised "
            f"data of the warehouse.</p><dl class=\"meta\">{meta}</dl></header>")


def contents(data: dict) -> str:
    links = [("survival", "Survival of all patients"), ("figures", "Figures 1\u20134"),
             ("table1", "Table 1. Patient characteristics"), ("table2", "Table 2. Adverse events"),
             ("response", "Best response, ORR and DCR"), ("subgroups", "Subgroup comparisons")]
    if data["paper"] is not None:
        links.append(("paper", "Side by side with the published study"))
    links.append(("provenance", "Data provenance"))
    return "<nav><ol>" + "".join(f'<li><a href="#{k}">{esc(v)}</a></li>'
                                 for k, v in links) + "</ol></nav>"


def survival_section(data: dict) -> str:
    rows = [[present.ENDPOINT_NAMES[r["endpoint"]], present.count(r["n"]),
             present.count(r["events"]),
             present.median_ci(r["median"], r["median_lower"], r["median_upper"], n=r["n"])]
            for _, r in data["km_all"].iterrows()]
    surv = table("table-survival", ["Endpoint", "Patients", "Events",
                                    "Median, months (95% CI)"], rows, numeric=(1, 2),
                 caption="Median survival, all patients (Kaplan-Meier)")
    lm = [[present.ENDPOINT_NAMES[r["endpoint"]], present.general(r["time"]),
           present.percent_ci(r["survival"], r["lower"], r["upper"]), present.count(r["at_risk"])]
          for _, r in data["landmarks"].iterrows()]
    land = table("table-landmarks", ["Endpoint", "Month", "Event-free, % (95% CI)",
                                     "Still at risk"], lm, numeric=(1, 3),
                 caption="Landmark rates, all patients (Kaplan-Meier)")
    f = data["followup"].iloc[0]
    fu_ci = present.median_ci(f["median"], f["median_lower"], f["median_upper"], n=f["n"])
    fu = (f"Median follow-up: {fu_ci}{' months (95% CI)' if fu_ci != present.MISSING else ''}"
          f", reverse Kaplan-Meier method ({present.count(f['censored'])} of "
          f"{present.count(f['n'])} patients censored for overall survival).")
    return (f'<section id="survival"><h2>Survival of all patients</h2>{surv}{land}'
            f'<p id="followup">{esc(fu)}</p></section>')


def _caption(data: dict, fig) -> str:
    """Medians (and p-values) of one panel in words: the plot's numbers, readable as text."""
    curves = data["figure_curves"][data["figure_curves"]["key"] == fig["key"]]
    def median(c):
        text = present.median_ci(c["median"], c["median_lower"], c["median_upper"], n=c["n"])
        return text if text == present.MISSING else text + " months"

    medians = "; ".join(f"{c['group']}: n = {present.count(c['n'])}, "
                        f"{present.count(c['events'])} events, median {median(c)}"
                        for _, c in curves.iterrows())
    res = data["comparisons"]
    sel = res[(res["comparison"] == fig["comparison"]) & (res["endpoint"] == fig["endpoint"])]
    if sel.empty:
        return f"Median (95% CI): {medians}."
    r = sel.iloc[0]
    return (f"Median (95% CI): {medians}. Log-rank p = {present.p_value(r['p'])}; stratified "
            f"by center p = {present.p_value(r['strat_p'])}.").replace("p = <", "p < ")


def figures_section(data: dict, fig_dir: Path) -> str:
    figs = data["figure_figures"]
    out = ['<section id="figures"><h2>Figures 1\u20134: Kaplan-Meier curves</h2>'
           '<p class="note">Steps: Kaplan-Meier estimates; vertical ticks: censored patients; '
           "shaded band (Figure 1): pointwise 95% CI; numbers at risk under each plot; "
           "p-values: log-rank test and log-rank test stratified by center.</p>"]
    for number, part in figs.groupby("figure", sort=True):
        out.append(f'<h3 id="figure{number}">Figure {number}. '
                   f"{esc(FIGURE_TITLES.get(number, ''))}</h3><div class=\"figs\">")
        for _, f in part.iterrows():
            png = base64.b64encode((fig_dir / Path(f["file"]).name).read_bytes()).decode()
            out.append(f'<figure id="{esc(f["key"])}"><img alt="{esc(f["title"])}" '
                       f'src="data:image/png;base64,{png}"><figcaption>'
                       f"<strong>{esc(f['title'])}.</strong> {esc(_caption(data, f))}"
                       "</figcaption></figure>")
        out.append("</div>")
    return "\n".join(out) + "</section>"


def table1_section(data: dict) -> str:
    display, hist = data["table1"], data["ref_labels"]["histology"]
    head = ["Characteristic"]
    for col in display.columns:
        code, _, n = str(col).partition(" (n=")
        head.append(Raw(f'<abbr title="{esc(hist.get(code, code))}">{esc(code)}</abbr>'
                        f"<br>n={esc(n.rstrip(')'))}" if n else esc(col)))
    rows, last = [], None
    for (section, item), values in display.iterrows():
        if section != last:
            rows.append(("section", section))
            last = section
        item = present.item_label(section, item)
        rows.append([item] + [v if str(v) != "" else present.MISSING for v in values])
    legend = "; ".join(f"{code}, {label}" for code, label in hist.items() if any(
        str(c).startswith(code + " ") for c in display.columns))
    return ('<section id="table1"><h2>Table 1. Patient characteristics by histology</h2>'
            + table("table-1", head, rows, numeric=tuple(range(1, len(head))))
            + f'<p class="note">Counts of patients; Total column: n (% of all patients). Age '
              f"and prior lines: median and range. {esc(legend)}.</p></section>")


def table2_section(data: dict) -> str:
    t2 = data["table2"]
    rows = [[label] + list(values) for label, values in t2.iterrows()]
    return ('<section id="table2"><h2>Table 2. Adverse events</h2>'
            + table("table-2", ["Adverse event"] + list(t2.columns), rows,
                    numeric=tuple(range(1, len(t2.columns) + 1)))
            + '<p class="note">Patients counted once per event at their worst CTCAE 5.0 '
              "grade; percentages of all patients.</p></section>")


def response_section(data: dict) -> str:
    rows, last = [], None
    for _, r in data["response"].iterrows():
        if r["grouping"] != last and r["grouping"] != "All patients":
            rows.append(("section", r["grouping"]))
        last = r["grouping"]
        rows.append([r["label"], present.count(r["n"])]
                    + [present.count(r[c]) for c in ("CR", "PR", "SD", "PD", "NE")]
                    + [present.percent_ci(r["orr"], r["orr_lower"], r["orr_upper"]),
                       present.percent_ci(r["dcr"], r["dcr_lower"], r["dcr_upper"])])
    head = ["Group", "Patients", "CR", "PR", "SD", "PD", "Not evaluable",
            "ORR, % (95% CI)", "DCR, % (95% CI)"]
    return ('<section id="response"><h2>Best overall response, ORR and DCR</h2>'
            + table("table-response", head, rows, numeric=tuple(range(1, 9)))
            + '<p class="note">RECIST 1.1 best overall response: CR complete response, PR '
              "partial response, SD stable disease, PD progressive disease. ORR = (CR + PR) / "
              "patients, DCR = (CR + PR + SD) / patients; exact Clopper-Pearson 95% CI."
              "</p></section>")


def subgroup_section(data: dict) -> str:
    rows = []
    res = data["comparisons"]
    for (name, endpoint), part in res.groupby(["comparison", "endpoint"], sort=False):
        first = part.iloc[0]
        chi = f"\u03c7\u00b2 = {present.num(first['chi2'], 2)}, df {first['df']}"
        strat = f"\u03c7\u00b2 = {present.num(first['strat_chi2'], 2)}, df {first['strat_df']}"
        rows.append(("section",
                     f"{present.ENDPOINT_NAMES[endpoint]}: {first['comparison_label']} "
                     f"(population: {first['population_label']}). Log-rank {chi}, p = "
                     f"{present.p_value(first['p'])}; stratified by center {strat}, p = "
                     f"{present.p_value(first['strat_p'])}. Reference: "
                     f"{part.loc[part['is_reference'], 'group_label'].iloc[0]}."))
        for _, r in part.iterrows():
            rows.append([r["group_label"], present.count(r["n"]), present.count(r["events"]),
                         present.num(r["expected"], 1), present.num(r["o_e_ratio"], 2),
                         present.median_ci(r["median"], r["median_lower"], r["median_upper"],
                                           n=r["n"]),
                         present.hazard_ratio(r["hr"], r["hr_lower"], r["hr_upper"],
                                              reference=bool(r["is_reference"]),
                                              note=r["hr_note"] or ""),
                         present.p_value(r["hr_p"]) if not r["is_reference"] else present.MISSING])
    head = ["Group", "Patients", "Events (observed)", "Expected events", "O/E",
            "Median, months (95% CI)", "Hazard ratio (95% CI)", "HR p (Wald)"]
    return ('<section id="subgroups"><h2>Subgroup comparisons</h2>'
            + table("table-subgroups", head, rows, numeric=(1, 2, 3, 4, 7))
            + '<p class="note">Expected events under equal survival (log-rank); O/E = observed '
              "/ expected. Hazard ratios from a Cox model stratified by center (Efron ties, "
              "Wald 95% CI) versus the reference group. NR = not reached.</p></section>")


def _difference(r) -> str:
    d = r["difference"]
    if present.is_missing(d):
        return present.MISSING
    digits = {"count": 0, "range": 0, "p-value": 3}.get(r["kind"], 1)
    unit = {"rate": " pp", "median": " mo"}.get(r["kind"], "")
    if round(abs(d), digits) == 0:
        return "0"
    return f"{d:+.{digits}f}{unit}".replace("-", "\u2212")


def paper_section(data: dict) -> str:
    sbs = data["paper"]
    counts = sbs[sbs["kind"] == "count"]
    matched = int((counts["status"] == "match").sum())
    rows, last = [], None
    for _, r in sbs.iterrows():
        if r["section"] != last:
            rows.append(("section", r["section"]))
            last = r["section"]
        cls = ("ok" if r["status"] in ("match", "consistent", "same side of 0.05", "both NR")
               else "bad" if r["status"] in ("mismatch", "not consistent", "other side of 0.05")
               else "")
        status = Raw(f'<span class="{cls}">{esc(r["status"])}</span>') if r["status"] else ""
        rows.append([r["item"], r["method"], r["published_text"], r["ours_text"],
                     _difference(r), status, r["note"]])
    summary = (f"{matched} of {len(counts)} published counts match exactly"
               + ("." if matched == len(counts) else f"; {len(counts) - matched} do not."))
    src = data.get("published_source") or {}
    return ('<section id="paper"><h2>Side by side with the published study</h2>'
            f'<p id="paper-summary"><strong>{esc(summary)}</strong> Published numbers: '
            f"{esc(src.get('citation', ''))} (doi {esc(src.get('doi', ''))}), transcribed with "
            "the corrections listed in demo/ERRATA.md. Counts must match exactly; medians, "
            "rates and p-values are reported with their difference (ours \u2212 published), "
            "not forced. Where the paper's landmark rates are exactly k/79 they look like "
            "crude proportions, so both our Kaplan-Meier estimate and the crude proportion "
            "are shown.</p>"
            + table("table-paper", ["Item", "Method (ours)", "Published", "Ours", "Difference",
                                    "Status", "Note"], rows, numeric=(2, 3, 4))
            + "</section>")


def provenance_section(data: dict) -> str:
    c, f = data["provenance_centers"], data["provenance_files"]
    qc, q = data["provenance_quarantine_counts"], data["provenance_quarantine"]
    crow = [[r["center_id"], r["status"], _time(r["finished_at"]), present.count(r["files"]),
             present.count(r["rows_read"]), present.count(r["rows_loaded"]),
             present.count(r["rows_quarantined"]), present.count(r["patients_in_report"]),
             present.count(r["attempts"]), r["message"]] for _, r in c.iterrows()]
    ctab = table("table-provenance-centers", [
        "Center", "Last attempt", "Finished", "Files", "Rows read", "Rows loaded",
        "Rows quarantined", "Patients in this report", "Attempts recorded", "Message"],
        crow, numeric=(3, 4, 5, 6, 7, 8), caption="Last load attempt per center")
    frow = [[r["center_id"], ("last attempt" if r["is_last_attempt"] else "earlier attempt")
             + ("; data in this report" if r["is_data_in_report"] else ""), r["status"],
             r["file_name"], Raw(f"<code>{esc(r['file_sha256'])}</code>"),
             _time(r["started_at"]), present.count(r["rows_read"]),
             present.count(r["rows_loaded"]), present.count(r["rows_quarantined"])]
            for _, r in f.iterrows()]
    ftab = table("table-provenance-files", [
        "Center", "Attempt", "Status", "File", "sha256", "Load started", "Rows read",
        "Rows loaded", "Rows quarantined"], frow, numeric=(6, 7, 8),
        caption="Files of the last attempt (and of the last successful load when different)")
    qrow = [[r["center_id"], r["table_name"], r["check_name"], present.count(r["records"]),
             present.count(r["source_rows"]), r["example_reason"]] for _, r in qc.iterrows()]
    qtab = table("table-quarantine-counts", ["Center", "Table", "Check", "Records",
                                             "Source rows", "Example reason"],
                 qrow or [("section", "No quarantined rows.")], numeric=(3, 4),
                 caption="Quarantine by center and check")
    shown = q.head(QUARANTINE_ROWS_SHOWN)
    rrow = [[r["center_id"], r["source_file"], present.count(r["source_row"]),
             r["source_column"] if not present.is_missing(r["source_column"]) else r["column_name"],
             r["check_name"], r["failed_value"], r["reason"]] for _, r in shown.iterrows()]
    more = (f" Showing the first {QUARANTINE_ROWS_SHOWN} of {len(q)}; all are in "
            "numbers/quarantine.csv." if len(q) > QUARANTINE_ROWS_SHOWN else "")
    rtab = table("table-quarantine", ["Center", "File", "Row", "Column", "Check",
                                      "Value", "Reason"],
                 rrow or [("section", "No quarantined rows.")], numeric=(2,),
                 caption="Quarantined records" + more)
    return ('<section id="provenance"><h2>Data provenance</h2>'
            '<p class="note">From the warehouse audit trail (load_log) and the quarantine '
            "table. Quarantined rows were not loaded and are not in any number above.</p>"
            + ctab + ftab + qtab + rtab + "</section>")


def render(data: dict, fig_dir: Path) -> str:
    """The whole page."""
    parts = [header(data), contents(data), survival_section(data),
             figures_section(data, fig_dir), table1_section(data), table2_section(data),
             response_section(data), subgroup_section(data)]
    if data["paper"] is not None:
        parts.append(paper_section(data))
    parts.append(provenance_section(data))
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{esc(TITLE)}</title><style>{CSS}</style></head><body>\n"
            + "\n".join(parts) + "\n</body></html>\n")
