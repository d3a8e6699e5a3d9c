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
                                                                  tmp_path):
    settings = lake_settings_for(inbox_copy)
    nightly_run(settings, "run-1")
    written_then = numbers(steps.write_report(settings, out_dir=tmp_path / "written-then"))
    _drop_last_line(inbox_copy / "site_c" / "site_c_patients.csv")      # next night: a change
    nightly_run(settings, "run-2")
    freezes = {s.run_id: s for s in settings.backend.snapshots(limit=1000) if s.kind == "freeze"}
    assert freezes["run-1"].message == "nightly run run-1: centers loaded site_a, site_b, site_c"
    assert freezes["run-2"].centers == ("site_a", "site_b", "site_c")

    runner, env = CliRunner(), lake_env(settings)
    frozen = runner.invoke(app, ["report", "--as-of", str(freezes["run-1"].version),
                                 "--out", str(tmp_path / "frozen")], env=env)
    assert frozen.exit_code == 0, frozen.output
    assert numbers(tmp_path / "frozen" / "report.html") == written_then

    today = runner.invoke(app, ["report", "--as-of", dt.date.today().isoformat(),
                                "--out", str(tmp_path / "today")], env=env)
    assert today.exit_code == 0, today.output
    assert f"snapshot {freezes['run-2'].version}" in today.output        # the day's last freeze
    latest = numbers(tmp_path / "today" / "report.html")
    assert latest["meta"]["patients"] == written_then["meta"]["patients"] - 1

    status = runner.invoke(app, ["status", "--snapshots", "50"], env={**env, "COLUMNS": "200"})
    assert status.exit_code == 0, status.output
    assert "nightly run run-1: centers loaded site_a, site_b, site_c" in status.output


def test_as_of_a_day_before_any_freeze_says_what_there_is(lake_settings_for):
    settings = lake_settings_for()
    ingest_all(settings)
    result = CliRunner().invoke(app, ["report", "--as-of", "2001-01-01"], env=lake_env(settings))
    assert result.exit_code == 2
    assert "No data freeze" in result.output and "harmonise status" in result.output
