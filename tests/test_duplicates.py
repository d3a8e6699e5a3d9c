"""The same patient at two centers is flagged by a keyed fingerprint, the values never stored."""
from __future__ import annotations

import shutil

import duckdb
from typer.testing import CliRunner

from harmonise.flows import steps
from harmonise.flows.cli import app
from harmonise.flows.settings import DEMO_MAPPINGS, Settings
from tests.conftest import ingest_all


def _with_x_site(tmp_path, inbox_copy) -> Settings:
    """The demo plus x_site, whose export repeats site_a's first three patients."""
    mappings = tmp_path / "mappings"
    shutil.copytree(DEMO_MAPPINGS, mappings)
    text = (mappings / "site_a.yaml").read_text(encoding="utf-8")
    (mappings / "x_site.yaml").write_text(text.replace("center: site_a", "center: x_site"),
                                          encoding="utf-8")
    (inbox_copy / "x_site").mkdir()
    for name, keep in (("site_a_patients.csv", 4), ("site_a_adverse_events.csv", 1)):
        lines = (inbox_copy / "site_a" / name).read_text(encoding="utf-8").splitlines(keepends=True)
        (inbox_copy / "x_site" / name).write_text("".join(lines[:keep]), encoding="utf-8")
    settings = Settings(home=tmp_path / "home", inbox=inbox_copy, mappings_dir=mappings,
                        demo_key=True)
    results = ingest_all(settings)
    assert results["x_site"].status == "loaded", results["x_site"].message
    return settings


def test_patients_seen_at_two_centers_are_flagged_in_status(tmp_path, inbox_copy):
    settings = _with_x_site(tmp_path, inbox_copy)
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        columns = [r[0] for r in con.execute("DESCRIBE patient_fingerprint").fetchall()]
    assert columns == ["center_id", "patient_key", "fingerprint", "load_id"]   # no quasi-identifier
    result = CliRunner().invoke(app, ["status", "--warehouse", str(settings.warehouse)])
    assert result.exit_code == 0, result.output
    assert "Likely the same patients at two centers" in result.output
    assert "site_a and x_site: 3" in result.output


def test_patients_seen_at_two_centers_are_flagged_in_the_report(tmp_path, inbox_copy):
    from harmonise.analysis.report import write_report
    settings = _with_x_site(tmp_path, inbox_copy)
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        fingerprints = con.execute("SELECT center_id, fingerprint FROM patient_fingerprint").fetchall()
    shared = {f for c, f in fingerprints if c == "site_a"} & {f for c, f in fingerprints if c == "x_site"}
    assert len(shared) == 3                                # computed here from the table
    page = write_report(settings.warehouse, tmp_path / "report", compare_with_paper=False)
    text = page.read_text(encoding="utf-8")
    table = text.split('<table id="table-duplicates">', 1)[1].split("</table>", 1)[0]
    assert "Likely the same patients at two centers" in table
    assert '<tr><td>site_a</td><td>x_site</td><td class="n">3</td></tr>' in table
    assert table.count("<tr><td>") == 1                    # no other pair
    rows = (page.parent / "numbers" / "duplicate_pairs.csv").read_text(encoding="utf-8")
    assert rows.splitlines() == ["center_id,other_center_id,patients", "site_a,x_site,3"]


def test_report_says_when_no_patient_is_seen_at_two_centers(demo_report):
    table = demo_report.read_text(encoding="utf-8").split(
        '<table id="table-duplicates">', 1)[1].split("</table>", 1)[0]
    assert "No patient has the same fingerprint at two centers." in table
