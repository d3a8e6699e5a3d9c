"""harmonise sql: one read-only query, no way out of the warehouse, readable and exportable output."""
from __future__ import annotations

import json

import duckdb
import pytest
from typer.testing import CliRunner

from harmonise.flows.cli import app
from harmonise.warehouse.store import table_checksum

TABLES = ("patient", "treatment", "outcome", "adverse_event", "quarantine", "load_log")


def _sql(warehouse, *args):
    return CliRunner().invoke(app, ["sql", *args, "--warehouse", str(warehouse)])


def _checksums(path):
    with duckdb.connect(str(path), read_only=True) as con:
        return {t: table_checksum(con, t) for t in TABLES}


def _escapes(tmp_path):
    out, other = tmp_path / "x.parquet", tmp_path / "other.duckdb"
    return {
        "copy to a file": (f"COPY patient TO '{out}'", out),
        "read a system file": ("SELECT * FROM read_text('/etc/passwd')", None),
        "read a csv file": ("SELECT * FROM read_csv('/etc/passwd')", None),
        "list files": ("SELECT * FROM glob('/*')", None),
        "attach read-write": (f"ATTACH '{other}' AS o (READ_WRITE)", other),
        "change a setting": ("SET enable_external_access = true", None),
        "unlock the settings": ("SET lock_configuration = false", None),
        "two statements": ("SELECT 1; SELECT 2", None),
        "install from the network": ("INSTALL httpfs", None),
        "load an extension": ("LOAD httpfs", None),
        "create a table": ("CREATE TABLE t AS SELECT 1", None),
        "export the database": (f"EXPORT DATABASE '{tmp_path / 'dump'}'", tmp_path / "dump"),
        "checkpoint": ("CHECKPOINT", None),
        "a write hidden after a query": ("SELECT 1; DELETE FROM patient", None),
    }


@pytest.mark.parametrize("name", list(_escapes(__import__("pathlib").Path("/tmp"))))
def test_each_way_out_of_the_warehouse_is_refused_and_changes_nothing(demo_warehouse, tmp_path, name):
    before = _checksums(demo_warehouse)
    query, must_not_exist = _escapes(tmp_path)[name]
    result = _sql(demo_warehouse, query)
    assert result.exit_code == 1, result.output
    assert "root:" not in result.output and "bin/" not in result.output
    assert "Not run" in result.output or "SQL error" in result.output
    if must_not_exist is not None:
        assert not must_not_exist.exists()
    assert _checksums(demo_warehouse) == before


def test_a_query_shows_the_first_40_rows_and_the_count_of_the_rest(demo_warehouse):
    result = _sql(demo_warehouse, "SELECT range AS n FROM range(1000)")
    assert result.exit_code == 0, result.output
    assert "│ 39 " in result.output and "│ 40 " not in result.output
    assert "1,000 rows in all; the first 40 shown, 960 more" in result.output
    fewer = _sql(demo_warehouse, "SELECT range AS n FROM range(1000)", "--limit", "5")
    assert "│ 4 " in fewer.output and "│ 5 " not in fewer.output and "995 more" in fewer.output


def test_null_is_shown_as_null_and_an_empty_string_stays_empty(demo_warehouse):
    result = _sql(demo_warehouse, "SELECT NULL::VARCHAR AS missing, '' AS empty, 'x' AS x")
    assert result.exit_code == 0
    line = next(l for l in result.output.splitlines() if "NULL" in l)
    assert line.split("│")[1].strip() == "NULL" and line.split("│")[2].strip() == ""


def test_a_result_wider_than_the_terminal_prints_one_record_per_block(demo_warehouse):
    result = _sql(demo_warehouse, "SELECT * FROM v_patient ORDER BY patient_key LIMIT 2")
    assert result.exit_code == 0
    assert "── row 1 ──" in result.output and "── row 2 ──" in result.output
    assert any(l.strip().startswith("center_id ") for l in result.output.splitlines())


def test_csv_json_and_parquet_carry_the_whole_result(demo_warehouse, tmp_path):
    query = "SELECT range AS n, CASE WHEN range % 2 = 0 THEN NULL ELSE 'odd' END AS kind FROM range(500)"
    csv_out = _sql(demo_warehouse, query, "--csv")
    assert csv_out.exit_code == 0 and csv_out.output.splitlines()[:3] == ["n,kind", "0,", "1,odd"]
    assert len(csv_out.output.splitlines()) == 501
    records = json.loads(_sql(demo_warehouse, query, "--json").output)
    assert len(records) == 500 and records[0] == {"n": 0, "kind": None}
    target = tmp_path / "result.parquet"
    written = _sql(demo_warehouse, query, "--parquet", str(target))
    assert written.exit_code == 0, written.output
    with duckdb.connect() as con:
        assert con.execute(f"SELECT count(*), count(kind) FROM '{target}'").fetchone() == (500, 250)
