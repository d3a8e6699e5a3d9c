"""Raw quarantined values stay with their center: planted identifiers never reach a shared output."""
from __future__ import annotations

import csv
import io
import os
import stat
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from harmonise.flows.cli import app
from harmonise.schemas.masking import identifier_kind, private_value, shape
from harmonise.warehouse.private_store import store_path
from tests.test_privacy import _leaks, _needles

#: A name, a Chinese name, a record number, an ID number and a phone number.
PLANTED = ["Weiming Zhangsan", "欧阳娜娜", "HN5550123", "11010519900101234X", "13800138000"]
PLANTED_ROWS = 3


def _plant_csv(path: Path, encoding: str, delimiter: str) -> None:
    rows = list(csv.reader(io.StringIO(path.read_text(encoding=encoding)), delimiter=delimiter))
    for i, row in enumerate(rows[1:1 + PLANTED_ROWS]):
        for j in range(len(row)):
            row[j] = PLANTED[(i + j) % len(PLANTED)]
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\n").writerows(rows)
    path.write_text(out.getvalue(), encoding=encoding)


def _plant_xlsx(path: Path) -> None:
    book = openpyxl.load_workbook(path)
    for sheet in book.worksheets:
        for i, row in enumerate(sheet.iter_rows(min_row=2, max_row=1 + PLANTED_ROWS)):
            for j, cell in enumerate(row):
                cell.value = PLANTED[(i + j) % len(PLANTED)]
    book.save(path)


def _plant_everywhere(inbox: Path) -> None:
    _plant_csv(inbox / "site_a" / "site_a_patients.csv", "utf-8", ",")
    _plant_csv(inbox / "site_a" / "site_a_adverse_events.csv", "utf-8", ",")
    _plant_csv(inbox / "site_c" / "site_c_patients.csv", "gbk", ";")
    _plant_csv(inbox / "site_c" / "site_c_adverse_events.csv", "gbk", ";")
    _plant_xlsx(inbox / "site_b" / "site_b_export.xlsx")


@pytest.fixture(scope="module")
def planted_run(tmp_path_factory):
    import shutil
    from harmonise.flows.settings import DEMO_INBOX
    root = tmp_path_factory.mktemp("planted")
    inbox, home = root / "inbox", root / "home"
    shutil.copytree(DEMO_INBOX, inbox)
    _plant_everywhere(inbox)
    result = CliRunner().invoke(app, ["run", "--demo", "--inbox", str(inbox)],
                                env={"COLUMNS": "200", "HARMONISE_HOME": str(home)})
    return home, inbox, result


def test_planted_identifiers_reach_no_shared_output(planted_run):
    home, inbox, result = planted_run
    assert (home / "warehouse.duckdb").exists(), result.output
    needles = _needles(set(PLANTED))
    assert {v for _, v in _leaks(inbox, needles)} == set(PLANTED)    # the scan finds them there
    shared = [(path, value) for path, value in _leaks(home, needles)
              if not Path(path).is_relative_to(home / "private")]
    assert shared == []                                               # warehouse, report, logs
    assert _leaks(Path(os.environ["PREFECT_HOME"]), needles) == []
    assert [v for v in PLANTED if v in result.output] == []


def test_the_private_store_keeps_names_masks_identifiers_and_is_private(planted_run):
    home, _, _ = planted_run
    path = store_path(home, "site_a")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    text = path.read_text(encoding="utf-8")
    assert "Weiming Zhangsan" in text                 # what the data manager must see to act
    for identifier in ("HN5550123", "11010519900101234X", "13800138000"):
        assert identifier not in text                  # masked even here
    assert "[masked: looks like" in text


def test_the_warehouse_shows_shapes_a_data_manager_can_still_read():
    assert shape("Zhang Weiming") == "Aaaaa Aaaaaaa"
    assert shape("31/12/2020") == "99/99/9999"
    assert shape("欧阳娜娜") == "XXXX"
    assert shape("x" * 100).endswith("(100 characters)")
    assert identifier_kind("2019-06-08") is None and identifier_kind("HN4676878") == "a record number"
    assert identifier_kind("1985-03-02", "Date of birth") == "a date of birth"
    assert private_value("Leiomyosarc.") == "Leiomyosarc."
