"""The report's reads keep DuckDB's memory bounded: ``v_patient`` stored once under a cap,
rows beyond it spilled to a private folder that is gone when the report has been read."""
from __future__ import annotations

import tempfile

import duckdb

from harmonise.analysis import views
from harmonise.analysis.plan import EXAMPLE_PLAN, load_plan
from harmonise.analysis.report import read_results
from harmonise.flows.report_step import WarehouseReader
from harmonise.warehouse import backend


def _limit(con) -> str:
    return con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]


def _stored(con) -> int:
    return con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary "
                       "AND table_name = 'v_patient'").fetchall()[0][0]


def test_materialised_stores_v_patient_then_gives_the_view_and_the_limit_back(demo_con):
    before = _limit(demo_con)
    rows = demo_con.execute("SELECT count(*) FROM v_patient").fetchall()
    with views.materialised(demo_con, memory="300MB"):
        assert _stored(demo_con) == 1
        assert _limit(demo_con) != before
        assert demo_con.execute("SELECT count(*) FROM v_patient").fetchall() == rows
    assert _stored(demo_con) == 0
    assert _limit(demo_con) == before


def test_materialised_rows_beyond_the_cap_spill_to_the_temp_directory_and_go_with_the_table(tmp_path):
    path, spill = tmp_path / "w.duckdb", tmp_path / "spill"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE VIEW v_patient AS SELECT i AS n, 'patient-' || i || repeat('x', 40)"
                    " AS note FROM range(3000000) r(i)")
    con = duckdb.connect(str(path), read_only=True)
    try:
        con.execute("SET temp_directory = ?", [str(spill)])
        with views.materialised(con, memory="64MB"):
            spilled = con.execute("SELECT count(*) FROM duckdb_temporary_files()").fetchall()
            assert spilled[0][0] > 0 and any(spill.iterdir())
            assert con.execute("SELECT count(*), sum(n) FROM v_patient").fetchall() == [
                (3000000, sum(range(3000000)))]
        assert not any(spill.iterdir())     # the spilled rows go with the table
    finally:
        con.close()


def test_report_reading_leaves_no_spill_folder_behind(demo_warehouse, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    res = read_results(demo_warehouse, load_plan(EXAMPLE_PLAN))
    assert len(res.patients) > 0
    assert list(tmp_path.iterdir()) == []


def test_the_report_caps_memory_on_an_embedded_file_but_not_while_a_run_holds_it(demo_warehouse):
    reader = WarehouseReader(backend.EmbeddedFile(demo_warehouse))
    assert reader.own_instance
    with backend.held(reader.warehouse):
        assert not reader.own_instance     # the run's connection is shared: its settings stay
    res = read_results(reader, load_plan(EXAMPLE_PLAN))
    assert len(res.patients) == len(read_results(demo_warehouse, load_plan(EXAMPLE_PLAN)).patients)
