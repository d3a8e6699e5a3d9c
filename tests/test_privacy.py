"""No direct identifier of any demo export reaches anything a run leaves behind."""
from __future__ import annotations

import os
import zipfile
from pathlib import Path

import duckdb

import pytest
from typer.testing import CliRunner

from harmonise.flows.cli import app
from harmonise.flows.settings import DEMO_INBOX, DEMO_MAPPINGS
from harmonise.mappings.readers import read_export
from harmonise.mappings.spec import list_centers, load_mapping


def identifier_values() -> set[str]:
    """Every value of every column that a center's mapping marks as an identifier."""
    values = set()
    centers = list_centers(DEMO_MAPPINGS)
    assert centers, "no demo mappings found"
    for center in centers:
        mapping = load_mapping(center, DEMO_MAPPINGS)
        for spec in mapping.files:
            raw = read_export(center, DEMO_INBOX / center / spec.name, spec)
            for column in spec.columns.values():
                if column.action in ("pseudonymise", "identifier"):
                    values |= set(raw[column.source].dropna().astype(str))
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


def _contents(path: Path) -> bytes:
    """A file's bytes, plus what compression hides: zip members, DuckDB tables and views as text."""
    data = path.read_bytes()
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            data += b"".join(archive.read(name) for name in archive.namelist())
    if path.suffix == ".duckdb":   # DuckDB compresses strings (FSST): read them back through SQL
        with duckdb.connect(str(path), read_only=True) as con:
            names = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
            data += "".join(con.execute(f'SELECT * FROM "{n}"').df().astype(str).to_csv()
                            for n in names).encode()
    return data


def _leaks(folder: Path, needles) -> list[tuple[str, str]]:
    found = []
    for path in folder.rglob("*"):
        if path.is_file() and not path.name.endswith((".lock", ".wal")):
            data = _contents(path)
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
    assert {v for _, v in _leaks(DEMO_INBOX, needles)} == values   # the scan finds every one where it is
    assert _leaks(home, needles) == []
    assert _leaks(Path(os.environ["PREFECT_HOME"]), needles) == []
    assert [v for v in values if v in result.output] == []
