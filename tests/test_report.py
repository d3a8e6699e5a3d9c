"""The study report (analysis.report): counts equal the paper's, a self-contained readable
page, strict machine-readable numbers, escaped free text. One demo report per session."""
from __future__ import annotations

import base64
import csv
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import numpy as np
import pytest
from PIL import Image

from harmonise.analysis import paper
from harmonise.analysis.figures import figure_specs
from harmonise.analysis.plan import load_plan
from harmonise.analysis.report import write_report

TABLE_IDS = ("table-survival", "table-landmarks", "table-1", "table-2", "table-response",
             "table-subgroups", "table-paper", "table-provenance-centers",
             "table-provenance-files", "table-quarantine-counts", "table-quarantine")
SECTION_IDS = ("header", "survival", "figures", "table1", "table2", "response", "subgroups",
               "paper", "provenance")
FIGURES = figure_specs(load_plan())     # every panel of the reference study's plan
INJECTION = '=HYPERLINK("http://x","y")'


class Page(HTMLParser):
    """Tags with their attributes, and the visible text (outside <style>/<script>)."""

    def __init__(self):
        super().__init__()
        self.tags, self.text, self._skip = [], [], 0

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in ("style", "script"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in ("style", "script"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)

    @property
    def ids(self) -> set[str]:
        return {a["id"] for _, a in self.tags if "id" in a}


def parse(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def test_demo_report_counts_equal_the_papers(report_json, published):
    rows = report_json["paper_comparison"]
    assert report_json["meta"]["compare_with_paper"] is True   # demo centers -> default on
    counts = [r for r in rows if r["kind"] == "count"]
    assert counts, "no count rows in the side-by-side table"
    by_id = {r["id"]: r for r in rows}
    # every published count of Table 1, Table 2 and best response has a row
    expected = {f"table1.{h}.n" for h in published["table1"]}
    expected |= {f"table2.{term}.{'any_grade' if k == 'any' else k}"
                 for term, cells in published["table2"].items() for k in cells}
    expected |= {f"best_response.overall.{code}" for code in published["best_response"]["overall"]}
    assert expected <= set(by_id), sorted(expected - set(by_id))
    for row_id in expected:
        assert by_id[row_id]["kind"] == "count"
    # the published side is the paper's number, read back from the YAML
    assert by_id["table1.ASPS.n"]["published"] == published["table1"]["ASPS"]["n"]
    assert (by_id["table2.hypertension.any_grade"]["published"]
            == published["table2"]["hypertension"]["any"])
    mismatched = [(r["id"], r["published"], r["ours"]) for r in counts if r["status"] != "match"]
    assert not mismatched
    assert all(r["ours"] == r["published"] for r in counts)


def test_side_by_side_reports_medians_and_landmarks_with_differences_and_methods(report_json,
                                                                                published):
    rows = {r["id"]: r for r in report_json["paper_comparison"]}
    for key, value in published["medians_months"].items():
        row = rows[f"median.{key}"]
        assert row["kind"] == "median" and row["method"] == "Kaplan-Meier"
        if value is not None and row["ours"] is not None:
            assert row["difference"] == pytest.approx(row["ours"] - value)
    for endpoint, times in published["landmarks"].items():
        for t in times:
            km_row, crude_row = rows[f"landmark.{endpoint}.{t:g}.km"], rows[
                f"landmark.{endpoint}.{t:g}.crude"]
            assert km_row["method"] == "Kaplan-Meier"
            assert crude_row["method"].startswith("crude")
            assert "looks crude" in km_row["note"]          # the paper's values are k/79
    assert rows["followup.reverse_km"]["method"] == "reverse Kaplan-Meier"
    for name, quoted in published["p_values"].items():
        assert rows[f"p.{name}.pfs"]["status"] and rows[f"p.{name}.os"]["status"]


def test_report_html_is_self_contained(demo_report):
    page, text = parse(demo_report), demo_report.read_text(encoding="utf-8")
    imgs = [a for tag, a in page.tags if tag == "img"]
    assert len(imgs) == len(FIGURES)
    for attrs in imgs:
        assert attrs["src"].startswith("data:image/svg+xml;base64,")
        svg = base64.b64decode(attrs["src"].split(",", 1)[1])
        assert b"<svg" in svg[:400] and len(svg) > 10_000
        assert b"<script" not in svg and b"href=\"http" not in svg
    for tag, attrs in page.tags:
        for name in ("src", "href", "action", "poster", "data"):
            value = (attrs.get(name) or "").strip().lower()
            assert not value.startswith(("http:", "https:", "//", "ftp:", "file:")), (tag, attrs)
            if tag == "a" and name == "href":
                assert value.startswith("#"), attrs
        assert tag not in ("script", "link", "iframe", "object", "embed"), tag
    style = "".join(re.findall(r"<style>(.*?)</style>", text, re.S))
    assert "url(" not in style and "@import" not in style


def test_report_html_has_every_figure_and_table(demo_report):
    ids = parse(demo_report).ids
    assert {spec.key for spec in FIGURES} <= ids
    assert set(TABLE_IDS) <= ids and set(SECTION_IDS) <= ids
    figures = demo_report.parent / "figures"
    for spec in FIGURES:
        assert (figures / f"{spec.key}.svg").stat().st_size > 10_000
    assert (figures / "fig1a_pfs_all.svg").exists() and (figures / "fig1b_os_all.svg").exists()


def test_report_html_visible_text_has_no_python_values(demo_report):
    page = parse(demo_report)
    visible = " ".join(page.text) + " " + " ".join(
        a.get(k, "") for _, a in page.tags for k in ("alt", "title"))
    for word in ("nan", "NaN", "None", "True", "False", "inf", "NaT", "<NA>"):
        assert not re.search(rf"(?<![\w<]){re.escape(word)}(?![\w>])", visible), word
    for token in ("{'", "['", "np.float", "numpy", "dtype", "Timestamp("):
        assert token not in visible, token


def test_report_header_states_cutoff_transform_and_labels_in_words(demo_report, published):
    visible = " ".join(parse(demo_report).text)
    cutoff = published["cutoff"]
    assert f"{cutoff.day} {cutoff:%B %Y}" in visible
    assert "95% CI" in visible and "log transform (R survival default)" in visible
    assert "Alveolar soft part sarcoma (ASPS)" in visible
    assert "months" in visible
    assert "NR" in visible                           # medians not reached are written NR


def test_numbers_are_strict_json_and_csv_for_every_section(demo_report, report_json):
    numbers = demo_report.parent / "numbers"
    for name in ("km_summary", "landmarks", "followup", "comparisons", "response", "table1",
                 "table2", "figures", "figure_curves", "figure_at_risk", "provenance_centers",
                 "provenance_files", "quarantine_counts", "quarantine", "paper_comparison"):
        assert (numbers / f"{name}.csv").exists(), name
        assert name in report_json, name
    assert report_json["meta"]["transform"] == "log"
    assert len(report_json["figures"]) == len(FIGURES)
    # NR medians are null, never NaN
    assert any(r["median"] is None for r in report_json["comparisons"])
    files = report_json["provenance_files"]
    assert files and all(len(f["file_sha256"]) == 64 for f in files)


def test_compare_with_paper_default_follows_the_loaded_centers(published):
    centers = list(published["centers"])
    assert paper.is_published_cohort(published, centers)
    assert not paper.is_published_cohort(published, centers[:-1])
    assert not paper.is_published_cohort(published, centers + ["site_z"])


@pytest.fixture(scope="session")
def injected_report(demo_warehouse, tmp_path_factory) -> Path:
    """A copy of the demo warehouse with hostile free text in quarantine and load_log."""
    home = tmp_path_factory.mktemp("hostile")
    db = home / "warehouse.duckdb"
    shutil.copy(demo_warehouse, db)
    con = duckdb.connect(str(db))
    con.execute(
        "INSERT INTO quarantine (center_id, patient_key, table_name, source_file, source_row, "
        "column_name, source_column, check_name, failed_value, reason, load_id, rule) "
        "VALUES ('site_b', NULL, 'patient', ?, 7, 'age_years', 'Age', ?, ?, ?, 'x', 'x')", ['<img src=x onerror=alert(1)>.csv', "@SUM(1+1)", INJECTION, INJECTION])
    con.execute(
        "INSERT INTO load_log SELECT 'zzzz-later-run', load_id, center_id, ?, file_sha256, "
        "rows_read, rows_loaded, rows_quarantined, 'loaded', ?, mapping_version, mapping_sha256, "
        "key_fingerprint, cutoff_date, started_at, finished_at, duration_s FROM load_log "
        "WHERE center_id = 'site_b'", ['+cmd|" /C calc"!A0', "<script>alert(1)</script>"])
    con.close()
    return write_report(db, home / "out", compare_with_paper=False)


def _csv_rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_free_text_is_neutralised_in_csv(injected_report):
    numbers = injected_report.parent / "numbers"
    q = _csv_rows(numbers / "quarantine.csv")
    hostile = [r for r in q if r["source_row"] == "7"]
    assert hostile and hostile[0]["reason"] == "'" + INJECTION
    assert hostile[0]["failed_value"] == "'" + INJECTION
    assert hostile[0]["check_name"] == "'@SUM(1+1)"
    counts = _csv_rows(numbers / "quarantine_counts.csv")
    assert any(r["example_reason"] == "'" + INJECTION for r in counts)
    files = _csv_rows(numbers / "provenance_files.csv")
    assert any(r["file_name"] == "'+cmd|\" /C calc\"!A0" for r in files)
    for path in numbers.glob("*.csv"):
        for row in _csv_rows(path):
            for value in row.values():
                assert not (value or "").startswith(("=", "+", "@")), (path.name, value)
    # the JSON keeps the data as it is (it is not a spreadsheet)
    doc = json.loads((numbers / "report.json").read_text(encoding="utf-8"))
    assert any(r["reason"] == INJECTION for r in doc["quarantine"])


def test_free_text_is_escaped_in_html(injected_report):
    text = injected_report.read_text(encoding="utf-8")
    page = parse(injected_report)
    assert "=HYPERLINK(&#34;http://x&#34;,&#34;y&#34;)" in text     # Jinja2's quote escape
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "&lt;img src=x onerror=alert(1)&gt;.csv" in text
    assert not [a for tag, a in page.tags if tag == "script" or "onerror" in a]
    assert len([1 for tag, _ in page.tags if tag == "img"]) == len(FIGURES)
    assert "table-paper" not in page.ids                 # compare_with_paper=False
    doc = json.loads((injected_report.parent / "numbers" / "report.json").read_text("utf-8"))
    assert doc["paper_comparison"] is None
    site_b = [f for f in doc["provenance_files"] if f["center_id"] == "site_b"]
    assert {f["run_id"] for f in site_b if f["is_last_attempt"]} == {"zzzz-later-run"}


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
# Test harness only (the report itself has no script): after load, count decoded images.
PROBE = ('<script>addEventListener("load", () => document.body.setAttribute("data-decoded", '
         '[...document.images].filter(i => i.complete && i.naturalWidth > 0).length))</script>')


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (/usr/bin/chromium): "
                    "apt-get install -y chromium")
    profile = tmp_path / "chromium-profile"
    return subprocess.run([str(CHROMIUM), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, timeout=120, check=True)


@pytest.mark.slow
def test_headless_chromium_renders_every_figure_and_table(demo_report, tmp_path):
    probe = tmp_path / "probe.html"
    shutil.copy(demo_report, tmp_path / "report.html")
    probe.write_text(demo_report.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"),
                     encoding="utf-8")
    dom = _chromium(tmp_path, "--dump-dom", probe.as_uri()).stdout.decode("utf-8")
    decoded = re.search(r'<body[^>]*data-decoded="(\d+)"', dom)
    assert decoded and int(decoded.group(1)) == len(FIGURES), dom[:300]
    plain = _chromium(tmp_path, "--dump-dom", (tmp_path / "report.html").as_uri()).stdout.decode()
    page = Page()
    page.feed(plain)
    assert {spec.key for spec in FIGURES} | set(TABLE_IDS) <= page.ids
    shot = tmp_path / "shot.png"
    _chromium(tmp_path, "--window-size=1400,4200", "--hide-scrollbars",
              f"--screenshot={shot}", (tmp_path / "report.html").as_uri())
    pixels = np.asarray(Image.open(shot).convert("RGB"), dtype=int)
    assert pixels.shape[:2] == (4200, 1400)
    assert pixels.std() > 20                                   # not a blank page
    vermillion = (abs(pixels - (0xD5, 0x5E, 0x00)).sum(axis=2) < 60).sum()
    assert vermillion > 500                                    # Figure 2's curves are drawn


def test_methods_section_says_what_was_run_and_with_which_software(demo_report, report_json):
    text = demo_report.read_text(encoding="utf-8")
    methods = text.split('<section id="methods">', 1)[1].split("</section>", 1)[0]
    assert report_json["meta"]["transform_text"] in methods
    assert "print.survfit" in methods and "midpoint" in methods and "Efron" in methods
    assert "Clopper-Pearson" in methods and "stratified by center" in methods
    import duckdb as _duckdb
    import pandas as _pandas
    for name, version in (("DuckDB", _duckdb.__version__), ("pandas", _pandas.__version__)):
        assert f"<td>{name}</td><td>{version}</td>" in methods
    if shutil.which("Rscript"):
        assert "R version" in methods and "survival" in methods


def test_attrition_table_adds_up_to_the_pipeline_counts(demo_report, report_json, demo_con):
    text = demo_report.read_text(encoding="utf-8")
    table = text.split('<table id="table-attrition">', 1)[1].split("</table>", 1)[0]
    total = re.search(r"<tr><td>Total</td>((?:<td[^>]*>[^<]*</td>)+)</tr>", table)
    cells = [int(c.replace(",", "")) for c in re.findall(r">([0-9,]+)</td>", total.group(1))]
    rows_read = demo_con.execute(
        "SELECT sum(rows_read) FROM load_log WHERE status = 'loaded'").fetchall()[0][0]
    patients = demo_con.execute("SELECT count(*) FROM v_patient").fetchall()[0][0]
    assert cells[0] == rows_read and cells[2] == patients == report_json["meta"]["patients"]
    assert cells[3] <= patients and cells[4] <= patients
