"""No direct identifier of any demo export reaches anything a run leaves behind."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from demo.cohort import build_cohort
from flows.cli import app
from flows.settings import DEMO_INBOX


def identifier_values() -> set[str]:
    patients = build_cohort().patients
    values = set()
    for column in ("mrn", "name", "phone", "national_id"):
        values |= set(patients[column].astype(str))
    return values


def _needles(values: set[str]) -> list[tuple[str, bytes]]:
    needles = []
    for value in values:
        for encoding in ("utf-8", "gbk", "utf-16-le"):
            try:
                needles.append((value, value.encode(encoding)))
            except UnicodeEncodeError:
                pass
    return needles


def _leaks(folder: Path, needles) -> list[tuple[str, str]]:
    found = []
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [(str(path), value) for value, needle in needles if needle in data]
    return found


@pytest.mark.slow
def test_no_identifier_in_warehouse_logs_prefect_state_report_or_console(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("HARMONISE_HOME", str(home))
    result = CliRunner().invoke(app, ["run", "--demo"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert (home / "warehouse.duckdb").exists()
    values = identifier_values()
    assert len(values) >= 79 * 3
    needles = _needles(values)
    assert len(_leaks(DEMO_INBOX, needles)) >= len(values)   # the scan does find them where they are
    assert _leaks(home, needles) == []
    assert _leaks(Path(os.environ["PREFECT_HOME"]), needles) == []
    assert [v for v in values if v in result.output] == []
