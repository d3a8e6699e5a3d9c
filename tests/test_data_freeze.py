"""Snapshots as data freezes: every nightly run leaves a named snapshot on the DuckLake, and
`harmonise report --as-of` reproduces a frozen report exactly after later loads."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from typer.testing import CliRunner

from harmonise.flows import steps
from harmonise.flows.cli import app
from tests.conftest import ingest_all
from tests.test_ducklake import _drop_last_line, lake_env


def nightly_run(settings, run_id: str) -> None:
    """What the nightly flow does on a lake, minus Prefect: prepare, load, freeze."""
    steps.prepare_warehouse(settings, run_id)
    key = steps.pseudonym_key(settings)
    results = [steps.ingest_center(c, settings, run_id, key) for c in steps.centers_to_run(settings)]
    steps.freeze(settings, run_id, results)


def numbers(report_html) -> dict:
    """report.json without the one field that must differ: when it was written."""
    doc = json.loads((report_html.parent / "numbers" / "report.json").read_text(encoding="utf-8"))
    doc["meta"].pop("generated_at")
    return doc


@pytest.mark.slow
def test_a_frozen_report_is_reproduced_exactly_after_a_later_load(lake_settings_for, inbox_copy,
                                                                  tmp_path, monkeypatch):
    settings = lake_settings_for(inbox_copy)
    for name, value in lake_env(settings).items():
        monkeypatch.setenv(name, value)
    from harmonise.flows.nightly import nightly
    night_1 = nightly(demo=True, inbox=str(inbox_copy))      # the real flow: loads, freezes, reports
    assert {r.status for r in night_1} == {"loaded"}
    written_then = numbers(settings.report_dir / "report.html")
    _drop_last_line(inbox_copy / "site_c" / "site_c_patients.csv")      # next night: a change
    nightly_run(settings, "run-2")
    freezes = [s for s in settings.backend.snapshots(limit=1000) if s.kind == "freeze"]
    assert [s.run_id for s in freezes][0] == "run-2" and len(freezes) == 2
    freezes = {"run-1": freezes[1], "run-2": freezes[0]}
    run_1 = freezes["run-1"].run_id
    assert freezes["run-1"].message == f"nightly run {run_1}: centers loaded site_a, site_b, site_c"
    assert freezes["run-2"].centers == ("site_a", "site_b", "site_c")

    runner, env = CliRunner(), lake_env(settings)
    frozen = runner.invoke(app, ["report", "--as-of", str(freezes["run-1"].version),
                                 "--out", str(tmp_path / "frozen")], env=env)
    assert frozen.exit_code == 0, frozen.output
    assert numbers(tmp_path / "frozen" / "report.html") == written_then

    today = settings.backend.resolve_as_of(dt.date.today().isoformat())
    assert today == freezes["run-2"].version                           # a date: its last freeze
    patients = {}
    for run, freeze in freezes.items():
        with settings.backend.connect(as_of=freeze.version) as con:
            patients[run] = con.execute("SELECT count(*) FROM v_patient").fetchone()[0]
    assert patients == {"run-1": written_then["meta"]["patients"], "run-2": 78}

    status = runner.invoke(app, ["status", "--snapshots", "50"], env={**env, "COLUMNS": "200"})
    assert status.exit_code == 0, status.output
    assert f"nightly run {run_1}: centers loaded site_a, site_b, site_c" in status.output


def test_as_of_a_day_before_any_freeze_says_what_there_is(lake_settings_for):
    settings = lake_settings_for()
    ingest_all(settings)
    result = CliRunner().invoke(app, ["report", "--as-of", "2001-01-01"], env=lake_env(settings))
    assert result.exit_code == 2
    assert "No data freeze" in result.output and "harmonise status" in result.output
