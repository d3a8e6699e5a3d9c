"""The patient-flow diagram (CONSORT/STROBE style) of the report: drawn from the pipeline's own
counts, inline in report.html and as figures/attrition.svg, and the same numbers as its table."""
from __future__ import annotations

import csv
import html
import re
from pathlib import Path

import duckdb
import pytest

from harmonise.analysis.report import write_report
from harmonise.flows.settings import DEMO_INBOX


def _diagram_texts(svg: str) -> list[str]:
    return [html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]


def _inline_diagram(report: Path) -> str:
    text = report.read_text(encoding="utf-8")
    return text.split('<svg id="attrition-diagram"', 1)[1].split("</svg>", 1)[0]


def _expected(con: duckdb.DuckDBPyConnection) -> dict:
    """Every count the diagram must show, computed here from the warehouse."""
    last = """SELECT center_id, count(file_name), sum(rows_read), sum(rows_quarantined)
              FROM load_log WHERE (center_id, run_id) IN
                   (SELECT center_id, max(run_id) FROM load_log GROUP BY center_id)
              GROUP BY center_id ORDER BY center_id"""
    centers = {c: {"files": f, "rows": r, "quarantined": q}
               for c, f, r, q in con.execute(last).fetchall()}
    for c, n in con.execute("SELECT center_id, count(*) FROM v_patient GROUP BY 1").fetchall():
        centers[c]["patients"] = n
    reasons = con.execute("""SELECT center_id, table_name, check_name, count(*) FROM quarantine
                             GROUP BY ALL ORDER BY ALL""").fetchall()
    analysed = con.execute("""SELECT count(*), count(pfs_months), count(os_months)
                              FROM v_patient""").fetchall()[0]
    return {"centers": centers, "reasons": reasons, "analysed": analysed}


def _check(texts: list[str], expected: dict) -> None:
    joined = " ".join(texts)
    for center, c in expected["centers"].items():
        i = texts.index(center)
        files = f"{c['files']} export file" + ("s" if c["files"] != 1 else "")
        assert texts[i + 1] == f"{c['rows']} rows in {files}"
        assert f"Loaded: {c['patients']} patients" in joined
    for center, table, check, n in expected["reasons"]:
        assert f"{table}, {check}: {n}" in joined
    total, pfs, os_ = expected["analysed"]
    assert f"Pooled: {total} patients from {len(expected['centers'])} centers" in joined
    rows = sum(c["rows"] for c in expected["centers"].values())
    quarantined = sum(c["quarantined"] for c in expected["centers"].values())
    assert f"{rows} rows read, {quarantined} rows quarantined" in joined
    assert re.search(rf"Analysed, progression-free\s+survival: {pfs}\s+patients", joined)
    assert re.search(rf"Analysed, overall survival: {os_}\s+patients", joined)
    assert joined.count(f"No follow-up time: {total - pfs}") >= 1


def test_attrition_diagram_shows_the_pipeline_counts_inline_and_as_a_file(demo_report, demo_con):
    inline, standalone = _inline_diagram(demo_report), (
        demo_report.parent / "figures" / "attrition.svg").read_text(encoding="utf-8")
    assert standalone.startswith('<svg xmlns="http://www.w3.org/2000/svg"')
    assert _diagram_texts(inline) == _diagram_texts(standalone)
    expected = _expected(demo_con)
    _check(_diagram_texts(inline), expected)
    # the exports themselves: the CSV centers' rows are their files' data lines
    for center in ("site_a", "site_c"):
        lines = 0
        for path in sorted((DEMO_INBOX / center).glob("*.csv")):
            with path.open(encoding="utf-8" if center == "site_a" else "gb18030") as fh:
                lines += sum(1 for _ in csv.reader(fh)) - 1
        assert expected["centers"][center]["rows"] == lines


@pytest.fixture(scope="module")
def damaged_report(damaged_warehouse, tmp_path_factory) -> Path:
    return write_report(damaged_warehouse, tmp_path_factory.mktemp("damaged_report"),
                        compare_with_paper=False)


def test_attrition_diagram_and_table_show_the_quarantined_rows_by_reason(damaged_report,
                                                                         damaged_warehouse):
    with duckdb.connect(str(damaged_warehouse), read_only=True) as con:
        expected = _expected(con)
    assert expected["centers"]["site_a"]["quarantined"] == 3 and expected["reasons"]
    _check(_diagram_texts(_inline_diagram(damaged_report)), expected)
    table = damaged_report.read_text(encoding="utf-8").split(
        '<table id="table-attrition">', 1)[1].split("</table>", 1)[0]
    for center, name, check, n in expected["reasons"]:
        assert re.search(rf"quarantined: {name}, {re.escape(check)}</td><td class=\"n\"></td>"
                         rf"<td class=\"n\">{n}</td>", table)
    site_a = re.search(r"<tr><td>site_a</td>((?:<td[^>]*>[^<]*</td>)+)</tr>", table).group(1)
    cells = [int(c) for c in re.findall(r">([0-9]+)</td>", site_a)]
    a = expected["centers"]["site_a"]
    assert cells[:3] == [a["rows"], a["quarantined"], a["patients"]]
