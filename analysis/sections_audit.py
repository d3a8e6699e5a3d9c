"""The report's audit sections as typed page parts (:mod:`analysis.page`): the side by
side with the published study and the data provenance.

Stable element ids: ``table-paper``, ``paper-summary``, ``table-provenance-centers``,
``table-provenance-files``, ``table-quarantine-counts``, ``table-quality-changes``,
``table-duplicates``, ``table-quarantine``.
"""
from __future__ import annotations

import pandas as pd

from harmonise.analysis import present
from harmonise.analysis.page import Cell, Paragraph, Row, Section, Table, Tables
from harmonise.analysis.results import Results

MISSING = present.MISSING
QUARANTINE_ROWS_SHOWN = 200
GOOD = ("match", "consistent", "same side of 0.05", "both NR")
BAD = ("mismatch", "not consistent", "other side of 0.05")


def _time(x) -> str:
    return MISSING if present.is_missing(x) else pd.Timestamp(x).strftime("%Y-%m-%d %H:%M:%S")


def _difference(r) -> str:
    d = r["difference"]
    if present.is_missing(d):
        return MISSING
    digits = {"count": 0, "range": 0, "p-value": 3}.get(r["kind"], 1)
    unit = {"rate": " pp", "median": " mo"}.get(r["kind"], "")
    if round(abs(d), digits) == 0:
        return "0"
    return f"{d:+.{digits}f}{unit}".replace("-", "\u2212")


def paper(res: Results, *, errata: str) -> Section:
    """Every published number beside ours; ``errata``: where the corrections are listed."""
    sbs = res.paper
    counts = sbs[sbs["kind"] == "count"]
    matched = int((counts["status"] == "match").sum())
    rows, last = [], None
    for _, r in sbs.iterrows():
        if r["section"] != last:
            rows.append(Row.section(r["section"]))
            last = r["section"]
        css = "ok" if r["status"] in GOOD else "bad" if r["status"] in BAD else ""
        rows.append([r["item"], r["method"], r["published_text"], r["ours_text"],
                     _difference(r), Cell(r["status"] or "", css=css), r["note"]])
    summary = (f"{matched} of {len(counts)} published counts match exactly"
               + ("." if matched == len(counts) else f"; {len(counts) - matched} do not."))
    src = res.published_source or {}
    text = (f"Published numbers: {src.get('citation', '')} (doi {src.get('doi', '')}), "
            f"transcribed with the corrections listed in {errata}. Counts must match exactly; "
            "medians, rates and p-values are reported with their difference (ours \u2212 "
            "published), not forced. Where the paper's landmark rates are exactly k/N they "
            "look like crude proportions, so both our Kaplan-Meier estimate and the crude "
            "proportion are shown.")
    return Section("paper", "Side by side with the published study",
                   "Side by side with the published study", "tables", Tables((
                       Paragraph(text, id="paper-summary", strong=summary, note=False),
                       Table.build("table-paper", ["Item", "Method (ours)", "Published", "Ours",
                                                   "Difference", "Status", "Note"], rows,
                                   numeric=(2, 3, 4)))))


def provenance(res: Results, *, shareable: bool = False) -> Section:
    """Where the data came from; ``shareable``: without the row-level audit detail (files,
    quality history, quarantined records), which stays in the study team's report."""
    p = res.provenance
    crow = [[r["center_id"], r["status"], _time(r["finished_at"]), present.count(r["files"]),
             present.count(r["rows_read"]), present.count(r["rows_loaded"]),
             present.count(r["rows_quarantined"]), present.count(r["patients_in_report"]),
             present.count(r["attempts"]), r["message"]] for _, r in p.centers.iterrows()]
    ctab = Table.build("table-provenance-centers", [
        "Center", "Last attempt", "Finished", "Files", "Rows read", "Rows loaded",
        "Rows quarantined", "Patients in this report", "Attempts recorded", "Message"],
        crow, numeric=(3, 4, 5, 6, 7, 8), caption="Last load attempt per center")
    frow = [[r["center_id"], ("last attempt" if r["is_last_attempt"] else "earlier attempt")
             + ("; data in this report" if r["is_data_in_report"] else ""), r["status"],
             r["file_name"], Cell(str(r["file_sha256"]), code=True),
             _time(r["started_at"]), present.count(r["rows_read"]),
             present.count(r["rows_loaded"]), present.count(r["rows_quarantined"])]
            for _, r in p.files.iterrows()]
    ftab = Table.build("table-provenance-files", [
        "Center", "Attempt", "Status", "File", "sha256", "Load started", "Rows read",
        "Rows loaded", "Rows quarantined"], frow, numeric=(6, 7, 8),
        caption="Files of the last attempt (and of the last successful load when different)")
    qrow = [[r["center_id"], r["table_name"], r["check_name"], present.count(r["records"]),
             present.count(r["source_rows"]), r["example_reason"]]
            for _, r in p.quarantine_counts.iterrows()]
    qtab = Table.build("table-quarantine-counts", ["Center", "Table", "Check", "Records",
                                                   "Source rows", "Example reason"],
                       qrow or [Row.section("No quarantined rows.")], numeric=(3, 4),
                       caption="Quarantine by center and check")
    q = p.quarantine
    shown = q.head(QUARANTINE_ROWS_SHOWN)
    rrow = [[r["center_id"], r["source_file"], present.count(r["source_row"]),
             r["source_column"] if not present.is_missing(r["source_column"]) else r["column_name"],
             r["check_name"], r["failed_value"], r["reason"]] for _, r in shown.iterrows()]
    more = (f" Showing the first {QUARANTINE_ROWS_SHOWN} of {len(q)}; all are in "
            "numbers/quarantine.csv." if len(q) > QUARANTINE_ROWS_SHOWN else "")
    rtab = Table.build("table-quarantine", ["Center", "File", "Row", "Column", "Check",
                                            "Value", "Reason"],
                       rrow or [Row.section("No quarantined rows.")], numeric=(2,),
                       caption="Quarantined records" + more)
    changes = p.quality_changes
    chrow = [[r["center_id"], Cell(r["change"], css="bad" if r["change"] == "new" else
                                   "ok" if r["change"] == "resolved" else ""),
              r["table_name"], _column(r), r["rule"], present.count(r["rows_now"]),
              present.count(r["rows_before"]), _time(r["first_seen_at"])]
             for _, r in changes.iterrows()]
    chtab = Table.build("table-quality-changes", ["Center", "Change", "Table", "Column", "Rule",
                                                  "Rows now", "Rows before", "First seen"],
                        chrow or [Row.section("No quarantine findings in the last two runs.")],
                        numeric=(5, 6), caption="Data quality since each center's previous run: "
                        "new, persisting and resolved quarantine findings (export rows)")
    intro = ("From the warehouse audit trail (load_log) and the quarantine table. Quarantined "
             "rows were not loaded and are not in any number above.")
    return Section("provenance", "Data provenance", "Data provenance", "tables",
                   Tables((Paragraph(intro), ctab, qtab, *duplicates(res)) if shareable else
                          (Paragraph(intro), ctab, ftab, qtab, chtab, *duplicates(res), rtab)))


def duplicates(res: Results) -> tuple:
    """Likely the same patients at two centers (the flag of ``harmonise status``): per pair."""
    pairs = res.provenance.duplicates
    rows = [[r["center_id"], r["other_center_id"], present.count(r["patients"])]
            for _, r in pairs.iterrows()]
    table = Table.build("table-duplicates", ["Center", "Other center", "Patients"],
                        rows or [Row.section("No patient has the same fingerprint at two "
                                             "centers.")], numeric=(2,),
                        caption="Likely the same patients at two centers")
    note = Paragraph("Patients whose keyed fingerprint of quasi-identifiers (the project's "
                     "safety.duplicate_fields; by default sex, age, histology and the month "
                     "treatment started) is the same at two centers: likely one person, counted "
                     "at both in every number above. Check with the two centers' data managers; "
                     "the fix belongs in the exports (one center leaves the patient out).",
                     id="duplicates-note")
    return table, note


def _column(r) -> str:
    source, canonical = r["source_column"], r["column_name"]
    if present.is_missing(source):
        return "" if present.is_missing(canonical) else canonical
    if present.is_missing(canonical) or source == canonical:
        return source
    return f"{source} ({canonical})"
