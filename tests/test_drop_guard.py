"""The guard against silent loss: an export that would wipe a center fails it and keeps its rows."""
from __future__ import annotations

import re
from dataclasses import replace

import duckdb

from harmonise.flows import steps


def _patients(settings, center: str) -> int:
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return con.execute("SELECT count(*) FROM patient WHERE center_id = ?", [center]).fetchone()[0]


def _ingest(settings, center: str, **options) -> steps.CenterResult:
    return steps.ingest_center(center, settings, steps.new_run_id(), steps.pseudonym_key(settings),
                               **options)


def _dates_to_day_month_year(path) -> None:
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r"(\d{4})-(\d{2})-(\d{2})", r"\3/\2/\1", text), encoding="utf-8")


def test_an_export_where_every_row_fails_fails_the_center_and_keeps_its_patients(
        published_copy, inbox_copy):
    settings = published_copy
    before = _patients(settings, "site_a")
    assert before > 0
    _dates_to_day_month_year(inbox_copy / "site_a" / "site_a_patients.csv")
    result = _ingest(settings, "site_a")
    assert result.status == "failed"
    assert f"replace the center's {before} patients with 0" in result.message
    assert "every patient row was quarantined" in result.message
    assert "--accept-drop" in result.message and "Start date" in result.message
    assert _patients(settings, "site_a") == before
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        logged = con.execute("SELECT status, message FROM load_log WHERE center_id = 'site_a' "
                             "ORDER BY finished_at DESC LIMIT 1").fetchone()
    assert logged[0] == "failed" and "would replace" in logged[1]
    confirmed = _ingest(settings, "site_a", accept_drop=True)
    assert confirmed.status == "loaded" and _patients(settings, "site_a") == 0


def test_an_all_quarantined_first_export_also_fails(settings_for, inbox_copy):
    settings = settings_for(inbox_copy)
    _dates_to_day_month_year(inbox_copy / "site_a" / "site_a_patients.csv")
    steps.prepare_warehouse(settings)
    result = _ingest(settings, "site_a")
    assert result.status == "failed" and "load 0 of the" in result.message


def test_a_drop_beyond_the_configured_fraction_fails_and_a_smaller_one_loads(
        published_copy, inbox_copy):
    settings = published_copy
    before = _patients(settings, "site_a")
    path = inbox_copy / "site_a" / "site_a_patients.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = len(lines[1:]) * 4 // 10                      # 60 % of the patients disappear
    path.write_text("".join(lines[: 1 + kept]), encoding="utf-8")
    result = _ingest(settings, "site_a")
    assert result.status == "failed" and "at most 50%" in result.message
    assert _patients(settings, "site_a") == before
    lenient = replace(settings, max_patient_drop=0.7)
    assert _ingest(lenient, "site_a").status == "loaded"
    assert _patients(settings, "site_a") == kept
