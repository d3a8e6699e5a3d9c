"""Quarantine history: every run's findings kept with its run id; new, persisting, resolved."""
from __future__ import annotations

import csv
import shutil

import duckdb
import pytest
from typer.testing import CliRunner

from harmonise.flows import steps
from harmonise.flows.cli import app
from harmonise.flows.settings import DEMO_MAPPINGS
from harmonise.warehouse import quality

runner = CliRunner()


def _set(path, rows_to_value: dict[int, str], column: str) -> None:
    rows = list(csv.reader(path.open(encoding="utf-8", newline="")))
    for row, value in rows_to_value.items():
        rows[row][rows[0].index(column)] = value
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)


def _run(settings, centers=("site_a",)) -> str:
    steps.prepare_warehouse(settings)
    run_id = steps.new_run_id()
    key = steps.pseudonym_key(settings)
    for center in centers:
        steps.ingest_center(center, settings, run_id, key)
    steps.refresh_views(settings)
    return run_id


def _findings(settings, table: str = "patient") -> dict[str, list[tuple]]:
    """site_a's findings in ``table`` by change (rows held with their patient are elsewhere)."""
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        (site_a,) = [c for c in quality.changes(con) if c.center_id == "site_a"]
    return {change: [(f.table_name, f.column, f.rule, f.rows_now, f.rows_before)
                     for f in site_a.findings if f.change == change and f.table_name == table]
            for change in quality.CHANGES}


@pytest.fixture
def history(tmp_path, inbox_copy, settings_for):
    """site_a with two unknown sex codes and one age of 15, and a private copy of the mappings."""
    mappings = tmp_path / "mappings"
    shutil.copytree(DEMO_MAPPINGS, mappings)
    patients = inbox_copy / "site_a" / "site_a_patients.csv"
    _set(patients, {3: "Mannelijk", 5: "Mannelijk"}, "Sex")
    _set(patients, {7: "15"}, "Age")
    return settings_for(inbox_copy, mappings_dir=mappings), patients, mappings


def test_a_first_run_shows_every_finding_as_new(history):
    settings, _, _ = history
    _run(settings)
    found = _findings(settings)
    assert ("patient", "Sex (sex)", "unknown_code", 2, 0) in found["new"]
    assert ("patient", "Age (age_years)", "at_least", 1, 0) in found["new"]
    assert found["resolved"] == [] and found["persisting"] == []


def test_a_fixed_mapping_that_releases_rows_shows_them_resolved_and_keeps_the_rest_persisting(history):
    settings, _, mappings = history
    first = _run(settings)
    spec = mappings / "site_a.yaml"
    spec.write_text(spec.read_text(encoding="utf-8").replace(
        "Sex: {to: patient.sex, vocab: sex}",
        'Sex: {to: patient.sex, vocab: sex, values: {"Mannelijk": male}}'), encoding="utf-8")
    second = _run(settings)
    found = _findings(settings)
    assert found["resolved"] == [("patient", "Sex (sex)", "unknown_code", 0, 2)]
    assert found["persisting"] == [("patient", "Age (age_years)", "at_least", 1, 1)]
    assert found["new"] == []
    held = _findings(settings, "treatment")["persisting"]
    assert held and all(now < before for *_, now, before in held)   # fewer rows held back
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        kept = con.execute("SELECT run_id, rule, source_rows FROM quarantine_history "
                           "WHERE center_id = 'site_a' AND table_name = 'patient' "
                           "ORDER BY recorded_at, rule").fetchall()   # two runs may share a second
        released = con.execute("SELECT count(*) FROM patient WHERE center_id = 'site_a'").fetchone()[0]
    assert kept == [(first, "at_least", 1), (first, "unknown_code", 2), (second, "at_least", 1)]
    assert released >= 52 - 1   # the two patients held for their sex code are loaded now


def test_a_new_problem_in_the_export_shows_as_new(history):
    settings, patients, _ = history
    _run(settings)
    _set(patients, {9: "16"}, "Age")
    _run(settings)
    found = _findings(settings)
    assert ("patient", "Age (age_years)", "at_least", 2, 1) in found["persisting"]
    assert found["new"] == [] and found["resolved"] == []


def test_history_rows_hold_names_and_counts_never_export_values(history):
    settings, _, _ = history
    _run(settings)
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        text = repr(con.execute("SELECT * FROM quarantine_history").fetchall())
    assert "Mannelijk" not in text and "'15'" not in text


def test_an_unchanged_export_records_its_findings_again_as_persisting(history):
    settings, _, _ = history
    _run(settings)
    _run(settings)   # skipped: same export, mapping and key
    found = _findings(settings)
    assert {f[2] for f in found["persisting"]} == {"unknown_code", "at_least"}


def test_quality_command_prints_changes_as_table_json_and_csv(history):
    settings, _, _ = history
    _run(settings)
    table = runner.invoke(app, ["quality", "--warehouse", str(settings.warehouse)], env={"COLUMNS": "250"})
    assert table.exit_code == 0, table.output
    assert "site_a" in table.output and "unknown_code" in table.output and "(first run)" in table.output
    as_json = runner.invoke(app, ["quality", "--warehouse", str(settings.warehouse), "--json"])
    import json
    records = json.loads(as_json.stdout)
    assert {(r["change"], r["rule"], r["rows now"]) for r in records} >= {("new", "unknown_code", 2)}
    as_csv = runner.invoke(app, ["quality", "--warehouse", str(settings.warehouse), "--csv"])
    assert as_csv.stdout.splitlines()[0].startswith("center,change,table,column,rule")


def test_quality_markdown_lists_each_center_with_its_changes(history):
    settings, _, _ = history
    _run(settings)
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        text = quality.markdown(quality.changes(con))
    assert text.startswith("# Data quality since the last run")
    assert "| site_a | " in text and "## site_a (run " in text and "first recorded run" in text
    assert "| new | patient | Sex (sex) | unknown_code | 2 | 0 |" in text


def test_the_reports_provenance_carries_the_quality_changes(history):
    from harmonise.analysis.provenance import provenance
    settings, _, mappings = history
    _run(settings)
    spec = mappings / "site_a.yaml"
    spec.write_text(spec.read_text(encoding="utf-8").replace(
        "Sex: {to: patient.sex, vocab: sex}",
        'Sex: {to: patient.sex, vocab: sex, values: {"Mannelijk": male}}'), encoding="utf-8")
    _run(settings)
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        changes = provenance(con).quality_changes
    mine = changes[(changes["table_name"] == "patient")]
    assert sorted(zip(mine["change"], mine["rule"], mine["rows_now"], mine["rows_before"])) == [
        ("persisting", "at_least", 1, 1), ("resolved", "unknown_code", 0, 2)]


def test_the_report_page_has_the_data_quality_changes_table(demo_report):
    html = demo_report.read_text(encoding="utf-8")
    assert 'id="table-quality-changes"' in html
    assert "Data quality since each center" in html
